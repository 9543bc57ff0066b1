//! The accounts of a passwd file, and the finding about subordinate ranges
//! that hold real account IDs (CVE-2024-56433).

use super::*;
use crate::admin::report::{FindingCode, Severity};

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

impl Checker<'_> {
    /// Ranges that include IDs real accounts have or will be given.
    pub(super) fn account_ids(&mut self, defs: &LoginDefs) {
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
                FindingCode::AccountIds,
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
