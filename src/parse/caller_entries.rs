//! Which subid entries belong to the caller.
//!
//! An entry belongs to the caller when its owner field is the caller's name,
//! the caller's UID in decimal, or another name that resolves through passwd
//! to the caller's UID (two accounts sharing a UID). The first two are found
//! by a substring search over the file (most calls stop there); the third
//! needs a lookup per distinct owner and is only done for entries that
//! intersect what the first pass left uncovered, so a million-line file does
//! not cost a million NSS lookups.

use std::fs::File;
use std::io::{self, Read};

use memchr::memmem::Finder;

use crate::parse::map::IdRange;
use crate::parse::number::{parse_u32, push_decimal};
use crate::parse::passwd::UserDirectory;
use crate::parse::subid::{
    Chunk, Line, LineProblem, SMALL_TEXT, count_byte, find_byte, for_each_chunk_sized,
    for_each_line, parse_line,
};
use crate::parse::text::is_blank;

/// How the caller is recognised in an owner field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerKey {
    name: Option<Vec<u8>>,
    uid_text: Vec<u8>,
    uid: u32,
}

impl OwnerKey {
    /// `name` is `None` when the caller's name cannot be matched exactly.
    pub fn new(name: Option<&str>, uid: u32) -> OwnerKey {
        let mut uid_text = Vec::with_capacity(10);
        push_decimal(&mut uid_text, uid);
        let name = name
            .map(|n| n.as_bytes().to_vec())
            .filter(|n| !n.is_empty() && !n.iter().any(|&b| b == b':' || b == b'\n'))
            .filter(|n| *n != uid_text);
        OwnerKey {
            name,
            uid_text,
            uid,
        }
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// True when `owner` names the caller without a passwd lookup.
    pub fn is_direct(&self, owner: &[u8]) -> bool {
        owner == self.uid_text || self.name.as_deref() == Some(owner)
    }

    fn needles(&self) -> Vec<Vec<u8>> {
        [self.name.as_deref(), Some(self.uid_text.as_slice())]
            .into_iter()
            .flatten()
            .map(|owner| [owner, b":"].concat())
            .collect()
    }

    /// The caller's name and UID followed by a blank: where a near miss
    /// (`alice :...`) starts.
    fn near_miss_needles(&self) -> Vec<Vec<u8>> {
        [self.name.as_deref(), Some(self.uid_text.as_slice())]
            .into_iter()
            .flatten()
            .flat_map(|owner| [[owner, b" "].concat(), [owner, b"\t"].concat()])
            .collect()
    }

    /// True when `owner` is the caller's name or UID once its blanks are
    /// removed, but not as written.
    fn is_near_miss(&self, owner: &[u8]) -> bool {
        if !owner.iter().any(|&b| is_blank(b)) {
            return false;
        }
        let squeezed: Vec<u8> = owner.iter().copied().filter(|&b| !is_blank(b)).collect();
        self.is_direct(&squeezed)
    }
}

/// How an entry was attributed to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerMatch {
    /// Owner field is the caller's name or UID.
    Direct,
    /// Owner field is another name with the caller's UID.
    Alias,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnedEntry {
    pub range: IdRange,
    pub line: usize,
    pub matched: OwnerMatch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenLine {
    pub line: usize,
    pub problem: LineProblem,
}

/// At most this many broken lines of the caller's are remembered for messages.
pub const MAX_BROKEN_REPORTED: usize = 8;

/// A line whose owner field is the caller's name or UID with blanks in it
/// (`alice :100000:65536`): neither shadow nor these helpers match it, and
/// an administrator who wrote it meant the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NearMiss {
    pub line: usize,
    pub owner: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedScan {
    pub entries: Vec<OwnedEntry>,
    /// The caller's own lines that grant nothing because they do not parse.
    pub broken: Vec<BrokenLine>,
    /// Lines meant for the caller that match no one (found only when lines
    /// are numbered, i.e. for a message).
    pub near_misses: Vec<NearMiss>,
}

impl OwnedScan {
    pub fn ranges(&self) -> Vec<IdRange> {
        self.entries.iter().map(|e| e.range).collect()
    }
}

/// First pass: every entry whose owner field is the caller's name or UID.
/// Without `number_lines`, entries and broken lines carry line 0: a granted
/// call never prints them, so the helpers number lines only when a message
/// needs them (a second read of the file).
pub fn scan_direct<R: Read>(
    reader: R,
    key: &OwnerKey,
    number_lines: bool,
) -> io::Result<OwnedScan> {
    scan_chunks(reader, key, None, number_lines)
}

fn scan_chunks<R: Read>(
    reader: R,
    key: &OwnerKey,
    size_hint: Option<u64>,
    number_lines: bool,
) -> io::Result<OwnedScan> {
    let mut needles = key.needles();
    let direct_needles = needles.len();
    if number_lines {
        // Only for a message: the helpers' granted path never pays for it.
        needles.extend(key.near_miss_needles());
    }
    // Built on the first large chunk only (see SMALL_TEXT).
    let mut finders: Option<Vec<Finder<'_>>> = None;
    let mut scan = OwnedScan::default();
    for_each_chunk_sized(reader, size_hint, number_lines, |chunk| {
        let Chunk::Lines { text, first_line } = chunk else {
            return;
        };
        for (index, needle) in needles.iter().enumerate() {
            let mut counted_to = 0;
            let mut line = first_line;
            let mut visit = |hit: usize| {
                let Some(start) = line_start(text, hit) else {
                    return;
                };
                if number_lines {
                    line += count_byte(b'\n', &text[counted_to..start]);
                    counted_to = start;
                }
                let end = find_byte(b'\n', &text[hit..]).map_or(text.len(), |at| hit + at);
                if index < direct_needles {
                    record(&mut scan, key, parse_line(&text[start..end]), line);
                } else {
                    record_near_miss(&mut scan, key, parse_line(&text[start..end]), line);
                }
            };
            if text.len() < SMALL_TEXT {
                small_text_hits(text, needle).for_each(&mut visit);
            } else {
                let finders =
                    finders.get_or_insert_with(|| needles.iter().map(Finder::new).collect());
                finders[index].find_iter(text).for_each(&mut visit);
            }
        }
    })?;
    scan.entries.sort_by_key(|e| e.line);
    keep_first_broken(&mut scan.broken);
    keep_first_near_misses(&mut scan.near_misses);
    Ok(scan)
}

/// How many broken lines or near misses are held before they are cut back to
/// the first [`MAX_BROKEN_REPORTED`]. Each needle's hits arrive in line
/// order, but the needles are searched one after another over a chunk, so a
/// list filled up to a fixed cap would keep the first needle's hits and drop
/// earlier lines found by the next one. Cutting back to the earliest lines
/// whenever this many (4 × [`MAX_BROKEN_REPORTED`]) are held keeps memory
/// bounded and the first lines.
const KEPT_BEFORE_CUT: usize = 32;

/// The first [`MAX_BROKEN_REPORTED`] broken lines by line number (stable:
/// unnumbered lines, all 0, stay in the order found).
fn keep_first_broken(broken: &mut Vec<BrokenLine>) {
    broken.sort_by_key(|b| b.line);
    broken.truncate(MAX_BROKEN_REPORTED);
}

/// The first [`MAX_BROKEN_REPORTED`] near misses by line, each line once.
fn keep_first_near_misses(near_misses: &mut Vec<NearMiss>) {
    near_misses.sort_by_key(|n| n.line);
    near_misses.dedup_by_key(|n| n.line);
    near_misses.truncate(MAX_BROKEN_REPORTED);
}

/// [`scan_direct`] without line numbers, over an open file of `size` bytes
/// (from its fstat): the helpers' usual path. The size sizes the read buffer
/// (see [`for_each_chunk_sized`]).
pub fn scan_direct_file(file: &File, size: u64, key: &OwnerKey) -> io::Result<OwnedScan> {
    scan_chunks(file, key, Some(size), false)
}

/// Every occurrence of `needle` in a small `text`, as `Finder::find_iter`
/// would report them (start offsets, non-overlapping, in order).
fn small_text_hits<'a>(text: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let first = *needle.first()?;
        while from + needle.len() <= text.len() {
            let at = from + text[from..].iter().position(|&b| b == first)?;
            if text[at..].starts_with(needle) {
                from = at + needle.len();
                return Some(at);
            }
            from = at + 1;
        }
        None
    })
}

/// Where the line containing `hit` starts, if only blanks precede `hit` on it.
fn line_start(text: &[u8], hit: usize) -> Option<usize> {
    let mut at = hit;
    while at > 0 && is_blank(text[at - 1]) {
        at -= 1;
    }
    (at == 0 || text[at - 1] == b'\n').then_some(at)
}

fn record(scan: &mut OwnedScan, key: &OwnerKey, parsed: Line<'_>, line: usize) {
    match parsed {
        Line::Entry { owner, range } if key.is_direct(owner) => scan.entries.push(OwnedEntry {
            range,
            line,
            matched: OwnerMatch::Direct,
        }),
        Line::Malformed {
            owner: Some(owner),
            problem,
        } if key.is_direct(owner) => {
            if scan.broken.len() >= KEPT_BEFORE_CUT {
                keep_first_broken(&mut scan.broken);
            }
            scan.broken.push(BrokenLine { line, problem })
        }
        _ => {}
    }
}

fn record_near_miss(scan: &mut OwnedScan, key: &OwnerKey, parsed: Line<'_>, line: usize) {
    let owner = match parsed {
        Line::Entry { owner, .. } => owner,
        Line::Malformed {
            owner: Some(owner), ..
        } => owner,
        _ => return,
    };
    if key.is_near_miss(owner) {
        if scan.near_misses.len() >= KEPT_BEFORE_CUT {
            keep_first_near_misses(&mut scan.near_misses);
        }
        scan.near_misses.push(NearMiss {
            line,
            owner: owner.to_vec(),
        });
    }
}

/// Second pass: entries owned by other names that resolve to the caller's
/// UID, considered only when they intersect one of `wanted`. Each distinct
/// owner is looked up at most once.
pub fn scan_aliases<R: Read>(
    reader: R,
    key: &OwnerKey,
    wanted: &[IdRange],
    directory: &dyn UserDirectory,
) -> io::Result<Vec<OwnedEntry>> {
    let mut found = Vec::new();
    let mut resolved: Vec<(Vec<u8>, bool)> = Vec::new();
    for_each_line(reader, |line, text| {
        let Ok(text) = text else { return };
        let Line::Entry { owner, range } = parse_line(text) else {
            return;
        };
        if key.is_direct(owner)
            || parse_u32(owner).is_some()
            || !wanted.iter().any(|w| w.overlaps(range))
        {
            return;
        }
        let is_caller = match resolved.iter().find(|(name, _)| name == owner) {
            Some(&(_, known)) => known,
            None => {
                let known = directory.uid_by_name(owner) == Some(key.uid());
                resolved.push((owner.to_vec(), known));
                known
            }
        };
        if is_caller {
            found.push(OwnedEntry {
                range,
                line,
                matched: OwnerMatch::Alias,
            });
        }
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::passwd::TableDirectory;

    fn r(start: u32, count: u32) -> IdRange {
        IdRange::new(start, count).unwrap()
    }

    const FILE: &[u8] = b"# comment alice:1:1\n\
bob:100000:65536\n\
  alice:165536:65536\n\
malice:5:5\n\
1000:300000:10\n\
bob:21000:1000\n\
alice:0:0\n\
alice:1:x\n\
alias:400000:10\n\
alias:900000:10\n\
1001:500000:10\n\
alice:600000:1";

    #[test]
    fn direct_entries_by_name_and_uid() {
        let key = OwnerKey::new(Some("alice"), 1000);
        let scan = scan_direct(FILE, &key, true).unwrap();
        assert_eq!(
            scan.entries,
            vec![
                OwnedEntry {
                    range: r(165_536, 65_536),
                    line: 3,
                    matched: OwnerMatch::Direct
                },
                OwnedEntry {
                    range: r(300_000, 10),
                    line: 5,
                    matched: OwnerMatch::Direct
                },
                OwnedEntry {
                    range: r(600_000, 1),
                    line: 12,
                    matched: OwnerMatch::Direct
                },
            ]
        );
        assert_eq!(
            scan.broken,
            vec![
                BrokenLine {
                    line: 7,
                    problem: LineProblem::ZeroCount
                },
                BrokenLine {
                    line: 8,
                    problem: LineProblem::BadCount
                },
            ]
        );
    }

    #[test]
    fn near_misses_only_when_numbering() {
        let key = OwnerKey::new(Some("alice"), 1000);
        // Lines 7 and 8 start like a near miss ("alice ", "1000\t") but
        // their owners are someone else's even without the blanks.
        let text = b"alice :1:1\n  alice\t:2:2\nalice:3:3\nalicex :4:4\n1000 :5:0\nal ice:6:6\n\
alice bob:7:7\n1000\t1:8:8\n";
        let scan = scan_direct(&text[..], &key, true).unwrap();
        let lines: Vec<(usize, &[u8])> = scan
            .near_misses
            .iter()
            .map(|n| (n.line, n.owner.as_slice()))
            .collect();
        assert_eq!(
            lines,
            vec![
                (1, &b"alice "[..]),
                (2, &b"alice\t"[..]),
                (5, &b"1000 "[..])
            ]
        );
        assert_eq!(scan.entries.len(), 1);
        // The helpers' granted path does not look for them.
        let fast = scan_direct(&text[..], &key, false).unwrap();
        assert!(fast.near_misses.is_empty());
    }

    #[test]
    fn aliases_only_where_wanted() {
        let key = OwnerKey::new(Some("alice"), 1000);
        let dir = TableDirectory::from_passwd(
            b"alice:x:1000:1000::/:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n",
        );
        let found = scan_aliases(FILE, &key, &[r(400_005, 2), r(100_000, 1)], &dir).unwrap();
        assert_eq!(
            found,
            vec![OwnedEntry {
                range: r(400_000, 10),
                line: 9,
                matched: OwnerMatch::Alias
            }]
        );
    }

    #[test]
    fn matches_agree_with_a_line_by_line_reading() {
        // The substring search must find exactly what a plain parse finds.
        let mut text = Vec::new();
        for i in 0..50_000u32 {
            let owner = match i % 7 {
                0 => "alice".to_string(),
                1 => "1000".to_string(),
                2 => " alice".to_string(),
                3 => "xalice".to_string(),
                4 => "10000".to_string(),
                _ => format!("u{i}"),
            };
            text.extend_from_slice(format!("{owner}:{}:{}\n", i * 3, 1 + i % 3).as_bytes());
        }
        let key = OwnerKey::new(Some("alice"), 1000);
        let scan = scan_direct(text.as_slice(), &key, true).unwrap();
        let mut expected = Vec::new();
        for_each_line(text.as_slice(), |line, t| {
            if let Line::Entry { owner, range } = parse_line(t.unwrap())
                && (owner == b"alice" || owner == b"1000")
            {
                expected.push(OwnedEntry {
                    range,
                    line,
                    matched: OwnerMatch::Direct,
                });
            }
        })
        .unwrap();
        assert_eq!(scan.entries.len(), 50_000 * 3 / 7 + 1);
        assert_eq!(scan.entries, expected);
        // Unnumbered, the helpers' fast path finds the same ranges.
        let fast = scan_direct(text.as_slice(), &key, false).unwrap();
        assert_eq!(fast.ranges().len(), scan.ranges().len());
        let mut a = fast.ranges();
        let mut b = scan.ranges();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert!(fast.entries.iter().all(|e| e.line == 0));
        // Also for an entry on a last line without a newline.
        let fast = scan_direct(&b"x:1:1\nalice:5:5"[..], &key, false).unwrap();
        assert_eq!(fast.entries.len(), 1);
        assert_eq!(fast.entries[0].line, 0);
    }

    proptest::proptest! {
        #[test]
        fn small_text_search_agrees_with_memmem(
            text in proptest::collection::vec(proptest::sample::select(b"ab:\n ".to_vec()), 0..300),
            needle in proptest::collection::vec(proptest::sample::select(b"ab:".to_vec()), 1..5),
        ) {
            let expected: Vec<usize> = Finder::new(&needle).find_iter(&text).collect();
            let got: Vec<usize> = small_text_hits(&text, &needle).collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn numeric_owners_are_uids_never_names() {
        // A passwd user literally named "1001" with the caller's UID does not
        // make the line "1001:..." (UID 1001's) the caller's.
        let key = OwnerKey::new(Some("alice"), 1000);
        let dir = TableDirectory::from_passwd(
            b"alice:x:1000:1000::/:/bin/sh\n1001:x:1000:1000::/:/bin/sh\nalias:x:1000:1000::/:/bin/sh\n",
        );
        let text = b"1001:500000:10\nalias:600000:10\nalice:700000:10\n1000:800000:10\n";
        let found = scan_aliases(&text[..], &key, &[r(0, 1_000_000)], &dir).unwrap();
        assert_eq!(
            found,
            vec![OwnedEntry {
                range: r(600_000, 10),
                line: 2,
                matched: OwnerMatch::Alias
            }]
        );
        // Direct entries are never reported again as aliases.
        let found = scan_aliases(&text[..], &key, &[r(700_000, 200_000)], &dir).unwrap();
        assert!(found.is_empty());
    }

    #[test]
    fn at_most_eight_broken_lines_are_kept_and_they_are_the_first() {
        let key = OwnerKey::new(Some("alice"), 1000);
        for broken in [7usize, 8, 9, 12] {
            let mut text = Vec::new();
            for i in 0..broken {
                text.extend_from_slice(format!("alice:{i}:0\nalice:{}:1\n", 1000 + i).as_bytes());
            }
            let scan = scan_direct(text.as_slice(), &key, true).unwrap();
            let kept: Vec<usize> = scan.broken.iter().map(|b| b.line).collect();
            let expected: Vec<usize> = (0..broken.min(MAX_BROKEN_REPORTED))
                .map(|i| 2 * i + 1)
                .collect();
            assert_eq!(kept, expected, "{broken} broken lines");
            assert!(
                scan.broken
                    .iter()
                    .all(|b| b.problem == LineProblem::ZeroCount)
            );
            // Entries are never capped.
            assert_eq!(scan.entries.len(), broken);
        }
        assert_eq!(MAX_BROKEN_REPORTED, 8);
    }

    /// The needles are searched one after another over a chunk, so the
    /// lines found by a later needle (the UID, a tab after the name) can
    /// come before all of an earlier needle's. Kept are still the first
    /// eight lines of the file, however many the earlier needle finds.
    #[test]
    fn the_first_eight_are_kept_whichever_needle_finds_them() {
        let key = OwnerKey::new(Some("alice"), 1000);
        for many in [5usize, 20, 31, 32, 33, 40, 100] {
            // Broken lines: the UID's on lines 1 and 2, the name's after.
            let mut text = b"1000:1:0\n1000:2:x\n".to_vec();
            for i in 0..many {
                text.extend_from_slice(format!("alice:{i}:0\n").as_bytes());
            }
            let scan = scan_direct(text.as_slice(), &key, true).unwrap();
            let kept: Vec<usize> = scan.broken.iter().map(|b| b.line).collect();
            let expected: Vec<usize> = (1..=(2 + many).min(MAX_BROKEN_REPORTED)).collect();
            assert_eq!(kept, expected, "{many} broken lines by name");
            assert_eq!(scan.broken[1].problem, LineProblem::BadCount);

            // Near misses: the UID's and the tab's on lines 1 and 2, then
            // `alice ` (the first near-miss needle) on every later line.
            let mut text = b"1000 :1:1\nalice\t:2:2\n".to_vec();
            for i in 0..many {
                text.extend_from_slice(format!("alice :{}:1\n", 10 + i).as_bytes());
            }
            let scan = scan_direct(text.as_slice(), &key, true).unwrap();
            let kept: Vec<usize> = scan.near_misses.iter().map(|n| n.line).collect();
            assert_eq!(kept, expected, "{many} near misses by name");
            assert_eq!(scan.near_misses[0].owner, b"1000 ");
            assert_eq!(scan.near_misses[1].owner, b"alice\t");
        }
        // Without line numbers (the helpers' granted path) broken lines
        // are kept in the order found, still eight.
        let mut text = b"1000:1:0\n".to_vec();
        text.extend_from_slice(&b"alice:1:0\n".repeat(50));
        let scan = scan_direct(text.as_slice(), &key, false).unwrap();
        assert_eq!(scan.broken.len(), MAX_BROKEN_REPORTED);
    }

    #[test]
    fn names_beginning_with_a_blank_are_rechecked() {
        // Surrounding blanks are not part of an owner field, so a caller
        // whose name begins with a blank (useradd refuses such names, an
        // NSS source may not) owns no line, and "alice" owns " alice:".
        let text = b"alice:100000:10\n alice:200000:10\n\talice:300000:10\nalice:0:0\n alice:1:x\n";
        let blank = OwnerKey::new(Some(" alice"), 1001);
        for numbered in [true, false] {
            let scan = scan_direct(&text[..], &blank, numbered).unwrap();
            assert_eq!(scan, OwnedScan::default(), "numbered: {numbered}");
        }
        let alice = OwnerKey::new(Some("alice"), 1000);
        let scan = scan_direct(&text[..], &alice, true).unwrap();
        assert_eq!(
            scan.ranges(),
            vec![r(100_000, 10), r(200_000, 10), r(300_000, 10)]
        );
        assert_eq!(
            scan.broken,
            vec![
                BrokenLine {
                    line: 4,
                    problem: LineProblem::ZeroCount
                },
                BrokenLine {
                    line: 5,
                    problem: LineProblem::BadCount
                }
            ]
        );
        // The same over a large text (the memmem path).
        let mut large = text.repeat(2000);
        large.extend_from_slice(b" alice:400000:10\n");
        assert!(large.len() > SMALL_TEXT);
        let scan = scan_direct(large.as_slice(), &blank, true).unwrap();
        assert_eq!(scan, OwnedScan::default());
        let scan = scan_direct(large.as_slice(), &alice, false).unwrap();
        assert_eq!(scan.entries.len(), 6001);
        assert_eq!(scan.broken.len(), MAX_BROKEN_REPORTED);
    }

    #[test]
    fn owner_keys() {
        let key = OwnerKey::new(Some("alice"), 1000);
        assert_eq!(key.uid(), 1000);
        assert!(key.is_direct(b"alice"));
        assert!(key.is_direct(b"1000"));
        assert!(!key.is_direct(b"alic"));
        assert!(!key.is_direct(b"01000"));
        assert!(!key.is_direct(b""));
        // Names that cannot be matched exactly fall back to the UID only.
        for name in [None, Some(""), Some("a:b"), Some("a\nb"), Some("1000")] {
            let key = OwnerKey::new(name, 1000);
            assert_eq!(key.needles(), vec![b"1000:".to_vec()], "{name:?}");
            assert!(key.is_direct(b"1000"));
            assert!(!key.is_direct(b"a"));
            assert!(!key.is_direct(b""));
        }
        assert_eq!(
            OwnerKey::new(Some("bob"), 7).needles(),
            vec![b"bob:".to_vec(), b"7:".to_vec()]
        );
    }

    #[test]
    fn ranges_in_line_order() {
        let scan = OwnedScan {
            entries: vec![
                OwnedEntry {
                    range: r(5, 1),
                    line: 1,
                    matched: OwnerMatch::Direct,
                },
                OwnedEntry {
                    range: r(1, 2),
                    line: 2,
                    matched: OwnerMatch::Alias,
                },
            ],
            broken: Vec::new(),
            near_misses: Vec::new(),
        };
        assert_eq!(scan.ranges(), vec![r(5, 1), r(1, 2)]);
        assert!(OwnedScan::default().ranges().is_empty());
    }

    #[test]
    fn line_starts() {
        assert_eq!(line_start(b"alice:", 0), Some(0));
        assert_eq!(line_start(b"  alice:", 2), Some(0));
        assert_eq!(line_start(b"x\n \talice:", 4), Some(2));
        assert_eq!(line_start(b"malice:", 1), None);
        assert_eq!(line_start(b"x alice:", 2), None);
        assert_eq!(line_start(b"#alice:", 1), None);
    }

    /// A file of `text` under the temporary directory, removed on drop.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(name: &str, text: &[u8]) -> TempFile {
            let path =
                std::env::temp_dir().join(format!("newidmap-owned-{}-{name}", std::process::id()));
            std::fs::write(&path, text).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn scan_direct_file_reads_real_files_of_every_size() {
        let key = OwnerKey::new(Some("alice"), 1000);
        let mut large = Vec::new();
        for i in 0..20_000u32 {
            let owner = if i % 5 == 0 { "alice" } else { "bob" };
            large.extend_from_slice(format!("{owner}:{}:3\n", i * 3).as_bytes());
        }
        large.extend_from_slice(b"1000:4000000:7");
        assert!(large.len() > crate::parse::subid::READ_BYTES);
        let cases: [(&str, &[u8], usize); 4] = [
            ("empty", b"", 0),
            ("small", b"bob:1:1\nalice:100000:65536\n", 1),
            ("nonl", b"alice:5:5", 1),
            ("large", &large, 4001),
        ];
        for (name, text, entries) in cases {
            let temp = TempFile::new(name, text);
            let file = File::open(&temp.0).unwrap();
            let size = file.metadata().unwrap().len();
            let scan = scan_direct_file(&file, size, &key).unwrap();
            assert_eq!(scan.entries.len(), entries, "{name}");
            assert!(scan.entries.iter().all(|e| e.line == 0));
            assert_eq!(scan, scan_direct(text, &key, false).unwrap(), "{name}");
            // A stale size (the file grew or shrank since fstat) changes nothing.
            for stale in [0, 1, size / 2, size * 2 + 100] {
                let file = File::open(&temp.0).unwrap();
                assert_eq!(
                    scan_direct_file(&file, stale, &key).unwrap(),
                    scan,
                    "{name}"
                );
            }
        }
        let last = TempFile::new("last", &large);
        let scan = scan_direct_file(&File::open(&last.0).unwrap(), large.len() as u64, &key);
        assert_eq!(scan.unwrap().ranges().last(), Some(&r(4_000_000, 7)));
    }
}
