//! `subid show` / `getsubids`: byte-for-byte against shadow's getsubids.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::skip;

const SUBID: &str = env!("CARGO_BIN_EXE_subid");
const GETSUBIDS: &str = "/usr/bin/getsubids";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("subid-show-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const SUBUID: &str =
    "root:100000:65536\n0:200000:10\nnobody:300000:5\nghost:400000:1\n4242:500000:1\n";
const SUBGID: &str = "root:600000:7\n0:700000:3\nnobody:800000:2\n";

/// Runs `program args` with a private /etc holding the host's passwd,
/// group and nsswitch.conf plus our subuid/subgid.
fn run_with_etc(etc: &Path, program: &Path, args: &[&str]) -> Output {
    let mut script = format!(
        "mount --bind {} /etc && exec {}",
        etc.display(),
        program.display()
    );
    for arg in args {
        script.push_str(&format!(" '{arg}'"));
    }
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap()
}

#[test]
fn same_output_as_shadow_getsubids() {
    let test = this_test!();
    if !nix::unistd::geteuid().is_root() {
        return skip(test, "needs root for unshare -m and bind mounts");
    }
    if !Path::new(GETSUBIDS).exists() {
        return skip(
            test,
            "shadow's getsubids is not installed (apt-get install uidmap)",
        );
    }
    let dir = scratch("compare");
    let etc = dir.join("etc");
    fs::create_dir_all(&etc).unwrap();
    for file in ["passwd", "group", "nsswitch.conf"] {
        if Path::new("/etc").join(file).exists() {
            fs::copy(Path::new("/etc").join(file), etc.join(file)).unwrap();
        }
    }
    fs::write(etc.join("subuid"), SUBUID).unwrap();
    fs::write(etc.join("subgid"), SUBGID).unwrap();
    // Our binary under the name getsubids, as packaging may install it.
    let ours = dir.join("getsubids");
    std::os::unix::fs::symlink(SUBID, &ours).unwrap();
    let cases: &[&[&str]] = &[
        &["root"],
        &["-g", "root"],
        &["0"],
        &["-g", "0"],
        &["nobody"],
        &["ghost"],
        &["4242"],
        &["nouser"],
        &["-g", "nouser"],
        &["-h"],
        &[],
        &["-g"],
        &["root", "extra"],
    ];
    let mut failures = Vec::new();
    for args in cases {
        let theirs = run_with_etc(&etc, Path::new(GETSUBIDS), args);
        let mine = run_with_etc(&etc, &ours, args);
        if (&theirs.stdout, &theirs.stderr, theirs.status.code())
            != (&mine.stdout, &mine.stderr, mine.status.code())
        {
            failures.push(format!("{args:?}:\n shadow: {theirs:?}\n ours:   {mine:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The comparison must have compared something real.
    let root = run_with_etc(&etc, &ours, &["root"]);
    assert_eq!(root.stdout, b"0: root 100000 65536\n1: root 200000 10\n");
    // Deliberate difference: shadow 4.13 lists `root:0:0` (count 0, which
    // let users map host root); we list only entries the helpers honour.
    fs::write(etc.join("subuid"), "root:0:0\nroot:5:5\n").unwrap();
    let theirs = run_with_etc(&etc, Path::new(GETSUBIDS), &["root"]);
    assert_eq!(theirs.stdout, b"0: root 0 0\n1: root 5 5\n");
    let mine = run_with_etc(&etc, &ours, &["root"]);
    assert_eq!(mine.stdout, b"0: root 5 5\n");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn show_reads_the_given_files() {
    let dir = scratch("files");
    fs::write(
        dir.join("subuid"),
        "alice:100000:65536\nbob:5:5\n1000:300000:10\nalice:0:0\n",
    )
    .unwrap();
    fs::write(dir.join("subgid"), "alice:7:1\n").unwrap();
    fs::write(
        dir.join("passwd"),
        "alice:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n",
    )
    .unwrap();
    fs::write(dir.join("nsswitch.conf"), "subid: files\n").unwrap();
    let show = |args: &[&str]| {
        Command::new(SUBID)
            .current_dir(&dir)
            .args(
                "show --subuid subuid --subgid subgid --passwd passwd --nsswitch nsswitch.conf"
                    .split(' '),
            )
            .args(args)
            .output()
            .unwrap()
    };
    let out = show(&["alice"]);
    assert_eq!(out.status.code(), Some(0));
    // For people: the one range notation, and where each range is.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "subordinate UIDs of alice: 65546 IDs in 2 ranges\n  100000-165535 (65536 IDs)  subuid line 1\n  300000-300009 (10 IDs)     subuid line 3\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&show(&["-g", "alice"]).stdout),
        "subordinate GIDs of alice: 1 ID in 1 range\n  7 (1 ID)  subgid line 1\n"
    );
    let none = show(&["-g", "bob"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&none.stderr),
        "subid: no subordinate GIDs for \"bob\" in subgid (fix, as root: subid add bob --gid-only)\n"
    );
    // A user that does not exist is named as such (issue 18), not as a
    // user without ranges.
    let nobody = show(&["nosuchuser"]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(nobody.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&nobody.stderr),
        "subid: no user \"nosuchuser\": not in passwd; check the spelling\n"
    );
    // A module that cannot be loaded is named on stderr; files still answer,
    // as in shadow. (Not `sss`: packaging/test.sh installs SSSD's module,
    // which loads and then cannot reach an sssd, and that is no fallback.)
    fs::write(dir.join("nsswitch.conf"), "subid: newidmap-absent\n").unwrap();
    let out = show(&["bob"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "subordinate UIDs of bob: 5 IDs in 1 range\n  5-9 (5 IDs)  subuid line 2\n"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("subid module libsubid_newidmap-absent.so unavailable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = fs::remove_dir_all(&dir);
}
