//! Opening the target however it is named (a PID, an inherited /proc/PID
//! directory, a pidfd), so that it is a process, not a thread, and the
//! descriptor stays bound to it.

use std::io::Read;
use std::os::fd::BorrowedFd;

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat};
use nix::sys::statfs::{PROC_SUPER_MAGIC, fstatfs};

use super::{DIR_FLAGS, FdProblem, Target, TargetError};
use crate::sys;

impl Target {
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
}

pub(super) fn open_pid(pid: u32) -> Result<Target, TargetError> {
    let path = format!("/proc/{pid}");
    match openat(AT_FDCWD, path.as_str(), DIR_FLAGS, Mode::empty()) {
        // /proc/TID of a thread opens as well (thread IDs are hidden from
        // the listing, not from lookups).
        Ok(dir) => Target { dir, pid }.refuse_thread(None),
        Err(Errno::ENOENT | Errno::ESRCH) => Err(TargetError::NoSuchProcess { pid }),
        Err(errno) => Err(TargetError::OpenFailed { pid, errno }),
    }
}

pub(super) fn open_fd(fd: i32) -> Result<Target, TargetError> {
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
    use crate::act::target::NamespaceProblem;
    use crate::parse::request::TargetSpec;

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
