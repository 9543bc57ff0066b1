//! `subid doctor`, continued: the helpers a launcher finds on PATH, and the
//! live trial that runs them on a throwaway user namespace.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use super::doctor::{Check, Subject, on_nosuid_mount};
use crate::kind::IdKind;
use crate::mapping::IdRange;

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
                Some((permitted, root_id)) if permitted & (1 << kind.capability().index()) != 0 => {
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
        crate::environment::parse_map(&std::fs::read("/proc/self/uid_map").unwrap_or_default());
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

/// `subid __doctor-target`: the throwaway namespace's process. Unshares a
/// user namespace, says `ready` (or the error) on stdout, and waits for
/// stdin to close.
pub fn target_main() -> ExitCode {
    let mut out = std::io::stdout();
    if let Err(error) = crate::sys::unshare_user_namespace() {
        let _ = writeln!(out, "error: {error}");
        return ExitCode::FAILURE;
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    ExitCode::SUCCESS
}

/// Runs `command` as the subject: as root for another user, with their IDs
/// (std clears the supplementary groups when root sets a UID).
fn as_subject<'a>(command: &'a mut Command, subject: &Subject) -> &'a mut Command {
    command.env_clear();
    if nix::unistd::getuid().is_root() && subject.uid != 0 {
        command.uid(subject.uid).gid(subject.gid);
    }
    command
}

fn lines_of(text: &[u8]) -> String {
    String::from_utf8_lossy(text)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

fn normalise(map: &str) -> String {
    map.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The live trial: a new user namespace as the subject, both helpers (the
/// ones PATH finds) run on it with the subject's own ID and first ranges,
/// the maps read back.
pub fn trial(
    subject: &Subject,
    helpers: &Helpers,
    uid_range: Option<IdRange>,
    gid_range: Option<IdRange>,
) -> Vec<Check> {
    let id = "trial";
    let (Some(newuidmap), Some(newgidmap), Some(uid_range), Some(gid_range)) = (
        helpers.first(IdKind::Uid),
        helpers.first(IdKind::Gid),
        uid_range,
        gid_range,
    ) else {
        return vec![Check::problem(
            id,
            "not run: it needs both helpers on PATH and subordinate UIDs and GIDs (see above)"
                .into(),
            "fix the problems above, then run subid doctor again".into(),
        )];
    };
    let user = &subject.name;
    let mut child = match as_subject(&mut Command::new("/proc/self/exe"), subject)
        .arg("__doctor-target")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            return vec![Check::problem(
                id,
                format!("cannot start a process as {user}: {e}"),
                "run subid doctor as that user, or as root naming the user".into(),
            )];
        }
    };
    let mut ready = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut ready);
    }
    let pid = child.id();
    let checks = if ready.trim() != "ready" {
        vec![Check::problem(
            id,
            format!(
                "{user} cannot create a user namespace: unshare(CLONE_NEWUSER) failed: {}",
                ready.trim().trim_start_matches("error: ")
            ),
            "fix the kernel problem above (user.max_user_namespaces, kernel.unprivileged_userns_clone, AppArmor), or the session's seccomp policy".into(),
        )]
    } else {
        [
            (newuidmap, IdKind::Uid, subject.uid, uid_range),
            (newgidmap, IdKind::Gid, subject.gid, gid_range),
        ]
        .into_iter()
        .map(|(copy, kind, own, range)| run_helper(subject, copy, kind, pid, own, range))
        .collect()
    };
    drop(child.stdin.take());
    let _ = child.wait();
    checks
}

fn run_helper(
    subject: &Subject,
    copy: &Copy,
    kind: IdKind,
    pid: u32,
    own: u32,
    range: IdRange,
) -> Check {
    let args = [
        pid.to_string(),
        "0".into(),
        own.to_string(),
        "1".into(),
        "1".into(),
        range.start().to_string(),
        range.count().to_string(),
    ];
    let shown = format!("{} {}", copy.path.display(), args.join(" "));
    let expected = format!("0 {own} 1, 1 {} {}", range.start(), range.count());
    let output = as_subject(&mut Command::new(&copy.path), subject)
        .args(&args)
        .stdin(Stdio::null())
        .output();
    let read_back = std::fs::read_to_string(format!("/proc/{pid}/{}", kind.map_file()))
        .map(|m| normalise(&m))
        .unwrap_or_default();
    match output {
        // A file-capability program with the effective bit whose
        // capability the bounding set lacks: the kernel refuses the exec.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Check::problem(
            "trial",
            format!(
                "{shown} (as {}) could not be run: the kernel refused the exec (EPERM), as it does for a file capability outside the capability bounding set",
                subject.name
            ),
            format!(
                "start the session with {} in its bounding set (see the context line above)",
                kind.capability_name()
            ),
        ),
        Err(e) => Check::problem(
            "trial",
            format!("{shown} (as {}) could not be run: {e}", subject.name),
            "see the helper checks above".into(),
        ),
        Ok(out) if !out.status.success() => {
            let said = lines_of(&out.stderr);
            let fix = String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .map(|l| {
                    l.trim_start_matches(&format!("{}: ", kind.program()))
                        .to_string()
                })
                .filter(|l| !said.is_empty() && said.contains(" / ") && !l.is_empty())
                .unwrap_or_else(|| "see the helper's message, and the checks above".into());
            Check::problem(
                "trial",
                format!(
                    "{shown} (as {}) failed ({}): {}",
                    subject.name,
                    out.status,
                    if said.is_empty() {
                        "no message".into()
                    } else {
                        said
                    }
                ),
                fix,
            )
        }
        Ok(_) if read_back != expected => Check::problem(
            "trial",
            format!(
                "{shown} (as {}) exited 0, but {} reads \"{read_back}\", not \"{expected}\"",
                subject.name,
                kind.map_file()
            ),
            "report this: the helper claimed success without the map".into(),
        ),
        Ok(_) => Check::ok(
            "trial",
            format!(
                "as {}, {} mapped a new user namespace: {} is {read_back}",
                subject.name,
                copy.path.display(),
                kind.map_file()
            ),
        ),
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

    #[test]
    fn maps_normalised() {
        assert_eq!(
            normalise("         0       1000          1\n         1     100000      65536\n"),
            "0 1000 1, 1 100000 65536"
        );
    }
}
