//! Issue 13: `subid doctor`. Each check fails on a broken set-up and names
//! its fix; a good set-up exits 0. Every case runs once per install mode
//! (the helpers PATH finds are the harness's setuid or file-capability
//! copies), as the fixture user inside the case's private mount namespace.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;

/// The subid binary, where every fixture user can run it.
fn subid() -> &'static Path {
    static SUBID: OnceLock<PathBuf> = OnceLock::new();
    SUBID.get_or_init(|| {
        let dir = unique_dir("subid");
        let dest = dir.join("subid");
        fs::copy(env!("CARGO_BIN_EXE_subid"), &dest).unwrap();
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o755)).unwrap();
        dest
    })
}

/// A case whose call is `subid doctor ARGS` with PATH = `path` ($BIN is the
/// install directory), files clean (no odd lines), /dev/log listened to.
fn doctor(install: Install, path: &str, args: &str) -> Case {
    Case::uid(install, &[])
        .file("subuid", CLEAN_SUBIDS.as_bytes())
        .file("subgid", CLEAN_SUBIDS.as_bytes())
        .audit()
        .wrap(format!(
            "PATH={path} exec {} doctor {args}",
            subid().display()
        ))
}

/// `doctor` run under `program` (`exec PROGRAM subid doctor ...`).
fn doctor_under(install: Install, program: &str) -> Case {
    let case = doctor(install, "\"$BIN\"", "");
    let wrap = case.wrap.replace("exec ", &format!("exec {program} "));
    case.wrap(wrap)
}

/// Asserts exit 1 and, for each (check, what, fix), a PROBLEM line for
/// `check` containing `what`, with a fix line containing `fix`.
fn assert_problems(out: &Outcome, context: &str, problems: &[(&str, &str, &str)]) {
    for (check, what, fix) in problems {
        assert_problem(out, context, check, what, fix);
    }
}

/// Asserts exit 1 and a PROBLEM line for `check` containing `what`, with a
/// fix line containing `fix`.
fn assert_problem(out: &Outcome, context: &str, check: &str, what: &str, fix: &str) {
    assert_eq!(out.status, 1, "{context}: expected exit 1\n{}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(&format!("PROBLEM  {check}: ")) && l.contains(what));
    let Some(at) = at else {
        panic!(
            "{context}: no PROBLEM {check} line with {what:?}\n{}\n{}",
            out.stdout, out.stderr
        );
    };
    let fix_line = lines.get(at + 1).copied().unwrap_or_default();
    assert!(
        fix_line.starts_with("         fix: ") && fix_line.contains(fix),
        "{context}: fix should say {fix:?}\n{}",
        out.stdout
    );
}

fn assert_ok_line(out: &Outcome, context: &str, check: &str, what: &str) {
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with(&format!("ok       {check}: ")) && l.contains(what)),
        "{context}: no ok {check} line with {what:?}\n{}\n{}",
        out.stdout,
        out.stderr
    );
}

per_mode! {
    fn doctor_passes_a_good_setup(install) {
        let context = format!("{install:?} good set-up");
        let out = doctor(install, "\"$BIN\"", "").run();
        assert_eq!(out.status, 0, "{context}\n{}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout.ends_with("all checks passed\n"),
            "{context}\n{}",
            out.stdout
        );
        assert_ok_line(&out, &context, "subuid-ranges", "alice has subordinate UIDs 100000-165535 (65536 IDs)");
        let privilege = match install {
            Install::Setuid => "(setuid root)",
            Install::Fcaps => "(file capability cap_setuid)",
        };
        assert_ok_line(&out, &context, "newuidmap", privilege);
        assert_ok_line(&out, &context, "audit", "journalctl -t newuidmap");
        assert_ok_line(&out, &context, "trial", "uid_map is 0 1000 1, 1 100000 65536");
        assert_ok_line(&out, &context, "trial", "gid_map is 0 1000 1, 1 100000 65536");
        // The trial's grants reached the audit trail.
        assert_eq!(
            out.audit.matches(" granting map=").count(),
            2,
            "{context}: {}",
            out.audit
        );

        // As root naming the user: the trial runs as that user.
        let mut case = doctor(install, "\"$BIN\"", "alice --json");
        case.caller = ROOT;
        let out = case.run();
        assert_eq!(
            out.status, 0,
            "{context} root\n{}\n{}",
            out.stdout, out.stderr
        );
        assert!(
            out.stdout
                .starts_with(r#"{"user":"alice","uid":1000,"ok":true,"checks":["#),
            "{context}\n{}",
            out.stdout
        );
        assert!(
            out.stdout
                .contains(r#"{"check":"trial","ok":true,"message":"as alice, "#),
            "{context}\n{}",
            out.stdout
        );

        // Only root may name another user.
        let out = doctor(install, "\"$BIN\"", "bob").run();
        assert_eq!(out.status, 3, "{context}\n{out:#?}");
        assert!(
            out.stderr.contains("only root can check another user"),
            "{context}\n{out:#?}"
        );
    }
}

per_mode! {
    fn doctor_names_range_problems(install) {
        let context = format!("{install:?} no ranges");
        let out = doctor(install, "\"$BIN\"", "").by(CAROL).run();
        assert_problems(&out, &context, &[
            ("subuid-ranges", "carol has no subordinate UIDs", "subid add carol"),
            ("subgid-ranges", "carol has no subordinate GIDs", "subid add carol"),
            ("trial", "not run", "fix the problems above"),
        ]);

        let context = format!("{install:?} small range");
        let out = doctor(install, "\"$BIN\"", "")
            .file("subuid", b"alice:100000:1000\n")
            .run();
        assert_problems(&out, &context, &[
            ("subuid-ranges", "need one range of at least 65536", "subid add alice --count 65536"),
        ]);
        assert_ok_line(&out, &context, "subgid-ranges", "alice has subordinate GIDs");

        let context = format!("{install:?} overlap");
        let out = doctor(install, "\"$BIN\"", "")
            .file("subgid", b"alice:100000:65536\nbob:150000:65536\n")
            .run();
        assert_problems(&out, &context, &[
            ("subgid-ranges", "overlaps", "subid remove bob 150000:65536"),
        ]);

        let context = format!("{install:?} account IDs");
        let out = doctor(install, "\"$BIN\"", "")
            .file("subuid", b"alice:1000:65536\n")
            .run();
        assert_problems(&out, &context, &[
            ("subuid-ranges", "includes real account IDs", "subid remove alice 1000:65536"),
        ]);
    }
}

per_mode! {
    fn doctor_names_helper_problems(install, test) {
        let context = format!("{install:?} nosuid");
        let out = doctor(install, "\"$BIN\"", "")
            .before("mount --bind \"$BIN\" \"$BIN\" && mount -o remount,bind,nosuid \"$BIN\"")
            .run();
        assert_problems(&out, &context, &[
            ("newuidmap", "is on a filesystem mounted nosuid", "mounted without nosuid"),
            ("newgidmap", "is on a filesystem mounted nosuid", "mounted without nosuid"),
            // The trial shows what the helper itself says about it.
            ("trial", "mounted nosuid", "mounted without nosuid"),
        ]);

        let context = format!("{install:?} shadowed");
        let case = doctor(install, "\"$D:$BIN\"", "");
        let wrap = format!("D=$(mktemp -d); cp \"$BIN/newuidmap\" \"$BIN/newgidmap\" \"$D/\"; {}", case.wrap);
        let out = case.wrap(wrap).run();
        assert_problems(&out, &context, &[
            ("newuidmap", "has no setuid bit and no file capability, and it shadows", "remove"),
            ("trial", "this helper lacks cap_setuid", "chmod"),
        ]);

        let context = format!("{install:?} mismatched pair");
        let out = doctor(install, "/mnt:\"$BIN\"", "")
            .before("mount -t tmpfs tmpfs /mnt && chmod 755 /mnt && cp -a \"$BIN/newgidmap\" /mnt/")
            .run();
        assert_problems(&out, &context, &[
            ("helper-pair", "in different directories", "one directory"),
        ]);

        // Same directory, but newgidmap is Debian's shadow copy.
        if tool_present(test, "newgidmap", "uidmap")
            && Path::new("/usr/bin/newgidmap").exists()
        {
            let context = format!("{install:?} shadow's newgidmap beside ours");
            let out = doctor(install, "/mnt", "")
                .before("mount -t tmpfs tmpfs /mnt && chmod 755 /mnt && cp -a \"$BIN/newuidmap\" /usr/bin/newgidmap /mnt/")
                .run();
            assert_problems(&out, &context, &[
                ("helper-pair", "is newidmap 0.1.0 but /mnt/newgidmap is not newidmap", "reinstall both helpers from one package"),
            ]);
        }

        let context = format!("{install:?} not on PATH");
        let out = doctor(install, "/nonexistent", "").run();
        assert_problems(&out, &context, &[
            ("newuidmap", "newuidmap is not on PATH", "install it"),
            ("trial", "not run", "fix the problems above"),
        ]);

        let context = format!("{install:?} untrusted /etc/subuid");
        let out = doctor(install, "\"$BIN\"", "")
            .prepare("chown 1000 \"$FIX/subuid\"")
            .run();
        assert_problems(&out, &context, &[
            ("trial", "refusing /etc/subuid: owned by UID 1000, not root", "chown root:root /etc/subuid"),
        ]);
    }
}

per_mode! {
    fn doctor_names_the_session(install, test) {
        let context = format!("{install:?} no_new_privs");
        let out = doctor_under(install, "/usr/bin/setpriv --no-new-privs").run();
        assert_problems(&out, &context, &[
            ("context", "no_new_privs set", "without no_new_privs"),
            ("trial", "no_new_privs set", "without no_new_privs"),
        ]);

        let context = format!("{install:?} bounding set");
        let out = doctor(install, "\"$BIN\"", "")
            .caller_setpriv("--bounding-set -setuid,-setgid")
            .run();
        assert_problems(&out, &context, &[
            ("context", "cap_setuid and cap_setgid are not in the capability bounding set", "CapabilityBoundingSet="),
            ("trial", "bounding set", "in its bounding set"),
        ]);

        if tool_present(test, "strace", "strace") {
            let context = format!("{install:?} strace");
            let out = doctor_under(install, "/usr/bin/strace -f -o /dev/null").run();
            assert_problems(&out, &context, &[
                ("context", "is being traced", "sudo strace -f -u"),
                ("trial", "is being traced", "sudo strace -f -u"),
            ]);
        }

        let context = format!("{install:?} namespace");
        let out = doctor_under(install, "/usr/bin/unshare --user --map-current-user").run();
        assert_problems(&out, &context, &[
            ("context", "root is not mapped", "unshare --user --map-auto"),
            ("trial", "root is not mapped", "unshare --user --map-auto"),
        ]);
    }
}

per_mode! {
    fn doctor_names_kernel_and_audit_problems(install) {
        let context = format!("{install:?} no /dev/log listener");
        let mut case = doctor(install, "\"$BIN\"", "");
        case.audit = false;
        let out = case.run();
        assert_problems(&out, &context, &[
            ("audit", "nothing listens on /dev/log", "journalctl -t newuidmap"),
        ]);

        // In a user namespace of alice's whose root set
        // user.max_user_namespaces to 0, the kernel really refuses new
        // namespaces (ENOSPC) below it.
        let context = format!("{install:?} user namespaces disabled");
        let mut case = doctor(install, "\"$BIN\"", "");
        case.wrap = format!(
            "exec /usr/bin/unshare --user --map-root-user /bin/sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && unshare --user true; {}'",
            case.wrap
        );
        let out = case.run();
        assert_problems(&out, &context, &[
            ("userns", "user namespaces are disabled (user.max_user_namespaces = 0)", "sysctl -w user.max_user_namespaces="),
        ]);
        assert!(
            out.stderr.contains("No space left on device"),
            "{context}: {}",
            out.stderr
        );
    }
}
