//! Opening the fixed configuration files under /etc.
//!
//! The paths are constants: no option or environment variable can point a
//! setuid program at another file. Symlinks are followed (NixOS installs
//! /etc/subuid and friends as links into its store); what is checked is the
//! file finally opened: a regular file, owned by root, not writable by group
//! (unless the group is root) or others. O_NONBLOCK keeps a FIFO from
//! hanging the helper before the type check refuses it.

use std::fs::File;
use std::io::Read;

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sys::stat::{Mode, SFlag, fstat};

pub const LOGIN_DEFS: &str = "/etc/login.defs";
pub const NSSWITCH_CONF: &str = "/etc/nsswitch.conf";
pub const PASSWD: &str = "/etc/passwd";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigProblem {
    Open(Errno),
    /// Open refused with EACCES, and stat (which needs no read permission)
    /// shows a file the caller may not read: the files are read as the
    /// caller, so a root-only file (mode 0600) refuses every call.
    Unreadable {
        mode: u32,
        uid: u32,
        gid: u32,
    },
    Read(Errno),
    NotRegular,
    NotOwnedByRoot {
        uid: u32,
    },
    WritableByOthers {
        mode: u32,
    },
    WritableByGroup {
        mode: u32,
        gid: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: &'static str,
    pub problem: ConfigProblem,
}

/// The trust rule on a file's metadata.
pub fn trust_problem(kind: SFlag, uid: u32, gid: u32, mode: u32) -> Option<ConfigProblem> {
    let mode = mode & 0o7777;
    if kind != SFlag::S_IFREG {
        Some(ConfigProblem::NotRegular)
    } else if uid != 0 {
        Some(ConfigProblem::NotOwnedByRoot { uid })
    } else if mode & 0o002 != 0 {
        Some(ConfigProblem::WritableByOthers { mode })
    } else if mode & 0o020 != 0 && gid != 0 {
        Some(ConfigProblem::WritableByGroup { mode, gid })
    } else {
        None
    }
}

/// A trusted configuration file, open, with its size when opened.
#[derive(Debug)]
pub struct ConfigFile {
    pub file: File,
    pub size: u64,
}

/// Opens a trusted configuration file; `Ok(None)` when it does not exist.
pub fn open_config(path: &'static str) -> Result<Option<ConfigFile>, ConfigError> {
    let error = |problem| ConfigError { path, problem };
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let fd = match open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(Errno::EACCES) => return Err(error(unreadable(path))),
        Err(errno) => return Err(error(ConfigProblem::Open(errno))),
    };
    let stat = fstat(&fd).map_err(|e| error(ConfigProblem::Open(e)))?;
    let kind = SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits());
    if let Some(problem) = trust_problem(kind, stat.st_uid, stat.st_gid, stat.st_mode) {
        return Err(error(problem));
    }
    Ok(Some(ConfigFile {
        file: File::from(fd),
        size: u64::try_from(stat.st_size).unwrap_or(0),
    }))
}

/// Why the caller may not open `path`: the mode and owner of the file, when
/// stat can see it (a directory on the way may be what denies access).
fn unreadable(path: &str) -> ConfigProblem {
    match nix::sys::stat::stat(path) {
        Ok(stat)
            if SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFREG =>
        {
            ConfigProblem::Unreadable {
                mode: stat.st_mode & 0o7777,
                uid: stat.st_uid,
                gid: stat.st_gid,
            }
        }
        _ => ConfigProblem::Open(Errno::EACCES),
    }
}

/// Reads a small trusted configuration file whole; empty when absent.
pub fn read_config(path: &'static str) -> Result<Vec<u8>, ConfigError> {
    let Some(opened) = open_config(path)? else {
        return Ok(Vec::new());
    };
    read_small(opened, u64::MAX)
        .map_err(|errno| ConfigError {
            path,
            problem: ConfigProblem::Read(errno),
        })
        .map(Option::unwrap_or_default)
}

/// Reads an opened file whole; `Ok(None)` if it was larger than `limit`
/// when opened. Sized by that size, a small file costs one read plus the
/// one that sees its end (std's read_to_end would first ask for the size
/// and position again). A file that grew meanwhile is read to its end.
pub fn read_small(opened: ConfigFile, limit: u64) -> Result<Option<Vec<u8>>, Errno> {
    if opened.size > limit {
        return Ok(None);
    }
    read_sized(opened.file, opened.size).map(Some)
}

/// The read loop of [`read_small`], over any reader of `size` bytes (as
/// fstat said): the buffer starts one byte past that, so the read that sees
/// the end needs no growth; EINTR is retried, any other error returned.
fn read_sized<R: Read>(mut reader: R, size: u64) -> Result<Vec<u8>, Errno> {
    let expected = usize::try_from(size).unwrap_or(0);
    let mut text = vec![0u8; expected.saturating_add(1).max(64)];
    let mut filled = 0;
    loop {
        if filled == text.len() {
            text.resize(text.len() * 2, 0);
        }
        match reader.read(&mut text[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
        }
    }
    text.truncate(filled);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_rule() {
        let reg = SFlag::S_IFREG;
        assert_eq!(trust_problem(reg, 0, 0, 0o644), None);
        assert_eq!(trust_problem(reg, 0, 0, 0o664), None);
        assert_eq!(trust_problem(reg, 0, 0, 0o444), None);
        assert_eq!(
            trust_problem(reg, 0, 42, 0o664),
            Some(ConfigProblem::WritableByGroup {
                mode: 0o664,
                gid: 42
            })
        );
        assert_eq!(
            trust_problem(reg, 0, 0, 0o646),
            Some(ConfigProblem::WritableByOthers { mode: 0o646 })
        );
        assert_eq!(
            trust_problem(reg, 1000, 0, 0o644),
            Some(ConfigProblem::NotOwnedByRoot { uid: 1000 })
        );
        assert_eq!(
            trust_problem(SFlag::S_IFIFO, 0, 0, 0o644),
            Some(ConfigProblem::NotRegular)
        );
    }

    /// A reader that replays scripted results and records the length of
    /// every slice it is handed.
    struct Script {
        steps: Vec<std::io::Result<Vec<u8>>>,
        asked: Vec<usize>,
    }

    impl Script {
        fn new(steps: Vec<std::io::Result<Vec<u8>>>) -> Script {
            Script {
                steps,
                asked: Vec::new(),
            }
        }
    }

    impl Read for &mut Script {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.asked.push(buf.len());
            assert!(self.asked.len() < 100, "read loop does not stop");
            if self.steps.is_empty() {
                return Ok(0);
            }
            match self.steps.remove(0) {
                Ok(data) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    if n < data.len() {
                        self.steps.insert(0, Ok(data[n..].to_vec()));
                    }
                    Ok(n)
                }
                Err(e) => Err(e),
            }
        }
    }

    fn interrupted() -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::from(std::io::ErrorKind::Interrupted))
    }

    #[test]
    fn read_errors_are_returned_not_retried() {
        let mut reader = Script::new(vec![
            Ok(b"abc".to_vec()),
            Err(std::io::Error::from_raw_os_error(Errno::EIO as i32)),
            Ok(b"never".to_vec()),
        ]);
        assert_eq!(read_sized(&mut reader, 3), Err(Errno::EIO));
        assert_eq!(reader.asked.len(), 2);
        // An error without an errno still fails (as errno 0, "unknown").
        let mut reader = Script::new(vec![Err(std::io::Error::other("no errno"))]);
        assert!(read_sized(&mut reader, 3).is_err());
    }

    #[test]
    fn interrupted_reads_are_retried() {
        let mut reader = Script::new(vec![interrupted(), Ok(b"data\n".to_vec()), interrupted()]);
        assert_eq!(read_sized(&mut reader, 5), Ok(b"data\n".to_vec()));
        // interrupted, data, interrupted, end.
        assert_eq!(reader.asked.len(), 4);
    }

    #[test]
    fn sized_by_fstat_a_file_costs_one_read_and_the_end() {
        let text = b"x".repeat(1000);
        let mut reader = Script::new(vec![Ok(text.clone())]);
        assert_eq!(read_sized(&mut reader, 1000), Ok(text.clone()));
        assert_eq!(reader.asked, vec![1001, 1]);
        // Tiny and empty files get 64 bytes.
        let mut reader = Script::new(vec![Ok(b"ab".to_vec())]);
        assert_eq!(read_sized(&mut reader, 2), Ok(b"ab".to_vec()));
        assert_eq!(reader.asked, vec![64, 62]);
        let mut reader = Script::new(vec![]);
        assert_eq!(read_sized(&mut reader, 0), Ok(Vec::new()));
        assert_eq!(reader.asked, vec![64]);
        // A file that grew since fstat is read to its end, doubling.
        let grown = b"y".repeat(200);
        let mut reader = Script::new(vec![Ok(grown.clone())]);
        assert_eq!(read_sized(&mut reader, 0), Ok(grown));
        assert_eq!(reader.asked, vec![64, 64, 128, 56]);
        // Short reads (a pipe) are gathered.
        let mut reader = Script::new(vec![Ok(b"ab".to_vec()), Ok(b"cd".to_vec())]);
        assert_eq!(read_sized(&mut reader, 4), Ok(b"abcd".to_vec()));
        assert_eq!(reader.asked, vec![64, 62, 60]);
    }

    #[test]
    fn read_small_honours_its_limit() {
        let opened = |size| ConfigFile {
            file: File::open("/proc/self/stat").unwrap(),
            size,
        };
        assert_eq!(read_small(opened(10), 9), Ok(None));
        let text = read_small(opened(10), 10).unwrap().unwrap();
        assert!(!text.is_empty());
    }
}
