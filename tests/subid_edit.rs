//! `subid add` / `subid remove`: allocation, shadow's lock, safe rewrite,
//! and 20 concurrent adds that must all land without overlap or loss.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use newidmap::admin::lock::lock_path;
use newidmap::parse::map::IdRange;
use newidmap::parse::subid::{Line, parse_line};

const SUBID: &str = env!("CARGO_BIN_EXE_subid");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("subid-edit-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("etc")).unwrap();
    dir
}

fn setup(name: &str, users: usize, subuid: &str) -> PathBuf {
    let dir = scratch(name);
    let mut passwd = String::from("root:x:0:0::/:/bin/sh\n");
    for i in 0..users {
        passwd.push_str(&format!("user{i}:x:{}:{}::/:/bin/sh\n", 1000 + i, 1000 + i));
    }
    fs::write(dir.join("etc/passwd"), passwd).unwrap();
    fs::write(
        dir.join("etc/login.defs"),
        "SUB_UID_MIN 100000\nSUB_UID_MAX 600100000\nSUB_UID_COUNT 65536\nSUB_GID_MIN 200000\n",
    )
    .unwrap();
    fs::write(dir.join("etc/subuid"), subuid).unwrap();
    fs::write(dir.join("etc/subgid"), "").unwrap();
    dir
}

fn subid(dir: &Path, args: &[&str]) -> Output {
    Command::new(SUBID)
        .args(args)
        .arg("--root")
        .arg(dir)
        .output()
        .unwrap()
}

fn entries(path: &Path) -> Vec<(String, IdRange)> {
    let text = fs::read(path).unwrap();
    text.split(|&b| b == b'\n')
        .filter_map(|line| match parse_line(line) {
            Line::Entry { owner, range } => Some((String::from_utf8_lossy(owner).into(), range)),
            _ => None,
        })
        .collect()
}

#[test]
fn add_takes_the_lowest_free_block_and_keeps_a_backup() {
    // 100000-165535 taken, a 100-ID hole, then 165636-170000 taken.
    let before = "# note\nuser0:100000:65536\nuser1:165636:4365";
    let dir = setup("add", 3, before);
    fs::set_permissions(dir.join("etc/subuid"), fs::Permissions::from_mode(0o640)).unwrap();
    let out = subid(&dir, &["add", "user2", "--count", "100"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let etc = dir.join("etc");
    assert_eq!(
        fs::read_to_string(etc.join("subuid")).unwrap(),
        format!("{before}\nuser2:165536:100\n")
    );
    assert_eq!(fs::read_to_string(etc.join("subuid-")).unwrap(), before);
    assert_eq!(
        fs::read_to_string(etc.join("subgid")).unwrap(),
        "user2:200000:100\n"
    );
    let meta = fs::metadata(etc.join("subuid")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640, "mode kept");
    assert!(!etc.join("subuid+").exists() && !lock_path(&etc.join("subuid")).exists());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "added 165536-165635 (100 IDs) for user2 to {0}/subuid (user2:165536:100)\nadded 200000-200099 (100 IDs) for user2 to {0}/subgid (user2:200000:100)\n",
            etc.display()
        )
    );
    // Default count, UID only, and the next block after the hole is full.
    let out = subid(&dir, &["add", "user2", "--uid-only", "--another"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        entries(&etc.join("subuid")).last().unwrap().1,
        IdRange::new(170_001, 65_536).unwrap()
    );
    assert_eq!(entries(&etc.join("subgid")).len(), 1);
    // Unknown users and full ranges are refused with nothing written.
    let out = subid(&dir, &["add", "nobody-here"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("subid: no user \"nobody-here\""));
    let out = subid(&dir, &["add", "user1", "--count", "4294967294"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no free block of 4294967294 UIDs"),
        "{out:?}"
    );
    assert_eq!(entries(&etc.join("subuid")).len(), 4);
    let _ = fs::remove_dir_all(&dir);
}

/// Issue 18: on Debian, `useradd -m` already writes a range; a second
/// `subid add` used to append another block silently.
#[test]
fn add_refuses_a_user_who_already_has_ranges_unless_asked() {
    let before = "user0:100000:65536\n";
    let dir = setup("already", 2, before);
    fs::write(dir.join("etc/subgid"), "user0:200000:65536\n").unwrap();
    let etc = dir.join("etc");
    let out = subid(&dir, &["add", "user0"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "subid: user0 already has 65536 subordinate UIDs in 1 range ({0}/subuid) and 65536 subordinate GIDs in 1 range ({0}/subgid); nothing changed (see them with: subid show user0; to add another block anyway: subid add user0 --another)\n",
            etc.display()
        )
    );
    assert_eq!(fs::read_to_string(etc.join("subuid")).unwrap(), before);
    assert!(!etc.join("subuid-").exists(), "nothing was rewritten");
    // Only one file has a range: the message names the missing kind.
    fs::write(etc.join("subgid"), "").unwrap();
    let out = subid(&dir, &["add", "user0"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("only the GIDs are missing: subid add user0 --gid-only"),
        "{out:?}"
    );
    let out = subid(&dir, &["add", "user0", "--gid-only"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Asked for: --another, or an explicit --count.
    let out = subid(&dir, &["add", "user0", "--uid-only", "--another"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = subid(&dir, &["add", "user0", "--uid-only", "--count", "10"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let owners: Vec<String> = entries(&etc.join("subuid"))
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    assert_eq!(owners, ["user0", "user0", "user0"]);
    // A user without ranges is not affected.
    let out = subid(&dir, &["add", "user1"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn add_avoids_account_ids() {
    // SUB_UID_MIN inside the UID range and next to a passwd UID.
    let dir = setup("accounts", 1, "");
    fs::write(
        dir.join("etc/login.defs"),
        "SUB_UID_MIN 59990\nUID_MAX 60000\n",
    )
    .unwrap();
    fs::write(dir.join("etc/passwd"), "user0:x:60010:1::/:/bin/sh\n").unwrap();
    let out = subid(&dir, &["add", "user0", "--count", "10", "--uid-only"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        entries(&dir.join("etc/subuid")),
        vec![("user0".into(), IdRange::new(60_011, 10).unwrap())]
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn remove_keeps_other_lines_byte_for_byte() {
    let before = "user0:100000:65536\n  user1:165536:10 \n1000:300000:5\nuser0:400000:1\n";
    let dir = setup("remove", 2, before);
    let out = subid(&dir, &["remove", "user0", "400000:1", "--uid-only"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        fs::read_to_string(dir.join("etc/subuid")).unwrap(),
        "user0:100000:65536\n  user1:165536:10 \n1000:300000:5\n"
    );
    // Without a range: every entry, by name and by UID.
    let out = subid(&dir, &["remove", "user0"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        fs::read_to_string(dir.join("etc/subuid")).unwrap(),
        "  user1:165536:10 \n"
    );
    let out = subid(&dir, &["remove", "user0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing changed"));
    let out = subid(&dir, &["remove", "user1", "1-2"]);
    assert_eq!(out.status.code(), Some(3));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn waits_for_a_live_lock_and_breaks_a_stale_one() {
    let dir = setup("locks", 1, "");
    let lock = lock_path(&dir.join("etc/subuid"));
    // A stale lock (no such process) is removed.
    fs::write(&lock, "2147483647").unwrap();
    let out = subid(&dir, &["add", "user0", "--uid-only"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!lock.exists());
    let another = ["add", "user0", "--uid-only", "--another", "--root"];
    // A live holder (this test process) blocks until released.
    let held = newidmap::admin::lock::FileLock::acquire(
        &dir.join("etc/subuid"),
        std::time::Duration::ZERO,
    )
    .unwrap();
    let child = Command::new(SUBID)
        .args(another)
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        entries(&dir.join("etc/subuid")).len(),
        1,
        "wrote while locked"
    );
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(entries(&dir.join("etc/subuid")).len(), 2);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn refuses_system_files_when_not_root() {
    // As root (CI), run it as nobody, so that the test runs there too.
    let mut cmd = Command::new("setpriv");
    if nix::unistd::geteuid().is_root() {
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", SUBID]);
    } else {
        cmd = Command::new(SUBID);
    }
    let out = cmd.args(["add", "root"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only root can change /etc/subuid"));
}

#[test]
fn twenty_concurrent_adds_all_land_without_overlap() {
    const N: usize = 20;
    let dir = setup("concurrent", N, "root:100000:1000\n");
    let children: Vec<_> = (0..N)
        .map(|i| {
            Command::new(SUBID)
                .args(["add", &format!("user{i}"), "--count", "1000", "--root"])
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (file, first) in [("subuid", 100_000u32), ("subgid", 200_000)] {
        let mut found = entries(&dir.join("etc").join(file));
        let owners: std::collections::BTreeSet<_> = found.iter().map(|(o, _)| o.clone()).collect();
        assert_eq!(owners.len(), found.len(), "{file}: one entry per owner");
        assert_eq!(
            found.len(),
            if file == "subuid" { N + 1 } else { N },
            "{file}: {found:?}"
        );
        found.sort_by_key(|(_, r)| r.start());
        for pair in found.windows(2) {
            assert!(!pair[0].1.overlaps(pair[1].1), "{file}: {pair:?}");
        }
        // Lowest-first allocation leaves no holes.
        let last = found.last().unwrap().1;
        assert_eq!(
            last.end(),
            u64::from(first) + 1000 * found.len() as u64,
            "{file}"
        );
    }
    let leftovers: Vec<_> = fs::read_dir(dir.join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".lock") || n.contains('+') || n.contains("subuid."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let _ = fs::remove_dir_all(&dir);
}
