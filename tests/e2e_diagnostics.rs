//! Issue 4: refusals that say how to fix them, the dry run, the audit trail.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

const UID: &str = "newuidmap";
const GID: &str = "newgidmap";

per_mode! {
    fn range_not_allowed_names_own_ranges_only(install) {
        let ctx = install.to_string();
        let out = Case::uid(install, &["{pid}", "0", "1000", "1", "5", "200000", "10"]).run();
        out.assert_refused(UID, &ctx);
        out.says_first(&ctx, "newuidmap: uid range [5-15) -> [200000-200010) not allowed (triplet 2 \"5 200000 10\")\n");
        out.says(&ctx, "subordinate UIDs of alice: 100000-165535 (65536 IDs) line 3");
        out.says(&ctx, "none of 200000-200009 (10 IDs) is among them");
        // Never another user's entries (bob's range ends at 231072, dave's starts there).
        for other in ["bob", "231072", "1003"] {
            out.says_not(&ctx, other);
        }
        // alice's own broken lines are pointed out.
        out.says(&ctx, "/etc/subuid line 11 names alice but grants nothing: count is 0");
        out.says(&ctx, "/etc/subuid line 12 names alice but grants nothing: count is not");
    }

    fn partly_covered_request_names_the_gap(install) {
        let ctx = install.to_string();
        let out = Case::gid(install, &["{pid}", "0", "165000", "1000"]).run();
        out.assert_refused(GID, &ctx);
        out.says(&ctx, "not covered: 165536-165999 (464 IDs)");
        out.says(&ctx, "subordinate GIDs of alice");
    }

    fn no_entries_at_all_shows_the_admin_command(install) {
        for (program, file) in [(UID, "subuid"), (GID, "subgid")] {
            let ctx = format!("{install} {program}");
            let out = Case::new(install, program, &["{pid}", "0", "100000", "10"]).by(CAROL).run();
            out.assert_refused(program, &ctx);
            out.says(
                &ctx,
                &format!("carol has no subordinate {}s in /etc/{file}", &file[3..].to_uppercase()),
            );
            // subid add picks a free block under shadow's lock; a fixed range
            // (useradd's first one, 100000-165535) would likely be taken, and
            // usermod pastes it without checking for overlaps.
            out.says(
                &ctx,
                &format!("{program}: an administrator can add a free block with: subid add carol\n"),
            );
            out.says_not(&ctx, "usermod");
            out.says_not(&ctx, "165535");
        }
    }

    fn overlapping_triplets_are_named(install) {
        let ctx = install.to_string();
        let out = Case::uid(install, &["{pid}", "0", "100000", "10", "5", "200000", "10"]).run();
        out.assert_refused(UID, &ctx);
        out.says(
            &ctx,
            "triplets 1 \"0 100000 10\" and 2 \"5 200000 10\" have overlapping inner ranges",
        );
    }

    /// An administrator granted alice host UID 0 (unwise, but it is the
    /// admin's call). Setuid root keeps CAP_SETFCAP for this map: it works.
    /// cap_setuid alone cannot: the message says which capability to add.
    fn outer_root_needs_cap_setfcap(install) {
        let out = Case::uid(install, &["{pid}", "0", "0", "1", "1", "100000", "10"])
            .file("subuid", b"alice:0:1\nalice:100000:65536\n")
            .run();
        match install {
            Install::Setuid => {
                out.assert_granted("setuid");
                assert_eq!(out.uid_lines()[0], "0 0 1");
            }
            Install::Fcaps => {
                let ctx = "fcaps without setfcap";
                out.assert_refused(UID, ctx);
                out.says(ctx, "lacks cap_setfcap");
                out.says(ctx, "setcap cap_setuid,cap_setfcap+ep");
            }
        }
    }

    fn unprivileged_install_says_how_to_fix_it(install) {
        let ctx = install.to_string();
        // A copy made by the caller has neither the setuid bit nor capabilities.
        let out = Case::uid(install, &[])
            .wrap("D=$(mktemp -d); cp \"$BIN/newuidmap\" \"$D/\"; exec \"$D/newuidmap\" \"$T\" 0 1000 1 1 100000 10")
            .run();
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "this helper lacks cap_setuid");
        out.says(&ctx, "chmod u+s");
        out.says(&ctx, "setcap cap_setuid+ep");
    }

    fn dry_run_prints_the_map_and_writes_nothing(install) {
        let ctx = install.to_string();
        let out = Case::uid(install, &["--dry-run", "{pid}", "0", "1000", "1", "1", "100000", "65536"]).run();
        out.assert_granted(&ctx);
        assert_eq!(out.stdout, "0 1000 1\n1 100000 65536\n");
        assert_eq!(out.uid_map, "", "dry run wrote the map");
        let out = Case::gid(install, &["--dry-run", "{pid}", "0", "1000", "1"]).run();
        out.assert_granted(&ctx);
        assert_eq!(out.stdout, "0 1000 1\n# setgroups: deny (only your own GID is mapped)\n");
        assert_eq!(out.gid_map, "");
        assert_eq!(out.setgroups, "allow", "dry run changed setgroups");
        // Without a target.
        let out = Case::uid(install, &["--dry-run", "-", "0", "100000", "5"]).run();
        out.assert_granted(&ctx);
        assert_eq!(out.stdout, "0 100000 5\n");
        // A refusal is the same diagnosis, exit 1, nothing on stdout.
        let out = Case::uid(install, &["--dry-run", "-", "0", "200000", "5"]).run();
        assert_eq!(out.status, 1);
        assert_eq!(out.stdout, "");
        out.says(&ctx, "not allowed");
        // Target checks still apply when a target is named.
        let out = Case::uid(install, &["--dry-run", "{pid}", "0", "1000", "1"]).owner(BOB).run();
        assert_eq!(out.status, 1);
        out.says(&ctx, "owned by a different user");
    }

    fn audit_lines_for_grant_and_refusal(install) {
        let ctx = install.to_string();
        let out = Case::uid(install, &["{pid}", "0", "1000", "1", "1", "100000", "65536"])
            .audit()
            .run();
        out.assert_granted(&ctx);
        assert!(out.audit.starts_with("<86>newuidmap["), "{ctx}: {:?}", out.audit);
        assert!(
            out.audit.contains(&format!(
                "]: uid=1000 user=alice target={} granting map=0 1000 1,1 100000 65536",
                out.pid
            )),
            "{ctx}: {:?}",
            out.audit
        );
        assert_eq!(out.audit.lines().count(), 1, "one line per call");

        let out = Case::gid(install, &["{pid}", "0", "200000", "1"]).audit().run();
        assert_eq!(out.status, 1);
        assert!(out.audit.starts_with("<85>newgidmap["), "{:?}", out.audit);
        assert!(
            out.audit.contains(&format!("uid=1000 user=alice target={} refused: gid range [0-1) -> [200000-200001) not allowed", out.pid)),
            "{:?}",
            out.audit
        );
    }
}

e2e! {
    /// Needs no install at all: a plain copy made by the caller.
    fn dry_run_needs_no_privilege() {
        let out = Case::uid(Install::Setuid, &[])
            .wrap("D=$(mktemp -d); cp \"$BIN/newuidmap\" \"$D/\"; exec \"$D/newuidmap\" --dry-run \"$T\" 0 1000 1 1 100000 10")
            .run();
        out.assert_granted("plain copy");
        assert_eq!(out.stdout, "0 1000 1\n1 100000 10\n");
    }

    /// The harness's namespaces have no /dev/log unless a case listens; the
    /// core cases already pass that way. Here: a /dev/log nobody reads.
    fn no_dev_log_is_fine() {
        let out = Case::uid(Install::Setuid, &["{pid}", "0", "1000", "1"])
            .audit()
            .before("kill $AUDIT; wait $AUDIT 2>/dev/null; touch \"$OUT/stop\"")
            .run();
        out.assert_granted("nobody reads /dev/log");
        assert_eq!(out.audit, "");
    }
}

per_mode! {
    /// Issue 18: an owner field with a blank in it (`carol :...`) is nobody's.
    /// The refusal of a dry run names that line instead of only telling the
    /// administrator to add a range carol seems to have already.
    fn near_miss_owner_line_is_named(install) {
        let ctx = install.to_string();
        let subuid = b"alice:100000:65536\ncarol :500000:65536\n1002\t:600000:10\n";
        let out = Case::uid(install, &["--dry-run", "-", "0", "500000", "65536"])
            .by(CAROL)
            .file("subuid", subuid)
            .run();
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "carol has no subordinate UIDs in /etc/subuid");
        out.says(
            &ctx,
            "note: /etc/subuid line 2 has owner \"carol \", not carol: with the blank it is nobody's, so it grants nothing; an administrator should correct the owner field to carol",
        );
        out.says(&ctx, "note: /etc/subuid line 3 has owner \"1002\\x09\"");
        assert_eq!(out.stdout, "");
    }
}
