//! The target process: opened once as a /proc/PID directory descriptor,
//! which stays bound to that task (after PID reuse, lookups through it fail
//! with ESRCH), so every later access is relative to it.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, fstat, fstatat};

use crate::act::config::{self, ConfigError, LOGIN_DEFS};
use crate::decide::ownership::{self, OwnershipMismatch, RealIds};
use crate::parse::logindefs::LoginDefs;
use crate::parse::passwd::Account;
use crate::parse::request::TargetSpec;
use crate::sys;

mod open;

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_CLOEXEC)
    .union(OFlag::O_NOFOLLOW);

/// Why an inherited `fd:N` is not a usable target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdProblem {
    NotOpen,
    /// Neither a directory nor a pidfd (a regular file, a socket, ...).
    NotProcessHandle,
    /// A directory, but not on the procfs that /proc/self is on.
    NotProcfs,
    /// A procfs directory that is not a process (e.g. /proc itself).
    NotProcessDirectory,
    /// A pidfd whose process is not visible in our PID namespace.
    PidfdForeign,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetError {
    NoSuchProcess {
        pid: u32,
    },
    OpenFailed {
        pid: u32,
        errno: Errno,
    },
    BadFd {
        fd: i32,
        problem: FdProblem,
    },
    /// A thread, not a process: a thread ID given as PID, a thread's pidfd
    /// (`fd` set), or a /proc/PID/task/TID directory (`fd` set).
    Thread {
        fd: Option<i32>,
        tid: u32,
        tgid: u32,
    },
    /// The process behind a pidfd or /proc fd has exited.
    Exited {
        pid: u32,
    },
    Inspect {
        pid: u32,
        what: &'static str,
        errno: Errno,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamespaceProblem {
    /// The target shares the helper's own user namespace (no `unshare --user`).
    SameAsCaller,
    /// A namespace that is not a direct child of ours (grandchild, sibling).
    NotDirectChild,
    /// A child of ours, but created by another user.
    OwnedBy { uid: u32 },
    /// The kernel would not let the caller open the target's ns/user
    /// (ptrace read access) because the target is not dumpable.
    NotDumpable,
    /// The kernel would not let the caller open the target's ns/user
    /// although the target is the caller's and dumpable: its namespace is
    /// outside the caller's reach (created by another user, or not below the
    /// caller's own namespace, e.g. a sibling), so it cannot be theirs to map.
    Unreachable,
}

/// Why a target that opened is not the caller's to map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    Target(TargetError),
    /// login.defs could not be read (it mattered to the answer).
    Config(ConfigError),
    Ownership(OwnershipMismatch),
    Namespace {
        pid: u32,
        problem: NamespaceProblem,
    },
}

/// An opened target process.
#[derive(Debug)]
pub struct Target {
    dir: OwnedFd,
    pid: u32,
}

/// A target that passed the ownership and namespace checks: the only kind
/// the writer takes. Only [`Target::verify`] makes one (the field is
/// private), so a map can reach only a process whose checks passed.
///
/// The way to get one, and to the write:
///
/// ```no_run
/// use newidmap::decide::ownership::RealIds;
/// use newidmap::parse::passwd::Account;
/// use newidmap::decide::policy::Approved;
/// use newidmap::act::target::{Rejection, Target, VerifiedTarget};
/// fn verified(target: Target, real: RealIds, caller: &Account) -> Result<VerifiedTarget, Rejection> {
///     target.verify(real, caller)
/// }
/// fn write(target: &VerifiedTarget, approved: &Approved) {
///     let _ = newidmap::act::write::write(target, approved);
/// }
/// ```
///
/// A target made by hand does not compile:
///
/// ```compile_fail,E0451
/// use newidmap::decide::ownership::RealIds;
/// use newidmap::parse::passwd::Account;
/// use newidmap::decide::policy::Approved;
/// use newidmap::act::target::{Rejection, Target, VerifiedTarget};
/// fn verified(target: Target, real: RealIds, caller: &Account) -> Result<VerifiedTarget, Rejection> {
///     Ok(VerifiedTarget { target })
/// }
/// ```
///
/// nor does writing to an unverified target, or a map that was not decided:
///
/// ```compile_fail,E0308
/// use newidmap::decide::policy::Approved;
/// use newidmap::act::target::{Target, VerifiedTarget};
/// fn write(target: &Target, approved: &Approved) {
///     let _ = newidmap::act::write::write(target, approved);
/// }
/// ```
///
/// ```compile_fail,E0308
/// use newidmap::parse::map::ValidMap;
/// use newidmap::act::target::VerifiedTarget;
/// fn write(target: &VerifiedTarget, approved: &ValidMap) {
///     let _ = newidmap::act::write::write(target, approved);
/// }
/// ```
///
/// (Stable rustdoc checks only that these fail to compile, not the error
/// code: the compiling twin above differs from each only in the forbidden
/// part.)
#[derive(Debug)]
pub struct VerifiedTarget {
    target: Target,
}

impl VerifiedTarget {
    pub fn pid(&self) -> u32 {
        self.target.pid
    }

    /// The checked process, for the writer.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }
}

impl Target {
    pub fn open(spec: TargetSpec) -> Result<Option<Target>, TargetError> {
        match spec {
            TargetSpec::Unspecified => Ok(None),
            TargetSpec::Pid(pid) => open::open_pid(pid).map(Some),
            TargetSpec::Fd(fd) => open::open_fd(fd).map(Some),
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The target checks, in shadow's order: the process belongs to the
    /// caller (see [`crate::decide::ownership`]), then its user namespace is a
    /// direct child of ours created by the caller.
    pub fn verify(self, real: RealIds, caller: &Account) -> Result<VerifiedTarget, Rejection> {
        let owner = self.owner().map_err(Rejection::Target)?;
        // login.defs is read only in the rare case it can change the answer.
        let grant_aux = ownership::login_defs_matters(real, caller) && grant_aux_group_subids()?;
        ownership::check(self.pid, owner, real, caller, grant_aux).map_err(Rejection::Ownership)?;
        if let Some(problem) = self
            .namespace_problem(real.uid)
            .map_err(Rejection::Target)?
        {
            return Err(Rejection::Namespace {
                pid: self.pid,
                problem,
            });
        }
        Ok(VerifiedTarget { target: self })
    }

    pub fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// The owner of /proc/PID: the task's effective UID and GID, or root
    /// when the task is not dumpable.
    pub fn owner(&self) -> Result<(u32, u32), TargetError> {
        let stat = fstat(&self.dir).map_err(|errno| self.inspect_error("/proc/PID", errno))?;
        Ok((stat.st_uid, stat.st_gid))
    }

    fn inspect_error(&self, what: &'static str, errno: Errno) -> TargetError {
        match errno {
            Errno::ESRCH | Errno::ENOENT => TargetError::Exited { pid: self.pid },
            errno => TargetError::Inspect {
                pid: self.pid,
                what,
                errno,
            },
        }
    }

    /// The target's user namespace must be a direct child of ours, created
    /// by the caller: anything else is not the caller's to map.
    pub fn namespace_problem(
        &self,
        caller_uid: u32,
    ) -> Result<Option<NamespaceProblem>, TargetError> {
        let ns_flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        // ns/user is a magic link into nsfs, so O_NOFOLLOW cannot be used; the
        // path is fixed and relative to the target's own directory.
        let theirs = match openat(&self.dir, "ns/user", ns_flags, Mode::empty()) {
            Ok(fd) => fd,
            // Opening ns/user needs ptrace read access, which the caller lacks
            // for a non-dumpable process, or for one whose namespace is
            // neither the caller's nor below a namespace the caller owns. The
            // map files of a non-dumpable task are root's (its directory
            // still shows its effective UID), which tells the two apart.
            Err(Errno::EACCES | Errno::EPERM) => {
                let (dir_uid, _) = self.owner()?;
                let map_uid = fstatat(&self.dir, "uid_map", AtFlags::AT_SYMLINK_NOFOLLOW)
                    .map_err(|errno| self.inspect_error("uid_map", errno))?
                    .st_uid;
                return Ok(Some(if map_uid == dir_uid {
                    NamespaceProblem::Unreachable
                } else {
                    NamespaceProblem::NotDumpable
                }));
            }
            Err(errno) => return Err(self.inspect_error("ns/user", errno)),
        };
        let ours = openat(AT_FDCWD, "/proc/self/ns/user", ns_flags, Mode::empty())
            .map_err(|errno| self.inspect_error("/proc/self/ns/user", errno))?;
        let ours = fstat(&ours).map_err(|errno| self.inspect_error("/proc/self/ns/user", errno))?;
        let same = |a: &FileStat, b: &FileStat| a.st_dev == b.st_dev && a.st_ino == b.st_ino;
        let their_stat = fstat(&theirs).map_err(|errno| self.inspect_error("ns/user", errno))?;
        if same(&their_stat, &ours) {
            return Ok(Some(NamespaceProblem::SameAsCaller));
        }
        let parent = match sys::user_namespace_parent(&theirs) {
            Ok(parent) => parent,
            // EPERM: the parent lies outside our namespace, so it is not ours.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                return Ok(Some(NamespaceProblem::NotDirectChild));
            }
            Err(e) => return Err(self.inspect_error("NS_GET_PARENT", io_errno(&e))),
        };
        let parent = fstat(&parent).map_err(|errno| self.inspect_error("NS_GET_PARENT", errno))?;
        if !same(&parent, &ours) {
            return Ok(Some(NamespaceProblem::NotDirectChild));
        }
        let owner = sys::user_namespace_owner(&theirs)
            .map_err(|e| self.inspect_error("NS_GET_OWNER_UID", io_errno(&e)))?;
        Ok((owner != caller_uid).then_some(NamespaceProblem::OwnedBy { uid: owner }))
    }

    /// Reads a small file in the target's directory (uid_map, setgroups, status).
    pub fn read_file(&self, name: &str) -> Result<Vec<u8>, Errno> {
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
        let fd = openat(&self.dir, name, flags, Mode::empty())?;
        let mut text = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut text)
            .map_err(|e| io_errno(&e))?;
        Ok(text)
    }
}

fn grant_aux_group_subids() -> Result<bool, Rejection> {
    let text = config::read_config(LOGIN_DEFS).map_err(Rejection::Config)?;
    Ok(LoginDefs::parse(&text).grant_aux_group_subids)
}

pub fn io_errno(error: &std::io::Error) -> Errno {
    Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO))
}
