//! Issue 5: `subid:` sources in /etc/nsswitch.conf and libsubid modules, end
//! to end, in both install modes.
//!
//! The module is tests/e2e/libsubid_test.c, compiled at test time as
//! libsubid_test.so, without shadow_subid_free as libsubid_nofree.so (the
//! ABI of SSSD before 2.10: the caller free()s the array) and without
//! shadow_subid_list_owner_ranges as libsubid_nolist.so (unusable), into a
//! directory that is not in the loader's search path. Each case gets
//! a fixture /etc/ld.so.cache (made once with `ldconfig -C`) that lists that
//! directory, so the helper's dlopen("libsubid_test.so") finds it through the
//! loader's normal, secure-mode search, without touching the host. The
//! module reads its answers from /etc/subid-test-ranges in the fixture set
//! `nss-module`, and refuses to answer if it runs with privilege.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

/// The compiled modules and an ld.so.cache that lists their directory.
fn module_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("e2e-nss-modules-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let source = Path::new(REPO).join("tests/e2e/libsubid_test.c");
        for (name, extra) in [
            ("test", None),
            ("nofree", Some("-DOMIT_FREE")),
            ("nolist", Some("-DOMIT_LIST")),
        ] {
            let library = format!("libsubid_{name}.so");
            let mut cc = Command::new("cc");
            cc.args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror"])
                .arg(format!("-Wl,-soname,{library}"))
                .args(extra)
                .arg("-o")
                .arg(dir.join(&library))
                .arg(&source);
            run_ok(&mut cc);
        }
        let conf = dir.join("ld.so.conf");
        fs::write(
            &conf,
            format!("include /etc/ld.so.conf.d/*.conf\n{}\n", dir.display()),
        )
        .unwrap();
        run_ok(
            Command::new("ldconfig")
                .arg("-X")
                .arg("-C")
                .arg(dir.join("ld.so.cache"))
                .arg("-f")
                .arg(&conf),
        );
        dir
    })
}

/// A case on the `nss-module` set with the given `subid:` line and module
/// ranges file (`None` keeps the set's).
fn nss_case(mut case: Case, subid_line: &str, ranges: Option<&str>) -> Case {
    case = case.fixture("nss-module").file(
        "nsswitch.conf",
        format!("passwd: files\ngroup: files\n{subid_line}\n").as_bytes(),
    );
    if let Some(ranges) = ranges {
        case = case.file("subid-test-ranges", ranges.as_bytes());
    }
    case.prepare = format!(
        "cp {}/ld.so.cache \"$FIX/ld.so.cache\" && chmod 0644 \"$FIX/ld.so.cache\" || exit 96",
        module_dir().display()
    );
    case
}

/// newuidmap on the `nss-module` set with the given `subid:` line.
fn nss_uid(install: Install, subid_line: &str, args: &[&str]) -> Outcome {
    nss_case(Case::uid(install, args), subid_line, None).run()
}

/// newgidmap on the `nss-module` set with the given `subid:` line.
fn nss_gid(install: Install, subid_line: &str, args: &[&str]) -> Outcome {
    nss_case(Case::gid(install, args), subid_line, None).run()
}

/// What a `subid:` line naming a module that does not exist warns.
const NOSUCH_WARNING: &str = "newuidmap: warning: subid module libsubid_nosuch.so unavailable: cannot load libsubid_nosuch.so: libsubid_nosuch.so: cannot open shared object file";

const UID: &str = "newuidmap";
const GID: &str = "newgidmap";

per_mode! {
    fn module_only_grant(install) {
        let ctx = install.to_string();
        // libsubid_test.so grants alice 500000:65536; the files are not read.
        let out = nss_uid(install, "subid: test", &["{pid}", "0", "1000", "1", "1", "500000", "65536"]);
        out.assert_maps(UID, &ctx, &["0 1000 1", "1 500000 65536"]);
        out.assert_quiet(&ctx);
        let out = nss_gid(install, "subid: test", &["{pid}", "0", "500000", "65536"]);
        out.assert_maps(GID, &ctx, &["0 500000 65536"]);
        assert_eq!(out.setgroups, "allow", "{ctx}: a module grant keeps setgroups");
        // alice's /etc/subuid range is not a source with `subid: test`.
        let out = nss_uid(install, "subid: test", &["{pid}", "0", "100000", "10"]);
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "subordinate UIDs of alice: 500000-565535 (65536 IDs) from libsubid_test.so");
    }

    fn files_only_grant_with_subid_files(install) {
        let ctx = install.to_string();
        let out = nss_uid(install, "subid: files", &["{pid}", "0", "1000", "1", "1", "100000", "65536"]);
        out.assert_maps(UID, &ctx, &["0 1000 1", "1 100000 65536"]);
        out.assert_quiet(&ctx);
    }

    /// The module's range is not a source; the diagnosis is the file's.
    fn files_only_refusal_is_the_files(install) {
        let ctx = install.to_string();
        let out = nss_uid(install, "subid: files", &["{pid}", "0", "500000", "10"]);
        out.assert_refused(UID, &ctx);
        out.says_not(&ctx, "libsubid");
        out.says(&ctx, "subordinate UIDs of alice: 100000-165535 (65536 IDs) line 3");
    }

    /// The dry run of a files-only configuration is unchanged.
    fn files_only_dry_run(install) {
        let ctx = install.to_string();
        let out = nss_uid(install, "subid: files", &["--dry-run", "-", "0", "100000", "5"]);
        out.assert_granted(&ctx);
        assert_eq!(out.stdout, "0 100000 5\n", "{ctx}");
    }

    /// [99000-100000) comes from the module, [100000-165536) from
    /// /etc/subuid: neither source alone grants the two.
    fn neither_source_alone_covers_the_union(install) {
        let ctx = install.to_string();
        let map = ["{pid}", "0", "1000", "1", "1", "99000", "66536"];
        for subid in ["subid: files", "subid: test"] {
            nss_uid(install, subid, &map).assert_refused(UID, &format!("{ctx} {subid}"));
        }
    }

    fn union_of_files_and_module(install) {
        let ctx = install.to_string();
        // [99000-100000) comes from the module, [100000-165536) from /etc/subuid.
        let map = ["{pid}", "0", "1000", "1", "1", "99000", "66536"];
        for subid in ["subid: files test", "subid: test files", "SUBID:\ttest   files # both"] {
            let ctx = format!("{ctx} {subid}");
            let out = nss_uid(install, subid, &map);
            out.assert_maps(UID, &ctx, &["0 1000 1", "1 99000 66536"]);
            out.assert_quiet(&ctx);
            let out = nss_gid(install, subid, &["{pid}", "0", "99000", "66536"]);
            out.assert_maps(GID, &ctx, &["0 99000 66536"]);
            assert_eq!(out.setgroups, "allow", "{ctx}");
        }
        // A refusal lists what each source grants and what is missing.
        let out = nss_uid(install, "subid: files test", &["{pid}", "0", "99000", "70000"]);
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "100000-165535 (65536 IDs) /etc/subuid line 3");
        out.says(&ctx, "99000-99999 (1000 IDs) from libsubid_test.so");
        out.says(&ctx, "not covered: 165536-168999 (3464 IDs)");
    }

    /// The dry run names the source of each triplet.
    fn union_dry_run_names_each_source(install) {
        let ctx = install.to_string();
        let out = nss_uid(
            install,
            "subid: files test",
            &["--dry-run", "-", "0", "1000", "1", "1", "99000", "66536", "70000", "500000", "10"],
        );
        out.assert_granted(&ctx);
        assert_eq!(
            out.stdout,
            "0 1000 1\n1 99000 66536\n70000 500000 10\n\
             # triplet 1 (0 1000 1): granted by your own UID\n\
             # triplet 2 (1 99000 66536): granted by /etc/subuid line 3 + libsubid_test.so\n\
             # triplet 3 (70000 500000 10): granted by libsubid_test.so\n",
            "{ctx}"
        );
    }

    fn missing_module(install) {
        let ctx = install.to_string();
        // Consulted first: the warning, then the file grants.
        let out = nss_uid(install, "subid: nosuch files", &["{pid}", "0", "100000", "10"]);
        out.assert_maps(UID, &ctx, &["0 100000 10"]);
        out.says_first(&ctx, NOSUCH_WARNING);
        if ours() {
            assert_eq!(out.stderr.lines().count(), 1, "{ctx}: {}", out.stderr);
        }
        // Listed after a source that already allows the map: never loaded.
        let out = nss_uid(install, "subid: files nosuch", &["{pid}", "0", "100000", "10"]);
        out.assert_granted(&ctx);
        out.assert_quiet(&ctx);
    }

    /// Needed and missing: the diagnosis says so.
    fn missing_module_needed(install) {
        let ctx = install.to_string();
        let out = nss_uid(install, "subid: files nosuch", &["{pid}", "0", "99000", "66536"]);
        out.assert_refused(UID, &ctx);
        out.says_first(&ctx, NOSUCH_WARNING);
        out.says(&ctx, "uid range [0-66536) -> [99000-165536) not allowed");
        out.says(&ctx, "note: the subid module libsubid_nosuch.so was unavailable, so its ranges were not consulted");
    }

    /// A module without shadow_subid_free (SSSD 2.8 and 2.9 export none) is
    /// used like any other; its arrays go back to libc free(), as in shadow
    /// before 4.16.
    fn module_without_subid_free_works(install) {
        let ctx = install.to_string();
        let out = nss_uid(install, "subid: nofree", &["{pid}", "0", "1000", "1", "1", "500000", "65536"]);
        out.assert_maps(UID, &ctx, &["0 1000 1", "1 500000 65536"]);
        out.assert_quiet(&ctx);
        let out = nss_gid(install, "subid: nofree", &["{pid}", "0", "99000", "1000"]);
        out.assert_maps(GID, &ctx, &["0 99000 1000"]);
        out.assert_quiet(&ctx);
        // A refusal lists its ranges as a source that answered.
        let out = nss_uid(install, "subid: nofree", &["{pid}", "0", "600000", "10"]);
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "subordinate UIDs of alice: 500000-565535 (65536 IDs) from libsubid_nofree.so");
        out.says_not(&ctx, "unavailable");
    }

    /// Union with the files, and the dry run naming the module without
    /// shadow_subid_free.
    fn module_without_subid_free_dry_run(install) {
        let ctx = install.to_string();
        let out = nss_uid(install, "subid: files nofree", &["--dry-run", "-", "0", "99000", "66536"]);
        out.assert_granted(&ctx);
        assert_eq!(
            out.stdout,
            "0 99000 66536\n\
             # triplet 1 (0 99000 66536): granted by /etc/subuid line 3 + libsubid_nofree.so\n",
            "{ctx}"
        );
    }

    /// A library without shadow_subid_list_owner_ranges is no libsubid module:
    /// reported, skipped, and never said to hold no ranges.
    fn module_missing_a_symbol(install) {
        let ctx = install.to_string();
        let out = nss_uid(install, "subid: nolist files", &["{pid}", "0", "100000", "10"]);
        out.assert_maps(UID, &ctx, &["0 100000 10"]);
        out.says_first(
            &ctx,
            "newuidmap: warning: subid module libsubid_nolist.so unavailable: libsubid_nolist.so does not provide shadow_subid_list_owner_ranges",
        );
        // Its ranges (the same file as libsubid_test.so's) are not used, and
        // the refusal does not claim alice has none there.
        let out = nss_uid(install, "subid: nolist", &["{pid}", "0", "500000", "10"]);
        out.assert_refused(UID, &ctx);
        out.says_not(&ctx, "has no subordinate");
        out.says(&ctx, "alice's subordinate UIDs could not be looked up: libsubid_nolist.so could not be consulted (see the warning above)");
        out.says(&ctx, "an administrator must install the module or correct the subid: line of /etc/nsswitch.conf");
        // With the files consulted too, only the files are said to hold none.
        let out = nss_case(Case::uid(install, &["{pid}", "0", "500000", "10"]).by(CAROL), "subid: files nolist", None).run();
        out.assert_refused(UID, &ctx);
        out.says(&ctx, "carol has no subordinate UIDs in /etc/subuid\n");
        out.says(&ctx, "note: the subid module libsubid_nolist.so was unavailable");
    }

    fn module_returning_error_conn(install) {
        let ctx = install.to_string();
        let ranges = "mode conn\nu alice 500000 65536\n";
        let warning = "warning: subid module libsubid_test.so unavailable: libsubid_test.so cannot reach its service (SUBID_STATUS_ERROR_CONN); using the other sources";
        let out = nss_case(Case::gid(install, &["{pid}", "0", "100000", "10"]), "subid: test files", Some(ranges)).run();
        out.assert_maps(GID, &ctx, &["0 100000 10"]);
        out.says_exactly(&ctx, &format!("newgidmap: {warning}\n"));
        let out = nss_case(Case::uid(install, &["{pid}", "0", "500000", "10"]), "subid: test files", Some(ranges)).run();
        out.assert_refused(UID, &ctx);
        out.says_first(&ctx, &format!("newuidmap: {warning}\n"));
        out.says(&ctx, "the subid module libsubid_test.so was unavailable");
        // The module is the only source: the refusal says it could not be
        // asked, never that alice has no ranges in it.
        let out = nss_case(Case::uid(install, &["{pid}", "0", "500000", "10"]), "subid: test", Some(ranges)).run();
        out.assert_refused(UID, &ctx);
        out.says_exactly(
            &ctx,
            "newuidmap: warning: subid module libsubid_test.so unavailable: libsubid_test.so cannot reach its service (SUBID_STATUS_ERROR_CONN); it is the only subid source in /etc/nsswitch.conf\n\
             newuidmap: uid range [0-10) -> [500000-500010) not allowed (triplet 1 \"0 500000 10\")\n\
             newuidmap: alice's subordinate UIDs could not be looked up: libsubid_test.so could not be consulted (see the warning above)\n\
             newuidmap: retry once the identity service answers again (for SSSD: systemctl status sssd)\n",
        );
    }

    fn module_listing_no_ranges_for_the_user(install) {
        // UNKNOWN_USER (what SSSD answers) and SUCCESS with 0 ranges alike.
        for extra in ["", "mode empty-success\n"] {
            let ctx = format!("{install} {extra:?}");
            let ranges = format!("{extra}u alice 500000 65536\n");
            let out = nss_case(
                Case::uid(install, &["{pid}", "0", "500000", "10"]).by(CAROL),
                "subid: test",
                Some(&ranges),
            )
            .run();
            out.assert_refused(UID, &ctx);
            out.says_exactly(
                &ctx,
                "newuidmap: uid range [0-10) -> [500000-500010) not allowed (triplet 1 \"0 500000 10\")\n\
                 newuidmap: carol has no subordinate UIDs in libsubid_test.so\n\
                 newuidmap: subordinate UIDs come from libsubid_test.so: they are assigned in that identity service (e.g. FreeIPA), not here\n",
            );
            // Her own UID needs no source.
            let out = nss_case(
                Case::uid(install, &["{pid}", "0", "1002", "1"]).by(CAROL),
                "subid: test",
                Some(&ranges),
            )
            .run();
            out.assert_maps(UID, &ctx, &["0 1002 1"]);
            out.assert_quiet(&ctx);
        }
    }

    fn failed_listing_falls_back_to_has_range(install) {
        let ctx = install.to_string();
        let ranges = "mode list-error\nu alice 500000 65536\nu alice 99000 1000\n";
        let note = "warning: libsubid_test.so could not list your ranges; asking it about each requested range";
        let out = nss_case(Case::uid(install, &["{pid}", "0", "500000", "65536"]), "subid: test", Some(ranges)).run();
        out.assert_maps(UID, &ctx, &["0 500000 65536"]);
        out.says_exactly(&ctx, &format!("newuidmap: {note}\n"));
        // has_range is asked for the part the file leaves uncovered.
        nss_case(Case::uid(install, &["{pid}", "0", "99000", "66536"]), "subid: files test", Some(ranges))
            .run()
            .assert_maps(UID, &ctx, &["0 99000 66536"]);
        // A range the module does not hold whole is still refused.
        nss_case(Case::uid(install, &["{pid}", "0", "565000", "1000"]), "subid: test", Some(ranges))
            .run()
            .assert_refused(UID, &ctx);
    }

    fn invalid_module_entries_are_ignored(install) {
        let ctx = install.to_string();
        let out = nss_case(Case::uid(install, &["{pid}", "0", "700000", "10"]).by(ERIN), "subid: test", None).run();
        out.assert_maps(UID, &ctx, &["0 700000 10"]);
        out.says_exactly(
            &ctx,
            "newuidmap: warning: libsubid_test.so listed start 4294967295 count 10, which is not a valid uid range; ignored\n\
             newuidmap: warning: libsubid_test.so listed start 800000 count 0, which is not a valid uid range; ignored\n",
        );
    }

    fn untrusted_nsswitch_conf_is_refused(install) {
        let ctx = install.to_string();
        let mut case = nss_case(Case::uid(install, &["{pid}", "0", "500000", "10"]), "subid: test", None);
        case.prepare.push_str("\nchmod 0666 \"$FIX/nsswitch.conf\"");
        let out = case.run();
        out.assert_refused(UID, &ctx);
        out.says_first(&ctx, "newuidmap: refusing /etc/nsswitch.conf: writable by others");
    }

    /// The other way a module gets installed: as a file in a trusted system
    /// library directory, found by the loader's default search without any
    /// ld.so.cache entry. Here the directory is an overlay inside the case's
    /// mount namespace, and /etc/ld.so.cache is the host's.
    fn module_in_a_trusted_library_directory(install) {
        let ctx = install.to_string();
        let libdir = system_libdir();
        let out = nss_case(
            Case::uid(install, &["{pid}", "0", "1000", "1", "1", "500000", "65536"]),
            "subid: files test",
            None,
        )
        .prepare(format!(
            "mount -t overlay overlay -o lowerdir={}:{libdir} {libdir} || exit 95",
            module_dir().display()
        ))
        .run();
        out.assert_maps(UID, &ctx, &["0 1000 1", "1 500000 65536"]);
        out.assert_quiet(&ctx);
    }

    /// The caller cannot point the helper at a module of their choosing: in a
    /// setuid or file-capability process the loader ignores LD_LIBRARY_PATH
    /// (and the module name can never be a path).
    fn ld_library_path_is_ignored(install) {
        let ctx = install.to_string();
        let out = nss_case(Case::uid(install, &["{pid}", "0", "500000", "10"]), "subid: test", None)
            .prepare("")
            .wrap(format!(
                "export LD_LIBRARY_PATH={0} LD_PRELOAD={0}/libsubid_test.so",
                module_dir().display()
            ))
            .run();
        out.assert_refused(UID, &ctx);
        out.says_first(
            &ctx,
            "newuidmap: warning: subid module libsubid_test.so unavailable: cannot load libsubid_test.so",
        );
    }
}

e2e! {
    /// `subid show` is unprivileged: run it as alice in the case's namespace.
    fn subid_show_lists_module_ranges_too() {
        let show = |subid_line: &str, args: &str| {
            nss_case(Case::uid(Install::Setuid, &[]), subid_line, None)
                .wrap(format!("exec {} show {args}", env!("CARGO_BIN_EXE_subid")))
                .run()
        };
        let out = show("subid: files test", "alice");
        out.assert_granted("files test");
        assert_eq!(
            out.stdout,
            "subordinate UIDs of alice: 132072 IDs in 3 ranges\n  100000-165535 (65536 IDs)  /etc/subuid line 3\n  500000-565535 (65536 IDs)  libsubid_test.so\n  99000-99999 (1000 IDs)     libsubid_test.so\n"
        );
        let out = show("subid: test", "-g alice");
        out.assert_granted("test");
        assert_eq!(
            out.stdout,
            "subordinate GIDs of alice: 66536 IDs in 2 ranges\n  500000-565535 (65536 IDs)  libsubid_test.so\n  99000-99999 (1000 IDs)     libsubid_test.so\n"
        );
        let out = show("subid: missing files", "alice");
        assert_eq!(
            out.stdout,
            "subordinate UIDs of alice: 65536 IDs in 1 range\n  100000-165535 (65536 IDs)  /etc/subuid line 3\n",
            "{out:#?}"
        );
        // (subid is ours whoever's helpers are under test: a plain check.)
        assert!(out.stderr.contains("libsubid_missing.so unavailable"), "{}", out.stderr);
        // A module without shadow_subid_free lists like any other.
        let out = show("subid: nofree", "alice");
        assert_eq!(
            out.stdout,
            "subordinate UIDs of alice: 66536 IDs in 2 ranges\n  500000-565535 (65536 IDs)  libsubid_nofree.so\n  99000-99999 (1000 IDs)     libsubid_nofree.so\n"
        );
        assert_eq!(out.stderr, "", "{out:#?}");
        // A module that could not be asked is never said to hold nothing.
        let out = show("subid: nolist", "carol");
        assert_eq!(out.status, 1, "{out:#?}");
        assert!(
            out.stderr.ends_with(
                "subid: no subordinate UIDs for \"carol\" in /etc/subuid (the sources above could not be consulted)\n"
            ),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("in libsubid_nolist.so"), "{}", out.stderr);
    }
}
