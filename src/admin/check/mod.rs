//! `subid check`: the problems in one subid file, found in one streaming
//! pass plus two sorts.
//!
//! Each line goes through [`crate::parse::subid::parse_line`]; entries become
//! 16-byte records `(start, count, owner, line)` with owners interned, so a
//! million-line file costs a few tens of megabytes and `O(n log n)` time:
//! one sort by owner finds duplicates, one sort by start and a sweep finds
//! ranges of different owners that overlap, and a binary search per entry
//! finds ranges that include real account IDs.
//!
//! The findings are split by kind, each with a [`FindingCode`]: [`lines`]
//! (one line's own problems), [`owners`] (unknown owners, duplicates,
//! overlaps), [`accounts`] (ranges holding real account IDs) and
//! [`metadata`] (the file itself).

mod accounts;
mod lines;
mod metadata;
mod owners;

pub use accounts::{Accounts, account_range};
use metadata::check_metadata;

use super::report::{FileSummary, Finding, FindingCode, Severity};
use super::{defaults, file_word};
use crate::act::config::{ConfigProblem, trust_problem};
use crate::kind::IdKind;
use crate::parse::logindefs::LoginDefs;
use crate::parse::map::{ID_LIMIT, IdRange};
use crate::parse::passwd::TableDirectory;
use crate::parse::subid::{Line, LineProblem, for_each_line, parse_line};
use crate::parse::text::escape;
use crate::parse::text::{is_blank, trim};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

/// shadow reads lines into a 1024-byte buffer and skips longer ones.
pub const SHADOW_MAX_LINE: usize = 1023;

/// FNV-1a: owner names are short and not attacker-chosen in a way that
/// matters to a one-shot checker; SipHash would double the run time.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Unknown owners reported one by one; the rest are summed up in one finding.
const MAX_UNKNOWN_LISTED: usize = 20;

/// One distinct owner field.
struct Owner {
    /// Shared with the index's key: one copy per distinct owner.
    text: Rc<[u8]>,
    /// The UID it resolves to, or `1 << 32 | index` for unknown names, so
    /// `alice` and `1000` are the same owner when alice is UID 1000.
    key: u64,
    known: bool,
    first_line: usize,
    lines: usize,
}

#[derive(Clone, Copy, Debug)]
struct Record {
    start: u32,
    count: u32,
    owner: u32,
    line: u32,
}

impl Record {
    fn end(self) -> u64 {
        u64::from(self.start) + u64::from(self.count)
    }

    fn range(self) -> Option<IdRange> {
        IdRange::new(self.start, self.count)
    }
}

/// A record's range in the one notation people read ([`IdRange::human`]).
fn span(start: u32, count: u32) -> String {
    IdRange::new(start, count).map_or_else(|| format!("{start}+{count}"), IdRange::human)
}

struct Checker<'a> {
    file: &'a str,
    kind: IdKind,
    accounts: &'a Accounts,
    findings: Vec<Finding>,
    owners: Vec<Owner>,
    index: FastMap<Rc<[u8]>, u32>,
    records: Vec<Record>,
}

impl Checker<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: FindingCode,
        line: Option<usize>,
        message: String,
        fix: String,
    ) {
        self.findings.push(Finding {
            severity,
            code,
            file: self.file.to_string(),
            line,
            related_line: None,
            message,
            fix,
        });
    }

    fn intern(&mut self, owner: &[u8], line: usize) -> u32 {
        if let Some(&id) = self.index.get(owner) {
            let known = &mut self.owners[id as usize];
            known.lines += 1;
            return id;
        }
        let id = u32::try_from(self.owners.len()).unwrap_or(u32::MAX);
        let numeric = crate::parse::number::parse_u32(owner);
        let (key, known) = match (numeric, self.accounts.uid_of(owner)) {
            (_, Some(uid)) => (u64::from(uid), true),
            (Some(uid), None) => (u64::from(uid), self.accounts.has_uid(uid)),
            (None, None) => (1 << 32 | u64::from(id), false),
        };
        let text: Rc<[u8]> = owner.into();
        self.index.insert(Rc::clone(&text), id);
        self.owners.push(Owner {
            text,
            key,
            known,
            first_line: line,
            lines: 1,
        });
        id
    }

    fn line(&mut self, number: usize, raw: Result<&[u8], LineProblem>) {
        let raw = match raw {
            Ok(raw) => raw,
            Err(problem) => {
                self.push(
                    Severity::Error,
                    FindingCode::TooLong,
                    Some(number),
                    format!("{} (over {} bytes)", problem.describe(), 128 * 1024),
                    "delete the line".into(),
                );
                return;
            }
        };
        match parse_line(raw) {
            Line::Blank => {}
            Line::Comment => self.comment(number, raw),
            Line::Malformed { owner, problem } => self.malformed(number, raw, owner, problem),
            Line::Entry { owner, range } => {
                if raw.iter().any(|&b| is_blank(b)) {
                    self.whitespace(number, raw);
                }
                if raw.len() > SHADOW_MAX_LINE {
                    self.push(
                        Severity::Warning,
                        FindingCode::ShadowLongLine,
                        Some(number),
                        format!(
                            "line is {} bytes: shadow skips lines over {SHADOW_MAX_LINE} bytes",
                            raw.len()
                        ),
                        "shorten the owner name".into(),
                    );
                }
                let owner = self.intern(owner, number);
                self.records.push(Record {
                    start: range.start(),
                    count: range.count(),
                    owner,
                    line: u32::try_from(number).unwrap_or(u32::MAX),
                });
            }
        }
    }

    fn finish(mut self, lines: usize, missing_newline: bool) -> (FileSummary, Vec<Finding>) {
        if missing_newline && lines > 0 {
            self.push(
                Severity::Warning,
                FindingCode::NoFinalNewline,
                Some(lines),
                "the last line has no newline: shadow 4.19+ refuses the whole file (shadow#1581)"
                    .into(),
                "add a newline at the end of the file".into(),
            );
        }
        self.unknown_owners();
        self.same_owner();
        self.different_owners();
        let summary = FileSummary {
            file: self.file.to_string(),
            lines,
            entries: self.records.len(),
        };
        let mut findings = self.findings;
        findings.sort_by_key(|f| f.line.unwrap_or(0));
        (summary, findings)
    }

    fn owner_text(&self, record: Record) -> String {
        shown_owner(&self.owners[record.owner as usize].text)
    }

    /// `subid remove OWNER START:COUNT && subid add OWNER --count COUNT`:
    /// the same number of IDs in a free block. The explicit count lets
    /// `add` proceed when the owner keeps other ranges; an owner field with
    /// blanks is re-added under the name it was meant to be.
    fn move_command(&self, record: Record) -> String {
        let text = &self.owners[record.owner as usize].text;
        let meant: Vec<u8> = text.iter().copied().filter(|&b| !is_blank(b)).collect();
        format!(
            "subid remove {} {}:{} && subid add {} --count {}",
            shell_word(&shown_owner(text)),
            record.start,
            record.count,
            shell_word(&shown_owner(&meant)),
            record.count
        )
    }

    fn key(&self, record: Record) -> u64 {
        self.owners[record.owner as usize].key
    }
}

/// Longest owner name shown in full in a message.
const SHOWN_OWNER: usize = 64;

/// An owner field for a message: escaped, and cut short when very long.
fn shown_owner(owner: &[u8]) -> String {
    if owner.len() > SHOWN_OWNER {
        format!("{}...", escape(&owner[..SHOWN_OWNER]))
    } else {
        escape(owner)
    }
}

/// `text` as one shell word: as is when plain, single-quoted otherwise.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'@'));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Checks one subid file's text. `file` is how messages name it.
pub fn check_reader<R: Read>(
    reader: R,
    file: &str,
    kind: IdKind,
    accounts: &Accounts,
    defs: &LoginDefs,
) -> io::Result<(FileSummary, Vec<Finding>)> {
    let mut checker = Checker {
        file,
        kind,
        accounts,
        findings: Vec::new(),
        owners: Vec::new(),
        index: FastMap::default(),
        records: Vec::new(),
    };
    let summary = for_each_line(reader, |number, raw| checker.line(number, raw))?;
    checker.account_ids(defs);
    Ok(checker.finish(summary.lines, summary.missing_final_newline))
}

/// Everything `subid check` needs about one kind: metadata plus contents.
pub fn check_file(
    path: &Path,
    kind: IdKind,
    accounts: &Accounts,
    defs: &LoginDefs,
) -> (FileSummary, Vec<Finding>) {
    let file = path.display().to_string();
    let mut findings = check_metadata(path, &file, kind);
    let empty = FileSummary {
        file: file.clone(),
        ..FileSummary::default()
    };
    if findings
        .iter()
        .any(|f| matches!(f.code, FindingCode::Missing | FindingCode::Unreadable))
    {
        return (empty, findings);
    }
    let result = std::fs::File::open(path)
        .and_then(|reader| check_reader(reader, &file, kind, accounts, defs));
    match result {
        Ok((summary, more)) => {
            findings.extend(more);
            (summary, findings)
        }
        Err(e) => {
            findings.push(Finding {
                severity: Severity::Error,
                code: FindingCode::Unreadable,
                file: file.clone(),
                line: None,
                related_line: None,
                message: format!("cannot be read: {e}"),
                fix: format!("make the {} file readable", file_word(kind)),
            });
            (empty, findings)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &[u8] = b"root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\ncarol:x:1002:1002::/:/bin/sh\n";

    fn findings(text: &str) -> Vec<Finding> {
        let accounts = Accounts::from_passwd(PASSWD);
        let (_, findings) = check_reader(
            text.as_bytes(),
            "subuid",
            IdKind::Uid,
            &accounts,
            &LoginDefs::default(),
        )
        .unwrap();
        findings
    }

    fn run(text: &str) -> Vec<(Option<usize>, FindingCode, Option<usize>)> {
        findings(text)
            .iter()
            .map(|f| (f.line, f.code, f.related_line))
            .collect()
    }

    #[test]
    fn clean_file_has_no_findings() {
        assert_eq!(
            run("alice:100000:65536\nbob:165536:65536\n1002:231072:65536\n"),
            vec![]
        );
    }

    #[test]
    fn overlaps_between_owners_are_all_found() {
        // carol's 3rd-line range overlaps bob's (line 2) even though the
        // entry reaching furthest at that point is carol's own (line 1).
        let found = run("carol:100000:1000\nbob:100100:50\ncarol:100120:10\nalice:100500:1\n");
        assert_eq!(
            found,
            vec![
                (Some(2), FindingCode::Overlap, Some(1)),
                (Some(3), FindingCode::SameOwnerOverlap, Some(1)),
                (Some(3), FindingCode::Overlap, Some(2)),
                (Some(4), FindingCode::Overlap, Some(1)),
            ]
        );
        // Adjacent ranges do not overlap; name and UID are the same owner.
        assert_eq!(
            run("alice:100000:10\n1000:100005:10\nbob:100015:1\n"),
            vec![(Some(2), FindingCode::SameOwnerOverlap, Some(1))]
        );
    }

    #[test]
    fn duplicates_and_accounts() {
        let found = run("alice:100000:10\nalice:100000:10\nbob:0:10\nghost:200000:5\n");
        assert_eq!(
            found,
            vec![
                (Some(2), FindingCode::Duplicate, Some(1)),
                (Some(3), FindingCode::AccountIds, None),
                (Some(4), FindingCode::UnknownOwner, None),
            ]
        );
        assert_eq!(
            run("alice:60000:2\n"),
            vec![(Some(1), FindingCode::AccountIds, None)]
        );
        assert_eq!(run("alice:60001:2\n"), vec![]);
    }

    #[test]
    fn unknown_owners_past_the_first_twenty_are_summed_up() {
        // 25 unknown owners, the last one with two lines.
        let mut text = String::new();
        for i in 0..25 {
            text.push_str(&format!("ghost{i}:{}:5\n", 200_000 + i * 10));
        }
        text.push_str("ghost24:300000:5\n");
        let findings = findings(&text);
        assert_eq!(findings.len(), MAX_UNKNOWN_LISTED + 1);
        assert!(findings.iter().all(|f| f.code == FindingCode::UnknownOwner));
        assert_eq!(findings[19].line, Some(20));
        assert!(findings[19].message.contains("\"ghost19\""));
        let summary = &findings[20];
        assert_eq!(summary.line, Some(21));
        assert!(
            summary
                .message
                .starts_with("5 more owners are not in passwd (6 lines), the first \"ghost20\""),
            "{}",
            summary.message
        );
    }

    #[test]
    fn an_owner_with_a_blank_is_fixed_in_the_field_not_re_added() {
        let found = findings("bob :100000:10\nalice:100005:10\n");
        let unknown = found
            .iter()
            .find(|f| f.code == FindingCode::UnknownOwner)
            .unwrap();
        assert_eq!(
            unknown.message,
            "owner \"bob \" is not in passwd, but \"bob\" is: the blank makes shadow and newuidmap ignore the line"
        );
        assert_eq!(
            unknown.fix,
            "correct the owner field to \"bob\" (no blanks)"
        );
        let overlap = found
            .iter()
            .find(|f| f.code == FindingCode::Overlap)
            .unwrap();
        assert!(
            overlap
                .fix
                .ends_with("subid remove alice 100005:10 && subid add alice --count 10"),
            "{}",
            overlap.fix
        );
        // The blank owner's own move re-adds the name it was meant to be.
        let found = findings("alice:100000:10\nbob :100005:10\n");
        let overlap = found
            .iter()
            .find(|f| f.code == FindingCode::Overlap)
            .unwrap();
        assert!(
            overlap
                .fix
                .ends_with("subid remove 'bob ' 100005:10 && subid add bob --count 10"),
            "{}",
            overlap.fix
        );
        // A name with a blank that matches no account stays a stale entry.
        let found = findings("ghost :100000:10\n");
        let unknown = found
            .iter()
            .find(|f| f.code == FindingCode::UnknownOwner)
            .unwrap();
        assert!(
            unknown.fix.contains("subid remove 'ghost '"),
            "{}",
            unknown.fix
        );
    }

    #[test]
    fn shadow_differences() {
        let found = run("# note\nalice:100000:10 \r\nbob:1:x\nbob:200000:0\ncarol:300000:1");
        assert_eq!(
            found,
            vec![
                (Some(1), FindingCode::Comment, None),
                (Some(2), FindingCode::Whitespace, None),
                (Some(3), FindingCode::BadNumber, None),
                (Some(4), FindingCode::ZeroCount, None),
                (Some(5), FindingCode::NoFinalNewline, None),
            ]
        );
    }
}
