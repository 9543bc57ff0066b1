//! Byte-text helpers shared by every parser: what counts as a blank, and
//! trimming. Pure; no I/O.
#![forbid(unsafe_code)]

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

#[cfg(test)]
mod tests {
    use super::*;

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
