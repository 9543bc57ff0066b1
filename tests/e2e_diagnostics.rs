//! Issue 4: refusals that say how to fix them, the dry run, the audit trail.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

#[test]
fn range_not_allowed_names_own_ranges_only() {
    if !privileged("range_not_allowed_names_own_ranges_only") {
        return;
    }
    for install in BOTH {
        let out = Case::uid(install, &["{pid}", "0", "1000", "1", "5", "200000", "10"]).run();
        out.assert_refused("newuidmap", &format!("{install:?}"));
        let err = &out.stderr;
        assert!(err.starts_with("newuidmap: uid range [5-15) -> [200000-200010) not allowed (triplet 2 \"5 200000 10\")\n"), "{err}");
        assert!(
            err.contains("subordinate UIDs of alice: 100000-165535 (65536 IDs) line 3"),
            "{err}"
        );
        assert!(
            err.contains("none of 200000-200009 (10 IDs) is among them"),
            "{err}"
        );
        // Never another user's entries (bob's range ends at 231072, dave's starts there).
        assert!(
            !err.contains("bob") && !err.contains("231072") && !err.contains("1003"),
            "{err}"
        );
        // alice's own broken lines are pointed out.
        assert!(
            err.contains("/etc/subuid line 11 names alice but grants nothing: count is 0"),
            "{err}"
        );
        assert!(
            err.contains("/etc/subuid line 12 names alice but grants nothing: count is not"),
            "{err}"
        );
    }
}

#[test]
fn partly_covered_request_names_the_gap() {
    if !privileged("partly_covered_request_names_the_gap") {
        return;
    }
    for install in BOTH {
        let out = Case::gid(install, &["{pid}", "0", "165000", "1000"]).run();
        out.assert_refused("newgidmap", &format!("{install:?}"));
        assert!(
            out.stderr.contains("not covered: 165536-165999 (464 IDs)"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("subordinate GIDs of alice"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn no_entries_at_all_shows_the_admin_command() {
    if !privileged("no_entries_at_all_shows_the_admin_command") {
        return;
    }
    for install in BOTH {
        for (program, file) in [("newuidmap", "subuid"), ("newgidmap", "subgid")] {
            let out = Case::new(install, program, &["{pid}", "0", "100000", "10"])
                .by(CAROL)
                .run();
            out.assert_refused(program, &format!("{install:?}"));
            assert!(
                out.stderr.contains(&format!(
                    "carol has no subordinate {}s in /etc/{file}",
                    &file[3..].to_uppercase()
                )),
                "{}",
                out.stderr
            );
            // subid add picks a free block under shadow's lock; a fixed range
            // (useradd's first one, 100000-165535) would likely be taken, and
            // usermod pastes it without checking for overlaps.
            assert!(
                out.stderr.contains(&format!(
                    "{program}: an administrator can add a free block with: subid add carol\n"
                )),
                "{install:?}: {}",
                out.stderr
            );
            assert!(
                !out.stderr.contains("usermod") && !out.stderr.contains("165535"),
                "{install:?}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn overlapping_triplets_are_named() {
    if !privileged("overlapping_triplets_are_named") {
        return;
    }
    for install in BOTH {
        let out = Case::uid(
            install,
            &["{pid}", "0", "100000", "10", "5", "200000", "10"],
        )
        .run();
        out.assert_refused("newuidmap", &format!("{install:?}"));
        assert!(
            out.stderr.contains(
                "triplets 1 \"0 100000 10\" and 2 \"5 200000 10\" have overlapping inner ranges"
            ),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn outer_root_needs_cap_setfcap() {
    if !privileged("outer_root_needs_cap_setfcap") {
        return;
    }
    // An administrator granted alice host UID 0 (unwise, but it is the admin's call).
    let grant_root = b"alice:0:1\nalice:100000:65536\n";
    // setuid root keeps CAP_SETFCAP for this map: it works.
    let out = Case::uid(
        Install::Setuid,
        &["{pid}", "0", "0", "1", "1", "100000", "10"],
    )
    .file("subuid", grant_root)
    .run();
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(out.uid_lines()[0], "0 0 1");
    // cap_setuid alone cannot: the message says which capability to add.
    let out = Case::uid(
        Install::Fcaps,
        &["{pid}", "0", "0", "1", "1", "100000", "10"],
    )
    .file("subuid", grant_root)
    .run();
    out.assert_refused("newuidmap", "fcaps without setfcap");
    assert!(out.stderr.contains("lacks cap_setfcap"), "{}", out.stderr);
    assert!(
        out.stderr.contains("setcap cap_setuid,cap_setfcap+ep"),
        "{}",
        out.stderr
    );
}

#[test]
fn unprivileged_install_says_how_to_fix_it() {
    if !privileged("unprivileged_install_says_how_to_fix_it") {
        return;
    }
    for install in BOTH {
        // A copy made by the caller has neither the setuid bit nor capabilities.
        let mut case = Case::uid(install, &[]);
        case.wrap = "D=$(mktemp -d); cp \"$BIN/newuidmap\" \"$D/\"; exec \"$D/newuidmap\" \"$T\" 0 1000 1 1 100000 10".into();
        let out = case.run();
        out.assert_refused("newuidmap", &format!("{install:?}"));
        assert!(
            out.stderr.contains("this helper lacks cap_setuid"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("chmod u+s"), "{}", out.stderr);
        assert!(
            out.stderr.contains("setcap cap_setuid+ep"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn dry_run_prints_the_map_and_writes_nothing() {
    if !privileged("dry_run_prints_the_map_and_writes_nothing") {
        return;
    }
    for install in BOTH {
        let out = Case::uid(
            install,
            &[
                "--dry-run",
                "{pid}",
                "0",
                "1000",
                "1",
                "1",
                "100000",
                "65536",
            ],
        )
        .run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.stdout, "0 1000 1\n1 100000 65536\n");
        assert_eq!(out.uid_map, "", "dry run wrote the map");
        let out = Case::gid(install, &["--dry-run", "{pid}", "0", "1000", "1"]).run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(
            out.stdout,
            "0 1000 1\n# setgroups: deny (only your own GID is mapped)\n"
        );
        assert_eq!(out.gid_map, "");
        assert_eq!(out.setgroups, "allow", "dry run changed setgroups");
        // Without a target.
        let out = Case::uid(install, &["--dry-run", "-", "0", "100000", "5"]).run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        assert_eq!(out.stdout, "0 100000 5\n");
        // A refusal is the same diagnosis, exit 1, nothing on stdout.
        let out = Case::uid(install, &["--dry-run", "-", "0", "200000", "5"]).run();
        assert_eq!(out.status, 1);
        assert_eq!(out.stdout, "");
        assert!(out.stderr.contains("not allowed"), "{}", out.stderr);
        // Target checks still apply when a target is named.
        let mut case = Case::uid(install, &["--dry-run", "{pid}", "0", "1000", "1"]);
        case.target_owner = BOB;
        let out = case.run();
        assert_eq!(out.status, 1);
        assert!(
            out.stderr.contains("owned by a different user"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn dry_run_needs_no_privilege() {
    if !privileged("dry_run_needs_no_privilege") {
        return;
    }
    let mut case = Case::uid(Install::Setuid, &[]);
    case.wrap = "D=$(mktemp -d); cp \"$BIN/newuidmap\" \"$D/\"; exec \"$D/newuidmap\" --dry-run \"$T\" 0 1000 1 1 100000 10".into();
    let out = case.run();
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(out.stdout, "0 1000 1\n1 100000 10\n");
}

#[test]
fn audit_lines_for_grant_and_refusal() {
    if !privileged("audit_lines_for_grant_and_refusal") {
        return;
    }
    for install in BOTH {
        let mut case = Case::uid(
            install,
            &["{pid}", "0", "1000", "1", "1", "100000", "65536"],
        );
        case.audit = true;
        let out = case.run();
        assert_eq!(out.status, 0, "{install:?}: {out:#?}");
        let expected = "<86>newuidmap[";
        assert!(
            out.audit.starts_with(expected),
            "{install:?}: {:?}",
            out.audit
        );
        assert!(
            out.audit.contains(&format!(
                "]: uid=1000 user=alice target={} granting map=0 1000 1,1 100000 65536",
                out.pid
            )),
            "{install:?}: {:?}",
            out.audit
        );
        assert_eq!(out.audit.lines().count(), 1, "one line per call");

        let mut case = Case::gid(install, &["{pid}", "0", "200000", "1"]);
        case.audit = true;
        let out = case.run();
        assert_eq!(out.status, 1);
        assert!(out.audit.starts_with("<85>newgidmap["), "{:?}", out.audit);
        assert!(
            out.audit.contains(&format!("uid=1000 user=alice target={} refused: gid range [0-1) -> [200000-200001) not allowed", out.pid)),
            "{:?}",
            out.audit
        );
    }
}

#[test]
fn no_dev_log_is_fine() {
    if !privileged("no_dev_log_is_fine") {
        return;
    }
    // The harness's namespaces have no /dev/log unless a case listens; the
    // core cases already pass that way. Here: a /dev/log nobody reads.
    let mut case = Case::uid(Install::Setuid, &["{pid}", "0", "1000", "1"]);
    case.audit = true;
    case.before = "kill $AUDIT; wait $AUDIT 2>/dev/null; touch \"$OUT/stop\"".into();
    let out = case.run();
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(out.audit, "");
}

/// Issue 18: an owner field with a blank in it (`carol :...`) is nobody's.
/// The refusal of a dry run names that line instead of only telling the
/// administrator to add a range carol seems to have already.
#[test]
fn near_miss_owner_line_is_named() {
    if !privileged("near_miss_owner_line_is_named") {
        return;
    }
    let subuid = b"alice:100000:65536\ncarol :500000:65536\n1002\t:600000:10\n";
    for install in BOTH {
        let out = Case::uid(install, &["--dry-run", "-", "0", "500000", "65536"])
            .by(CAROL)
            .file("subuid", subuid)
            .run();
        out.assert_refused("newuidmap", &format!("{install:?}"));
        let err = &out.stderr;
        assert!(
            err.contains("carol has no subordinate UIDs in /etc/subuid"),
            "{err}"
        );
        assert!(
            err.contains("note: /etc/subuid line 2 has owner \"carol \", not carol: with the blank it is nobody's, so it grants nothing; an administrator should correct the owner field to carol"),
            "{install:?}: {err}"
        );
        assert!(
            err.contains("note: /etc/subuid line 3 has owner \"1002\\x09\""),
            "{install:?}: {err}"
        );
        assert_eq!(out.stdout, "");
    }
}
