//! The target process: opened once as a /proc/PID directory descriptor,
//! which stays bound to that task (after PID reuse, lookups through it fail
//! with ESRCH), so every later access is relative to it.
#![forbid(unsafe_code)]

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};
use nix::sys::statfs::{PROC_SUPER_MAGIC, fstatfs};

use crate::act::config::{self, ConfigError, LOGIN_DEFS};
use crate::decide::ownership::{self, OwnershipMismatch, RealIds};
use crate::parse::logindefs::LoginDefs;
use crate::parse::passwd::Account;
use crate::parse::request::TargetSpec;
use crate::sys;

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
            TargetSpec::Pid(pid) => open_pid(pid).map(Some),
            TargetSpec::Fd(fd) => open_fd(fd).map(Some),
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

    /// `Pid:` and `Tgid:` of the target's status: the ID the directory is
    /// for, and the process (thread group) it belongs to. Both are among the
    /// first lines, so one short read is enough.
    fn status_ids(&self) -> Result<(u32, u32), TargetError> {
        let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
        let fd = openat(&self.dir, "status", flags, Mode::empty())
            .map_err(|errno| self.inspect_error("status", errno))?;
        let mut head = [0u8; 512];
        let n = nix::unistd::read(&fd, &mut head)
            .map_err(|errno| self.inspect_error("status", errno))?;
        let head = &head[..n];
        match (status_field(head, b"Pid:"), status_field(head, b"Tgid:")) {
            (Some(pid), Some(tgid)) => Ok((pid, tgid)),
            _ => Err(self.inspect_error("status", Errno::EINVAL)),
        }
    }

    /// One rule for every way of naming the target: a thread is refused,
    /// naming its process.
    fn refuse_thread(self, fd: Option<i32>) -> Result<Target, TargetError> {
        let (pid, tgid) = self.status_ids()?;
        if pid != tgid {
            return Err(TargetError::Thread { fd, tid: pid, tgid });
        }
        Ok(Target { pid, ..self })
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

fn open_pid(pid: u32) -> Result<Target, TargetError> {
    let path = format!("/proc/{pid}");
    match openat(AT_FDCWD, path.as_str(), DIR_FLAGS, Mode::empty()) {
        // /proc/TID of a thread opens as well (thread IDs are hidden from
        // the listing, not from lookups).
        Ok(dir) => Target { dir, pid }.refuse_thread(None),
        Err(Errno::ENOENT | Errno::ESRCH) => Err(TargetError::NoSuchProcess { pid }),
        Err(errno) => Err(TargetError::OpenFailed { pid, errno }),
    }
}

fn open_fd(fd: i32) -> Result<Target, TargetError> {
    let bad = |problem| TargetError::BadFd { fd, problem };
    let inherited = sys::borrow_inherited_fd(fd).ok_or(bad(FdProblem::NotOpen))?;
    let stat = fstat(inherited).map_err(|_| bad(FdProblem::NotOpen))?;
    if SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR {
        return open_proc_dir_fd(fd, inherited, &stat);
    }
    match pidfd_pid(fd) {
        Some(pid) if pid > 0 => open_pidfd(fd, inherited, pid as u32),
        Some(0) => Err(bad(FdProblem::PidfdForeign)),
        Some(_) => Err(TargetError::Exited { pid: 0 }),
        None => Err(bad(FdProblem::NotProcessHandle)),
    }
}

/// A descriptor on a /proc/PID directory: it must be on the same procfs as
/// /proc/self, be a process directory (has uid_map) and not a thread's.
fn open_proc_dir_fd(
    fd: i32,
    inherited: BorrowedFd<'_>,
    stat: &FileStat,
) -> Result<Target, TargetError> {
    let bad = |problem| TargetError::BadFd { fd, problem };
    let on_procfs = fstatfs(inherited).is_ok_and(|fs| fs.filesystem_type() == PROC_SUPER_MAGIC);
    let ours = nix::sys::stat::stat("/proc/self").map_err(|_| bad(FdProblem::NotProcfs))?;
    if !on_procfs || ours.st_dev != stat.st_dev {
        return Err(bad(FdProblem::NotProcfs));
    }
    // Our own descriptor on the same directory (O_PATH descriptors included).
    let dir = openat(inherited, ".", DIR_FLAGS, Mode::empty()).map_err(|errno| match errno {
        Errno::ESRCH | Errno::ENOENT => TargetError::Exited { pid: 0 },
        _ => bad(FdProblem::NotProcessDirectory),
    })?;
    let is_entry = |name: &str, kind: SFlag| {
        fstatat(&dir, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .is_ok_and(|s| SFlag::from_bits_truncate(s.st_mode & SFlag::S_IFMT.bits()) == kind)
    };
    if !is_entry("uid_map", SFlag::S_IFREG) {
        return Err(bad(FdProblem::NotProcessDirectory));
    }
    let task_dir = !is_entry("task", SFlag::S_IFDIR);
    let target = Target { dir, pid: 0 };
    if task_dir {
        // /proc/PID/task/TID: a thread's directory, even the leader's.
        let (tid, tgid) = target
            .status_ids()
            .map_err(|_| TargetError::Exited { pid: 0 })?;
        return Err(TargetError::Thread {
            fd: Some(fd),
            tid,
            tgid,
        });
    }
    target.refuse_thread(Some(fd)).map_err(|e| match e {
        TargetError::Inspect { .. } => TargetError::Exited { pid: 0 },
        other => other,
    })
}

/// A pidfd: resolve its PID from fdinfo, open /proc/PID, then prove with a
/// null signal that the pidfd's process still exists, so the PID cannot have
/// been reused between the two steps.
fn open_pidfd(fd: i32, pidfd: BorrowedFd<'_>, pid: u32) -> Result<Target, TargetError> {
    // A thread's pidfd (PIDFD_THREAD) names the thread's ID here.
    let target = open_pid(pid).map_err(|e| match e {
        TargetError::NoSuchProcess { pid } => TargetError::Exited { pid },
        TargetError::Thread { tid, tgid, .. } => TargetError::Thread {
            fd: Some(fd),
            tid,
            tgid,
        },
        other => other,
    })?;
    match sys::pidfd_probe(pidfd) {
        Ok(()) => Ok(target),
        // EPERM still proves the process exists.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(target),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(TargetError::Exited { pid }),
        Err(_) => Err(TargetError::BadFd {
            fd,
            problem: FdProblem::NotProcessHandle,
        }),
    }
}

/// The `Pid:` line of /proc/self/fdinfo/N, present only for pidfds:
/// positive, 0 (not in our PID namespace) or -1 (exited).
fn pidfd_pid(fd: i32) -> Option<i64> {
    let path = format!("/proc/self/fdinfo/{fd}");
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW;
    let info = openat(AT_FDCWD, path.as_str(), flags, Mode::empty()).ok()?;
    let mut text = Vec::new();
    std::fs::File::from(info).read_to_end(&mut text).ok()?;
    let line = text
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Pid:"))?;
    let value = crate::parse::text::trim(line);
    match value.strip_prefix(b"-") {
        Some(b"1") => Some(-1),
        Some(_) => None,
        None => crate::parse::number::parse_u32(value).map(i64::from),
    }
}

/// A numeric field of /proc/PID/status.
fn status_field(status: &[u8], key: &[u8]) -> Option<u32> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(key))?;
    crate::parse::number::parse_pid(crate::parse::text::trim(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let status = b"Name:\tsleep\nTgid:\t42\nPid:\t42\nPPid:\t1\n";
        assert_eq!(status_field(status, b"Pid:"), Some(42));
        assert_eq!(status_field(status, b"Uid:"), None);
    }

    #[test]
    fn own_process_by_pid_and_by_fd() {
        let me = std::process::id();
        let target = Target::open(TargetSpec::Pid(me)).unwrap().unwrap();
        assert_eq!(target.pid(), me);
        let proc_dir = std::fs::File::open(format!("/proc/{me}")).unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&proc_dir);
        let by_fd = Target::open(TargetSpec::Fd(fd)).unwrap().unwrap();
        assert_eq!(by_fd.pid(), me);
        assert_eq!(
            by_fd.namespace_problem(nix::unistd::getuid().as_raw()),
            Ok(Some(NamespaceProblem::SameAsCaller))
        );
    }

    #[test]
    fn bad_fds() {
        let file = std::fs::File::open("/proc/self/status").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        assert_eq!(
            Target::open(TargetSpec::Fd(fd)).unwrap_err(),
            TargetError::BadFd {
                fd,
                problem: FdProblem::NotProcessHandle
            }
        );
        let proc_root = std::fs::File::open("/proc").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&proc_root);
        assert_eq!(
            Target::open(TargetSpec::Fd(fd)).unwrap_err(),
            TargetError::BadFd {
                fd,
                problem: FdProblem::NotProcessDirectory
            }
        );
        let tmp = std::fs::File::open("/").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&tmp);
        assert_eq!(
            Target::open(TargetSpec::Fd(fd)).unwrap_err(),
            TargetError::BadFd {
                fd,
                problem: FdProblem::NotProcfs
            }
        );
        assert_eq!(
            Target::open(TargetSpec::Fd(999_999)).unwrap_err(),
            TargetError::BadFd {
                fd: 999_999,
                problem: FdProblem::NotOpen
            }
        );
    }
}
