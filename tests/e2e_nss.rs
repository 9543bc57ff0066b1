//! Issue 5: `subid:` sources in /etc/nsswitch.conf and libsubid modules, end
//! to end, in both install modes.
//!
//! The module is tests/e2e/libsubid_test.c, compiled at test time as
//! libsubid_test.so (and, without shadow_subid_free, as libsubid_nofree.so)
//! into a directory that is not in the loader's search path. Each case gets
//! a fixture /etc/ld.so.cache (made once with `ldconfig -C`) that lists that
//! directory, so the helper's dlopen("libsubid_test.so") finds it through the
//! loader's normal, secure-mode search, without touching the host. The
//! module reads its answers from /etc/subid-test-ranges in the fixture set
//! `nss-module`, and refuses to answer if it runs with privilege.
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
        for (name, extra) in [("test", None), ("nofree", Some("-DOMIT_FREE"))] {
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

fn lines(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn assert_granted(out: &Outcome, context: &str) {
    assert_eq!(out.status, 0, "{context}: {out:#?}");
    assert!(!out.stderr.contains("panicked"), "{context}: {out:#?}");
}

#[test]
fn module_only_grant() {
    if !privileged("module_only_grant") {
        return;
    }
    for install in BOTH {
        let ctx = format!("{install:?}");
        // libsubid_test.so grants alice 500000:65536; the files are not read.
        let out = nss_case(
            Case::uid(install, &["{pid}", "0", "1000", "1", "1", "500000", "65536"]),
            "subid: test",
            None,
        )
        .run();
        assert_granted(&out, &ctx);
        assert_eq!(out.stderr, "", "{ctx}");
        assert_eq!(out.uid_lines(), lines(&["0 1000 1", "1 500000 65536"]));
        let out = nss_case(
            Case::gid(install, &["{pid}", "0", "500000", "65536"]),
            "subid: test",
            None,
        )
        .run();
        assert_granted(&out, &ctx);
        assert_eq!(out.gid_lines(), lines(&["0 500000 65536"]));
        assert_eq!(out.setgroups, "allow", "{ctx}: a module grant keeps setgroups");
        // alice's /etc/subuid range is not a source with `subid: test`.
        let out = nss_case(
            Case::uid(install, &["{pid}", "0", "100000", "10"]),
            "subid: test",
            None,
        )
        .run();
        out.assert_refused("newuidmap", &ctx);
        assert!(
            out.stderr.contains(
                "subordinate UIDs of alice: [500000-565536) (65536 IDs) from libsubid_test.so"
            ),
            "{ctx}: {}",
            out.stderr
        );
    }
}
