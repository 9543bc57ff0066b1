//! /etc/subuid parsing: the fast substring scan (`scan_direct`) must find
//! exactly the caller's entries a plain line-by-line parse finds, whatever
//! the bytes and however `read` splits them; `scan_aliases` and the line
//! parser must never panic, and every entry is a valid range.
//!
//! Input: byte 0 picks the read size (1..=256), byte 1 the caller; the rest
//! is the file.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use newidmap::parse::caller_entries::{OwnerKey, OwnerMatch, scan_aliases, scan_direct};
use newidmap::parse::map::IdRange;
use newidmap::parse::passwd::TableDirectory;
use newidmap::parse::subid::{Line, for_each_line, parse_line};

/// A reader that hands out at most `step` bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

const PASSWD: &[u8] = b"alice:x:1000:1000::/:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n1002:x:1002:1002::/:/bin/sh\n";

fuzz_target!(|data: &[u8]| {
    let [step, who, file @ ..] = data else { return };
    let step = usize::from(*step) + 1;
    let (name, uid) = match who % 4 {
        0 => (Some("alice"), 1000),
        1 => (Some("bob"), 1001),
        2 => (None, 1000),
        _ => (Some("1002"), 1002),
    };
    let key = OwnerKey::new(name, uid);
    let scan = scan_direct(Trickle { data: file, step }, &key, true).unwrap();
    let mut expected = Vec::new();
    let mut lines = 0;
    for_each_line(file, |line, text| {
        lines = line;
        let Ok(text) = text else { return };
        if let Line::Entry { owner, range } = parse_line(text) {
            assert!(IdRange::new(range.start(), range.count()).is_some());
            if key.is_direct(owner) {
                expected.push((line, range));
            }
        }
    })
    .unwrap();
    let got: Vec<_> = scan.entries.iter().map(|e| (e.line, e.range)).collect();
    assert_eq!(got, expected);
    assert!(
        scan.entries
            .iter()
            .all(|e| e.matched == OwnerMatch::Direct && e.line <= lines)
    );
    // The helpers' unnumbered path finds the same entries.
    let fast = scan_direct(Trickle { data: file, step }, &key, false).unwrap();
    let mut fast_ranges: Vec<_> = fast.entries.iter().map(|e| e.range).collect();
    let mut ranges: Vec<_> = expected.iter().map(|&(_, range)| range).collect();
    fast_ranges.sort();
    ranges.sort();
    assert_eq!(fast_ranges, ranges);
    let dir = TableDirectory::from_passwd(PASSWD);
    let wanted = [IdRange::new(0, u32::MAX).unwrap()];
    let aliases = scan_aliases(Trickle { data: file, step }, &key, &wanted, &dir).unwrap();
    for alias in aliases {
        assert_eq!(alias.matched, OwnerMatch::Alias);
        assert!(!expected.iter().any(|&(line, _)| line == alias.line));
    }
});
