//! Who the caller is, and who owns a subid entry: the passwd database.
//!
//! [`SystemDirectory`] asks glibc (getpwuid_r / getpwnam_r), so LDAP and
//! SSSD users work, except that the caller's own entry is read from
//! /etc/passwd directly when glibc would find it there first anyway (see
//! [`crate::parse::passwd`], which also holds the [`UserDirectory`] trait that keeps
//! the policy testable without NSS).

use nix::unistd::{Uid, User};

use crate::parse::passwd::{Account, LookupFailed, UserDirectory};

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
            passwd_files_first: crate::parse::nsswitch::passwd_files_first(nsswitch),
        }
    }

    /// /etc/passwd's answer when it is certainly glibc's; `None` otherwise.
    fn account_from_files(&self, uid: u32) -> Option<Account> {
        if !self.passwd_files_first {
            return None;
        }
        let opened = crate::act::config::open_config(crate::act::config::PASSWD).ok()??;
        let text = crate::act::config::read_small(opened, DIRECT_PASSWD_LIMIT).ok()??;
        match crate::parse::passwd::lookup_uid(&text, uid) {
            crate::parse::passwd::FilesAnswer::Found(account) => Some(account),
            crate::parse::passwd::FilesAnswer::Absent
            | crate::parse::passwd::FilesAnswer::Unsure => None,
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
