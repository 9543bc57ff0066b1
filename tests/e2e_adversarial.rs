//! Issue 3: the adversarial matrix, end to end, once per install mode.
//!
//! Every refusal here must look the same from outside: exit 1, nothing on
//! stdout, one escaped, prefixed message (a summary line and at most a few
//! hints), and the target's maps and setgroups exactly as they were
//! (`Outcome::assert_refused_as`). Where the right answer is success (an
//! already-denied setgroups, closed standard streams), the test checks the
//! exact map instead. Where the matrix is a table, each row is its own test.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

const UID: &str = "newuidmap";
const GID: &str = "newgidmap";
const BOTH_PROGRAMS: [&str; 2] = [UID, GID];

/// alice maps her own ID with `program`: the call every case below varies.
fn own_id(install: Install, program: &'static str) -> Case {
    Case::new(install, program, &["{pid}", "0", "1000", "1"])
}

per_mode! {
    fn targets_owned_by_others(install) {
        for (owner, who) in [(BOB, "bob"), (ROOT, "root")] {
            for program in BOTH_PROGRAMS {
                own_id(install, program).owner(owner).run().assert_refused_as(
                    program,
                    &format!("{install} {program} target of {who}"),
                    "is owned by a different user",
                );
            }
        }
        // Same UID, other GID: /proc/PID must match the real GID too.
        own_id(install, UID)
            .owner(Ids { uid: 1000, gid: 1001 })
            .run()
            .assert_refused_as(
                UID,
                &format!("{install} target GID 1001"),
                "GID 1001; you are UID 1000 GID 1000",
            );
    }

    fn target_in_the_initial_namespace(install) {
        for program in BOTH_PROGRAMS {
            own_id(install, program).shape(TargetShape::Plain).run().assert_refused_keeping(
                program,
                &format!("{install} {program} initial namespace"),
                "is not in a new user namespace",
                ("0 0 4294967295", "0 0 4294967295"),
            );
        }
    }

    fn target_in_a_grandchild_namespace(install) {
        for program in BOTH_PROGRAMS {
            // The target set its own middle namespace's setgroups to deny.
            own_id(install, program).shape(TargetShape::Nested).run().assert_refused_keeping(
                program,
                &format!("{install} {program} grandchild"),
                "not a direct child of yours",
                ("", ""),
            );
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
    fn target_in_a_sibling_namespace(install) {
        for program in BOTH_PROGRAMS {
            // unshare's own --map-users would call newuidmap; root writes A's maps directly.
            own_id(install, program)
                .by(ROOT)
                .owner(ALICE)
                .before(
                    "unshare --user sleep 30 &\n\
                     export A=$!\n\
                     for i in $(seq 200); do [ \"$(readlink /proc/$A/ns/user)\" != \"$(readlink /proc/self/ns/user)\" ] && break; sleep 0.01; done\n\
                     echo '0 0 4294967295' > /proc/$A/uid_map && echo '0 0 4294967295' > /proc/$A/gid_map",
                )
                .wrap(format!(
                    "exec nsenter --preserve-credentials --user --target \"$A\" -- setpriv --reuid=1000 --regid=1000 --clear-groups -- \"$BIN/{program}\" \"$T\" 0 1000 1"
                ))
                .run()
                .assert_refused_as(
                    program,
                    &format!("{install} {program} sibling"),
                    "is in a user namespace you may not inspect",
                );
        }
    }

    /// bob creates the namespace; a process with alice's UID joins it. The
    /// target is then alice's, but its namespace is not: the map is bob's to
    /// write. The harness's own target is bob's process in that namespace, so
    /// the maps read back after the call are the namespace's.
    fn namespace_created_by_another_user(install) {
        for program in BOTH_PROGRAMS {
            own_id(install, program)
                .owner(BOB)
                .before(
                    "setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=+sys_admin,+sys_ptrace --ambient-caps=+sys_admin,+sys_ptrace nsenter --preserve-credentials --user --target $T sleep 30 &\n\
                     export J=$!\n\
                     for i in $(seq 200); do [ \"$(readlink /proc/$J/ns/user)\" = \"$(readlink /proc/$T/ns/user)\" ] && break; sleep 0.01; done",
                )
                .wrap(format!("exec \"$BIN/{program}\" \"$J\" 0 1000 1"))
                .run()
                .assert_refused_as(
                    program,
                    &format!("{install} {program} bob's namespace"),
                    "is in a user namespace you may not inspect",
                );
        }
    }

    fn non_dumpable_target(install) {
        for program in BOTH_PROGRAMS {
            own_id(install, program).shape(TargetShape::Nondumpable).run().assert_refused_as(
                program,
                &format!("{install} {program} non-dumpable"),
                "is not dumpable",
            );
        }
    }

    fn maps_already_written(install) {
        Case::uid(install, &["{pid}", "0", "100000", "10"])
            .before("echo '0 1000 1' > /proc/$T/uid_map")
            .run()
            .assert_refused_keeping(
                UID,
                &format!("{install} uid_map"),
                "write to uid_map failed: Operation not permitted",
                ("0 1000 1", ""),
            );
        let out = Case::gid(install, &["{pid}", "0", "100000", "10"])
            .before("echo '0 1000 1' > /proc/$T/gid_map")
            .run();
        let ctx = format!("{install} gid_map");
        out.assert_refused_keeping(
            GID,
            &ctx,
            "write to gid_map failed: Operation not permitted",
            ("", "0 1000 1"),
        );
        out.says(&ctx, "already set");
        // Own GID only: setgroups must become deny first, which the kernel
        // refuses once gid_map is written; the helper must not go on.
        let out = own_id(install, GID).before("echo '0 1000 1' > /proc/$T/gid_map").run();
        out.assert_refused_keeping(
            GID,
            &format!("{install} setgroups after gid_map"),
            "write to setgroups failed",
            ("", "0 1000 1"),
        );
        assert_eq!(out.setgroups, "allow");
    }

    fn setgroups_already_deny_still_succeeds(install) {
        for args in [
            &["{pid}", "0", "1000", "1"][..],
            &["{pid}", "0", "1000", "1", "1", "100000", "5"],
        ] {
            let ctx = format!("{install} {args:?}");
            let out = Case::gid(install, args).before("echo deny > /proc/$T/setgroups").run();
            out.assert_granted(&ctx);
            out.assert_quiet(&ctx);
            assert_eq!(out.setgroups, "deny");
            assert_eq!(out.gid_lines().len(), args.len() / 3);
            assert_eq!(out.gid_lines()[0], "0 1000 1");
        }
    }
}

/// Two triplets whose `side` (inner or outer) ranges overlap: refused by
/// both programs, naming the side.
fn overlapping(install: Install, args: &[&str], side: &str) {
    for program in BOTH_PROGRAMS {
        let ctx = format!("{install} {program} {args:?}");
        let out = Case::new(install, program, args).run();
        out.assert_refused_as(program, &ctx, "overlap");
        out.says(&ctx, &format!("have overlapping {side} ranges"));
    }
}

rows! { fn overlapping;
    inner_ranges_overlap: (&["{pid}", "0", "100000", "10", "5", "100020", "10"], "inner");
    outer_ranges_overlap: (&["{pid}", "0", "100000", "10", "20", "100009", "10"], "outer");
    same_inner_and_outer_twice: (&["{pid}", "0", "100000", "10", "0", "100000", "10"], "inner");
    // One ID of a subordinate range mapped a second time.
    one_outer_id_mapped_twice: (&["{pid}", "0", "100000", "65536", "70000", "100005", "1"], "outer");
}

per_mode! {
    fn too_many_triplets_and_a_full_page(install) {
        Case::uid(install, &refs(&erin_triplets(341)))
            .by(ERIN)
            .run()
            .assert_refused_as(UID, &format!("{install} 341"), "341 triplets requested");
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
        for program in BOTH_PROGRAMS {
            Case::new(install, program, &refs(&list)).run().assert_refused_as(
                program,
                &format!("{install} 4096 bytes"),
                "the map would be 4096 bytes",
            );
        }
    }
}

/// A malformed number in each field of newuidmap's one triplet, and in
/// newgidmap's outer field: refused, the bad bytes shown escaped as `shown`.
fn malformed_number(install: Install, bad: &[u8], shown: &str) {
    for (at, field) in ["inner ID", "outer ID", "count"].iter().enumerate() {
        let mut case = own_id(install, UID);
        case.args[1 + at] = bad.to_vec();
        let out = case.run();
        let ctx = format!("{install} {field} {bad:?}");
        out.assert_refused_as(UID, &ctx, &format!("bad {field} \""));
        out.says(&ctx, shown);
    }
    let mut case = own_id(install, GID);
    case.args[2] = bad.to_vec();
    case.run()
        .assert_refused_as(GID, &format!("{install} gid {bad:?}"), "bad outer ID");
}

rows! { fn malformed_number;
    hex: (b"0x10", "0x10");
    octal: (b"010", "010");
    plus_sign: (b"+5", "+5");
    minus_one: (b"-1", "-1");
    minus_zero: (b"-0", "-0");
    leading_blank: (b" 5", " 5");
    trailing_blank: (b"5 ", "5 ");
    empty: (b"", "\"\"");
    arabic_indic_digit: ("\u{0663}".as_bytes(), "\\xd9\\xa3");
    fullwidth_digit: ("\u{ff15}".as_bytes(), "\\xef\\xbc\\x95");
    invalid_utf8: (b"\xff", "\\xff");
    digit_then_invalid_utf8: (b"5\xff", "5\\xff");
    terminal_escape: (b"1\x1b[2J", "1\\x1b[2J");
    two_to_the_32: (b"4294967296", "4294967296");
}

/// A malformed or impossible PID: refused before anything else.
fn bad_pid(install: Install, pid: &str) {
    Case::uid(install, &[pid, "0", "1000", "1"])
        .run()
        .assert_refused_as(UID, &format!("{install} pid {pid:?}"), "bad target");
}

rows! { fn bad_pid;
    pid_zero: ("0");
    pid_minus_one: ("-1");
    pid_plus_one: ("+1");
    pid_leading_zero: ("01");
    pid_leading_blank: (" 1");
    pid_2_to_the_31: ("2147483648");
    pid_eleven_digits: ("99999999999");
    pid_hex: ("0x1");
    // A real process, spelt with a sign.
    pid_signed_real_process: ("+{pid}");
}

per_mode! {
    fn pids_above_pid_max_and_vanished(install) {
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
                &format!("{install} above pid_max"),
                "Could not open proc directory for target",
            );
        // The target exited (and was reaped) before the call.
        for program in BOTH_PROGRAMS {
            // (Nothing can be read back from a reaped process: "" is expected.)
            own_id(install, program)
                .before("kill -9 $T; wait $T 2>/dev/null")
                .run()
                .assert_refused_keeping(
                    program,
                    &format!("{install} {program} exited"),
                    "Could not open proc directory for target",
                    ("", ""),
                );
        }
        // Exited after the caller opened its /proc directory.
        Case::uid(install, &["fd:7", "0", "1000", "1"])
            .before("exec 7</proc/$T; kill -9 $T; wait $T 2>/dev/null")
            .run()
            .assert_refused_keeping(UID, &format!("{install} fd exited"), "has exited", ("", ""));
    }
}

/// Shell for the caller: an O_PATH descriptor on `path` as fd `fd`, then
/// `newuidmap fd:FD 0 1000 1`.
fn o_path(path: &str, fd: u32) -> String {
    format!(
        "exec python3 -c 'import os,sys; fd = os.open(sys.argv[1], os.O_PATH); os.dup2(fd, {fd}); os.execv(sys.argv[2], sys.argv[2:])' \"{path}\" \"$BIN/newuidmap\" fd:{fd} 0 1000 1"
    )
}

/// `target` (an `fd:N`) with `before` run as root and `wrap` as the caller:
/// refused, the first line saying `expect`.
fn bad_fd_target(install: Install, target: &str, before: &str, wrap: String, expect: &str) {
    Case::uid(install, &[target, "0", "1000", "1"])
        .before(before)
        .wrap(wrap.clone())
        .run()
        .assert_refused_as(UID, &format!("{install} {target} {wrap}"), expect);
}

rows! { fn bad_fd_target;
    fd_on_a_plain_file: ("fd:5", "", "exec 5</etc/passwd".into(), "fd:5 is neither");
    fd_on_proc_itself: ("fd:5", "", "exec 5</proc".into(), "fd:5 is on /proc, but not a /proc/PID");
    fd_on_proc_self_net: ("fd:5", "", "exec 5</proc/self/net".into(), "fd:5 is on /proc, but not a /proc/PID");
    fd_on_a_thread: ("fd:5", "", "exec 5</proc/$T/task/$T".into(), "fd:5 is a thread (thread");
    fd_on_the_root_directory: ("fd:5", "", "exec 5</".into(), "fd:5 is a directory, but not on this system's /proc");
    fd_on_dev_null: ("fd:5", "", "exec 5</dev/null".into(), "fd:5 is neither");
    fd_not_open: ("fd:9", "", String::new(), "fd:9 is not an open file descriptor");
    fd_too_large: ("fd:2147483647", "", String::new(), "is not an open file descriptor");
    fd_o_path_on_uid_map: ("fd:5", "", o_path("/proc/$T/uid_map", 5), "fd:5 is neither");
    fd_o_path_on_exe: ("fd:5", "", o_path("/proc/$T/exe", 5), "fd:5 is neither");
    // A second procfs instance: same processes, different superblock.
    fd_on_a_second_procfs: (
        "fd:5",
        "mkdir -p \"$OUT/proc2\" && mount -t proc proc \"$OUT/proc2\"; export P2=\"$OUT/proc2\"",
        "exec 5<\"$P2/$T\"".into(),
        "fd:5 is a directory, but not on this system's /proc"
    );
    fd_0_on_a_plain_file: ("fd:0", "", "exec 0</etc/passwd".into(), "fd:0 is neither");
    fd_1_as_given: ("fd:1", "", String::new(), "fd:1 is neither");
    fd_2_as_given: ("fd:2", "", String::new(), "fd:2 is neither");
    fd_0_on_proc_itself: ("fd:0", "", "exec 0</proc".into(), "fd:0 is on /proc, but not");
}

per_mode! {
    /// Controls, so the fd refusals above cannot pass by accident: an O_PATH
    /// descriptor on the process directory and fd 0 on it both work.
    fn fd_targets_that_work(install) {
        Case::uid(install, &["fd:5", "0", "1000", "1"])
            .wrap(o_path("/proc/$T", 5))
            .run()
            .assert_maps(UID, &format!("{install} O_PATH dir"), &["0 1000 1"]);
        Case::gid(install, &["fd:0", "0", "1000", "1"])
            .wrap("exec 0</proc/$T")
            .run()
            .assert_maps(GID, &format!("{install} fd:0"), &["0 1000 1"]);
    }

    fn closed_standard_streams(install) {
        // A granted map is written exactly, whatever fds 0-2 are; in
        // particular nothing the helper opens can become fd 2 and receive
        // messages (the kernel checks the opener of a map file, not the writer).
        for wrap in ["exec 0<&-", "exec 1>&-", "exec 2>&-", "exec 0<&- 1>&- 2>&-"] {
            for program in BOTH_PROGRAMS {
                own_id(install, program)
                    .wrap(wrap)
                    .run()
                    .assert_maps(program, &format!("{install} {program} {wrap}"), &["0 1000 1"]);
            }
        }
    }

    fn refusals_with_closed_standard_streams(install) {
        // A refusal with stdin and stdout closed still reports on stderr.
        Case::uid(install, &["{pid}", "0", "165536", "1"])
            .wrap("exec 0<&- 1>&-")
            .run()
            .assert_refused_as(UID, &format!("{install} closed 0,1"), "not allowed");
        // With stderr closed the refusal is silent, but still a refusal, and
        // the error text goes nowhere near the target's files.
        for program in BOTH_PROGRAMS {
            let out = Case::new(install, program, &["{pid}", "0", "165536", "1"])
                .wrap("exec 2>&-")
                .run();
            assert_eq!(out.status, 1, "{install} closed 2: {out:#?}");
            assert_eq!(out.uid_map.trim(), "");
            assert_eq!(out.gid_map.trim(), "");
            assert_eq!(out.stderr, "");
            assert_eq!(out.setgroups, "allow");
        }
    }

    fn stdout_a_broken_pipe(install) {
        // A pipe whose reader has gone: writes fail with EPIPE (or SIGPIPE).
        let broken = "exec 1> >(exec true); sleep 0.1";
        own_id(install, UID)
            .wrap(broken)
            .run()
            .assert_maps(UID, &format!("{install} granted"), &["0 1000 1"]);
    }

    fn refusal_with_stdout_a_broken_pipe(install) {
        let broken = "exec 1> >(exec true); sleep 0.1";
        Case::uid(install, &["{pid}", "0", "165536", "1"])
            .wrap(broken)
            .run()
            .assert_refused_as(UID, &format!("{install} broken pipe"), "not allowed");
    }

    /// The dry run prints the map on stdout: losing it must not kill the
    /// helper with SIGPIPE (status 141) or panic, and nothing is written.
    /// Its output is its answer, so losing it is a failure, and said so.
    fn dry_run_into_a_broken_pipe(install) {
        let ctx = format!("{install} dry run");
        let out = Case::gid(install, &["--dry-run", "{pid}", "0", "1000", "1"])
            .wrap("exec 1> >(exec true); sleep 0.1")
            .run();
        assert_eq!(out.status, 1, "{ctx}: {out:#?}");
        out.says_exactly(
            &ctx,
            "newgidmap: dry run: cannot print the map on standard output: Broken pipe (32)\n",
        );
        assert_eq!(out.gid_map.trim(), "");
        assert_eq!(out.setgroups, "allow");
    }

    /// RLIMIT_NOFILE 3 with fds 0-2 open leaves no descriptor at all: the
    /// dynamic loader itself cannot open libc and exits 127 before any of our
    /// code runs. From 4 up the helper runs short of descriptors; whatever
    /// fails must fail closed, with the reason named, or succeed exactly.
    fn three_open_files_at_most(install) {
        let mut refused = 0;
        for limit in 3..=8 {
            for program in BOTH_PROGRAMS {
                let out = own_id(install, program).wrap(format!("ulimit -n {limit}")).run();
                let ctx = format!("{install} {program} nofile {limit}");
                match out.status {
                    127 if limit == 3 => {
                        assert!(
                            out.stderr.contains("error while loading shared libraries"),
                            "{ctx}: {out:#?}"
                        );
                        assert_eq!((out.uid_map.trim(), out.gid_map.trim()), ("", ""));
                    }
                    0 => out.assert_maps(program, &ctx, &["0 1000 1"]),
                    _ => {
                        out.assert_refused_keeping(program, &ctx, "", ("", ""));
                        out.says(&ctx, "Too many open files (24)");
                        refused += 1;
                    }
                }
            }
        }
        assert!(refused > 0, "{install}: no limit reached the helper's own handling");
    }

    fn hostile_environment_has_no_effect(install) {
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
        for (program, args) in [
            (UID, &["{pid}", "0", "1000", "1", "1", "100000", "65536"][..]),
            (GID, &["{pid}", "0", "1000", "1"]),
            (UID, &["{pid}", "0", "165536", "1"]),
            (UID, &["{pid}", "0", "0x10", "1"]),
            (GID, &["--dry-run", "-", "0", "1000", "1"]),
        ] {
            let plain = Case::new(install, program, args).run();
            let out = Case::new(install, program, args).wrap(hostile.clone()).run();
            let ctx = format!("{install} {program} {args:?}");
            assert!(!out.stderr.contains("LD_PRELOAD-LOADED"), "{ctx}: {out:#?}");
            assert_eq!(out.status, plain.status, "{ctx}: {out:#?}");
            assert_eq!(out.stderr, plain.stderr, "{ctx}");
            assert_eq!(out.stdout, plain.stdout, "{ctx}");
            assert_eq!(out.uid_map, plain.uid_map, "{ctx}");
            assert_eq!(out.gid_map, plain.gid_map, "{ctx}");
            assert_eq!(out.setgroups, plain.setgroups, "{ctx}");
        }
    }

    fn no_new_privs_is_named(install) {
        for (program, cap) in [(UID, "cap_setuid"), (GID, "cap_setgid")] {
            let ctx = format!("{install} {program} nnp");
            let out = own_id(install, program)
                .wrap(format!("exec setpriv --no-new-privs \"$BIN/{program}\" \"$T\" 0 1000 1"))
                .run();
            out.assert_refused_as(program, &ctx, &format!("this helper lacks {cap}"));
            out.says(&ctx, "no_new_privs set");
        }
    }

    fn callers_without_an_account(install) {
        for program in BOTH_PROGRAMS {
            Case::new(install, program, &["{pid}", "0", "4242", "1"])
                .by(NOBODY_KNOWS)
                .run()
                .assert_refused_as(
                    program,
                    &format!("{install} {program} no passwd"),
                    "UID 4242 has no passwd entry",
                );
        }
    }

    fn callers_sharing_an_account(install) {
        // alice and alice2 share UID 1000: alice2's range is alice's, bob's is not,
        // and the refusal lists only the caller's own entries.
        let ctx = format!("{install} alias + bob");
        let out = Case::uid(install, &["{pid}", "0", "300000", "1000", "1000", "165536", "10"]).run();
        out.assert_refused_as(UID, &ctx, "not allowed (triplet 2");
        out.says(&ctx, "subordinate UIDs of alice");
        out.says_not(&ctx, "bob");
        // Beyond the end of alice2's range.
        let ctx = format!("{install} past alias");
        let out = Case::uid(install, &["{pid}", "0", "300500", "1000"]).run();
        out.assert_refused_as(UID, &ctx, "not allowed");
        out.says(&ctx, "not covered: 301000-301499 (500 IDs)");
        // A UID-keyed entry (1003) is dave's only, not alice's.
        Case::uid(install, &["{pid}", "0", "231072", "10"])
            .run()
            .assert_refused_as(UID, &format!("{install} dave's"), "not allowed");
    }

    fn control_characters_in_a_user_name_are_escaped(install) {
        // Out of range: the message names the user.
        let ctx = format!("{install} mallory");
        let out = Case::uid(install, &["{pid}", "0", "100000", "10"]).by(MALLORY).run();
        out.assert_refused_as(UID, &ctx, "not allowed");
        out.says(&ctx, "mal\\x1b[31mlory");
        out.says_not(&ctx, "\x1b");
        // In range: granted (the name is matched as bytes, not printed).
        Case::uid(install, &["{pid}", "0", "600000", "1000"])
            .by(MALLORY)
            .run()
            .assert_maps(UID, &ctx, &["0 600000 1000"]);
    }

    fn zero_count_entry_grants_nothing(install) {
        for program in BOTH_PROGRAMS {
            for args in [
                &["{pid}", "0", "0", "1"][..],
                &["{pid}", "1", "0", "1", "0", "1000", "1"],
            ] {
                let out = Case::new(install, program, args).run();
                let ctx = format!("{install} {program} {args:?}");
                if install == Install::Fcaps && program == UID {
                    // Outer UID 0 needs cap_setfcap, which this install lacks:
                    // refused before any file is read (newgidmap covers the
                    // subgid line in this mode).
                    out.assert_refused_as(program, &ctx, "this helper lacks cap_setfcap");
                    continue;
                }
                out.assert_refused_as(program, &ctx, "not allowed");
                out.says(&ctx, "grants nothing: count is 0");
            }
        }
    }
}

/// `prepare` (with SUB for subuid or subgid) makes the file untrusted: both
/// programs refuse, naming the file and `expect`.
fn untrusted_subid_file(install: Install, prepare: &str, expect: &str) {
    for (program, file) in [(UID, "subuid"), (GID, "subgid")] {
        Case::new(install, program, &["{pid}", "0", "100000", "10"])
            .prepare(prepare.replace("SUB", file))
            .run()
            .assert_refused_as(
                program,
                &format!("{install} {program} {prepare}"),
                &format!("refusing /etc/{file}: {expect}"),
            );
    }
}

rows! { fn untrusted_subid_file;
    world_writable: ("chmod 0666 \"$FIX/SUB\"", "writable by others");
    writable_by_others_only: ("chmod 0646 \"$FIX/SUB\"", "writable by others");
    owned_by_the_caller: ("chown 1000 \"$FIX/SUB\"", "owned by UID 1000, not root");
    owned_by_another_user: ("chown 1001 \"$FIX/SUB\"", "owned by UID 1001, not root");
    writable_by_a_user_group: (
        "chgrp 1000 \"$FIX/SUB\" && chmod 0664 \"$FIX/SUB\"",
        "writable by group 1000"
    );
    // A root-owned link to a file alice owns: the file is what counts.
    root_link_to_a_user_file: (
        "mv \"$FIX/SUB\" \"$FIX/SUB.real\" && chown 1000 \"$FIX/SUB.real\" && ln -s SUB.real \"$FIX/SUB\"",
        "owned by UID 1000"
    );
    a_fifo: ("rm \"$FIX/SUB\" && mkfifo -m 0644 \"$FIX/SUB\"", "not a regular file");
    a_directory: ("rm \"$FIX/SUB\" && mkdir \"$FIX/SUB\"", "not a regular file");
}
