//! Issue 2: the drop-in behaviour, end to end, once per install mode.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

const UID: &str = "newuidmap";
const GID: &str = "newgidmap";

per_mode! {
    fn own_id_and_one_range_exact_map(install) {
        let ctx = install.to_string();
        let map = ["{pid}", "0", "1000", "1", "1", "100000", "65536"];
        let out = Case::uid(install, &map).run();
        out.assert_maps(UID, &ctx, &["0 1000 1", "1 100000 65536"]);
        out.assert_quiet(&ctx);
        assert_eq!(out.stdout, "", "{ctx}");
        let out = Case::gid(install, &map).run();
        out.assert_maps(GID, &ctx, &["0 1000 1", "1 100000 65536"]);
        assert_eq!(out.setgroups, "allow", "{ctx}: subgid grant keeps setgroups");
    }

    fn five_ranges_from_two_entries_and_a_span_across_adjacent_entries(install) {
        let ctx = install.to_string();
        // erin owns 400000:1000 and 401000:1000; the third triplet spans both.
        let args = [
            "{pid}", "0", "400000", "400", "400", "400400", "400", "800", "400800", "400", "1200",
            "401200", "400", "1600", "401600", "400",
        ];
        let out = Case::uid(install, &args).by(ERIN).run();
        out.assert_granted(&ctx);
        assert_eq!(out.uid_lines().len(), 5, "{ctx}");
        assert_eq!(out.uid_lines()[2], "800 400800 400");
        Case::gid(install, &["{pid}", "0", "400500", "1000"])
            .by(ERIN)
            .run()
            .assert_maps(GID, &ctx, &["0 400500 1000"]);
    }

    fn numeric_uid_owner_and_alias_name(install) {
        let ctx = install.to_string();
        // dave's range is keyed "1003:" in the file.
        Case::uid(install, &["{pid}", "0", "231072", "65536"])
            .by(DAVE)
            .run()
            .assert_maps(UID, &ctx, &["0 231072 65536"]);
        // alice2 shares alice's UID, so alice may use alice2's range with her own.
        Case::uid(install, &["{pid}", "0", "300000", "1000", "1000", "100000", "10"])
            .run()
            .assert_maps(UID, &ctx, &["0 300000 1000", "1000 100000 10"]);
    }

    fn outside_range_refused_with_empty_map(install) {
        let ctx = install.to_string();
        // bob's range, asked for by alice.
        let out = Case::uid(install, &["{pid}", "0", "1000", "1", "1", "165536", "10"]).run();
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "uid range [1-11) -> [165536-165546) not allowed");
        // Another user's ID, not the own one.
        Case::uid(install, &["{pid}", "0", "1001", "1"]).run().assert_refused(UID, &ctx);
    }

    /// Outer ID 0: alice:0:0 grants nothing. (Debian's shadow 4.13 lets it
    /// map root: see compliance.rs.)
    fn alice_0_0_grants_no_outer_root(install) {
        let ctx = format!("{install} outer 0");
        Case::uid(install, &["{pid}", "0", "0", "1"]).run().assert_refused(UID, &ctx);
        Case::gid(install, &["{pid}", "0", "0", "1"]).run().assert_refused(GID, &ctx);
    }
}

/// A malformed command line: refused before anything else, the message
/// naming the fault.
fn malformed(install: Install, args: &[&str], expect: &str) {
    let ctx = format!("{install} {args:?}");
    let out = Case::uid(install, args).run();
    out.assert_refused(UID, &ctx);
    out.says(&ctx, expect);
}

rows! { fn malformed;
    count_zero: (&["{pid}", "0", "1000", "0"], "count 0");
    outer_reaches_past_the_last_id: (&["{pid}", "0", "4294967295", "1"], "reaches past");
    inner_reaches_past_the_last_id: (&["{pid}", "4294967290", "100000", "10"], "reaches past");
    hex_number: (&["{pid}", "0", "0x10", "1"], "bad outer ID");
    octal_number: (&["{pid}", "0", "010", "1"], "bad outer ID");
    not_groups_of_three: (&["{pid}", "0", "1000"], "groups of three");
    no_map: (&["{pid}"], "missing map");
    no_target: (&[], "missing target");
    overlapping_inner_ranges: (&["{pid}", "0", "1000", "1", "0", "100000", "5"], "overlap");
}

per_mode! {
    fn line_and_byte_limits(install) {
        let out = Case::uid(install, &refs(&erin_triplets(340))).by(ERIN).run();
        out.assert_granted(&format!("{install} 340 lines"));
        assert_eq!(out.uid_lines().len(), 340);
        let out = Case::uid(install, &refs(&erin_triplets(341))).by(ERIN).run();
        out.assert_refused(UID, "341 lines");
        out.says("341 lines", "at most 340");
        // 171 lines of 24 bytes: 4104 bytes.
        let mut list = vec!["{pid}".to_string()];
        for i in 0..171u32 {
            list.extend([
                (1_000_000_000 + i * 10).to_string(),
                (2_000_000_000 + i * 10).to_string(),
                "5".into(),
            ]);
        }
        let out = Case::uid(install, &refs(&list)).run();
        out.assert_refused(UID, "4096+ bytes");
        out.says("4096+ bytes", "4104 bytes");
    }

    fn target_owned_by_another_user(install) {
        let ctx = install.to_string();
        let out = Case::uid(install, &["{pid}", "0", "1000", "1"]).owner(BOB).run();
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "owned by a different user");
        out.says(&ctx, "UID 1001 GID 1001; you are UID 1000 GID 1000");
        Case::uid(install, &["{pid}", "0", "1000", "1"])
            .owner(ROOT)
            .run()
            .assert_refused(UID, "root's target");
    }

    fn group_mismatch_and_grant_aux_group_subids(install) {
        let ctx = install.to_string();
        let staff = Ids { uid: 1000, gid: 2000 };
        let out = Case::gid(install, &["{pid}", "0", "100000", "10"]).by(staff).run();
        out.assert_refused(GID, &ctx);
        out.says(&ctx, "GRANT_AUX_GROUP_SUBIDS");
        Case::gid(install, &["{pid}", "0", "100000", "10"])
            .by(staff)
            .fixture("grant-aux")
            .run()
            .assert_maps(GID, &ctx, &["0 100000 10"]);
    }

    fn second_write_is_refused(install) {
        let ctx = install.to_string();
        let out = Case::uid(install, &["{pid}", "0", "100000", "10"])
            .before("echo '0 1000 1' > /proc/$T/uid_map")
            .run();
        assert_eq!(out.status, 1, "{ctx}");
        assert_eq!(out.uid_lines(), lines(&["0 1000 1"]), "the first map stays");
        out.says(&ctx, "already set");
    }

    fn setgroups_deny_only_for_own_gid_maps(install) {
        let ctx = install.to_string();
        let out = Case::gid(install, &["{pid}", "0", "1000", "1"]).run();
        out.assert_maps(GID, &ctx, &["0 1000 1"]);
        assert_eq!(out.setgroups, "deny");
        let out = Case::gid(install, &["{pid}", "0", "1000", "1", "1", "100000", "1"]).run();
        out.assert_granted(&ctx);
        assert_eq!(out.setgroups, "allow");
        // Already deny: still succeeds.
        let out = Case::gid(install, &["{pid}", "0", "1000", "1"])
            .before("echo deny > /proc/$T/setgroups")
            .run();
        out.assert_granted(&ctx);
        assert_eq!(out.setgroups, "deny");
    }

    fn fd_targets(install) {
        let case = Case::uid(install, &["fd:5", "0", "1000", "1"]);
        case.clone()
            .wrap("exec 5</proc/$T")
            .run()
            .assert_maps(UID, &format!("{install} proc dir fd"), &["0 1000 1"]);
        case.clone()
            .wrap("exec python3 -c 'import os,sys; fd = os.pidfd_open(int(sys.argv[1])); os.dup2(fd, 5); os.execv(sys.argv[2], sys.argv[2:])' \"$T\" \"$BIN/newuidmap\" fd:5 0 1000 1")
            .run()
            .assert_maps(UID, &format!("{install} pidfd"), &["0 1000 1"]);
        let out = case.wrap("exec 5</etc/passwd").run();
        out.assert_refused(UID, "plain file fd");
        out.says("plain file fd", "fd:5 is neither");
    }

    fn missing_and_unsuitable_targets(install) {
        let ctx = install.to_string();
        let out = Case::uid(install, &["2147483647", "0", "1000", "1"]).run();
        out.assert_refused(UID, "no such pid");
        out.says(
            "no such pid",
            "Could not open proc directory for target 2147483647: no process",
        );
        let out = Case::uid(install, &["{pid}", "0", "1000", "1"])
            .shape(TargetShape::Plain)
            .run();
        assert_eq!(out.status, 1, "{ctx}: {out:#?}");
        assert_eq!(out.uid_lines(), lines(&["0 0 4294967295"]), "the initial map is untouched");
        out.says(&ctx, "not in a new user namespace");
    }

    fn config_file_forms_and_trust(install) {
        // Symlinked /etc/subuid without a final newline (NixOS style).
        for (program, ctx) in [(UID, "symlink"), (GID, "symlink gid")] {
            Case::new(install, program, &["{pid}", "0", "100000", "65536"])
                .fixture("symlinked")
                .run()
                .assert_granted(&format!("{install} {ctx}"));
        }
        // World-writable and user-owned files are refused, naming the file.
        let case = Case::uid(install, &["{pid}", "0", "100000", "10"]);
        let out = case.clone().prepare("chmod 0666 \"$FIX/subuid\"").run();
        out.assert_refused(UID, "world-writable");
        out.says("world-writable", "refusing /etc/subuid: writable by others");
        let out = case.prepare("chown 1000 \"$FIX/subuid\"").run();
        out.assert_refused(UID, "user-owned");
        out.says("user-owned", "owned by UID 1000, not root");
    }

    fn caller_without_passwd_entry(install) {
        let out = Case::uid(install, &["{pid}", "0", "4242", "1"]).by(NOBODY_KNOWS).run();
        out.assert_refused(UID, "no passwd entry");
        out.says("no passwd entry", "UID 4242 has no passwd entry");
    }
}

/// The caller's passwd entry is read from /etc/passwd directly only when
/// that is certainly glibc's answer; otherwise glibc decides. Each row puts
/// a line for alice's UID 1000 with GID 2000 before her real entry (GID
/// 1000): where glibc takes that first line, the helper must see GID 2000
/// and refuse (real GID 1000 is not the passwd GID); where glibc skips it,
/// the call succeeds.
fn passwd_entry_is_glibcs(install: Install, source: &str, first: &str, glibc_takes_it: bool) {
    let base = std::fs::read_to_string(format!("{REPO}/subid-fixtures/basic/passwd")).unwrap();
    let ctx = format!("{install} passwd: {source}, first line {first:?}");
    let out = Case::uid(install, &["{pid}", "0", "1000", "1"])
        .file("passwd", format!("{first}\n{base}").as_bytes())
        .file(
            "nsswitch.conf",
            format!("passwd: {source}\ngroup: files\nsubid: files\n").as_bytes(),
        )
        .run();
    if glibc_takes_it {
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "(passwd: UID 1000 GID 2000)");
    } else {
        out.assert_maps(UID, &ctx, &["0 1000 1"]);
    }
}

rows! { fn passwd_entry_is_glibcs;
    // (nsswitch passwd line, line put first, glibc takes it)
    files_plain: ("files", "alice0:x:1000:2000::/:/bin/sh", true);
    // strtoull reads "01000" and " 1000" as 1000; a plain reading would not.
    files_leading_zero_uid: ("files", "alice0:x:01000:2000::/:/bin/sh", true);
    files_blank_before_uid: ("files", "alice0:x: 1000:2000::/:/bin/sh", true);
    // glibc strips leading blanks before parsing.
    files_leading_blanks: ("files", "  alice0:x:1000:2000::/:/bin/sh", true);
    // Comments, and compat-style +/- names in files mode, are skipped.
    files_comment: ("files", "#alice0:x:1000:2000::/:/bin/sh", false);
    files_plus_name: ("files", "+alice0:x:1000:2000::/:/bin/sh", false);
    files_junk_after_uid: ("files", "alice0:x:1000x:2000::/:/bin/sh", false);
    // Not files first: glibc alone answers (compat reads the same file).
    compat_plain: ("compat", "alice0:x:1000:2000::/:/bin/sh", true);
    compat_comment: ("compat", "#alice0:x:1000:2000::/:/bin/sh", false);
}

/// compliance.rs names only tests that exist.
#[test]
fn compliance_listing_names_real_tests() {
    compliance::assert_listing_names_real_tests();
}
