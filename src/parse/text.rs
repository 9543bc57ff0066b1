//! Byte-text helpers shared by every parser: what counts as a blank, and
//! trimming. Pure; no I/O.

/// The blanks shadow's and our parsers skip: space, tab, CR, VT, FF.
pub fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c')
}

/// `line` without leading and trailing blanks.
pub fn trim(mut line: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = line {
        if !is_blank(*first) {
            break;
        }
        line = rest;
    }
    while let [rest @ .., last] = line {
        if !is_blank(*last) {
            break;
        }
        line = rest;
    }
    line
}

/// Escapes bytes for a message: printable ASCII stays (except `\` and `"`),
/// everything else becomes `\xNN`, so a hostile name cannot forge lines or
/// terminal escapes.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_and_non_ascii() {
        assert_eq!(escape(b"alice"), "alice");
        assert_eq!(
            escape(b"evil\nnewuidmap: ok\x1b[2J"),
            "evil\\x0anewuidmap: ok\\x1b[2J"
        );
        assert_eq!(escape("é".as_bytes()), "\\xc3\\xa9");
        assert_eq!(escape(b"a\"b\\"), "a\\\"b\\\\");
    }

    #[test]
    fn blanks_and_trimming() {
        assert_eq!(trim(b" \t\r\x0b\x0c"), b"");
        assert_eq!(trim(b" a b "), b"a b");
        for blank in [b' ', b'\t', b'\r', b'\x0b', b'\x0c'] {
            assert!(is_blank(blank));
        }
        for not in [b'\n', b'a', b'\0', b'#'] {
            assert!(!is_blank(not));
        }
    }
}
