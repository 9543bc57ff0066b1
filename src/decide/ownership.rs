//! shadow's ownership rule, as a pure function of what the edges found.
//!
//! The caller is their passwd entry; their real GID is its GID (unless
//! login.defs has GRANT_AUX_GROUP_SUBIDS yes); and /proc/PID belongs to
//! their real UID and GID. The target's owner (an fstat of /proc/PID) and
//! login.defs are read by the target checks, login.defs only when
//! [`login_defs_matters`] says the answer depends on it.

use crate::parse::passwd::Account;

/// The caller's real IDs: the only identity the helpers trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealIds {
    pub uid: u32,
    pub gid: u32,
}

/// Why the target is not the caller's, with every number the message names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnershipMismatch {
    pub pid: u32,
    pub target_uid: u32,
    pub target_gid: u32,
    pub real: RealIds,
    pub passwd_uid: u32,
    pub passwd_gid: u32,
    /// Only the real-GID-vs-passwd-GID rule failed, which login.defs can lift.
    pub only_primary_group: bool,
}

/// True when GRANT_AUX_GROUP_SUBIDS can change the answer (the caller's
/// real GID is not their passwd GID), so login.defs must be read.
pub fn login_defs_matters(real: RealIds, passwd: &Account) -> bool {
    real.gid != passwd.gid
}

/// The rule. `target_owner` is the owner (UID, GID) of /proc/PID;
/// `grant_aux_group_subids` is login.defs' switch (false when not read).
pub fn check(
    pid: u32,
    target_owner: (u32, u32),
    real: RealIds,
    passwd: &Account,
    grant_aux_group_subids: bool,
) -> Result<(), OwnershipMismatch> {
    let (target_uid, target_gid) = target_owner;
    let process_ok = real.uid == passwd.uid && target_uid == real.uid && target_gid == real.gid;
    let group_ok = real.gid == passwd.gid || grant_aux_group_subids;
    if process_ok && group_ok {
        return Ok(());
    }
    Err(OwnershipMismatch {
        pid,
        target_uid,
        target_gid,
        real,
        passwd_uid: passwd.uid,
        passwd_gid: passwd.gid,
        only_primary_group: process_ok && !group_ok,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(uid: u32, gid: u32) -> Account {
        Account {
            name: Some("alice".into()),
            uid,
            gid,
        }
    }

    const ALICE: RealIds = RealIds {
        uid: 1000,
        gid: 1000,
    };

    #[test]
    fn own_process_passes() {
        assert_eq!(
            check(7, (1000, 1000), ALICE, &account(1000, 1000), false),
            Ok(())
        );
        assert!(!login_defs_matters(ALICE, &account(1000, 1000)));
    }

    #[test]
    fn another_users_process_is_refused() {
        let refused = check(7, (0, 0), ALICE, &account(1000, 1000), true).unwrap_err();
        assert!(!refused.only_primary_group);
        assert_eq!((refused.target_uid, refused.target_gid), (0, 0));
        // Same UID, another effective GID.
        assert!(check(7, (1000, 5), ALICE, &account(1000, 1000), true).is_err());
        // A passwd entry of another UID (the caller's UID has none of its own).
        assert!(check(7, (1000, 1000), ALICE, &account(1001, 1000), true).is_err());
    }

    #[test]
    fn real_gid_other_than_passwd_gid_needs_login_defs() {
        let passwd = account(1000, 100);
        assert!(login_defs_matters(ALICE, &passwd));
        let refused = check(7, (1000, 1000), ALICE, &passwd, false).unwrap_err();
        assert!(refused.only_primary_group);
        assert_eq!(check(7, (1000, 1000), ALICE, &passwd, true), Ok(()));
    }
}
