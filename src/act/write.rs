//! The only writes the helpers make: /proc/PID/setgroups and the map file,
//! each opened here, relative to the target's directory, after the drop.
//!
//! [`write`] is the one way in, and it takes exactly a [`VerifiedTarget`]
//! (made only by the target checks) and an [`Approved`] map (made only by
//! the policy's decision), so nothing unchecked or undecided can be written.

use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;

use crate::act::target::{Target, VerifiedTarget};
use crate::decide::policy::{Approved, SetgroupsAction};
use crate::kind::IdKind;

/// What a failed write most likely means, found by looking, not guessing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteCause {
    /// The map already has contents: a namespace's map can be written once.
    AlreadyWritten,
    /// The target exited meanwhile.
    Exited,
    /// The target has exited but is not reaped (a zombie): its map files
    /// belong to root now, so opening them as the caller fails.
    Zombie,
    /// setgroups cannot become `deny` once gid_map is written.
    GidMapAlreadyWritten,
    /// The kernel said EPERM/EACCES with the checks above all passed: a
    /// security module is the remaining explanation; `apparmor` tells
    /// whether AppArmor's userns restriction is switched on.
    SecurityPolicy {
        apparmor_restricts: bool,
    },
    Unexplained,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteError {
    pub file: &'static str,
    /// True when opening the file failed (shadow: `open of FILE failed`),
    /// false when the write itself did (`write to FILE failed`).
    pub opening: bool,
    pub errno: Errno,
    pub cause: WriteCause,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetgroupsOutcome {
    /// Not a GID map, or one with a subordinate grant: setgroups untouched.
    Untouched,
    AlreadyDeny,
    Denied,
    /// Kernels before 3.19 have no setgroups file; there is nothing to deny.
    Unsupported,
}

const WRITE_FLAGS: OFlag = OFlag::O_WRONLY
    .union(OFlag::O_CLOEXEC)
    .union(OFlag::O_NOFOLLOW);

/// Err((opening, errno)).
fn write_once(target: &Target, file: &'static str, bytes: &[u8]) -> Result<(), (bool, Errno)> {
    let fd = openat(target.dir(), file, WRITE_FLAGS, Mode::empty()).map_err(|e| (true, e))?;
    // One write() at offset 0: the kernel takes a map only whole, only once.
    match nix::unistd::write(&fd, bytes) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err((false, Errno::EIO)),
        Err(errno) => Err((false, errno)),
    }
}

/// Writes an approved map to a verified target: setgroups first when the
/// decision says so, then the map in one write. The caller raises the
/// capability just before and clears every capability right after.
pub fn write(target: &VerifiedTarget, approved: &Approved) -> Result<SetgroupsOutcome, WriteError> {
    let target = target.target();
    let setgroups = match approved.setgroups() {
        SetgroupsAction::Deny => deny_setgroups(target)?,
        SetgroupsAction::Unchanged => SetgroupsOutcome::Untouched,
    };
    write_map(target, approved.kind(), &approved.map().render())?;
    Ok(setgroups)
}

/// CVE-2018-7169: a GID map granted only through the caller's own GID must
/// not leave setgroups allowed, or the namespace could drop supplementary
/// groups that negative ACLs rely on.
fn deny_setgroups(target: &Target) -> Result<SetgroupsOutcome, WriteError> {
    let fail = |opening, errno, cause| WriteError {
        file: "setgroups",
        opening,
        errno,
        cause,
    };
    match target.read_file("setgroups") {
        Ok(text) if text.trim_ascii() == b"deny" => return Ok(SetgroupsOutcome::AlreadyDeny),
        Ok(_) => {}
        Err(Errno::ENOENT) => return Ok(SetgroupsOutcome::Unsupported),
        Err(errno) => return Err(fail(true, errno, diagnose(target, IdKind::Gid, errno))),
    }
    match write_once(target, "setgroups", b"deny") {
        Ok(()) => Ok(SetgroupsOutcome::Denied),
        Err((opening, errno)) => {
            let cause = match diagnose(target, IdKind::Gid, errno) {
                WriteCause::AlreadyWritten => WriteCause::GidMapAlreadyWritten,
                other => other,
            };
            Err(fail(opening, errno, cause))
        }
    }
}

fn write_map(target: &Target, kind: IdKind, map: &[u8]) -> Result<(), WriteError> {
    write_once(target, kind.map_file(), map).map_err(|(opening, errno)| WriteError {
        file: kind.map_file(),
        opening,
        errno,
        cause: diagnose(target, kind, errno),
    })
}

fn diagnose(target: &Target, kind: IdKind, errno: Errno) -> WriteCause {
    if matches!(errno, Errno::ESRCH) {
        return WriteCause::Exited;
    }
    match target.read_file(kind.map_file()) {
        Err(Errno::ESRCH | Errno::ENOENT) => return WriteCause::Exited,
        Ok(text) if !text.is_empty() => return WriteCause::AlreadyWritten,
        _ => {}
    }
    if target
        .read_file("status")
        .is_ok_and(|s| crate::parse::procfs::Status::parse(&s).exited())
    {
        return WriteCause::Zombie;
    }
    if matches!(errno, Errno::EPERM | Errno::EACCES) {
        // Outer IDs unmapped in the caller's namespace are ruled out by the
        // caller of write_map (helper::explain) before this is reported.
        let apparmor_restricts = crate::act::environment::apparmor_restricts_userns();
        return WriteCause::SecurityPolicy { apparmor_restricts };
    }
    WriteCause::Unexplained
}
