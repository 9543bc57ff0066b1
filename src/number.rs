//! The one number grammar used everywhere: plain decimal, `0|[1-9][0-9]*`.
//!
//! shadow parses with strtoul(base 0), so it accepts `0x10`, `010` (octal)
//! and surrounding blanks by accident; the kernel reads `010` as ten. A
//! privileged helper must not guess, so anything else is refused.
#![forbid(unsafe_code)]

/// Parses `0|[1-9][0-9]*` into a u32; `None` for anything else or past u32::MAX.
pub fn parse_u32(text: &[u8]) -> Option<u32> {
    match text {
        [] => None,
        [b'0'] => Some(0),
        [b'0', ..] => None,
        _ if text.len() > 10 => None,
        _ => {
            let mut value: u64 = 0;
            for &byte in text {
                if !byte.is_ascii_digit() {
                    return None;
                }
                value = value * 10 + u64::from(byte - b'0');
            }
            u32::try_from(value).ok()
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
