//! Findings about the file itself: missing, a symbolic link, unreadable,
//! or not trustworthy (owner, mode, type).

use super::*;
use crate::admin::report::{Finding, FindingCode, Severity};

/// Ownership, mode and type of the file itself. `None` from the result's
/// first element means the file cannot be read at all.
pub fn check_metadata(path: &Path, file: &str, kind: IdKind) -> Vec<Finding> {
    use std::os::unix::fs::MetadataExt;
    let finding = |severity, code, message: String, fix: String| Finding {
        severity,
        code,
        file: file.to_string(),
        line: None,
        related_line: None,
        message,
        fix,
    };
    let mut found = Vec::new();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => found.push(finding(
            Severity::Warning,
            FindingCode::Symlink,
            "is a symbolic link: shadow 4.19+ opens it with O_NOFOLLOW and fails".into(),
            "replace the link with a regular file (on NixOS this is expected)".into(),
        )),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            found.push(finding(
                Severity::Warning,
                FindingCode::Missing,
                format!(
                    "does not exist, so no user has subordinate {}s",
                    kind.upper()
                ),
                format!(
                    "create it with touch {file} && chmod 644 {file}, or allocate ranges with subid add"
                ),
            ));
            return found;
        }
        Err(e) => {
            found.push(finding(
                Severity::Error,
                FindingCode::Unreadable,
                format!("cannot be examined: {e}"),
                "check the path and its directory's permissions".into(),
            ));
            return found;
        }
    }
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            found.push(finding(
                Severity::Error,
                FindingCode::Unreadable,
                format!("cannot be examined: {e}"),
                "fix or remove the dangling link".into(),
            ));
            return found;
        }
    };
    let kind_bits = nix::sys::stat::SFlag::from_bits_truncate(
        meta.mode() & nix::sys::stat::SFlag::S_IFMT.bits(),
    );
    let fix = format!("chown root:root {file} && chmod 644 {file}");
    let Some(problem) = trust_problem(kind_bits, meta.uid(), meta.gid(), meta.mode()) else {
        return found;
    };
    let message = trust_message(problem);
    found.push(finding(
        Severity::Error,
        FindingCode::Permissions,
        message,
        fix,
    ));
    found
}

/// Why newuidmap refuses the file, for an administrator.
fn trust_message(problem: ConfigProblem) -> String {
    match problem {
        ConfigProblem::NotRegular => "is not a regular file".to_string(),
        ConfigProblem::NotOwnedByRoot { uid } => format!(
            "is owned by UID {uid}, not root: that user can grant themselves any range, and newuidmap refuses the file"
        ),
        ConfigProblem::WritableByOthers { mode } => format!(
            "mode {mode:04o} lets every user write it and grant themselves any range; newuidmap refuses the file"
        ),
        ConfigProblem::WritableByGroup { mode, gid } => format!(
            "mode {mode:04o} lets group {gid} write it and grant any range; newuidmap refuses the file"
        ),
        other => format!("cannot be trusted ({other:?})"),
    }
}
