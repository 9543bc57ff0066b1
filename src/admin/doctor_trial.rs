//! `subid doctor`'s live trial: a throwaway user namespace created as the
//! user, both helpers PATH finds run on it as the user with the user's own
//! ID and first ranges, and the maps read back.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};

use super::doctor::{Check, Subject};
use super::doctor_setup::{Copy, Helpers};
use crate::kind::IdKind;
use crate::parse::map::IdRange;

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
        Ok(out) if !out.status.success() => helper_failed(&shown, subject, kind, &out),
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

/// The trial's helper exited non-zero: its message, and its last line as the
/// fix when the message carries the environment diagnosis.
fn helper_failed(
    shown: &str,
    subject: &Subject,
    kind: IdKind,
    out: &std::process::Output,
) -> Check {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_normalised() {
        assert_eq!(
            normalise("         0       1000          1\n         1     100000      65536\n"),
            "0 1000 1, 1 100000 65536"
        );
    }
}
