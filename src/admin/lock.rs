//! shadow's commonio lock for a database file, so `usermod`, `useradd` and
//! `subid` never write /etc/subuid at the same moment.
//!
//! Protocol (shadow lib/commonio.c): write our PID to `FILE.PID`, link(2)
//! it to `FILE.lock`, check the link count is 2 (link can report failure on
//! NFS after succeeding), unlink `FILE.PID`. If `FILE.lock` exists, read the
//! PID in it: if that process is gone the lock is stale and is removed,
//! otherwise we wait and retry until the deadline. Unlocking unlinks
//! `FILE.lock`. Like shadow, a lock whose content is not a PID is left for
//! the administrator.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub enum LockError {
    /// Another live process holds the lock past our deadline.
    Busy {
        lock: PathBuf,
        pid: u32,
    },
    /// The lock file does not hold a PID; shadow refuses to guess too.
    NoPid {
        lock: PathBuf,
    },
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl LockError {
    pub fn message(&self) -> String {
        match self {
            LockError::Busy { lock, pid } => format!(
                "{} is held by process {pid} (usermod, useradd or another subid?); try again later",
                lock.display()
            ),
            LockError::NoPid { lock } => format!(
                "{} exists but holds no PID; if no tool is editing the file, remove it",
                lock.display()
            ),
            LockError::Io { path, error } => format!("cannot lock {}: {error}", path.display()),
        }
    }
}

/// A held lock; dropping it unlocks.
#[derive(Debug)]
pub struct FileLock {
    lock: PathBuf,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// `FILE.lock`.
pub fn lock_path(path: &Path) -> PathBuf {
    with_suffix(path, ".lock")
}

fn process_alive(pid: u32) -> bool {
    // kill(pid, 0) without a signal API: /proc/PID exists while the process
    // (or its zombie) does, in our PID namespace.
    Path::new("/proc").join(pid.to_string()).exists()
}

impl FileLock {
    /// Takes the lock on `path`, retrying until `wait` has passed.
    pub fn acquire(path: &Path, wait: Duration) -> Result<FileLock, LockError> {
        let pid = std::process::id();
        let own = with_suffix(path, &format!(".{pid}"));
        let lock = lock_path(path);
        let io_error = |path: &Path, error| LockError::Io {
            path: path.to_path_buf(),
            error,
        };
        let _ = fs::remove_file(&own);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&own)
            .map_err(|e| io_error(&own, e))?;
        // shadow writes "%lu" with no newline.
        if let Err(e) = file.write_all(pid.to_string().as_bytes()) {
            let _ = fs::remove_file(&own);
            return Err(io_error(&own, e));
        }
        drop(file);
        let result = Self::link_loop(&own, &lock, pid, wait);
        let _ = fs::remove_file(&own);
        result.map(|()| FileLock { lock })
    }

    fn link_loop(own: &Path, lock: &Path, pid: u32, wait: Duration) -> Result<(), LockError> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(2);
        loop {
            match fs::hard_link(own, lock) {
                Ok(()) => match fs::metadata(own) {
                    Ok(meta) if meta.nlink() == 2 => return Ok(()),
                    Ok(_) => {}
                    Err(error) => {
                        return Err(LockError::Io {
                            path: own.to_path_buf(),
                            error,
                        });
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(error) => {
                    return Err(LockError::Io {
                        path: lock.to_path_buf(),
                        error,
                    });
                }
            }
            let holder = match fs::read(lock) {
                Ok(text) => text,
                // Released between our link and our read: try again now.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => {
                    return Err(LockError::Io {
                        path: lock.to_path_buf(),
                        error,
                    });
                }
            };
            let text = crate::parse::text::trim(&holder);
            let Some(holder) = crate::parse::number::parse_pid(text) else {
                // A lock being written by a tool that does not use link(2)
                // could be empty for an instant; shadow's always has a PID.
                if Instant::now() >= deadline {
                    return Err(LockError::NoPid {
                        lock: lock.to_path_buf(),
                    });
                }
                std::thread::sleep(pause);
                continue;
            };
            if holder != pid && !process_alive(holder) {
                // Stale: remove it only if it is still the same file.
                let before = fs::metadata(lock).ok().map(|m| (m.dev(), m.ino()));
                let again = fs::read(lock).ok();
                if again.as_deref().map(crate::parse::text::trim) == Some(text)
                    && fs::metadata(lock).ok().map(|m| (m.dev(), m.ino())) == before
                {
                    let _ = fs::remove_file(lock);
                }
                continue;
            }
            if Instant::now() >= deadline {
                return Err(LockError::Busy {
                    lock: lock.to_path_buf(),
                    pid: holder,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.lock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("subid-lock-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("subuid")
    }

    #[test]
    fn lock_is_exclusive_and_released() {
        let path = scratch("exclusive");
        let held = FileLock::acquire(&path, Duration::ZERO).unwrap();
        assert_eq!(
            fs::read_to_string(lock_path(&path)).unwrap(),
            std::process::id().to_string()
        );
        // Our own PID in the lock: held, not stale.
        assert!(matches!(
            FileLock::acquire(&path, Duration::from_millis(20)),
            Err(LockError::Busy { .. })
        ));
        drop(held);
        assert!(!lock_path(&path).exists());
        assert!(FileLock::acquire(&path, Duration::ZERO).is_ok());
        // No FILE.PID left behind.
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn stale_lock_is_removed_but_pidless_one_is_not() {
        let path = scratch("stale");
        // PID 2^31-1 cannot exist.
        fs::write(lock_path(&path), "2147483647").unwrap();
        let held = FileLock::acquire(&path, Duration::ZERO).unwrap();
        drop(held);
        fs::write(lock_path(&path), "").unwrap();
        assert!(matches!(
            FileLock::acquire(&path, Duration::from_millis(10)),
            Err(LockError::NoPid { .. })
        ));
        // A live holder (PID 1 always exists) keeps the lock.
        fs::write(lock_path(&path), "1").unwrap();
        assert!(matches!(
            FileLock::acquire(&path, Duration::from_millis(10)),
            Err(LockError::Busy { pid: 1, .. })
        ));
    }
}
