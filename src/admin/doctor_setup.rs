//! `subid doctor`, continued: the helpers a launcher finds on PATH
//! (the live trial that runs them is in [`super::doctor_trial`]).

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::doctor::{Check, on_nosuid_mount};
use crate::kind::IdKind;

/// How a copy of a helper gets its privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privilege {
    /// Owned by root with the setuid bit.
    SetuidRoot,
    /// A file capability holding the kind's capability in its permitted set;
    /// `root_id` is the v3 (namespaced) root ID, 0 for v2.
    FileCapability {
        root_id: u32,
    },
    None,
}

/// A `security.capability` value: (permitted mask, root ID). See
/// <linux/capability.h>: magic_etc (revision | effective flag), then
/// permitted/inheritable pairs of 32-bit words, then (v3) the root ID.
pub fn parse_file_capability(value: &[u8]) -> Option<(u64, u32)> {
    let word = |at: usize| -> Option<u32> {
        value
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let magic = word(0)?;
    let low = u64::from(word(4)?);
    match magic & 0xff00_0000 {
        0x0100_0000 => Some((low, 0)),
        0x0200_0000 => Some((low | u64::from(word(12)?) << 32, 0)),
        0x0300_0000 => Some((low | u64::from(word(12)?) << 32, word(20)?)),
        _ => None,
    }
}

/// One copy of a helper found on PATH.
#[derive(Clone, Debug)]
pub struct Copy {
    pub path: PathBuf,
    pub privilege: Privilege,
    pub nosuid: bool,
    dev_ino: (u64, u64),
}

impl Copy {
    fn inspect(path: PathBuf, kind: IdKind) -> Option<Copy> {
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            return None;
        }
        let capability = crate::sys::get_xattr(&path, c"security.capability")
            .ok()
            .flatten()
            .and_then(|v| parse_file_capability(&v));
        let privilege = if meta.uid() == 0 && meta.mode() & 0o4000 != 0 {
            Privilege::SetuidRoot
        } else {
            match capability {
                Some((permitted, root_id))
                    if permitted & (1 << crate::act::privilege::capability(kind).index()) != 0 =>
                {
                    Privilege::FileCapability { root_id }
                }
                _ => Privilege::None,
            }
        };
        Some(Copy {
            nosuid: on_nosuid_mount(&path),
            path,
            privilege,
            dev_ino: (meta.dev(), meta.ino()),
        })
    }

    fn describe(&self, kind: IdKind) -> String {
        match self.privilege {
            Privilege::SetuidRoot => "setuid root".into(),
            Privilege::FileCapability { root_id: 0 } => {
                format!("file capability {}", kind.capability_name())
            }
            Privilege::FileCapability { root_id } => format!(
                "namespaced file capability {} for root ID {root_id}",
                kind.capability_name()
            ),
            Privilege::None => "no setuid bit and no file capability".into(),
        }
    }

    /// True when the kernel grants this copy its privilege here.
    fn works(&self) -> bool {
        !self.nosuid
            && match self.privilege {
                Privilege::SetuidRoot => true,
                Privilege::FileCapability { root_id } => root_id == 0 || maps_to_root(root_id),
                Privilege::None => false,
            }
    }
}

/// True when this process's namespace maps its root to `outer`.
fn maps_to_root(outer: u32) -> bool {
    let map =
        crate::parse::procfs::parse_map(&std::fs::read("/proc/self/uid_map").unwrap_or_default());
    map.iter().any(|l| l.inner == 0 && l.outer == outer)
}

/// Every copy of both helpers on PATH, in PATH order.
#[derive(Clone, Debug, Default)]
pub struct Helpers {
    pub path: String,
    pub uid: Vec<Copy>,
    pub gid: Vec<Copy>,
}

impl Helpers {
    pub fn find(path: Option<&OsStr>) -> Helpers {
        let path = path
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut helpers = Helpers {
            path: path.clone(),
            ..Helpers::default()
        };
        for dir in path.split(':').filter(|d| d.starts_with('/')) {
            for kind in [IdKind::Uid, IdKind::Gid] {
                let found = Copy::inspect(Path::new(dir).join(kind.program()), kind);
                let list = helpers.copies_mut(kind);
                if let Some(copy) = found
                    && list.iter().all(|c| c.path != copy.path)
                {
                    list.push(copy);
                }
            }
        }
        helpers
    }

    fn copies_mut(&mut self, kind: IdKind) -> &mut Vec<Copy> {
        match kind {
            IdKind::Uid => &mut self.uid,
            IdKind::Gid => &mut self.gid,
        }
    }

    pub fn first(&self, kind: IdKind) -> Option<&Copy> {
        match kind {
            IdKind::Uid => self.uid.first(),
            IdKind::Gid => self.gid.first(),
        }
    }

    fn copies(&self, kind: IdKind) -> &[Copy] {
        match kind {
            IdKind::Uid => &self.uid,
            IdKind::Gid => &self.gid,
        }
    }

    pub fn checks(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        for kind in [IdKind::Uid, IdKind::Gid] {
            checks.push(self.check_one(kind));
        }
        if let (Some(u), Some(g)) = (self.first(IdKind::Uid), self.first(IdKind::Gid))
            && u.path.parent() != g.path.parent()
        {
            checks.push(Check::problem(
                "helper-pair",
                format!(
                    "PATH finds {} and {} in different directories: a mismatched pair (one may be shadow's, one newidmap's, or an old copy)",
                    u.path.display(),
                    g.path.display()
                ),
                "install both helpers from one package into one directory, and remove the stray copy".into(),
            ));
        } else if let (Some(u), Some(g)) = (self.first(IdKind::Uid), self.first(IdKind::Gid)) {
            let (uv, gv) = (version(&u.path), version(&g.path));
            if uv == gv {
                checks.push(Check::ok(
                    "helper-pair",
                    format!(
                        "newuidmap and newgidmap come from the same directory and implementation ({uv})"
                    ),
                ));
            } else {
                checks.push(Check::problem(
                    "helper-pair",
                    format!(
                        "{} is {uv} but {} is {gv}: a mismatched pair",
                        u.path.display(),
                        g.path.display()
                    ),
                    "reinstall both helpers from one package (apt install --reinstall newidmap, or uidmap for shadow's)".into(),
                ));
            }
        }
        checks
    }

    fn check_one(&self, kind: IdKind) -> Check {
        let id = kind.program();
        let copies = self.copies(kind);
        let Some(first) = copies.first() else {
            return Check::problem(
                id,
                format!("{id} is not on PATH ({})", self.path),
                "install it (apt install uidmap, or packaging/install.sh), or add its directory to PATH"
                    .to_string(),
            );
        };
        let shown = first.path.display();
        let better = copies[1..]
            .iter()
            .find(|c| c.works() && c.dev_ino != first.dev_ino);
        if first.nosuid {
            return Check::problem(
                id,
                format!(
                    "{shown} ({}) is on a filesystem mounted nosuid, so the kernel ignores its privilege",
                    first.describe(kind)
                ),
                format!(
                    "install {id} on a filesystem mounted without nosuid (e.g. /usr/bin), or remount this one without nosuid"
                ),
            );
        }
        if !first.works() {
            let mut message = format!("{shown} has {}", first.describe(kind));
            if let Some(better) = better {
                message.push_str(&format!(
                    ", and it shadows {} later on PATH, which is installed right",
                    better.path.display()
                ));
                return Check::problem(
                    id,
                    message,
                    format!("as root: remove {shown} (or install it right: chmod 4755 {shown})"),
                );
            }
            if let Privilege::FileCapability { root_id } = first.privilege {
                return Check::problem(
                    id,
                    format!(
                        "{message}; the kernel honours it only in a namespace whose root is UID {root_id}"
                    ),
                    format!("as root: setcap {}+ep {shown}", kind.capability_name()),
                );
            }
            return Check::problem(
                id,
                message,
                format!(
                    "as root: chown root:root {shown} && chmod 4755 {shown} (or setcap {}+ep {shown})",
                    kind.capability_name()
                ),
            );
        }
        let others: Vec<String> = copies[1..]
            .iter()
            .filter(|c| c.dev_ino != first.dev_ino)
            .map(|c| c.path.display().to_string())
            .collect();
        let mut message = format!("PATH finds {shown} ({})", first.describe(kind));
        if !others.is_empty() {
            message.push_str(&format!("; also on PATH, unused: {}", others.join(", ")));
        }
        Check::ok(id, message)
    }
}

/// Which implementation a helper is: `newidmap 0.1.0` from `--version`
/// (`newuidmap (newidmap) 0.1.0`), or `not newidmap (shadow's?)` for a
/// helper without that option. Run with an empty environment.
fn version(path: &Path) -> String {
    let output = Command::new(path)
        .arg("--version")
        .env_clear()
        .stdin(Stdio::null())
        .output();
    let first = output.ok().filter(|o| o.status.success()).and_then(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .map(str::to_string)
    });
    match first.as_deref().and_then(|l| l.split_once(' ')) {
        Some((_, rest)) => rest.trim_start_matches('(').replacen(')', "", 1),
        None => "not newidmap (no --version: shadow's?)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_capabilities() {
        // setcap cap_setuid+ep: v2, effective, permitted bit 7.
        let v2 = [
            0x01, 0, 0, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(parse_file_capability(&v2), Some((0x80, 0)));
        // setcap -n 100000 cap_setgid+ep: v3 with root ID 100000.
        let mut v3 = vec![
            0x01, 0, 0, 0x03, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        v3.extend_from_slice(&100_000u32.to_le_bytes());
        assert_eq!(parse_file_capability(&v3), Some((0x40, 100_000)));
        assert_eq!(parse_file_capability(&[1, 2]), None);
        assert_eq!(parse_file_capability(&[0, 0, 0, 0x09, 0, 0, 0, 0]), None);
    }
}
