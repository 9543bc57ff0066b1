//! Issue 3: property tests over the pure core (no root needed).
//!
//! - the argv and subid parsers never panic, whatever the bytes;
//! - a rendered map, read back by a model of the kernel's map grammar,
//!   equals the validated triplets, and stays within the kernel's limits;
//! - number and range arithmetic equal a u128 oracle.
//!
//! (src/policy.rs already checks the decision against brute force and the
//! coverage arithmetic against u128; src/owned.rs checks the substring scan
//! against a line-by-line parse on one large file.)
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use newidmap::parse::caller_entries::{OwnerKey, scan_aliases, scan_direct};
use newidmap::parse::map::{IdRange, MAX_LINES, MAX_MAP_BYTES, MapError, Triplet, ValidMap};
use newidmap::parse::number::{decimal_len, parse_pid, parse_u32, push_decimal};
use newidmap::parse::passwd::TableDirectory;
use newidmap::parse::request::{self, Command, TargetSpec};
use newidmap::parse::subid::{Line, for_each_line, parse_line};
use proptest::prelude::*;

const LIMIT: u128 = u32::MAX as u128; // (uid_t)-1: the exclusive end bound

// The kernel's map grammar, shared with fuzz/fuzz_targets/argv.rs.
#[path = "model/kernel.rs"]
mod kernel;
use kernel::kernel_read;

/// Canonical decimal, by checked u128 arithmetic on the bytes, whatever the
/// length (a value past u128 is past u32 too).
fn decimal_oracle(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if text.len() > 1 && text[0] == b'0' {
        return None;
    }
    let value = text.iter().try_fold(0u128, |v, &d| {
        v.checked_mul(10)?.checked_add(u128::from(d - b'0'))
    })?;
    u32::try_from(value).ok()
}

/// Digit strings of 11 to 120 digits: past u32, u64 and u128, including
/// values whose low 32 or 64 bits are small (the ones a wrap would accept).
fn long_digits() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (b'1'..=b'9', proptest::collection::vec(b'0'..=b'9', 10..120)).prop_map(|(first, rest)| [
            vec![first],
            rest
        ]
        .concat()),
        (any::<u32>(), 1u32..4).prop_map(|(low, wraps)| {
            (u128::from(wraps) << 32 | u128::from(low))
                .to_string()
                .into_bytes()
        }),
        (any::<u32>(), 1u64..1000).prop_map(|(low, wraps)| {
            (u128::from(wraps) << 64 | u128::from(low))
                .to_string()
                .into_bytes()
        }),
        (0u32..1000, 0usize..100).prop_map(|(low, zeros)| {
            // 2^64 + low, then zeros: 20 to 120 digits.
            let mut text = ((1u128 << 64) + u128::from(low)).to_string().into_bytes();
            text.extend(std::iter::repeat_n(b'0', zeros));
            text
        }),
    ]
}

/// What ValidMap must accept, computed in u128 with quadratic overlap checks.
fn valid_map_oracle(triplets: &[(u32, u32, u32)]) -> bool {
    let fits = |s: u32, c: u32| c >= 1 && u128::from(s) + u128::from(c) <= LIMIT;
    if !triplets.iter().all(|&(i, o, c)| fits(i, c) && fits(o, c)) {
        return false;
    }
    let bytes: u128 = triplets
        .iter()
        .map(|&(i, o, c)| {
            (i.to_string().len() + o.to_string().len() + c.to_string().len() + 3) as u128
        })
        .sum();
    if triplets.len() > MAX_LINES || bytes > MAX_MAP_BYTES as u128 {
        return false;
    }
    let overlap = |s1: u32, c1: u32, s2: u32, c2: u32| {
        u128::from(s1) < u128::from(s2) + u128::from(c2)
            && u128::from(s2) < u128::from(s1) + u128::from(c1)
    };
    for (n, a) in triplets.iter().enumerate() {
        for b in &triplets[n + 1..] {
            if overlap(a.0, a.2, b.0, b.2) || overlap(a.1, a.2, b.1, b.2) {
                return false;
            }
        }
    }
    true
}

fn to_args(list: &[Vec<u8>]) -> Vec<OsString> {
    list.iter().map(|a| OsString::from_vec(a.clone())).collect()
}

/// Numbers near the interesting edges, not just uniform noise.
fn edgy_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..16,
        (u32::MAX - 16)..=u32::MAX,
        any::<u32>(),
        (0u32..33).prop_map(|b| 1u32.checked_shl(b).unwrap_or(u32::MAX)),
        Just(100_000u32),
        Just(65_536u32),
    ]
}

/// An argument: a valid number, a near-miss spelling, or arbitrary bytes.
fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => edgy_u32().prop_map(|n| n.to_string().into_bytes()),
        1 => edgy_u32().prop_map(|n| format!("0{n}").into_bytes()),
        1 => edgy_u32().prop_map(|n| format!("+{n}").into_bytes()),
        1 => edgy_u32().prop_map(|n| format!("0x{n:x}").into_bytes()),
        1 => edgy_u32().prop_map(|n| format!(" {n}").into_bytes()),
        1 => Just(b"-1".to_vec()),
        1 => Just(b"--dry-run".to_vec()),
        1 => Just(b"-".to_vec()),
        1 => edgy_u32().prop_map(|n| format!("fd:{n}").into_bytes()),
        2 => proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn argv_parser_never_panics_and_accepts_only_canonical_maps(
        list in proptest::collection::vec(arg(), 0..14)
    ) {
        let args = to_args(&list);
        let Ok(command) = request::parse(&args) else { return Ok(()) };
        let Command::Map(req) = command else {
            prop_assert_eq!(list.len(), 1);
            return Ok(());
        };
        let skip = usize::from(req.dry_run) + 1;
        let numbers = &list[skip..];
        prop_assert_eq!(numbers.len(), req.map.triplets().len() * 3);
        // Every accepted number is spelt canonically, so the rendered map is
        // the typed text, verbatim.
        let typed: Vec<u8> = numbers
            .chunks(3)
            .flat_map(|c| {
                let mut line = c.join(&b' ');
                line.push(b'\n');
                line
            })
            .collect();
        prop_assert_eq!(&req.map.render(), &typed);
        match req.target {
            TargetSpec::Pid(pid) => prop_assert_eq!(Some(pid), parse_pid(&list[skip - 1])),
            TargetSpec::Fd(fd) => prop_assert!(fd >= 0),
            TargetSpec::Unspecified => prop_assert!(req.dry_run),
        }
    }

    #[test]
    fn argv_parser_never_panics_on_raw_bytes(
        list in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..24), 0..10)
    ) {
        let _ = request::parse(&to_args(&list));
    }

    #[test]
    fn numbers_match_the_u128_oracle(text in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..14),
        proptest::collection::vec(b'0'..=b'9', 0..14),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
        any::<u128>().prop_map(|n| n.to_string().into_bytes()),
        long_digits(),
    ]) {
        prop_assert_eq!(parse_u32(&text), decimal_oracle(&text));
        prop_assert_eq!(
            parse_pid(&text),
            decimal_oracle(&text).filter(|&p| p >= 1 && p <= i32::MAX as u32)
        );
    }

    #[test]
    fn decimal_rendering_matches_std(value in any::<u32>()) {
        let mut out = Vec::new();
        push_decimal(&mut out, value);
        prop_assert_eq!(out.clone(), value.to_string().into_bytes());
        prop_assert_eq!(decimal_len(value), out.len());
    }

    #[test]
    fn ranges_match_the_u128_oracle(a in (edgy_u32(), edgy_u32()), b in (edgy_u32(), edgy_u32())) {
        let ra = IdRange::new(a.0, a.1);
        prop_assert_eq!(ra.is_some(), a.1 >= 1 && u128::from(a.0) + u128::from(a.1) <= LIMIT);
        let (Some(ra), Some(rb)) = (ra, IdRange::new(b.0, b.1)) else { return Ok(()) };
        prop_assert_eq!(u128::from(ra.end()), u128::from(a.0) + u128::from(a.1));
        let oracle = u128::from(a.0) < u128::from(b.0) + u128::from(b.1)
            && u128::from(b.0) < u128::from(a.0) + u128::from(a.1);
        prop_assert_eq!(ra.overlaps(rb), oracle);
        prop_assert_eq!(rb.overlaps(ra), oracle);
    }

    #[test]
    fn valid_maps_match_the_oracle_and_the_kernel_reads_them_back(
        triplets in proptest::collection::vec((edgy_u32(), edgy_u32(), edgy_u32()), 1..8)
    ) {
        let typed: Vec<Triplet> = triplets
            .iter()
            .map(|&(inner, outer, count)| Triplet { inner, outer, count })
            .collect();
        let result = ValidMap::new(typed);
        prop_assert_eq!(result.is_ok(), valid_map_oracle(&triplets), "{:?}", result);
        if let Ok(map) = result {
            let rendered = map.render();
            prop_assert!(rendered.len() <= MAX_MAP_BYTES);
            prop_assert_eq!(kernel_read(&rendered), Some(triplets));
        }
    }

    #[test]
    fn subid_lines_never_panic_and_entries_are_valid(
        line in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            ("[a-z0-9 +#-]{0,6}", edgy_u32(), edgy_u32())
                .prop_map(|(o, s, c)| format!("{o}:{s}:{c}").into_bytes()),
        ]
    ) {
        if let Line::Entry { owner, range } = parse_line(&line) {
            prop_assert!(!owner.is_empty());
            prop_assert!(!owner.contains(&b':'));
            prop_assert!(range.count() >= 1);
            prop_assert!(u128::from(range.start()) + u128::from(range.count()) <= LIMIT);
        }
    }

    /// The fast substring scan finds exactly what a line-by-line parse finds,
    /// on arbitrary files built from the caller's keys, near misses and junk.
    #[test]
    fn subid_scan_agrees_with_a_plain_parse(
        lines in proptest::collection::vec(
            (
                prop_oneof![
                    Just("alice"), Just("1000"), Just(" alice"), Just("\talice"),
                    Just("malice"), Just("alice2"), Just("10000"), Just("alias"),
                    Just("#alice"), Just(""), Just("bob"),
                ],
                edgy_u32(),
                edgy_u32(),
                prop_oneof![Just(""), Just(":x"), Just(" "), Just("\r"), Just("\n"), Just("junk")],
            ),
            0..40,
        ),
        final_newline in any::<bool>(),
    ) {
        let mut text = Vec::new();
        for (owner, start, count, tail) in &lines {
            text.extend_from_slice(format!("{owner}:{start}:{count}{tail}\n").as_bytes());
        }
        if !final_newline {
            text.pop();
        }
        let key = OwnerKey::new(Some("alice"), 1000);
        let scan = scan_direct(text.as_slice(), &key, true).unwrap();
        let mut expected = Vec::new();
        for_each_line(text.as_slice(), |n, line| {
            if let Ok(line) = line
                && let Line::Entry { owner, range } = parse_line(line)
                && key.is_direct(owner)
            {
                expected.push((n, range));
            }
        })
        .unwrap();
        let got: Vec<_> = scan.entries.iter().map(|e| (e.line, e.range)).collect();
        prop_assert_eq!(got, expected);
        let dir = TableDirectory::from_passwd(b"alice:x:1000:1000::/:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n");
        let all = [IdRange::new(0, u32::MAX).unwrap()];
        for alias in scan_aliases(text.as_slice(), &key, &all, &dir).unwrap() {
            prop_assert!(!scan.entries.iter().any(|e| e.line == alias.line));
        }
    }
}

proptest! {
    // Each case validates 300-400 triplets against a quadratic oracle.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Many short, disjoint triplets: the line and byte limits decide, and
    /// whatever passes is read back whole by the kernel model.
    #[test]
    fn long_maps_at_the_limits(
        n in 300usize..400,
        width in prop_oneof![Just(1u32), Just(7u32), Just(1_000_000u32)],
        base in prop_oneof![Just(0u32), Just(1_000_000_000u32), Just(4_000_000_000u32)],
    ) {
        let triplets: Vec<(u32, u32, u32)> = (0..n as u32)
            .filter_map(|i| {
                let start = u64::from(base) + u64::from(i) * u64::from(width);
                let start = u32::try_from(start).ok()?;
                Some((start, start, width))
            })
            .collect();
        let typed: Vec<Triplet> = triplets
            .iter()
            .map(|&(inner, outer, count)| Triplet { inner, outer, count })
            .collect();
        let result = ValidMap::new(typed);
        prop_assert_eq!(result.is_ok(), valid_map_oracle(&triplets));
        match result {
            Ok(map) => prop_assert_eq!(kernel_read(&map.render()), Some(triplets)),
            Err(MapError::TooManyLines { lines }) => prop_assert!(lines > MAX_LINES),
            Err(MapError::TooManyBytes { bytes }) => prop_assert!(bytes > MAX_MAP_BYTES),
            Err(_) => {}
        }
    }
}
