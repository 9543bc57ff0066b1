//! Issue 3: the adversarial matrix, end to end, in both install modes.
//!
//! Every refusal here must look the same from outside: exit 1, nothing on
//! stdout, one escaped, prefixed message (a summary line and at most a few
//! hints), and the target's maps and setgroups exactly as they were
//! (`Outcome::assert_refused_as`). Where the right answer is success (an
//! already-denied setgroups, closed standard streams), the test checks the
//! exact map instead.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

const UID: &str = "newuidmap";
const GID: &str = "newgidmap";

fn lines(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `{pid}` followed by `n` one-ID triplets from erin's range (20000..21000).
fn erin_triplets(n: u32) -> Vec<String> {
    let mut args = vec!["{pid}".to_string()];
    for i in 0..n {
        args.extend([
            (i * 2).to_string(),
            (20_000 + i * 2).to_string(),
            "1".to_string(),
        ]);
    }
    args
}

fn refs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

#[test]
fn targets_owned_by_others() {
    if !privileged("targets_owned_by_others") {
        return;
    }
    for install in BOTH {
        for (owner, who) in [(BOB, "bob"), (ROOT, "root")] {
            for program in [UID, GID] {
                let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
                case.target_owner = owner;
                case.run().assert_refused_as(
                    program,
                    &format!("{install:?} {program} target of {who}"),
                    "is owned by a different user",
                );
            }
        }
        // Same UID, other GID: /proc/PID must match the real GID too.
        let mut case = Case::uid(install, &["{pid}", "0", "1000", "1"]);
        case.target_owner = Ids {
            uid: 1000,
            gid: 1001,
        };
        case.run().assert_refused_as(
            UID,
            &format!("{install:?} target GID 1001"),
            "GID 1001; you are UID 1000 GID 1000",
        );
    }
}

#[test]
fn target_in_the_initial_namespace() {
    if !privileged("target_in_the_initial_namespace") {
        return;
    }
    for install in BOTH {
        for program in [UID, GID] {
            let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
            case.shape = TargetShape::Plain;
            case.run().assert_refused_keeping(
                program,
                &format!("{install:?} {program} initial namespace"),
                "is not in a new user namespace",
                ("0 0 4294967295", "0 0 4294967295"),
            );
        }
    }
}

#[test]
fn target_in_a_grandchild_namespace() {
    if !privileged("target_in_a_grandchild_namespace") {
        return;
    }
    for install in BOTH {
        for program in [UID, GID] {
            let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
            case.shape = TargetShape::Nested;
            // The target set its own middle namespace's setgroups to deny.
            case.run().assert_refused_keeping(
                program,
                &format!("{install:?} {program} grandchild"),
                "not a direct child of yours",
                ("", ""),
            );
        }
    }
}

/// A sibling namespace: the helper runs in user namespace A, the target in B,
/// both children of the initial namespace. A setuid or file-capability
/// binary is only honoured inside A when A maps host root, and only root can
/// create such a namespace, so A here is root's, with the identity map (so
/// the helper really is privileged inside A, and alice is UID 1000 there).
/// The caller enters A as root and becomes alice there before exec'ing the
/// helper. Without the helper's own check the kernel would still refuse the
/// write (the opener is not in B's parent), so the test asserts the helper's
/// own message, which names the reason.
#[test]
fn target_in_a_sibling_namespace() {
    if !privileged("target_in_a_sibling_namespace") {
        return;
    }
    for install in BOTH {
        for program in [UID, GID] {
            let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
            case.caller = ROOT;
            case.target_owner = ALICE;
            // unshare's own --map-users would call newuidmap; root writes A's maps directly.
            case.before = "unshare --user sleep 30 &\n\
                export A=$!\n\
                for i in $(seq 200); do [ \"$(readlink /proc/$A/ns/user)\" != \"$(readlink /proc/self/ns/user)\" ] && break; sleep 0.01; done\n\
                echo '0 0 4294967295' > /proc/$A/uid_map && echo '0 0 4294967295' > /proc/$A/gid_map"
                .into();
            case.wrap = format!(
                "exec nsenter --preserve-credentials --user --target \"$A\" -- setpriv --reuid=1000 --regid=1000 --clear-groups -- \"$BIN/{program}\" \"$T\" 0 1000 1"
            );
            let out = case.run();
            out.assert_refused_as(
                program,
                &format!("{install:?} {program} sibling"),
                "is in a user namespace you may not inspect",
            );
        }
    }
}

/// bob creates the namespace; a process with alice's UID joins it. The
/// target is then alice's, but its namespace is not: the map is bob's to
/// write. The harness's own target is bob's process in that namespace, so
/// the maps read back after the call are the namespace's.
#[test]
fn namespace_created_by_another_user() {
    if !privileged("namespace_created_by_another_user") {
        return;
    }
    for install in BOTH {
        for program in [UID, GID] {
            let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
            case.caller = ALICE;
            case.target_owner = BOB;
            case.before = "setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=+sys_admin,+sys_ptrace --ambient-caps=+sys_admin,+sys_ptrace nsenter --preserve-credentials --user --target $T sleep 30 &\n\
                export J=$!\n\
                for i in $(seq 200); do [ \"$(readlink /proc/$J/ns/user)\" = \"$(readlink /proc/$T/ns/user)\" ] && break; sleep 0.01; done"
                .into();
            case.wrap = format!("exec \"$BIN/{program}\" \"$J\" 0 1000 1");
            case.run().assert_refused_as(
                program,
                &format!("{install:?} {program} bob's namespace"),
                "is in a user namespace you may not inspect",
            );
        }
    }
}

#[test]
fn non_dumpable_target() {
    if !privileged("non_dumpable_target") {
        return;
    }
    for install in BOTH {
        for program in [UID, GID] {
            let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
            case.shape = TargetShape::Nondumpable;
            let out = case.run();
            out.assert_refused_as(
                program,
                &format!("{install:?} {program} non-dumpable"),
                "is not dumpable",
            );
        }
    }
}

#[test]
fn maps_already_written() {
    if !privileged("maps_already_written") {
        return;
    }
    for install in BOTH {
        let mut case = Case::uid(install, &["{pid}", "0", "100000", "10"]);
        case.before = "echo '0 1000 1' > /proc/$T/uid_map".into();
        case.run().assert_refused_keeping(
            UID,
            &format!("{install:?} uid_map"),
            "write to uid_map failed: Operation not permitted",
            ("0 1000 1", ""),
        );
        let mut case = Case::gid(install, &["{pid}", "0", "100000", "10"]);
        case.before = "echo '0 1000 1' > /proc/$T/gid_map".into();
        let out = case.run();
        out.assert_refused_keeping(
            GID,
            &format!("{install:?} gid_map"),
            "write to gid_map failed: Operation not permitted",
            ("", "0 1000 1"),
        );
        assert!(out.stderr.contains("already set"), "{}", out.stderr);
        // Own GID only: setgroups must become deny first, which the kernel
        // refuses once gid_map is written; the helper must not go on.
        let mut case = Case::gid(install, &["{pid}", "0", "1000", "1"]);
        case.before = "echo '0 1000 1' > /proc/$T/gid_map".into();
        let out = case.run();
        out.assert_refused_keeping(
            GID,
            &format!("{install:?} setgroups after gid_map"),
            "write to setgroups failed",
            ("", "0 1000 1"),
        );
        assert_eq!(out.setgroups, "allow");
    }
}

#[test]
fn setgroups_already_deny_still_succeeds() {
    if !privileged("setgroups_already_deny_still_succeeds") {
        return;
    }
    for install in BOTH {
        for args in [
            &["{pid}", "0", "1000", "1"][..],
            &["{pid}", "0", "1000", "1", "1", "100000", "5"],
        ] {
            let mut case = Case::gid(install, args);
            case.before = "echo deny > /proc/$T/setgroups".into();
            let out = case.run();
            assert_eq!(out.status, 0, "{install:?} {args:?}: {out:#?}");
            assert_eq!(out.stderr, "");
            assert_eq!(out.setgroups, "deny");
            assert_eq!(out.gid_lines().len(), args.len() / 3);
            assert_eq!(out.gid_lines()[0], "0 1000 1");
        }
    }
}

#[test]
fn overlapping_ranges() {
    if !privileged("overlapping_ranges") {
        return;
    }
    let cases: &[(&[&str], &str)] = &[
        (
            &["{pid}", "0", "100000", "10", "5", "100020", "10"],
            "inner",
        ),
        (
            &["{pid}", "0", "100000", "10", "20", "100009", "10"],
            "outer",
        ),
        (
            &["{pid}", "0", "100000", "10", "0", "100000", "10"],
            "inner",
        ),
        // One ID of a subordinate range mapped a second time.
        (
            &["{pid}", "0", "100000", "65536", "70000", "100005", "1"],
            "outer",
        ),
    ];
    for install in BOTH {
        for (args, side) in cases {
            for program in [UID, GID] {
                let out = Case::new(install, program, args).run();
                out.assert_refused_as(program, &format!("{install:?} {args:?}"), "overlap");
                assert!(
                    out.stderr
                        .contains(&format!("have overlapping {side} ranges")),
                    "{}",
                    out.stderr
                );
            }
        }
    }
}

#[test]
fn too_many_triplets_and_a_full_page() {
    if !privileged("too_many_triplets_and_a_full_page") {
        return;
    }
    for install in BOTH {
        let list = erin_triplets(341);
        let out = Case::uid(install, &refs(&list)).by(ERIN).run();
        out.assert_refused_as(UID, &format!("{install:?} 341"), "341 triplets requested");
        // Exactly 4096 bytes: 170 lines of 24 bytes and one of 16.
        let mut list = vec!["{pid}".to_string()];
        for i in 0..170u32 {
            list.extend([
                (1_000_000_000 + i * 10).to_string(),
                (2_000_000_000 + i * 10).to_string(),
                "5".into(),
            ]);
        }
        list.extend(["10".into(), "100000".into(), "65536".into()]);
        for program in [UID, GID] {
            let out = Case::new(install, program, &refs(&list)).run();
            out.assert_refused_as(
                program,
                &format!("{install:?} 4096 bytes"),
                "the map would be 4096 bytes",
            );
        }
    }
}

#[test]
fn malformed_numbers_in_every_field() {
    if !privileged("malformed_numbers_in_every_field") {
        return;
    }
    let forms: &[(&[u8], &str)] = &[
        (b"0x10", "0x10"),
        (b"010", "010"),
        (b"+5", "+5"),
        (b"-1", "-1"),
        (b"-0", "-0"),
        (b" 5", " 5"),
        (b"5 ", "5 "),
        (b"", "\"\""),
        ("\u{0663}".as_bytes(), "\\xd9\\xa3"),
        ("\u{ff15}".as_bytes(), "\\xef\\xbc\\x95"),
        (b"\xff", "\\xff"),
        (b"5\xff", "5\\xff"),
        (b"1\x1b[2J", "1\\x1b[2J"),
        (b"4294967296", "4294967296"),
    ];
    let fields = ["inner ID", "outer ID", "count"];
    for install in BOTH {
        for (bad, shown) in forms {
            for (at, field) in fields.iter().enumerate() {
                let mut case = Case::uid(install, &["{pid}", "0", "1000", "1"]);
                case.args[1 + at] = bad.to_vec();
                let out = case.run();
                let context = format!("{install:?} {field} {bad:?}");
                out.assert_refused_as(UID, &context, &format!("bad {field} \""));
                assert!(out.stderr.contains(shown), "{context}: {}", out.stderr);
            }
        }
        // And newgidmap, once per form, in the outer field.
        for (bad, _) in forms {
            let mut case = Case::gid(install, &["{pid}", "0", "1000", "1"]);
            case.args[2] = bad.to_vec();
            case.run()
                .assert_refused_as(GID, &format!("{install:?} gid {bad:?}"), "bad outer ID");
        }
    }
}

#[test]
fn bad_and_vanished_pids() {
    if !privileged("bad_and_vanished_pids") {
        return;
    }
    for install in BOTH {
        for pid in [
            "0",
            "-1",
            "+1",
            "01",
            " 1",
            "2147483648",
            "99999999999",
            "0x1",
        ] {
            Case::uid(install, &[pid, "0", "1000", "1"])
                .run()
                .assert_refused_as(UID, &format!("{install:?} pid {pid:?}"), "bad target");
        }
        // `+{pid}`: a real process, spelt with a sign.
        Case::uid(install, &["+{pid}", "0", "1000", "1"])
            .run()
            .assert_refused_as(UID, &format!("{install:?} +PID"), "bad target");
        // Valid syntax, above pid_max: no such process.
        let above = (std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
            + 1)
        .to_string();
        Case::uid(install, &[above.as_str(), "0", "1000", "1"])
            .run()
            .assert_refused_as(
                UID,
                &format!("{install:?} above pid_max"),
                "Could not open proc directory for target",
            );
        // The target exited (and was reaped) before the call.
        for program in [UID, GID] {
            let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
            case.before = "kill -9 $T; wait $T 2>/dev/null".into();
            // (Nothing can be read back from a reaped process: "" is expected.)
            case.run().assert_refused_keeping(
                program,
                &format!("{install:?} {program} exited"),
                "Could not open proc directory for target",
                ("", ""),
            );
        }
        // Exited after the caller opened its /proc directory.
        let mut case = Case::uid(install, &["fd:7", "0", "1000", "1"]);
        case.before = "exec 7</proc/$T; kill -9 $T; wait $T 2>/dev/null".into();
        case.run().assert_refused_keeping(
            UID,
            &format!("{install:?} fd exited"),
            "has exited",
            ("", ""),
        );
    }
}

#[test]
fn bad_fd_targets() {
    if !privileged("bad_fd_targets") {
        return;
    }
    let o_path = |path: &str, fd: u32| {
        format!(
            "exec python3 -c 'import os,sys; fd = os.open(sys.argv[1], os.O_PATH); os.dup2(fd, {fd}); os.execv(sys.argv[2], sys.argv[2:])' \"{path}\" \"$BIN/newuidmap\" fd:{fd} 0 1000 1"
        )
    };
    let cases: Vec<(&str, String, String, &str)> = vec![
        ("fd:5", String::new(), "exec 5</etc/passwd".into(), "fd:5 is neither"),
        ("fd:5", String::new(), "exec 5</proc".into(), "fd:5 is on /proc, but not a /proc/PID"),
        ("fd:5", String::new(), "exec 5</proc/self/net".into(), "fd:5 is on /proc, but not a /proc/PID"),
        ("fd:5", String::new(), "exec 5</proc/$T/task/$T".into(), "fd:5 is a thread (thread"),
        ("fd:5", String::new(), "exec 5</".into(), "fd:5 is a directory, but not on this system's /proc"),
        ("fd:5", String::new(), "exec 5</dev/null".into(), "fd:5 is neither"),
        ("fd:9", String::new(), String::new(), "fd:9 is not an open file descriptor"),
        ("fd:2147483647", String::new(), String::new(), "is not an open file descriptor"),
        ("fd:5", String::new(), o_path("/proc/$T/uid_map", 5), "fd:5 is neither"),
        ("fd:5", String::new(), o_path("/proc/$T/exe", 5), "fd:5 is neither"),
        // A second procfs instance: same processes, different superblock.
        (
            "fd:5",
            "mkdir -p \"$OUT/proc2\" && mount -t proc proc \"$OUT/proc2\"; export P2=\"$OUT/proc2\"".into(),
            "exec 5<\"$P2/$T\"".into(),
            "fd:5 is a directory, but not on this system's /proc",
        ),
        ("fd:0", String::new(), "exec 0</etc/passwd".into(), "fd:0 is neither"),
        ("fd:1", String::new(), String::new(), "fd:1 is neither"),
        ("fd:2", String::new(), String::new(), "fd:2 is neither"),
        ("fd:0", String::new(), "exec 0</proc".into(), "fd:0 is on /proc, but not"),
    ];
    for install in BOTH {
        for (target, before, wrap, expect) in &cases {
            let mut case = Case::uid(install, &[target, "0", "1000", "1"]);
            case.before = before.clone();
            case.wrap = wrap.clone();
            case.run()
                .assert_refused_as(UID, &format!("{install:?} {target} {wrap}"), expect);
        }
        // Controls, so the refusals above cannot pass by accident: an O_PATH
        // descriptor on the process directory and fd 0 on it both work.
        let mut case = Case::uid(install, &["fd:5", "0", "1000", "1"]);
        case.wrap = o_path("/proc/$T", 5);
        let out = case.run();
        assert_eq!(out.status, 0, "{install:?} O_PATH dir: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 1000 1"]));
        let mut case = Case::gid(install, &["fd:0", "0", "1000", "1"]);
        case.wrap = "exec 0</proc/$T".into();
        let out = case.run();
        assert_eq!(out.status, 0, "{install:?} fd:0: {out:#?}");
        assert_eq!(out.gid_lines(), lines(&["0 1000 1"]));
    }
}

#[test]
fn closed_standard_streams() {
    if !privileged("closed_standard_streams") {
        return;
    }
    for install in BOTH {
        // A granted map is written exactly, whatever fds 0-2 are; in
        // particular nothing the helper opens can become fd 2 and receive
        // messages (the kernel checks the opener of a map file, not the writer).
        for wrap in ["exec 0<&-", "exec 1>&-", "exec 2>&-", "exec 0<&- 1>&- 2>&-"] {
            for program in [UID, GID] {
                let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
                case.wrap = wrap.into();
                let out = case.run();
                assert_eq!(out.status, 0, "{install:?} {program} {wrap}: {out:#?}");
                let map = if program == UID {
                    out.uid_lines()
                } else {
                    out.gid_lines()
                };
                assert_eq!(map, lines(&["0 1000 1"]), "{install:?} {wrap}");
            }
        }
        // A refusal with stdin and stdout closed still reports on stderr.
        let mut case = Case::uid(install, &["{pid}", "0", "165536", "1"]);
        case.wrap = "exec 0<&- 1>&-".into();
        case.run()
            .assert_refused_as(UID, &format!("{install:?} closed 0,1"), "not allowed");
        // With stderr closed the refusal is silent, but still a refusal, and
        // the error text goes nowhere near the target's files.
        for program in [UID, GID] {
            let mut case = Case::new(install, program, &["{pid}", "0", "165536", "1"]);
            case.wrap = "exec 2>&-".into();
            let out = case.run();
            assert_eq!(out.status, 1, "{install:?} closed 2: {out:#?}");
            assert_eq!(out.uid_map.trim(), "");
            assert_eq!(out.gid_map.trim(), "");
            assert_eq!(out.stderr, "");
            assert_eq!(out.setgroups, "allow");
        }
    }
}

#[test]
fn stdout_a_broken_pipe() {
    if !privileged("stdout_a_broken_pipe") {
        return;
    }
    // A pipe whose reader has gone: writes fail with EPIPE (or SIGPIPE).
    let broken = "exec 1> >(exec true); sleep 0.1";
    for install in BOTH {
        let mut case = Case::uid(install, &["{pid}", "0", "1000", "1"]);
        case.wrap = broken.into();
        let out = case.run();
        assert_eq!(out.status, 0, "{install:?} granted: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 1000 1"]));
        let mut case = Case::uid(install, &["{pid}", "0", "165536", "1"]);
        case.wrap = broken.into();
        case.run()
            .assert_refused_as(UID, &format!("{install:?} broken pipe"), "not allowed");
        // The dry run prints the map on stdout: losing it must not kill the
        // helper with SIGPIPE (status 141) or panic, and nothing is written.
        // Its output is its answer, so losing it is a failure, and said so.
        let mut case = Case::gid(install, &["--dry-run", "{pid}", "0", "1000", "1"]);
        case.wrap = broken.into();
        let out = case.run();
        assert_eq!(out.status, 1, "{install:?} dry run: {out:#?}");
        assert_eq!(
            out.stderr,
            "newgidmap: dry run: cannot print the map on standard output: Broken pipe (32)\n",
            "{install:?}"
        );
        assert_eq!(out.gid_map.trim(), "");
        assert_eq!(out.setgroups, "allow");
    }
}

/// RLIMIT_NOFILE 3 with fds 0-2 open leaves no descriptor at all: the
/// dynamic loader itself cannot open libc and exits 127 before any of our
/// code runs. From 4 up the helper runs short of descriptors; whatever
/// fails must fail closed, with the reason named, or succeed exactly.
#[test]
fn three_open_files_at_most() {
    if !privileged("three_open_files_at_most") {
        return;
    }
    for install in BOTH {
        let mut refused = 0;
        for limit in 3..=8 {
            for program in [UID, GID] {
                let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
                case.wrap = format!("ulimit -n {limit}");
                let out = case.run();
                let context = format!("{install:?} {program} nofile {limit}");
                match out.status {
                    127 if limit == 3 => {
                        assert!(
                            out.stderr.contains("error while loading shared libraries"),
                            "{context}: {out:#?}"
                        );
                        assert_eq!((out.uid_map.trim(), out.gid_map.trim()), ("", ""));
                    }
                    0 => {
                        let map = if program == UID {
                            out.uid_lines()
                        } else {
                            out.gid_lines()
                        };
                        assert_eq!(map, lines(&["0 1000 1"]), "{context}");
                    }
                    _ => {
                        out.assert_refused_keeping(program, &context, "", ("", ""));
                        assert!(
                            out.stderr.contains("Too many open files (24)"),
                            "{context}: the reason should be named: {}",
                            out.stderr
                        );
                        refused += 1;
                    }
                }
            }
        }
        assert!(
            refused > 0,
            "{install:?}: no limit reached the helper's own handling"
        );
    }
}

#[test]
fn hostile_environment_has_no_effect() {
    if !privileged("hostile_environment_has_no_effect") {
        return;
    }
    let lib = preload_library();
    // Control: the library does print when the loader honours it.
    let control = std::process::Command::new("/bin/true")
        .env("LD_PRELOAD", lib)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&control.stderr),
        "LD_PRELOAD-LOADED\n",
        "the preload library must work for the test to mean anything"
    );
    // bash warns on stderr when LC_ALL names a missing locale: keep its
    // stderr away while exporting, so only the helper's stderr is compared.
    let hostile = format!(
        "exec 3>&2 2>/dev/null; export RUST_BACKTRACE=full RUST_LIB_BACKTRACE=1 RUST_MIN_STACK=1 LC_ALL=tr_TR.UTF-8 LANG=xx_XX LANGUAGE=de \
         LD_PRELOAD={lib} LD_LIBRARY_PATH=/nonexistent LD_DEBUG=all LD_AUDIT={lib} GCONV_PATH=/tmp MALLOC_CHECK_=3 \
         NLSPATH=/tmp/%N LOCPATH=/tmp PATH=/nonexistent HOME=/nonexistent TMPDIR=/nonexistent IFS=0; exec 2>&3 3>&-",
        lib = lib.display()
    );
    for install in BOTH {
        for (program, args) in [
            (
                UID,
                &["{pid}", "0", "1000", "1", "1", "100000", "65536"][..],
            ),
            (GID, &["{pid}", "0", "1000", "1"]),
            (UID, &["{pid}", "0", "165536", "1"]),
            (UID, &["{pid}", "0", "0x10", "1"]),
            (GID, &["--dry-run", "-", "0", "1000", "1"]),
        ] {
            let plain = Case::new(install, program, args).run();
            let mut case = Case::new(install, program, args);
            case.wrap = hostile.clone();
            let out = case.run();
            let context = format!("{install:?} {program} {args:?}");
            assert!(
                !out.stderr.contains("LD_PRELOAD-LOADED"),
                "{context}: {out:#?}"
            );
            assert_eq!(out.status, plain.status, "{context}: {out:#?}");
            assert_eq!(out.stderr, plain.stderr, "{context}");
            assert_eq!(out.stdout, plain.stdout, "{context}");
            assert_eq!(out.uid_map, plain.uid_map, "{context}");
            assert_eq!(out.gid_map, plain.gid_map, "{context}");
            assert_eq!(out.setgroups, plain.setgroups, "{context}");
        }
    }
}

#[test]
fn no_new_privs_is_named() {
    if !privileged("no_new_privs_is_named") {
        return;
    }
    for install in BOTH {
        for (program, cap) in [(UID, "cap_setuid"), (GID, "cap_setgid")] {
            let mut case = Case::new(install, program, &["{pid}", "0", "1000", "1"]);
            case.wrap = format!("exec setpriv --no-new-privs \"$BIN/{program}\" \"$T\" 0 1000 1");
            let out = case.run();
            out.assert_refused_as(
                program,
                &format!("{install:?} {program} nnp"),
                &format!("this helper lacks {cap}"),
            );
            assert!(out.stderr.contains("no_new_privs set"), "{}", out.stderr);
        }
    }
}

#[test]
fn callers_without_or_sharing_an_account() {
    if !privileged("callers_without_or_sharing_an_account") {
        return;
    }
    for install in BOTH {
        for program in [UID, GID] {
            Case::new(install, program, &["{pid}", "0", "4242", "1"])
                .by(NOBODY_KNOWS)
                .run()
                .assert_refused_as(
                    program,
                    &format!("{install:?} {program} no passwd"),
                    "UID 4242 has no passwd entry",
                );
        }
        // alice and alice2 share UID 1000: alice2's range is alice's, bob's is not,
        // and the refusal lists only the caller's own entries.
        let out = Case::uid(
            install,
            &["{pid}", "0", "300000", "1000", "1000", "165536", "10"],
        )
        .run();
        out.assert_refused_as(
            UID,
            &format!("{install:?} alias + bob"),
            "not allowed (triplet 2",
        );
        assert!(
            out.stderr.contains("subordinate UIDs of alice"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("bob"), "{}", out.stderr);
        // Beyond the end of alice2's range.
        let out = Case::uid(install, &["{pid}", "0", "300500", "1000"]).run();
        out.assert_refused_as(UID, &format!("{install:?} past alias"), "not allowed");
        assert!(
            out.stderr.contains("not covered: 301000-301499 (500 IDs)"),
            "{}",
            out.stderr
        );
        // A UID-keyed entry (1003) is dave's only, not alice's.
        Case::uid(install, &["{pid}", "0", "231072", "10"])
            .run()
            .assert_refused_as(UID, &format!("{install:?} dave's"), "not allowed");
    }
}

#[test]
fn control_characters_in_a_user_name_are_escaped() {
    if !privileged("control_characters_in_a_user_name") {
        return;
    }
    for install in BOTH {
        // Out of range: the message names the user.
        let out = Case::uid(install, &["{pid}", "0", "100000", "10"])
            .by(MALLORY)
            .run();
        out.assert_refused_as(UID, &format!("{install:?} mallory"), "not allowed");
        assert!(out.stderr.contains("mal\\x1b[31mlory"), "{}", out.stderr);
        assert!(!out.stderr.contains('\x1b'));
        // In range: granted (the name is matched as bytes, not printed).
        let out = Case::uid(install, &["{pid}", "0", "600000", "1000"])
            .by(MALLORY)
            .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 600000 1000"]));
    }
}

#[test]
fn zero_count_entry_grants_nothing() {
    if !privileged("zero_count_entry_grants_nothing") {
        return;
    }
    for install in BOTH {
        for program in [UID, GID] {
            for args in [
                &["{pid}", "0", "0", "1"][..],
                &["{pid}", "1", "0", "1", "0", "1000", "1"],
            ] {
                let out = Case::new(install, program, args).run();
                let context = format!("{install:?} {program} {args:?}");
                if install == Install::Fcaps && program == UID {
                    // Outer UID 0 needs cap_setfcap, which this install lacks:
                    // refused before any file is read (newgidmap covers the
                    // subgid line in this mode).
                    out.assert_refused_as(program, &context, "this helper lacks cap_setfcap");
                    continue;
                }
                out.assert_refused_as(program, &context, "not allowed");
                assert!(
                    out.stderr.contains("grants nothing: count is 0"),
                    "{}",
                    out.stderr
                );
            }
        }
    }
}

#[test]
fn untrusted_subid_files() {
    if !privileged("untrusted_subid_files") {
        return;
    }
    let cases: &[(&str, &str)] = &[
        ("chmod 0666 \"$FIX/SUB\"", "writable by others"),
        ("chmod 0646 \"$FIX/SUB\"", "writable by others"),
        ("chown 1000 \"$FIX/SUB\"", "owned by UID 1000, not root"),
        ("chown 1001 \"$FIX/SUB\"", "owned by UID 1001, not root"),
        (
            "chgrp 1000 \"$FIX/SUB\" && chmod 0664 \"$FIX/SUB\"",
            "writable by group 1000",
        ),
        // A root-owned link to a file alice owns: the file is what counts.
        (
            "mv \"$FIX/SUB\" \"$FIX/SUB.real\" && chown 1000 \"$FIX/SUB.real\" && ln -s SUB.real \"$FIX/SUB\"",
            "owned by UID 1000",
        ),
        (
            "rm \"$FIX/SUB\" && mkfifo -m 0644 \"$FIX/SUB\"",
            "not a regular file",
        ),
        (
            "rm \"$FIX/SUB\" && mkdir \"$FIX/SUB\"",
            "not a regular file",
        ),
    ];
    for install in BOTH {
        for (prepare, expect) in cases {
            for (program, file) in [(UID, "subuid"), (GID, "subgid")] {
                let mut case = Case::new(install, program, &["{pid}", "0", "100000", "10"]);
                case.prepare = prepare.replace("SUB", file);
                case.run().assert_refused_as(
                    program,
                    &format!("{install:?} {program} {prepare}"),
                    &format!("refusing /etc/{file}: {expect}"),
                );
            }
        }
    }
}
