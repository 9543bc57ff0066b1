//! `subid check`: the problems in one subid file, found in one streaming
//! pass plus two sorts.
//!
//! Each line goes through [`crate::subid::parse_line`]; entries become
//! 16-byte records `(start, count, owner, line)` with owners interned, so a
//! million-line file costs a few tens of megabytes and `O(n log n)` time:
//! one sort by owner finds duplicates, one sort by start and a sweep finds
//! ranges of different owners that overlap, and a binary search per entry
//! finds ranges that include real account IDs.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::path::Path;
use std::rc::Rc;

use super::report::{FileSummary, Finding, Severity};
use super::{defaults, file_word};
use crate::config::{ConfigProblem, trust_problem};
use crate::kind::IdKind;
use crate::logindefs::LoginDefs;
use crate::mapping::{ID_LIMIT, IdRange};
use crate::output::escape;
use crate::passwd::TableDirectory;
use crate::subid::{Line, LineProblem, for_each_line, parse_line};
use crate::text::{is_blank, trim};

/// shadow reads lines into a 1024-byte buffer and skips longer ones.
pub const SHADOW_MAX_LINE: usize = 1023;

/// The accounts of a passwd file, indexed for the checks and for `add`.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    by_name: HashMap<Vec<u8>, u32>,
    /// Sorted `(id, account index)`.
    uids: Vec<(u32, usize)>,
    gids: Vec<(u32, usize)>,
    names: Vec<String>,
}

impl Accounts {
    pub fn from_passwd(text: &[u8]) -> Accounts {
        let table = TableDirectory::from_passwd(text);
        let mut accounts = Accounts::default();
        for (index, account) in table.accounts.iter().enumerate() {
            let name = account.name.clone().unwrap_or_default();
            accounts
                .by_name
                .entry(name.as_bytes().to_vec())
                .or_insert(account.uid);
            accounts.uids.push((account.uid, index));
            accounts.gids.push((account.gid, index));
            accounts.names.push(name);
        }
        accounts.uids.sort_unstable();
        accounts.gids.sort_unstable();
        accounts
    }

    pub fn uid_of(&self, name: &[u8]) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    pub fn has_uid(&self, uid: u32) -> bool {
        self.uids.binary_search_by_key(&uid, |&(id, _)| id).is_ok()
    }

    fn ids(&self, kind: IdKind) -> &[(u32, usize)] {
        match kind {
            IdKind::Uid => &self.uids,
            IdKind::Gid => &self.gids,
        }
    }

    /// Every passwd UID (or primary GID), sorted, possibly repeated.
    pub fn id_list(&self, kind: IdKind) -> Vec<u32> {
        self.ids(kind).iter().map(|&(id, _)| id).collect()
    }

    /// The lowest account ID of `kind` inside `range`, with its account name.
    pub fn first_id_in(&self, kind: IdKind, range: IdRange) -> Option<(u32, &str)> {
        let ids = self.ids(kind);
        let at = ids.partition_point(|&(id, _)| id < range.start());
        let &(id, index) = ids.get(at)?;
        (u64::from(id) < range.end()).then(|| (id, self.names[index].as_str()))
    }
}

/// Where useradd allocates real account IDs: `[min, max]` inclusive.
pub fn account_range(defs: &LoginDefs, kind: IdKind) -> (u32, u32) {
    match kind {
        IdKind::Uid => (
            defs.uid_min.unwrap_or(defaults::UID_MIN),
            defs.uid_max.unwrap_or(defaults::UID_MAX),
        ),
        IdKind::Gid => (
            defs.gid_min.unwrap_or(defaults::UID_MIN),
            defs.gid_max.unwrap_or(defaults::UID_MAX),
        ),
    }
}

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
        code: &'static str,
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
        let numeric = crate::number::parse_u32(owner);
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
                    "too-long",
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
                        "shadow-long-line",
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

    fn comment(&mut self, number: usize, raw: &[u8]) {
        let text = trim(raw);
        let message = if text.iter().filter(|&&b| b == b':').count() == 2 {
            format!(
                "comment line: shadow has no comment syntax and reads \"{}\" as an entry for owner \"{}\"",
                escape(text),
                escape(text.split(|&b| b == b':').next().unwrap_or_default())
            )
        } else {
            "comment line: shadow has no comment syntax (it skips this line as malformed)".into()
        };
        self.push(
            Severity::Warning,
            "comment",
            Some(number),
            message,
            "delete the line and keep notes elsewhere".into(),
        );
    }

    fn whitespace(&mut self, number: usize, raw: &[u8]) {
        let clean = trim(raw);
        let (message, fix) = if clean.iter().any(|&b| is_blank(b)) {
            (
                format!(
                    "blank inside \"{}\": shadow never matches this owner",
                    escape(raw)
                ),
                "remove the blanks from the owner field".to_string(),
            )
        } else if trim(raw.strip_suffix(b"\r").unwrap_or(raw))
            == raw.strip_suffix(b"\r").unwrap_or(raw)
        {
            (
                "line ends in a carriage return (DOS line ending): shadow ignores this line, newuidmap here honours it".to_string(),
                "convert the file to Unix line endings with dos2unix".to_string(),
            )
        } else {
            (
                format!(
                    "blanks around \"{}\": shadow ignores this line (podman#21071), newuidmap here honours it",
                    escape(clean)
                ),
                format!("write the line as \"{}\"", escape(clean)),
            )
        };
        self.push(Severity::Warning, "whitespace", Some(number), message, fix);
    }

    fn malformed(&mut self, number: usize, raw: &[u8], owner: Option<&[u8]>, problem: LineProblem) {
        let text = trim(raw);
        let shown = escape(text);
        let fields: Vec<&[u8]> = text.split(|&b| b == b':').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or_default();
        let owner_text = escape(owner.unwrap_or_default());
        let (code, message, fix) = match problem {
            LineProblem::FieldCount => (
                "field-count",
                format!(
                    "\"{shown}\" has {} field{}, expected owner:start:count",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                ),
                "write the line as OWNER:START:COUNT, or delete it".to_string(),
            ),
            LineProblem::EmptyOwner => (
                "empty-owner",
                format!("\"{shown}\" has an empty owner field"),
                "put a user name or UID before the first ':', or delete the line".to_string(),
            ),
            LineProblem::BadStart | LineProblem::BadCount => {
                let (what, value) = if problem == LineProblem::BadStart {
                    ("start", field(1))
                } else {
                    ("count", field(2))
                };
                number_problem(&shown, what, value)
            }
            LineProblem::ZeroCount => (
                "zero-count",
                format!("\"{shown}\": count is 0, so the entry grants nothing"),
                "set a count of at least 1, or delete the line".to_string(),
            ),
            LineProblem::PastLimit => {
                let start = crate::number::parse_u32(field(1)).unwrap_or(0);
                let count = crate::number::parse_u32(field(2)).unwrap_or(0);
                let most = ID_LIMIT.saturating_sub(u64::from(start));
                (
                    "past-limit",
                    format!(
                        "\"{shown}\": start+count is {}, past 4294967295 (2^32-1, which no map may reach)",
                        u64::from(start) + u64::from(count)
                    ),
                    if most > 0 {
                        format!("lower the count to at most {most}")
                    } else {
                        "choose a start below 4294967295".to_string()
                    },
                )
            }
            LineProblem::NisEntry => (
                "nis-entry",
                format!("\"{shown}\": NIS '+'/'-' entries are not supported by shadow or here"),
                "list the ranges explicitly, or delete the line".to_string(),
            ),
            LineProblem::TooLong => (
                "too-long",
                format!("line for owner \"{owner_text}\" is too long"),
                "delete the line".to_string(),
            ),
        };
        self.push(Severity::Error, code, Some(number), message, fix);
    }

    fn finish(mut self, lines: usize, missing_newline: bool) -> (FileSummary, Vec<Finding>) {
        if missing_newline && lines > 0 {
            self.push(
                Severity::Warning,
                "no-final-newline",
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

    fn unknown_owners(&mut self) {
        // Owners are numbered in order of first appearance, so these are the
        // earliest. A file of stale entries from a retired directory can have
        // a million of them: one line each would bury everything else.
        let unknown: Vec<(usize, String, usize, bool, Option<String>)> = self
            .owners
            .iter()
            .filter(|o| !o.known)
            .take(MAX_UNKNOWN_LISTED)
            .map(|o| {
                (
                    o.first_line,
                    shown_owner(&o.text),
                    o.lines,
                    crate::number::parse_u32(&o.text).is_some(),
                    near_miss(&o.text, self.accounts),
                )
            })
            .collect();
        for (line, name, lines, numeric, meant) in unknown {
            let more = if lines > 1 {
                format!(" ({lines} lines)")
            } else {
                String::new()
            };
            let (message, fix) = if let Some(meant) = meant {
                // "journey1 " for journey1: the account exists, the field
                // is what is wrong. `subid add 'journey1 '` would be refused.
                (
                    format!(
                        "owner \"{name}\" is not in passwd, but \"{meant}\" is: the blank makes shadow and newuidmap ignore the line{more}"
                    ),
                    format!("correct the owner field to \"{meant}\" (no blanks)"),
                )
            } else if numeric {
                (
                    format!("owner {name}: no account has this UID in passwd{more}"),
                    format!(
                        "remove the stale entries with subid remove {}, or create the account",
                        shell_word(&name)
                    ),
                )
            } else {
                (
                    format!("owner \"{name}\" is not in passwd{more}"),
                    format!(
                        "remove the stale entries with subid remove {}, or create the account",
                        shell_word(&name)
                    ),
                )
            };
            self.push(Severity::Warning, "unknown-owner", Some(line), message, fix);
        }
        let mut rest = self
            .owners
            .iter()
            .filter(|o| !o.known)
            .skip(MAX_UNKNOWN_LISTED);
        if let Some(first) = rest.next() {
            let (owners, lines) = rest.fold((1usize, first.lines), |(owners, lines), o| {
                (owners + 1, lines + o.lines)
            });
            self.push(
                Severity::Warning,
                "unknown-owner",
                Some(first.first_line),
                format!(
                    "{owners} more owners are not in passwd ({lines} lines), the first \"{}\" (only the first {MAX_UNKNOWN_LISTED} are listed one by one)",
                    shown_owner(&first.text)
                ),
                "remove the stale entries with subid remove USER, or create the accounts".into(),
            );
        }
    }

    /// Duplicates and overlaps between entries of the same owner.
    fn same_owner(&mut self) {
        let mut order = self.records.clone();
        order.sort_unstable_by_key(|r| (self.key(*r), r.start, r.count, r.line));
        let mut found = Vec::new();
        let mut widest: Option<Record> = None;
        let mut previous: Option<Record> = None;
        for &record in &order {
            let key = self.key(record);
            if previous.is_some_and(|p| self.key(p) != key) {
                widest = None;
            }
            if let Some(p) = previous.filter(|p| {
                self.key(*p) == key && p.start == record.start && p.count == record.count
            }) {
                found.push(("duplicate", record, p));
            } else if let Some(w) = widest.filter(|w| u64::from(record.start) < w.end()) {
                found.push(("same-owner-overlap", record, w));
            }
            if widest.is_none_or(|w| record.end() > w.end()) {
                widest = Some(record);
            }
            previous = Some(record);
        }
        for (code, record, other) in found {
            let owner = self.owner_text(record);
            let (message, fix) = if code == "duplicate" {
                (
                    format!(
                        "duplicate of line {}: {owner} {}",
                        other.line,
                        span(record.start, record.count)
                    ),
                    "delete one of the two lines".to_string(),
                )
            } else {
                (
                    format!(
                        "{owner} {} overlaps line {} of the same owner: {} {}",
                        span(record.start, record.count),
                        other.line,
                        self.owner_text(other),
                        span(other.start, other.count)
                    ),
                    "merge the two lines into one range".to_string(),
                )
            };
            self.findings.push(Finding {
                severity: Severity::Warning,
                code,
                file: self.file.to_string(),
                line: Some(record.line as usize),
                related_line: Some(other.line as usize),
                message,
                fix,
            });
        }
    }

    /// Sort by start and sweep, remembering the entry reaching furthest and
    /// the one reaching furthest among other owners: every entry that
    /// overlaps an earlier-starting entry of a different owner is reported
    /// once, naming one such entry.
    fn different_owners(&mut self) {
        let mut order = self.records.clone();
        order.sort_unstable_by_key(|r| (r.start, r.line));
        let mut best: Option<Record> = None;
        let mut other: Option<Record> = None;
        let mut found = Vec::new();
        for &record in &order {
            let key = self.key(record);
            let partner = match best {
                Some(b) if self.key(b) != key => Some(b),
                Some(_) => other,
                None => None,
            };
            if let Some(p) = partner.filter(|p| u64::from(record.start) < p.end()) {
                found.push((record, p));
            }
            match best {
                None => best = Some(record),
                Some(b) if record.end() > b.end() => {
                    if self.key(b) != key {
                        other = Some(b);
                    }
                    best = Some(record);
                }
                Some(b) => {
                    if self.key(b) != key && other.is_none_or(|o| record.end() > o.end()) {
                        other = Some(record);
                    }
                }
            }
        }
        for (record, partner) in found {
            let (first, second) = if partner.line < record.line {
                (partner, record)
            } else {
                (record, partner)
            };
            let message = format!(
                "{} {} on line {} overlaps {} {} on line {}: both owners can map the shared IDs",
                self.owner_text(second),
                span(second.start, second.count),
                second.line,
                self.owner_text(first),
                span(first.start, first.count),
                first.line
            );
            let fix = format!(
                "give one of them a free range: {}",
                self.move_command(second)
            );
            self.findings.push(Finding {
                severity: Severity::Error,
                code: "overlap",
                file: self.file.to_string(),
                line: Some(second.line as usize),
                related_line: Some(first.line as usize),
                message,
                fix,
            });
        }
    }

    /// Ranges that include IDs real accounts have or will be given.
    fn account_ids(&mut self, defs: &LoginDefs) {
        let (min, max) = account_range(defs, self.kind);
        let upper = self.kind.upper();
        let reserved = (min <= max)
            .then(|| IdRange::new(min, max - min + 1))
            .flatten();
        let mut found = Vec::new();
        for &record in &self.records {
            let Some(range) = record.range() else {
                continue;
            };
            let mut parts = Vec::new();
            if reserved.is_some_and(|r| r.overlaps(range)) {
                parts.push(format!("{upper}_MIN..{upper}_MAX {min}-{max} (login.defs)"));
            }
            if let Some((id, name)) = self.accounts.first_id_in(self.kind, range) {
                let whose = match self.kind {
                    IdKind::Uid => format!("{upper} {id} ({})", shown_owner(name.as_bytes())),
                    IdKind::Gid => {
                        format!("{upper} {id} (group of {})", shown_owner(name.as_bytes()))
                    }
                };
                parts.push(whose);
            }
            if !parts.is_empty() {
                found.push((record, parts.join(", ")));
            }
        }
        for (record, what) in found {
            let owner = self.owner_text(record);
            self.push(
                Severity::Error,
                "account-ids",
                Some(record.line as usize),
                format!(
                    "{owner} {} includes real account IDs: {what}; its owner could act as those accounts (CVE-2024-56433)",
                    span(record.start, record.count)
                ),
                format!(
                    "move it above {upper}_MAX and every account ID: {}",
                    self.move_command(record)
                ),
            );
        }
    }
}

/// The account an owner field with blanks in it was meant to name
/// (`"journey1 "` for journey1), when that account exists.
pub fn near_miss(owner: &[u8], accounts: &Accounts) -> Option<String> {
    if !owner.iter().any(|&b| is_blank(b)) {
        return None;
    }
    let meant: Vec<u8> = owner.iter().copied().filter(|&b| !is_blank(b)).collect();
    let known = accounts.uid_of(&meant).is_some()
        || crate::number::parse_u32(&meant).is_some_and(|uid| accounts.has_uid(uid));
    (known && !meant.is_empty()).then(|| shown_owner(&meant))
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

/// Why a start or count field is not a number we accept.
fn number_problem(shown: &str, what: &str, value: &[u8]) -> (&'static str, String, String) {
    let value_text = escape(value);
    let digits = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
    if digits && value.len() > 1 && value[0] == b'0' {
        (
            "bad-number",
            format!(
                "\"{shown}\": {what} {value_text} has a leading zero (shadow reads it as octal)"
            ),
            format!(
                "write the {what} in plain decimal without leading zeros, e.g. {}",
                escape(trim_zeros(value))
            ),
        )
    } else if digits {
        (
            "above-32bit",
            format!("\"{shown}\": {what} {value_text} is above 4294967295, and IDs are 32-bit"),
            format!("choose a {what} below 4294967295"),
        )
    } else if value.starts_with(b"0x") || value.starts_with(b"0X") {
        (
            "bad-number",
            format!(
                "\"{shown}\": {what} {value_text} is hexadecimal (shadow accepts it, newuidmap here does not)"
            ),
            format!("write the {what} in decimal"),
        )
    } else if value.is_empty() {
        (
            "bad-number",
            format!("\"{shown}\": {what} is empty"),
            format!("fill in the {what} as a decimal number"),
        )
    } else {
        (
            "bad-number",
            format!("\"{shown}\": {what} \"{value_text}\" is not a decimal number"),
            format!("write the {what} as plain digits"),
        )
    }
}

fn trim_zeros(value: &[u8]) -> &[u8] {
    let first = value
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(value.len().saturating_sub(1));
    &value[first..]
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

/// Ownership, mode and type of the file itself. `None` from the result's
/// first element means the file cannot be read at all.
pub fn check_metadata(path: &Path, file: &str, kind: IdKind) -> Vec<Finding> {
    use std::os::unix::fs::MetadataExt;
    let finding = |severity, code, message: String, fix: String| Finding {
        severity,
        code,
        file: file.to_string(),
        line: None,
        related_line: None,
        message,
        fix,
    };
    let mut found = Vec::new();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => found.push(finding(
            Severity::Warning,
            "symlink",
            "is a symbolic link: shadow 4.19+ opens it with O_NOFOLLOW and fails".into(),
            "replace the link with a regular file (on NixOS this is expected)".into(),
        )),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            found.push(finding(
                Severity::Warning,
                "missing",
                format!(
                    "does not exist, so no user has subordinate {}s",
                    kind.upper()
                ),
                format!(
                    "create it with touch {file} && chmod 644 {file}, or allocate ranges with subid add"
                ),
            ));
            return found;
        }
        Err(e) => {
            found.push(finding(
                Severity::Error,
                "unreadable",
                format!("cannot be examined: {e}"),
                "check the path and its directory's permissions".into(),
            ));
            return found;
        }
    }
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            found.push(finding(
                Severity::Error,
                "unreadable",
                format!("cannot be examined: {e}"),
                "fix or remove the dangling link".into(),
            ));
            return found;
        }
    };
    let kind_bits = nix::sys::stat::SFlag::from_bits_truncate(
        meta.mode() & nix::sys::stat::SFlag::S_IFMT.bits(),
    );
    let fix = format!("chown root:root {file} && chmod 644 {file}");
    let message = match trust_problem(kind_bits, meta.uid(), meta.gid(), meta.mode()) {
        None => return found,
        Some(ConfigProblem::NotRegular) => "is not a regular file".to_string(),
        Some(ConfigProblem::NotOwnedByRoot { uid }) => format!(
            "is owned by UID {uid}, not root: that user can grant themselves any range, and newuidmap refuses the file"
        ),
        Some(ConfigProblem::WritableByOthers { mode }) => format!(
            "mode {mode:04o} lets every user write it and grant themselves any range; newuidmap refuses the file"
        ),
        Some(ConfigProblem::WritableByGroup { mode, gid }) => format!(
            "mode {mode:04o} lets group {gid} write it and grant any range; newuidmap refuses the file"
        ),
        Some(other) => format!("cannot be trusted ({other:?})"),
    };
    found.push(finding(Severity::Error, "permissions", message, fix));
    found
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
        .any(|f| matches!(f.code, "missing" | "unreadable"))
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
                code: "unreadable",
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

    fn run(text: &str) -> Vec<(Option<usize>, &'static str, Option<usize>)> {
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
                (Some(2), "overlap", Some(1)),
                (Some(3), "same-owner-overlap", Some(1)),
                (Some(3), "overlap", Some(2)),
                (Some(4), "overlap", Some(1)),
            ]
        );
        // Adjacent ranges do not overlap; name and UID are the same owner.
        assert_eq!(
            run("alice:100000:10\n1000:100005:10\nbob:100015:1\n"),
            vec![(Some(2), "same-owner-overlap", Some(1))]
        );
    }

    #[test]
    fn duplicates_and_accounts() {
        let found = run("alice:100000:10\nalice:100000:10\nbob:0:10\nghost:200000:5\n");
        assert_eq!(
            found,
            vec![
                (Some(2), "duplicate", Some(1)),
                (Some(3), "account-ids", None),
                (Some(4), "unknown-owner", None),
            ]
        );
        assert_eq!(run("alice:60000:2\n"), vec![(Some(1), "account-ids", None)]);
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
        assert!(findings.iter().all(|f| f.code == "unknown-owner"));
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
        let unknown = found.iter().find(|f| f.code == "unknown-owner").unwrap();
        assert_eq!(
            unknown.message,
            "owner \"bob \" is not in passwd, but \"bob\" is: the blank makes shadow and newuidmap ignore the line"
        );
        assert_eq!(
            unknown.fix,
            "correct the owner field to \"bob\" (no blanks)"
        );
        let overlap = found.iter().find(|f| f.code == "overlap").unwrap();
        assert!(
            overlap
                .fix
                .ends_with("subid remove alice 100005:10 && subid add alice --count 10"),
            "{}",
            overlap.fix
        );
        // The blank owner's own move re-adds the name it was meant to be.
        let found = findings("alice:100000:10\nbob :100005:10\n");
        let overlap = found.iter().find(|f| f.code == "overlap").unwrap();
        assert!(
            overlap
                .fix
                .ends_with("subid remove 'bob ' 100005:10 && subid add bob --count 10"),
            "{}",
            overlap.fix
        );
        // A name with a blank that matches no account stays a stale entry.
        let found = findings("ghost :100000:10\n");
        let unknown = found.iter().find(|f| f.code == "unknown-owner").unwrap();
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
                (Some(1), "comment", None),
                (Some(2), "whitespace", None),
                (Some(3), "bad-number", None),
                (Some(4), "zero-count", None),
                (Some(5), "no-final-newline", None),
            ]
        );
    }
}
