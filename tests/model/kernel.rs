//! A model of the kernel's uid_map/gid_map grammar, for the property tests
//! (tests/properties.rs) and the argv fuzz target (fuzz/fuzz_targets/argv.rs),
//! which include this file with `#[path]`. Not a test crate of its own:
//! cargo builds only the files directly under tests/.

/// The kernel's `map_write` grammar (kernel/user_namespace.c), as far as it
/// concerns well-formed writes: fewer than 4096 bytes, lines of three base-10
/// numbers separated by blanks, an optional final newline, each value
/// truncated to 32 bits, count >= 1, no range past 2^32-1, at most 340 lines,
/// no two inner and no two outer ranges overlapping. `None` is EINVAL.
pub fn kernel_read(text: &[u8]) -> Option<Vec<(u32, u32, u32)>> {
    if text.is_empty() || text.len() >= 4096 {
        return None;
    }
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let mut out: Vec<(u32, u32, u32)> = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        let fields: Vec<&[u8]> = line
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|f| !f.is_empty())
            .collect();
        let [a, b, c] = fields.as_slice() else {
            return None;
        };
        let num = |f: &[u8]| -> Option<u32> {
            f.iter().all(u8::is_ascii_digit).then(|| {
                f.iter().fold(0u128, |v, &d| {
                    (v * 10 + u128::from(d - b'0')) & u128::from(u64::MAX)
                }) as u32
            })
        };
        let (a, b, c) = (num(a)?, num(b)?, num(c)?);
        let fits = |s: u32| u128::from(s) + u128::from(c) <= u128::from(u32::MAX);
        if c == 0 || !fits(a) || !fits(b) {
            return None;
        }
        let overlaps = |s1: u32, c1: u32, s2: u32, c2: u32| {
            let (s1, c1, s2, c2) = (
                u128::from(s1),
                u128::from(c1),
                u128::from(s2),
                u128::from(c2),
            );
            s1 < s2 + c2 && s2 < s1 + c1
        };
        if out
            .iter()
            .any(|&(i, o, n)| overlaps(i, n, a, c) || overlaps(o, n, b, c))
        {
            return None;
        }
        out.push((a, b, c));
    }
    (out.len() <= 340).then_some(out)
}
