//! The one number grammar used everywhere: plain decimal, `0|[1-9][0-9]*`.
//!
//! shadow parses with strtoul(base 0), so it accepts `0x10`, `010` (octal)
//! and surrounding blanks by accident; the kernel reads `010` as ten. A
//! privileged helper must not guess, so anything else is refused.

/// Parses `0|[1-9][0-9]*` into a u32; `None` for anything else or past u32::MAX.
///
/// Two independent guards against overflow (defence in depth: this grammar
/// reads argv, /etc/subuid, /etc/subgid and passwd UIDs, and a wrapped value
/// would silently mean root): more than 10 digits is refused outright, and
/// the accumulation itself is checked, so neither alone can be lost to a
/// wrap.
pub fn parse_u32(text: &[u8]) -> Option<u32> {
    match text {
        [] => None,
        [b'0'] => Some(0),
        [b'0', ..] => None,
        _ if text.len() > 10 => None,
        _ => {
            let mut value: u32 = 0;
            for &byte in text {
                if !byte.is_ascii_digit() {
                    return None;
                }
                value = value.checked_mul(10)?.checked_add(u32::from(byte - b'0'))?;
            }
            Some(value)
        }
    }
}

/// Largest PID the kernel can ever hand out (PID_MAX_LIMIT is 2^22, but the
/// type is a signed 32-bit integer; anything above cannot name a process).
pub const PID_MAX: u32 = i32::MAX as u32;

/// Parses a process ID: the same grammar, in 1..=2^31-1.
pub fn parse_pid(text: &[u8]) -> Option<u32> {
    parse_u32(text).filter(|&pid| (1..=PID_MAX).contains(&pid))
}

/// Appends the decimal form of `value` without allocating a temporary.
pub fn push_decimal(out: &mut Vec<u8>, value: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Number of bytes [`push_decimal`] writes for `value`.
pub const fn decimal_len(value: u32) -> usize {
    let mut len = 1;
    let mut rest = value / 10;
    while rest > 0 {
        len += 1;
        rest /= 10;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_decimal() {
        assert_eq!(parse_u32(b"0"), Some(0));
        assert_eq!(parse_u32(b"7"), Some(7));
        assert_eq!(parse_u32(b"100000"), Some(100_000));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            &b""[..],
            b"00",
            b"010",
            b"0x10",
            b"+5",
            b"-1",
            b"-0",
            b" 5",
            b"5 ",
            b"4294967296",
            b"99999999999",
            b"1_000",
            "\u{0663}".as_bytes(),
            b"\xff",
            b"5\0",
        ] {
            assert_eq!(parse_u32(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn long_digit_strings_never_wrap() {
        // 2^64 and 2^64 + 1000 wrapped to 0 and 1000 in an unchecked u64
        // accumulation; 2^32 + n to n in a u32 one.
        for bad in [
            &b"18446744073709551616"[..],
            b"18446744073709552616",
            b"18446744073709551615",
            b"10000000000000000000",
            b"4294967296",
            b"4294967297",
            b"4294968296",
            b"42949672950",
            b"340282366920938463463374607431768211456",
            b"340282366920938463463374607431768212456",
            b"999999999999999999999999999999999999999",
        ] {
            assert_eq!(parse_u32(bad), None, "{}", String::from_utf8_lossy(bad));
            assert_eq!(parse_pid(bad), None);
        }
        let hundred = [b"1".as_slice(), &[b'0'; 99]].concat();
        assert_eq!(hundred.len(), 100);
        assert_eq!(parse_u32(&hundred), None);
        let hundred_ones = vec![b'1'; 100];
        assert_eq!(parse_u32(&hundred_ones), None);
        // 20, 39 and 100 digits whose low 32 bits are small or zero.
        for digits in [20usize, 39, 100] {
            let mut text = b"4294967296".to_vec();
            text.resize(digits, b'0');
            assert_eq!(parse_u32(&text), None, "{digits} digits");
        }
    }

    #[test]
    fn ten_digit_edges() {
        assert_eq!(parse_u32(b"1000000000"), Some(1_000_000_000));
        assert_eq!(parse_u32(b"4294967294"), Some(u32::MAX - 1));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"9999999999"), None);
        assert_eq!(parse_u32(b"1234567890"), Some(1_234_567_890));
        assert_eq!(parse_u32(b"0123456789"), None);
    }

    #[test]
    fn pids_are_positive_signed() {
        assert_eq!(parse_pid(b"0"), None);
        assert_eq!(parse_pid(b"1"), Some(1));
        assert_eq!(parse_pid(b"2147483647"), Some(PID_MAX));
        assert_eq!(parse_pid(b"2147483648"), None);
    }

    #[test]
    fn decimal_rendering_round_trips() {
        for value in [0, 1, 9, 10, 99, 100, 65_536, 4_294_967_294, u32::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string().as_bytes());
            assert_eq!(decimal_len(value), out.len());
        }
    }
}
