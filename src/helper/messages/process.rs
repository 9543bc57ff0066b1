//! The words about the target process (opening it, its namespace, its
//! owner) and about the write.

use super::*;

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Failure {
        match rejection {
            Rejection::Target(error) => Failure::Target(error),
            Rejection::Config(error) => Failure::Config(error),
            Rejection::Ownership(mismatch) => Failure::Ownership(mismatch),
            Rejection::Namespace { pid, problem } => Failure::Namespace { pid, problem },
        }
    }
}

pub(super) fn target_lines(error: &TargetError) -> Vec<String> {
    match *error {
        // shadow's words first: `Could not open proc directory for target N`.
        TargetError::NoSuchProcess { pid } => vec![format!(
            "Could not open proc directory for target {pid}: no process with PID {pid}"
        )],
        TargetError::OpenFailed { pid, errno } => vec![format!(
            "Could not open proc directory for target {pid}: /proc/{pid}: {}",
            errno_text(errno)
        )],
        TargetError::Exited { pid: 0 } => vec!["the target process has exited".into()],
        TargetError::Exited { pid } => vec![format!("target process {pid} has exited")],
        TargetError::Inspect { pid, what, errno } => vec![format!(
            "cannot inspect process {pid} ({what}): {}",
            errno_text(errno)
        )],
        TargetError::BadFd { fd, problem } => vec![format!("fd:{fd} {}", fd_problem(problem))],
        TargetError::Thread {
            fd: None,
            tid,
            tgid,
        } => vec![format!(
            "{tid} is a thread of process {tgid}, not a process: give the process's PID, {tgid}"
        )],
        TargetError::Thread {
            fd: Some(fd),
            tid,
            tgid,
        } => vec![format!(
            "fd:{fd} is a thread (thread {tid} of process {tgid}), not a process: pass /proc/{tgid} or a pidfd of process {tgid}"
        )],
    }
}

fn fd_problem(problem: FdProblem) -> &'static str {
    match problem {
        FdProblem::NotOpen => "is not an open file descriptor",
        FdProblem::NotProcessHandle => {
            "is neither a /proc/PID directory nor a pidfd (open it with: exec 5</proc/PID)"
        }
        FdProblem::NotProcfs => "is a directory, but not on this system's /proc",
        FdProblem::NotProcessDirectory => "is on /proc, but not a /proc/PID process directory",
        FdProblem::PidfdForeign => "is a pidfd for a process outside this PID namespace",
    }
}

pub(super) fn namespace_lines(kind: IdKind, pid: u32, problem: NamespaceProblem) -> Vec<String> {
    match problem {
        NamespaceProblem::SameAsCaller => vec![
            format!("process {pid} is not in a new user namespace (it shares this helper's)"),
            format!(
                "create the namespace first (e.g. unshare --user), then run {} on its PID",
                kind.program()
            ),
        ],
        NamespaceProblem::NotDirectChild => vec![format!(
            "process {pid} is in a user namespace that is not a direct child of yours (a nested or unrelated namespace); only its parent namespace can write its map"
        )],
        NamespaceProblem::OwnedBy { uid } => vec![format!(
            "the user namespace of process {pid} was created by UID {uid}, not by you"
        )],
        NamespaceProblem::NotDumpable => vec![
            format!("process {pid} is not dumpable, so its user namespace cannot be inspected or mapped as you"),
            "map the namespace before the process calls prctl(PR_SET_DUMPABLE, 0) or execs a setuid or file-capability program".into(),
        ],
        NamespaceProblem::Unreachable => vec![format!(
            "process {pid} is in a user namespace you may not inspect: it was created by another user, or it is not below your own user namespace"
        )],
    }
}

pub(super) fn ownership_lines(m: &OwnershipMismatch) -> Vec<String> {
    let mut lines = vec![format!(
        "Target process {} is owned by a different user: /proc/{} is UID {} GID {}; you are UID {} GID {} (passwd: UID {} GID {})",
        m.pid,
        m.pid,
        m.target_uid,
        m.target_gid,
        m.real.uid,
        m.real.gid,
        m.passwd_uid,
        m.passwd_gid
    )];
    if m.only_primary_group {
        lines.push(format!(
            "your real GID {} is not your passwd GID {}; an administrator can allow this with GRANT_AUX_GROUP_SUBIDS yes in /etc/login.defs",
            m.real.gid, m.passwd_gid
        ));
    } else if m.target_uid != m.real.uid {
        lines.push(
            "/proc/PID shows the process's effective UID and GID: run the helper as the user who created the namespace"
                .into(),
        );
    }
    lines
}

pub(super) fn write_lines(kind: IdKind, pid: u32, error: &WriteError) -> Vec<String> {
    let file = error.file;
    // shadow's words (`open of uid_map failed: ...`, `write to uid_map
    // failed: ...`), then the errno's name and the process.
    let summary = format!(
        "{} {file} failed: {} ({:?}, /proc/{pid}/{file})",
        if error.opening { "open of" } else { "write to" },
        error.errno.desc(),
        error.errno
    );
    let hint = match error.cause {
        WriteCause::AlreadyWritten => format!(
            "the {} of process {pid} is already set; a namespace's map can be written only once",
            kind.map_file()
        ),
        WriteCause::GidMapAlreadyWritten => format!(
            "gid_map of process {pid} is already written, so setgroups can no longer be set to deny"
        ),
        WriteCause::Exited => format!("process {pid} exited before its map was written"),
        WriteCause::Zombie => format!("process {pid} has exited (a zombie, not yet reaped), so its map files now belong to root; no security module is involved: the launcher must keep the process alive until {} returns", kind.program()),
        WriteCause::SecurityPolicy { apparmor_restricts: true } => "AppArmor restricts unprivileged user namespaces here (kernel.apparmor_restrict_unprivileged_userns=1); the launcher needs an AppArmor profile that allows userns".into(),
        WriteCause::SecurityPolicy { apparmor_restricts: false } => "all checks passed, so a security module (SELinux, AppArmor, a BPF LSM) probably refused; see the kernel log (dmesg) or audit log".into(),
        WriteCause::Unexplained => "the kernel refused the map; check that the requested outer IDs are mapped in your own namespace".into(),
    };
    vec![summary, hint]
}
