//! Issue 2: the drop-in behaviour, end to end, in both install modes.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

fn lines(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn own_id_and_one_range_exact_map() {
    if !privileged("own_id_and_one_range_exact_map") {
        return;
    }
    for install in BOTH {
        let out = Case::uid(
            install,
            &["{pid}", "0", "1000", "1", "1", "100000", "65536"],
        )
        .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.stderr, "", "{install:?}");
        assert_eq!(out.stdout, "", "{install:?}");
        assert_eq!(
            out.uid_lines(),
            lines(&["0 1000 1", "1 100000 65536"]),
            "{install:?}"
        );
        let out = Case::gid(
            install,
            &["{pid}", "0", "1000", "1", "1", "100000", "65536"],
        )
        .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(
            out.gid_lines(),
            lines(&["0 1000 1", "1 100000 65536"]),
            "{install:?}"
        );
        assert_eq!(
            out.setgroups, "allow",
            "{install:?}: subgid grant keeps setgroups"
        );
    }
}

#[test]
fn five_ranges_from_two_entries_and_a_span_across_adjacent_entries() {
    if !privileged("five_ranges") {
        return;
    }
    for install in BOTH {
        // erin owns 400000:1000 and 401000:1000; the third triplet spans both.
        let args = [
            "{pid}", "0", "400000", "400", "400", "400400", "400", "800", "400800", "400", "1200",
            "401200", "400", "1600", "401600", "400",
        ];
        let out = Case::uid(install, &args).by(ERIN).run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.uid_lines().len(), 5, "{install:?}");
        assert_eq!(out.uid_lines()[2], "800 400800 400");
        let out = Case::gid(install, &["{pid}", "0", "400500", "1000"])
            .by(ERIN)
            .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.gid_lines(), lines(&["0 400500 1000"]));
    }
}

#[test]
fn numeric_uid_owner_and_alias_name() {
    if !privileged("numeric_uid_owner_and_alias_name") {
        return;
    }
    for install in BOTH {
        // dave's range is keyed "1003:" in the file.
        let out = Case::uid(install, &["{pid}", "0", "231072", "65536"])
            .by(DAVE)
            .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 231072 65536"]));
        // alice2 shares alice's UID, so alice may use alice2's range with her own.
        let out = Case::uid(
            install,
            &["{pid}", "0", "300000", "1000", "1000", "100000", "10"],
        )
        .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 300000 1000", "1000 100000 10"]));
    }
}

#[test]
fn outside_range_refused_with_empty_map() {
    if !privileged("outside_range_refused") {
        return;
    }
    for install in BOTH {
        // bob's range, asked for by alice.
        let out = Case::uid(install, &["{pid}", "0", "1000", "1", "1", "165536", "10"]).run();
        out.assert_refused("newuidmap", &format!("{install:?}"));
        assert!(
            out.stderr
                .contains("uid range [1-11) -> [165536-165546) not allowed"),
            "{}",
            out.stderr
        );
        // Another user's ID, not the own one.
        let out = Case::uid(install, &["{pid}", "0", "1001", "1"]).run();
        out.assert_refused("newuidmap", &format!("{install:?}"));
        // Outer UID 0: alice:0:0 grants nothing.
        let out = Case::uid(install, &["{pid}", "0", "0", "1"]).run();
        out.assert_refused("newuidmap", &format!("{install:?} outer 0"));
        let out = Case::gid(install, &["{pid}", "0", "0", "1"]).run();
        out.assert_refused("newgidmap", &format!("{install:?} outer 0"));
    }
}

#[test]
fn malformed_command_lines() {
    if !privileged("malformed_command_lines") {
        return;
    }
    let cases: &[(&[&str], &str)] = &[
        (&["{pid}", "0", "1000", "0"], "count 0"),
        (&["{pid}", "0", "4294967295", "1"], "reaches past"),
        (&["{pid}", "4294967290", "100000", "10"], "reaches past"),
        (&["{pid}", "0", "0x10", "1"], "bad outer ID"),
        (&["{pid}", "0", "010", "1"], "bad outer ID"),
        (&["{pid}", "0", "1000"], "groups of three"),
        (&["{pid}"], "missing map"),
        (&[], "missing target"),
        (&["{pid}", "0", "1000", "1", "0", "100000", "5"], "overlap"),
    ];
    for install in BOTH {
        for (args, expect) in cases {
            let out = Case::uid(install, args).run();
            out.assert_refused("newuidmap", &format!("{install:?} {args:?}"));
            assert!(
                out.stderr.contains(expect),
                "{install:?} {args:?}: {}",
                out.stderr
            );
        }
    }
}

fn short_lines(n: u32) -> Vec<String> {
    // erin owns 20000..21000; 5-digit outers, 1-digit counts keep 340 lines under 4095 bytes.
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

#[test]
fn line_and_byte_limits() {
    if !privileged("line_and_byte_limits") {
        return;
    }
    for install in BOTH {
        let list = short_lines(340);
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        let out = Case::uid(install, &refs).by(ERIN).run();
        assert_eq!(out.status, 0, "{install:?} 340 lines: {}", out.stderr);
        assert_eq!(out.uid_lines().len(), 340);
        let list = short_lines(341);
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        let out = Case::uid(install, &refs).by(ERIN).run();
        out.assert_refused("newuidmap", "341 lines");
        assert!(out.stderr.contains("at most 340"), "{}", out.stderr);
        // 171 lines of 24 bytes: 4104 bytes.
        let mut list = vec!["{pid}".to_string()];
        for i in 0..171u32 {
            list.extend([
                (1_000_000_000 + i * 10).to_string(),
                (2_000_000_000 + i * 10).to_string(),
                "5".into(),
            ]);
        }
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        let out = Case::uid(install, &refs).run();
        out.assert_refused("newuidmap", "4096+ bytes");
        assert!(out.stderr.contains("4104 bytes"), "{}", out.stderr);
    }
}

#[test]
fn target_owned_by_another_user() {
    if !privileged("target_owned_by_another_user") {
        return;
    }
    for install in BOTH {
        let mut case = Case::uid(install, &["{pid}", "0", "1000", "1"]);
        case.target_owner = BOB;
        let out = case.run();
        out.assert_refused("newuidmap", &format!("{install:?}"));
        assert!(
            out.stderr.contains("owned by a different user"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("UID 1001 GID 1001; you are UID 1000 GID 1000"),
            "{}",
            out.stderr
        );
        let mut case = Case::uid(install, &["{pid}", "0", "1000", "1"]);
        case.target_owner = ROOT;
        case.run().assert_refused("newuidmap", "root's target");
    }
}

#[test]
fn group_mismatch_and_grant_aux_group_subids() {
    if !privileged("group_mismatch") {
        return;
    }
    let staff = Ids {
        uid: 1000,
        gid: 2000,
    };
    for install in BOTH {
        let out = Case::gid(install, &["{pid}", "0", "100000", "10"])
            .by(staff)
            .run();
        out.assert_refused("newgidmap", &format!("{install:?}"));
        assert!(
            out.stderr.contains("GRANT_AUX_GROUP_SUBIDS"),
            "{}",
            out.stderr
        );
        let out = Case::gid(install, &["{pid}", "0", "100000", "10"])
            .by(staff)
            .fixture("grant-aux")
            .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.gid_lines(), lines(&["0 100000 10"]));
    }
}

#[test]
fn second_write_is_refused() {
    if !privileged("second_write_is_refused") {
        return;
    }
    for install in BOTH {
        let mut case = Case::uid(install, &["{pid}", "0", "100000", "10"]);
        case.before = "echo '0 1000 1' > /proc/$T/uid_map".into();
        let out = case.run();
        assert_eq!(out.status, 1, "{install:?}");
        assert_eq!(out.uid_lines(), lines(&["0 1000 1"]), "the first map stays");
        assert!(out.stderr.contains("already set"), "{}", out.stderr);
    }
}

#[test]
fn setgroups_deny_only_for_own_gid_maps() {
    if !privileged("setgroups_deny") {
        return;
    }
    for install in BOTH {
        let out = Case::gid(install, &["{pid}", "0", "1000", "1"]).run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.setgroups, "deny");
        assert_eq!(out.gid_lines(), lines(&["0 1000 1"]));
        let out = Case::gid(install, &["{pid}", "0", "1000", "1", "1", "100000", "1"]).run();
        assert_eq!(out.status, 0, "{install:?}");
        assert_eq!(out.setgroups, "allow");
        // Already deny: still succeeds.
        let mut case = Case::gid(install, &["{pid}", "0", "1000", "1"]);
        case.before = "echo deny > /proc/$T/setgroups".into();
        let out = case.run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.setgroups, "deny");
    }
}

#[test]
fn fd_targets() {
    if !privileged("fd_targets") {
        return;
    }
    for install in BOTH {
        let mut case = Case::uid(install, &["fd:5", "0", "1000", "1"]);
        case.wrap = "exec 5</proc/$T".into();
        let out = case.run();
        assert_eq!(out.status, 0, "{install:?} proc dir fd: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 1000 1"]));

        let mut case = Case::uid(install, &["fd:5", "0", "1000", "1"]);
        case.wrap = "exec python3 -c 'import os,sys; fd = os.pidfd_open(int(sys.argv[1])); os.dup2(fd, 5); os.execv(sys.argv[2], sys.argv[2:])' \"$T\" \"$BIN/newuidmap\" fd:5 0 1000 1".into();
        let out = case.run();
        assert_eq!(out.status, 0, "{install:?} pidfd: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 1000 1"]));

        let mut case = Case::uid(install, &["fd:5", "0", "1000", "1"]);
        case.wrap = "exec 5</etc/passwd".into();
        let out = case.run();
        out.assert_refused("newuidmap", "plain file fd");
        assert!(out.stderr.contains("fd:5 is neither"), "{}", out.stderr);
    }
}

#[test]
fn missing_and_unsuitable_targets() {
    if !privileged("missing_and_unsuitable_targets") {
        return;
    }
    for install in BOTH {
        let out = Case::uid(install, &["2147483647", "0", "1000", "1"]).run();
        out.assert_refused("newuidmap", "no such pid");
        assert!(
            out.stderr
                .contains("Could not open proc directory for target 2147483647: no process"),
            "{}",
            out.stderr
        );
        let mut case = Case::uid(install, &["{pid}", "0", "1000", "1"]);
        case.shape = TargetShape::Plain;
        let out = case.run();
        assert_eq!(out.status, 1, "{install:?}: {out:#?}");
        assert_eq!(
            out.uid_lines(),
            lines(&["0 0 4294967295"]),
            "the initial map is untouched"
        );
        assert!(
            out.stderr.contains("not in a new user namespace"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn config_file_forms_and_trust() {
    if !privileged("config_file_forms_and_trust") {
        return;
    }
    for install in BOTH {
        // Symlinked /etc/subuid without a final newline (NixOS style).
        let out = Case::uid(install, &["{pid}", "0", "100000", "65536"])
            .fixture("symlinked")
            .run();
        assert_eq!(out.status, 0, "{install:?} symlink: {out:#?}");
        let out = Case::gid(install, &["{pid}", "0", "100000", "65536"])
            .fixture("symlinked")
            .run();
        assert_eq!(out.status, 0, "{install:?} symlink gid: {out:#?}");
        // World-writable and user-owned files are refused, naming the file.
        let mut case = Case::uid(install, &["{pid}", "0", "100000", "10"]);
        case.prepare = "chmod 0666 \"$FIX/subuid\"".into();
        let out = case.run();
        out.assert_refused("newuidmap", "world-writable");
        assert!(
            out.stderr
                .contains("refusing /etc/subuid: writable by others"),
            "{}",
            out.stderr
        );
        let mut case = Case::uid(install, &["{pid}", "0", "100000", "10"]);
        case.prepare = "chown 1000 \"$FIX/subuid\"".into();
        let out = case.run();
        out.assert_refused("newuidmap", "user-owned");
        assert!(
            out.stderr.contains("owned by UID 1000, not root"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn caller_without_passwd_entry() {
    if !privileged("caller_without_passwd_entry") {
        return;
    }
    for install in BOTH {
        let out = Case::uid(install, &["{pid}", "0", "4242", "1"])
            .by(NOBODY_KNOWS)
            .run();
        out.assert_refused("newuidmap", "no passwd entry");
        assert!(
            out.stderr.contains("UID 4242 has no passwd entry"),
            "{}",
            out.stderr
        );
    }
}

/// The caller's passwd entry is read from /etc/passwd directly only when
/// that is certainly glibc's answer; otherwise glibc decides. Each case puts
/// a line for alice's UID 1000 with GID 2000 before her real entry (GID
/// 1000): where glibc takes that first line, the helper must see GID 2000
/// and refuse (real GID 1000 is not the passwd GID); where glibc skips it,
/// the call succeeds.
#[test]
fn passwd_entry_is_glibcs() {
    if !privileged("passwd_entry_is_glibcs") {
        return;
    }
    let base = std::fs::read_to_string(format!("{REPO}/subid-fixtures/basic/passwd")).unwrap();
    let cases: &[(&str, &str, bool)] = &[
        // (nsswitch passwd line, line put first, glibc takes it)
        ("files", "alice0:x:1000:2000::/:/bin/sh", true),
        // strtoull reads "01000" and " 1000" as 1000; a plain reading would not.
        ("files", "alice0:x:01000:2000::/:/bin/sh", true),
        ("files", "alice0:x: 1000:2000::/:/bin/sh", true),
        // glibc strips leading blanks before parsing.
        ("files", "  alice0:x:1000:2000::/:/bin/sh", true),
        // Comments, and compat-style +/- names in files mode, are skipped.
        ("files", "#alice0:x:1000:2000::/:/bin/sh", false),
        ("files", "+alice0:x:1000:2000::/:/bin/sh", false),
        ("files", "alice0:x:1000x:2000::/:/bin/sh", false),
        // Not files first: glibc alone answers (compat reads the same file).
        ("compat", "alice0:x:1000:2000::/:/bin/sh", true),
        ("compat", "#alice0:x:1000:2000::/:/bin/sh", false),
    ];
    for install in BOTH {
        for &(source, first, glibc_takes_it) in cases {
            let context = format!("{install:?} passwd: {source}, first line {first:?}");
            let out = Case::uid(install, &["{pid}", "0", "1000", "1"])
                .file("passwd", format!("{first}\n{base}").as_bytes())
                .file(
                    "nsswitch.conf",
                    format!("passwd: {source}\ngroup: files\nsubid: files\n").as_bytes(),
                )
                .run();
            if glibc_takes_it {
                out.assert_refused("newuidmap", &context);
                assert!(
                    out.stderr.contains("(passwd: UID 1000 GID 2000)"),
                    "{context}: {}",
                    out.stderr
                );
            } else {
                assert_eq!(out.status, 0, "{context}: {out:#?}");
                assert_eq!(out.uid_lines(), lines(&["0 1000 1"]), "{context}");
            }
        }
    }
}
