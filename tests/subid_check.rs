//! `subid check`: every fixture scenario byte for byte, JSON, and the
//! million-line file.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

mod common;

const SUBID: &str = env!("CARGO_BIN_EXE_subid");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("subid-check-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn check_in(dir: &Path, extra: &[&str]) -> Output {
    Command::new(SUBID)
        .current_dir(dir)
        .args(
            "check --subuid subuid --subgid subgid --passwd passwd --login-defs login.defs"
                .split(' '),
        )
        .args(extra)
        .output()
        .unwrap()
}

/// Copies a scenario as root-owned 0644 files, then applies its `modes`
/// file (`NAME MODE UID:GID` per line).
fn install_scenario(src: &Path, dir: &Path) {
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let target = dir.join(entry.file_name());
        fs::copy(entry.path(), &target).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::chown(&target, Some(0), Some(0)).unwrap();
    }
    if let Ok(modes) = fs::read_to_string(src.join("modes")) {
        for line in modes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let path = dir.join(fields[0]);
            let mode = u32::from_str_radix(fields[1], 8).unwrap();
            let (uid, gid) = fields[2].split_once(':').unwrap();
            std::os::unix::fs::chown(
                &path,
                Some(uid.parse().unwrap()),
                Some(gid.parse().unwrap()),
            )
            .unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

fn need_root(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    common::skip(test, "needs root to make the fixture files root-owned");
    false
}

#[test]
fn fixtures_match_expected_output() {
    if !need_root(this_test!()) {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("subid-fixtures/check");
    let mut scenarios: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 9, "{scenarios:?}");
    let mut failures = Vec::new();
    for scenario in &scenarios {
        let name = scenario.file_name().unwrap().to_string_lossy().into_owned();
        let dir = scratch(&name);
        install_scenario(scenario, &dir);
        let out = check_in(&dir, &[]);
        let expected = fs::read_to_string(scenario.join("expected")).unwrap();
        let exit: i32 = fs::read_to_string(scenario.join("exit"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout != expected || out.status.code() != Some(exit) {
            failures.push(format!(
                "--- {name}: exit {:?} (want {exit})\n{stdout}--- expected\n{expected}",
                out.status.code()
            ));
        }
        assert!(
            out.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_finding_code_has_a_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("subid-fixtures/check");
    let mut all = String::new();
    for entry in fs::read_dir(&root).unwrap() {
        all.push_str(&fs::read_to_string(entry.unwrap().path().join("expected")).unwrap());
    }
    for needle in [
        "has 1 field",
        "empty owner",
        "hexadecimal",
        "leading zero",
        "not a decimal number",
        "above 4294967295",
        "count is 0",
        "start+count",
        "NIS",
        "blanks around",
        "carriage return",
        "comment line",
        "no newline",
        "over 1023 bytes",
        "duplicate of line",
        "of the same owner",
        "overlaps alice",
        "not in passwd",
        "but \"carol\" is",
        "no account has this UID",
        "UID_MIN..UID_MAX",
        "UID 0 (root)",
        "GID_MIN..GID_MAX",
        "lets every user write",
        "lets group 42 write",
        "does not exist",
    ] {
        assert!(all.contains(needle), "no scenario shows {needle:?}");
    }
}

#[test]
fn json_format_and_symlink() {
    if !need_root(this_test!()) {
        return;
    }
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("subid-fixtures/check/overlap");
    let dir = scratch("json");
    install_scenario(&scenario, &dir);
    fs::rename(dir.join("subgid"), dir.join("real-subgid")).unwrap();
    std::os::unix::fs::symlink("real-subgid", dir.join("subgid")).unwrap();
    let out = check_in(&dir, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with(r#"{"files":[{"file":"subuid","lines":8,"entries":8},{"file":"subgid","lines":2,"entries":2}],"errors":4,"warnings":2,"exit":1,"findings":["#), "{text}");
    assert!(text.contains(r#"{"severity":"warning","code":"symlink","file":"subgid","line":null,"related_line":null,"message":"is a symbolic link: shadow 4.19+ opens it with O_NOFOLLOW and fails","#), "{text}");
    assert!(text.contains(r#"{"severity":"error","code":"overlap","file":"subuid","line":2,"related_line":1,"message":"bob 150000-215535 (65536 IDs) on line 2 overlaps alice 100000-165535 (65536 IDs) on line 1"#), "{text}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_3() {
    for args in [
        &["check", "--bogus"][..],
        &["check", "--format", "xml"],
        &["frobnicate"],
    ] {
        let out = Command::new(SUBID).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("subid: "));
    }
}

/// A million lines, with five planted problems that must all be found.
#[test]
fn million_lines() {
    let dir = scratch("million");
    let mut text = Vec::with_capacity(30_000_000);
    let mut passwd = String::from("root:x:0:0::/:/bin/sh\n");
    for i in 0..1_000_000u64 {
        let line = match i {
            250_000 => "u250000:100000:10\n".to_string(), // overlaps u0
            500_000 => "u500000:1:0\n".to_string(),       // count 0
            750_000 => "ghost:4000000000:5\n".to_string(), // unknown owner
            999_999 => "u1:100010:10\n".to_string(),      // duplicate of line 2
            _ => format!("u{i}:{}:10\n", 100_000 + i * 10),
        };
        text.extend_from_slice(line.as_bytes());
        if i < 1000 {
            passwd.push_str(&format!("u{i}:x:{}:100::/:/bin/sh\n", 70_000 + i));
        }
    }
    // Owners u1000.. are not in passwd: one warning each would be a
    // million lines, so give them all accounts through numeric owners.
    let text = String::from_utf8(text).unwrap();
    let text: String = text
        .lines()
        .map(|l| {
            let (owner, rest) = l.split_once(':').unwrap();
            let n: u64 = owner.trim_start_matches('u').parse().unwrap_or(u64::MAX);
            if (1000..1_000_000).contains(&n) && n != 250_000 && n != 500_000 {
                format!("{}:{rest}\n", 70_000 + n % 1000)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(dir.join("subuid"), text).unwrap();
    fs::write(dir.join("subgid"), "").unwrap();
    fs::write(dir.join("passwd"), passwd).unwrap();
    fs::write(dir.join("login.defs"), "").unwrap();
    for f in ["subuid", "subgid"] {
        fs::set_permissions(dir.join(f), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let started = Instant::now();
    let out = check_in(&dir, &[]);
    let took = started.elapsed();
    eprintln!("subid check on 1,000,000 lines: {took:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.contains("not owned by root") && !l.contains("is owned by UID"))
        .collect();
    let want = [
        "subuid:250001: error: u250000 100000-100009 (10 IDs) on line 250001 overlaps u0 100000-100009 (10 IDs) on line 1",
        "subuid:250001: warning: owner \"u250000\" is not in passwd",
        "subuid:500001: error: \"u500000:1:0\": count is 0",
        "subuid:750001: warning: owner \"ghost\" is not in passwd",
        "subuid:1000000: warning: duplicate of line 2: u1 100010-100019 (10 IDs)",
    ];
    for w in want {
        assert!(
            findings.iter().any(|l| l.starts_with(w)),
            "missing {w:?} in\n{stdout}"
        );
    }
    assert_eq!(findings.len(), want.len() + 1, "{stdout}");
    assert!(
        findings
            .last()
            .unwrap()
            .contains("subuid (1000000 lines, 999999 valid entries)"),
        "{stdout}"
    );
    if !cfg!(debug_assertions) {
        assert!(took.as_secs_f64() < 1.0, "took {took:?}");
    }
    let _ = fs::remove_dir_all(&dir);
}
