//! Findings across entries: owners passwd does not know, duplicates and
//! overlaps of one owner's entries, and overlaps between owners.

use super::*;
use crate::admin::report::{Finding, FindingCode, Severity};

impl Checker<'_> {
    pub(super) fn unknown_owners(&mut self) {
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
                    crate::parse::number::parse_u32(&o.text).is_some(),
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
            self.push(
                Severity::Warning,
                FindingCode::UnknownOwner,
                Some(line),
                message,
                fix,
            );
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
                FindingCode::UnknownOwner,
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
    pub(super) fn same_owner(&mut self) {
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
                found.push((FindingCode::Duplicate, record, p));
            } else if let Some(w) = widest.filter(|w| u64::from(record.start) < w.end()) {
                found.push((FindingCode::SameOwnerOverlap, record, w));
            }
            if widest.is_none_or(|w| record.end() > w.end()) {
                widest = Some(record);
            }
            previous = Some(record);
        }
        for (code, record, other) in found {
            let owner = self.owner_text(record);
            let (message, fix) = if code == FindingCode::Duplicate {
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
    pub(super) fn different_owners(&mut self) {
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
                code: FindingCode::Overlap,
                file: self.file.to_string(),
                line: Some(second.line as usize),
                related_line: Some(first.line as usize),
                message,
                fix,
            });
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
        || crate::parse::number::parse_u32(&meant).is_some_and(|uid| accounts.has_uid(uid));
    (known && !meant.is_empty()).then(|| shown_owner(&meant))
}
