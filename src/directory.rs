//! Who the caller is, and who owns a subid entry: the passwd database.
//!
//! The trait keeps the policy testable without NSS; [`SystemDirectory`] asks
//! glibc (getpwuid_r / getpwnam_r), so LDAP and SSSD users work, except that
//! the caller's own entry is read from /etc/passwd directly when glibc would
//! find it there first anyway (see [`crate::passwd`]).
#![forbid(unsafe_code)]

use nix::unistd::{Uid, User};

/// A passwd entry, reduced to what the policy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `None` when the name is not valid UTF-8 (nix hands names over lossily,
    /// and a lossy name must never match another user's entry).
    pub name: Option<String>,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupFailed(pub nix::errno::Errno);

pub trait UserDirectory {
    fn account_by_uid(&self, uid: u32) -> Result<Option<Account>, LookupFailed>;
    /// The UID a user name resolves to, if any. Failures count as "no such user":
    /// an entry we cannot attribute grants nothing.
    fn uid_by_name(&self, name: &[u8]) -> Option<u32>;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemDirectory {
    /// nsswitch.conf makes `files` the first passwd source.
    passwd_files_first: bool,
}

/// Larger passwd files are left to glibc, which reads them line by line.
const DIRECT_PASSWD_LIMIT: u64 = 4 << 20;

impl SystemDirectory {
    /// The directory as configured by nsswitch.conf's text.
    pub fn configured(nsswitch: &[u8]) -> SystemDirectory {
        SystemDirectory {
            passwd_files_first: crate::passwd::files_first(nsswitch),
        }
    }

    /// /etc/passwd's answer when it is certainly glibc's; `None` otherwise.
    fn account_from_files(&self, uid: u32) -> Option<Account> {
        if !self.passwd_files_first {
            return None;
        }
        let opened = crate::config::open_config(crate::config::PASSWD).ok()??;
        let text = crate::config::read_small(opened, DIRECT_PASSWD_LIMIT).ok()??;
        match crate::passwd::lookup_uid(&text, uid) {
            crate::passwd::FilesAnswer::Found(account) => Some(account),
            crate::passwd::FilesAnswer::Absent | crate::passwd::FilesAnswer::Unsure => None,
        }
    }
}

fn exact_name(user: &User) -> Option<String> {
    (!user.name.contains(char::REPLACEMENT_CHARACTER)).then(|| user.name.clone())
}

impl UserDirectory for SystemDirectory {
    fn account_by_uid(&self, uid: u32) -> Result<Option<Account>, LookupFailed> {
        if let Some(account) = self.account_from_files(uid) {
            return Ok(Some(account));
        }
        let user = User::from_uid(Uid::from_raw(uid)).map_err(LookupFailed)?;
        Ok(user.map(|user| Account {
            name: exact_name(&user),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        }))
    }

    fn uid_by_name(&self, name: &[u8]) -> Option<u32> {
        let name = std::str::from_utf8(name).ok()?;
        if name.contains('\0') {
            return None;
        }
        let user = User::from_name(name).ok()??;
        // A name that came back altered did not name this entry's owner.
        (exact_name(&user).as_deref() == Some(name)).then(|| user.uid.as_raw())
    }
}

/// A fixed table, for tests and for the admin tool's `--passwd FILE`.
#[derive(Clone, Debug, Default)]
pub struct TableDirectory {
    pub accounts: Vec<Account>,
}

impl TableDirectory {
    /// Parses passwd(5) text: `name:passwd:uid:gid:...`; bad lines are skipped.
    pub fn from_passwd(text: &[u8]) -> TableDirectory {
        let accounts = text
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                let mut fields = line.split(|&b| b == b':');
                let name = fields.next()?;
                let _password = fields.next()?;
                let uid = crate::number::parse_u32(fields.next()?)?;
                let gid = crate::number::parse_u32(fields.next()?)?;
                let name = String::from_utf8(name.to_vec()).ok()?;
                (!name.is_empty() && !name.starts_with(['+', '-', '#'])).then_some(Account {
                    name: Some(name),
                    uid,
                    gid,
                })
            })
            .collect();
        TableDirectory { accounts }
    }
}

impl UserDirectory for TableDirectory {
    fn account_by_uid(&self, uid: u32) -> Result<Option<Account>, LookupFailed> {
        Ok(self.accounts.iter().find(|a| a.uid == uid).cloned())
    }

    fn uid_by_name(&self, name: &[u8]) -> Option<u32> {
        self.accounts
            .iter()
            .find(|a| a.name.as_deref().map(str::as_bytes) == Some(name))
            .map(|a| a.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_table() {
        let dir = TableDirectory::from_passwd(
            b"root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbroken\n+nis:x:1:1::/:/bin/sh\n",
        );
        assert_eq!(dir.accounts.len(), 3);
        assert_eq!(
            dir.account_by_uid(1000).unwrap().unwrap().name.as_deref(),
            Some("alice")
        );
        assert_eq!(dir.uid_by_name(b"alias"), Some(1000));
        assert_eq!(dir.uid_by_name(b"nis"), None);
    }
}
