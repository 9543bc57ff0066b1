//! Privilege: hardening at start, the drop to the caller, and the one raise.
//!
//! The helpers know right after parsing which capabilities the write will
//! need: CAP_SETUID (newuidmap) or CAP_SETGID (newgidmap), plus CAP_SETFCAP
//! when a UID map maps the parent's root. So they drop at once, before any
//! file, NSS lookup or /proc access: all UIDs and GIDs become the caller's
//! real ones (so the kernel sees the namespace owner as the opener of the
//! map), permitted is cut to those capabilities, effective, inheritable and
//! ambient are emptied. The capabilities are made effective again only just
//! before the map files are opened.

use caps::{CapSet, Capability, CapsHashSet};
use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::resource::{Resource, setrlimit};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{Gid, Uid, getresgid, getresuid, setresgid, setresuid};

use crate::decide::ownership::RealIds;
use crate::kind::IdKind;

impl RealIds {
    /// The real UID and GID of this process: the caller's.
    pub fn current() -> RealIds {
        RealIds {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrivilegeError {
    /// A prctl/setrlimit/set*id/capset step failed.
    Step { step: &'static str, errno: Errno },
    /// The sets read back differ from what was asked for.
    Verify { what: &'static str },
    /// The process lacks capabilities the write needs.
    Missing {
        missing: Vec<Capability>,
        no_new_privs: bool,
        /// This helper's path (/proc/self/exe) for the fix command, read
        /// after the drop by [`own_executable`], never while formatting.
        executable: Option<Vec<u8>>,
    },
}

fn step(step: &'static str) -> impl Fn(Errno) -> PrivilegeError {
    move |errno| PrivilegeError::Step { step, errno }
}

fn caps_step(step: &'static str) -> impl Fn(caps::errors::CapsError) -> PrivilegeError {
    move |_| PrivilegeError::Step {
        step,
        errno: Errno::last(),
    }
}

/// First thing in main. Descriptors 0-2 are made to exist, so nothing the
/// helper opens can become its stderr. The signals a write to stderr can
/// raise are blocked, so the caller cannot use its own stderr to stop or
/// kill the helper halfway through a call: SIGPIPE (a closed reading end:
/// the write fails with EPIPE), SIGXFSZ (stderr a file and `ulimit -f 0`:
/// EFBIG), SIGTTOU and SIGTTIN (a background job on a TOSTOP terminal: the
/// kernel treats a blocked job-control signal as ignored and lets the write
/// through). Blocking needs no signal handler (nothing for src/sys.rs) and has
/// the same effect as ignoring for each of these. A file-capability install
/// is dumpable by default, which would let the caller ptrace the helper or
/// read its core.
pub fn harden_process() -> Result<(), PrivilegeError> {
    crate::sys::ensure_standard_fds().map_err(|error| PrivilegeError::Step {
        step: "open /dev/null for a closed standard descriptor",
        errno: Errno::from_raw(error.raw_os_error().unwrap_or(libc::EBADF)),
    })?;
    let mut output_signals = SigSet::empty();
    for signal in [
        Signal::SIGPIPE,
        Signal::SIGXFSZ,
        Signal::SIGTTOU,
        Signal::SIGTTIN,
    ] {
        output_signals.add(signal);
    }
    output_signals.thread_block().map_err(step("sigprocmask"))?;
    prctl::set_dumpable(false).map_err(step("PR_SET_DUMPABLE"))?;
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(step("RLIMIT_CORE"))?;
    Ok(())
}

/// The capability the kernel requires to write a multi-line map of `kind`.
pub const fn capability(kind: IdKind) -> Capability {
    match kind {
        IdKind::Uid => Capability::CAP_SETUID,
        IdKind::Gid => Capability::CAP_SETGID,
    }
}

/// The capabilities a map needs.
pub fn needed(kind: IdKind, maps_outer_zero: bool) -> CapsHashSet {
    let mut set = CapsHashSet::new();
    set.insert(capability(kind));
    if kind == IdKind::Uid && maps_outer_zero {
        set.insert(Capability::CAP_SETFCAP);
    }
    set
}

/// Refuses early, with the reason, when the install cannot do the job.
pub fn check_available(needed: &CapsHashSet) -> Result<(), PrivilegeError> {
    let permitted = caps::read(None, CapSet::Permitted).map_err(caps_step("capget"))?;
    let mut missing: Vec<Capability> = needed.difference(&permitted).copied().collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_by_key(|c| c.index());
    let no_new_privs = prctl::get_no_new_privs().unwrap_or(false);
    Err(PrivilegeError::Missing {
        missing,
        no_new_privs,
        executable: None,
    })
}

/// Where this binary lives, as the kernel reports it, for the fix command
/// of a missing capability. Read after the drop, on that failure only.
pub fn own_executable() -> Option<Vec<u8>> {
    std::fs::read_link("/proc/self/exe")
        .ok()
        .map(|p| p.into_os_string().into_encoded_bytes())
}

/// Becomes the caller, keeping only `keep` in the permitted set, none effective.
pub fn drop_to_caller(ids: RealIds, keep: &CapsHashSet) -> Result<(), PrivilegeError> {
    prctl::set_keepcaps(true).map_err(step("PR_SET_KEEPCAPS"))?;
    let (uid, gid) = (Uid::from_raw(ids.uid), Gid::from_raw(ids.gid));
    setresgid(gid, gid, gid).map_err(step("setresgid"))?;
    setresuid(uid, uid, uid).map_err(step("setresuid"))?;
    prctl::set_keepcaps(false).map_err(step("PR_SET_KEEPCAPS"))?;
    cut_capabilities(keep)?;
    // Changing credentials resets dumpability to the fs.suid_dumpable sysctl.
    prctl::set_dumpable(false).map_err(step("PR_SET_DUMPABLE"))?;
    verify_ids(ids)
}

/// Drops every privilege (dry run): the caller's IDs, no capabilities at all.
pub fn drop_everything(ids: RealIds) -> Result<(), PrivilegeError> {
    drop_to_caller(ids, &CapsHashSet::new())
}

/// Before anything is printed or logged on a failure: the caller's IDs and
/// no capability at all. When the helper has already become the caller
/// (`dropped`), emptying the capability sets is all that is left. If the
/// full drop fails (it needs nothing the process lacks, so only a broken
/// environment makes it fail), at least every capability set is emptied.
pub fn drop_before_output(ids: RealIds, dropped: bool) {
    if dropped && clear_all().is_ok() {
        return;
    }
    if drop_everything(ids).is_err() {
        let _ = crate::sys::clear_capabilities();
    }
}

/// Effective, permitted and inheritable emptied in one step (right after
/// the one map write), so nothing that follows (the failure report, the
/// syslog send) runs with a capability, and none can be raised again.
pub fn clear_all() -> Result<(), PrivilegeError> {
    crate::sys::clear_capabilities().map_err(|error| PrivilegeError::Step {
        step: "capset",
        errno: Errno::from_raw(error.raw_os_error().unwrap_or(libc::EPERM)),
    })
}

/// Makes the kept capabilities effective, just before the map files are opened.
/// The drop already emptied inheritable and ambient and cut permitted to
/// `keep` (and verified it); nothing since can have changed them, so only
/// the effective set is written, and it and permitted are read back.
pub fn raise_kept(keep: &CapsHashSet) -> Result<(), PrivilegeError> {
    caps::set(None, CapSet::Effective, keep).map_err(caps_step("capset"))?;
    for (set, what) in [
        (CapSet::Effective, "effective capabilities"),
        (CapSet::Permitted, "permitted capabilities"),
    ] {
        if caps::read(None, set).map_err(caps_step("capget"))? != *keep {
            return Err(PrivilegeError::Verify { what });
        }
    }
    Ok(())
}

/// Permitted becomes `permitted`; effective, inheritable and ambient empty.
fn cut_capabilities(permitted: &CapsHashSet) -> Result<(), PrivilegeError> {
    let empty = CapsHashSet::new();
    // Effective first: it must stay a subset of permitted at every step.
    caps::set(None, CapSet::Effective, &empty).map_err(caps_step("capset"))?;
    caps::set(None, CapSet::Inheritable, &empty).map_err(caps_step("capset"))?;
    caps::set(None, CapSet::Permitted, permitted).map_err(caps_step("capset"))?;
    caps::clear(None, CapSet::Ambient).map_err(caps_step("PR_CAP_AMBIENT"))?;
    let read = |set| caps::read(None, set).map_err(caps_step("capget"));
    // Ambient is not read back: the kernel keeps it a subset of permitted ∩
    // inheritable, so an empty inheritable set proves it empty (and reading
    // it costs two prctl calls per capability).
    let checks = [
        (CapSet::Permitted, permitted, "permitted capabilities"),
        (CapSet::Effective, &empty, "effective capabilities"),
        (CapSet::Inheritable, &empty, "inheritable capabilities"),
    ];
    for (set, expected, what) in checks {
        if read(set)? != *expected {
            return Err(PrivilegeError::Verify { what });
        }
    }
    Ok(())
}

fn verify_ids(ids: RealIds) -> Result<(), PrivilegeError> {
    let uids = getresuid().map_err(step("getresuid"))?;
    let gids = getresgid().map_err(step("getresgid"))?;
    let uid_ok = [uids.real, uids.effective, uids.saved]
        .iter()
        .all(|u| u.as_raw() == ids.uid);
    let gid_ok = [gids.real, gids.effective, gids.saved]
        .iter()
        .all(|g| g.as_raw() == ids.gid);
    if uid_ok && gid_ok {
        Ok(())
    } else {
        Err(PrivilegeError::Verify {
            what: "user and group IDs",
        })
    }
}
