//! Issue 3: the privilege order, proved from outside with strace, in both
//! install modes.
//!
//! As root, `strace -u alice` runs the helper as alice with its setuid bit or
//! file capabilities honoured (the tracer is root, so the kernel does not
//! drop the privilege gain of a traced exec). The trace must show: the drop
//! (setresgid, setresuid, then a capset leaving exactly one capability in
//! permitted and none effective) before anything but the loader's own files
//! is opened, in particular before /etc, /proc/PID and the map files; the
//! capability raised only after every check; and the map going out in one
//! write() on a descriptor the helper opened itself.
//!
//! Issue 14: nothing is written to fd 1 or 2 before the drop (not even
//! --help, --version or a usage error); the audit record (sendto) precedes
//! the map write and a refusal's output; and right after the map write one
//! capset empties every capability set.
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

const ALICE_NAME: &str = "alice";

/// Runs `program args` as alice under strace, against a target of alice's.
fn traced(install: Install, program: &'static str, list: &[&str]) -> (Outcome, Vec<Syscall>) {
    traced_binary(install, program, list, None)
}

fn traced_binary(
    install: Install,
    program: &'static str,
    list: &[&str],
    binary: Option<&str>,
) -> (Outcome, Vec<Syscall>) {
    let helper_args: String = args(list)
        .iter()
        .map(|a| format!(" {}", quote_arg(a)))
        .collect();
    let binary = binary.map_or_else(|| format!("\"$BIN/{program}\""), str::to_string);
    let out = Case::new(install, program, list)
        .by(ROOT)
        .owner(ALICE)
        .before("export OUT")
        // A /dev/log of the case's own, so the record's sendto succeeds.
        .audit()
        .wrap(format!(
            "exec strace -u {ALICE_NAME} -s 8192 -o \"$OUT/trace\" \
             -e trace=prctl,setresuid,setresgid,setuid,setgid,setgroups,capset,openat,open,write,sendto \
             {binary}{helper_args}"
        ))
        .run();
    let calls = parse_trace(&out.trace);
    assert!(
        calls.iter().any(|c| c.name == "openat"),
        "{install:?} {program}: no trace\n{out:#?}"
    );
    (out, calls)
}

fn position(calls: &[Syscall], what: &str, pred: impl Fn(&Syscall) -> bool) -> usize {
    calls
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no {what} in the trace:\n{calls:#?}"))
}

/// The path argument of an openat call (`openat(AT_FDCWD, "/etc/passwd", ...)`).
fn opened_path(call: &Syscall) -> Option<&str> {
    if call.name != "openat" {
        return None;
    }
    let start = call.args.find('"')? + 1;
    let end = start + call.args[start..].find('"')?;
    Some(&call.args[start..end])
}

fn is_loader_file(path: &str) -> bool {
    path == "/etc/ld.so.cache"
        || path.starts_with("/lib/")
        || path.starts_with("/lib64/")
        || path.starts_with("/usr/lib/")
        // glibc's pthread_getattr_np for the main thread (Rust's stack guard
        // set-up before main) reads the process's own memory map.
        || path == "/proc/self/maps"
}

fn is_map_file(path: &str) -> bool {
    matches!(path, "uid_map" | "gid_map" | "setgroups")
}

/// The checks shared by every traced call of our helpers: returns the index
/// of the drop capset.
fn assert_drop_first(calls: &[Syscall], cap: &str, context: &str) -> usize {
    let dumpable = position(calls, "PR_SET_DUMPABLE", |c| {
        c.name == "prctl" && c.args.starts_with("PR_SET_DUMPABLE, SUID_DUMP_DISABLE")
    });
    let gid = position(calls, "setresgid", |c| {
        c.name == "setresgid" && c.args == "1000, 1000, 1000" && c.result == "0"
    });
    let uid = position(calls, "setresuid", |c| {
        c.name == "setresuid" && c.args == "1000, 1000, 1000" && c.result == "0"
    });
    let drop_args = format!("effective=0, permitted={cap}, inheritable=0");
    let drop = position(calls, "the drop capset", |c| {
        c.name == "capset" && c.args.contains(&drop_args) && c.result == "0"
    });
    assert!(
        dumpable < gid && gid < uid && uid < drop,
        "{context}: order dumpable {dumpable} < setresgid {gid} < setresuid {uid} < capset {drop}\n{calls:#?}"
    );
    // While privileged, nothing but the loader's own files is opened: not
    // /etc, not /proc/PID, not a map file.
    for call in &calls[..drop] {
        if let Some(path) = opened_path(call) {
            assert!(
                is_loader_file(path),
                "{context}: {path} opened before the drop\n{calls:#?}"
            );
        }
        // Nothing printed while privileged (issue 14): no write at all, to
        // fd 1, 2 or anything else, and no audit record either.
        assert!(
            !matches!(call.name.as_str(), "write" | "sendto"),
            "{context}: output before the drop: {call:?}"
        );
    }
    // After the drop, permitted never grows beyond the one capability, and
    // nothing is ever inheritable; the only other capset empties every set.
    for call in &calls[drop..] {
        if call.name == "capset" {
            assert!(
                call.args
                    .contains(&format!("permitted={cap}, inheritable=0"))
                    || is_clear(call),
                "{context}: capset after the drop: {call:?}"
            );
        }
        assert!(
            !matches!(
                call.name.as_str(),
                "setresuid" | "setuid" | "setresgid" | "setgid"
            ),
            "{context}: identity change after the drop: {call:?}"
        );
    }
    drop
}

/// A capset that empties effective, permitted and inheritable at once.
fn is_clear(call: &Syscall) -> bool {
    call.name == "capset"
        && call
            .args
            .contains("{effective=0, permitted=0, inheritable=0}")
        && call.result == "0"
}

/// Index of the write of `fd` after `open` (the map write).
fn write_after(calls: &[Syscall], open: usize, fd: &str) -> usize {
    open + position(&calls[open..], "the map write", |c| {
        c.name == "write" && c.args.starts_with(&format!("{fd}, "))
    })
}

/// The audit record sent to /dev/log whose text contains `text`; its index.
fn record(calls: &[Syscall], text: &str) -> usize {
    position(calls, text, |c| {
        c.name == "sendto" && c.args.contains(text) && c.args.contains("/dev/log")
    })
}

/// Issue 14: the traced call right after the map write is the capset that
/// empties every set, and from there on no capability comes back.
fn assert_cleared_after(calls: &[Syscall], map_write: usize, context: &str) {
    let next = &calls[map_write + 1];
    assert!(
        is_clear(next),
        "{context}: the call after the map write is not the clearing capset: {next:?}\n{calls:#?}"
    );
    for call in &calls[map_write + 1..] {
        assert!(
            call.name != "capset" || is_clear(call),
            "{context}: capset after the clear: {call:?}"
        );
    }
}

/// Index of the capset that makes `cap` effective, asserting there is one.
fn raise_index(calls: &[Syscall], cap: &str) -> usize {
    let args = format!("effective={cap}, permitted={cap}, inheritable=0");
    position(calls, "the raise capset", |c| {
        c.name == "capset" && c.args.contains(&args) && c.result == "0"
    })
}

/// The openat of `file` for writing, relative to the target's directory,
/// and its fd.
fn map_open(calls: &[Syscall], file: &str) -> (usize, String) {
    let at = position(calls, file, |c| {
        opened_path(c) == Some(file) && c.args.contains("O_WRONLY")
    });
    let call = &calls[at];
    assert!(
        !call.args.starts_with("AT_FDCWD"),
        "{file} must be opened relative to the /proc/PID fd: {call:?}"
    );
    (at, call.result.clone())
}

/// Exactly one write to `fd`, with these bytes, all accepted.
fn assert_one_write(calls: &[Syscall], fd: &str, text: &str, context: &str) {
    let writes: Vec<&Syscall> = calls
        .iter()
        .filter(|c| c.name == "write" && c.args.starts_with(&format!("{fd}, ")))
        .collect();
    let escaped = text.replace('\n', "\\n");
    assert_eq!(writes.len(), 1, "{context}: writes to fd {fd}: {writes:#?}");
    assert_eq!(
        writes[0].args,
        format!("{fd}, \"{escaped}\", {}", text.len()),
        "{context}"
    );
    assert_eq!(writes[0].result, text.len().to_string(), "{context}");
}

per_mode! {
    fn uid_map_drop_before_proc_raise_before_write_one_write(install) {
        let context = format!("{install} newuidmap");
        let (out, calls) = traced(install, "newuidmap", &["{pid}", "0", "1000", "1", "1", "100000", "65536"]);
        out.assert_maps("newuidmap", &context, &["0 1000 1", "1 100000 65536"]);
        let cap = "1<<CAP_SETUID";
        let drop = assert_drop_first(&calls, cap, &context);
        let proc_dir = position(&calls, "openat /proc/PID", |c| {
            opened_path(c).is_some_and(|p| p == format!("/proc/{}", out.pid))
        });
        let subuid = position(&calls, "openat /etc/subuid", |c| opened_path(c) == Some("/etc/subuid"));
        let raise = raise_index(&calls, cap);
        let (open, fd) = map_open(&calls, "uid_map");
        assert!(
            drop < proc_dir && proc_dir < subuid && subuid < raise && raise < open,
            "{context}: drop {drop} < /proc/PID {proc_dir} < subuid {subuid} < raise {raise} < open {open}"
        );
        assert!(
            !calls[..open].iter().any(|c| opened_path(c).is_some_and(is_map_file)),
            "{context}: a map file opened early"
        );
        assert_one_write(&calls, &fd, "0 1000 1\n1 100000 65536\n", &context);
        // Issue 14: the record first, then the write, then every capability
        // gone; one record only (the outcome is as announced), no output.
        let map_write = write_after(&calls, open, &fd);
        let granting = record(&calls, "granting map=0 1000 1,1 100000 65536");
        // Sent before the capability is even raised.
        assert!(
            granting < raise && raise < map_write,
            "{context}: record {granting} < raise {raise} < map write {map_write}"
        );
        assert_cleared_after(&calls, map_write, &context);
        assert_eq!(
            calls.iter().filter(|c| c.name == "sendto").count(),
            1,
            "{context}: one record"
        );
        assert!(
            !calls.iter().any(
                |c| c.name == "write" && (c.args.starts_with("1,") || c.args.starts_with("2,"))
            ),
            "{context}: a grant prints nothing"
        );
        assert!(
            out.audit.contains("granting map=0 1000 1,1 100000 65536"),
            "{context}: {out:#?}"
        );
        // Issue 8: each file the decision needs is opened once. (The caller's
        // entry is read from /etc/passwd directly; glibc's getpwuid_r would
        // open nsswitch.conf a second time.)
        for file in ["/etc/nsswitch.conf", "/etc/passwd", "/etc/subuid"] {
            let opens = calls.iter().filter(|c| opened_path(c) == Some(file)).count();
            assert_eq!(opens, 1, "{context}: {file} opened {opens} times");
        }
    }

    fn gid_map_with_setgroups_deny_in_order(install) {
        let context = format!("{install} newgidmap");
        let (out, calls) = traced(install, "newgidmap", &["{pid}", "0", "1000", "1"]);
        out.assert_maps("newgidmap", &context, &["0 1000 1"]);
        assert_eq!(out.setgroups, "deny");
        let cap = "1<<CAP_SETGID";
        let drop = assert_drop_first(&calls, cap, &context);
        let raise = raise_index(&calls, cap);
        let (setgroups, setgroups_fd) = map_open(&calls, "setgroups");
        let (gid_map, gid_map_fd) = map_open(&calls, "gid_map");
        assert!(
            drop < raise && raise < setgroups && setgroups < gid_map,
            "{context}: drop {drop} < raise {raise} < setgroups {setgroups} < gid_map {gid_map}"
        );
        assert!(
            !calls[..raise].iter().any(|c| opened_path(c).is_some_and(is_map_file)),
            "{context}: a map file opened before the raise"
        );
        // The setgroups fd may be reused for gid_map once closed, so look at
        // each write between its open and the next.
        assert_one_write(&calls[setgroups..gid_map], &setgroups_fd, "deny", &context);
        assert_one_write(&calls[gid_map..], &gid_map_fd, "0 1000 1\n", &context);
        let map_write = write_after(&calls, gid_map, &gid_map_fd);
        assert!(
            record(&calls, "granting map=0 1000 1") < setgroups,
            "{context}: the record must precede the setgroups and map writes"
        );
        assert_cleared_after(&calls, map_write, &context);
    }

    fn refusals_never_raise_or_open_map_files(install) {
        for (program, list, cap) in [
            ("newuidmap", &["{pid}", "0", "165536", "10"][..], "1<<CAP_SETUID"),
            ("newgidmap", &["{pid}", "0", "1000", "1", "1", "165536", "1"], "1<<CAP_SETGID"),
        ] {
            let context = format!("{install} {program} refused");
            let (out, calls) = traced(install, program, list);
            assert_eq!(out.status, 1, "{context}: {out:#?}");
            out.says(&context, "not allowed");
            assert_drop_first(&calls, cap, &context);
            assert_never_raised(&calls, &context);
            assert!(
                !calls.iter().any(|c| opened_path(c).is_some_and(is_map_file)),
                "{context}: a map file was opened\n{calls:#?}"
            );
            // Issue 14: every capability emptied, then the record, then the
            // message (so the caller's stderr cannot suppress the record).
            let clear = position(&calls, "the clearing capset", is_clear);
            let refused = record(&calls, "refused: ");
            let printed = position(&calls, "the message", |c| {
                c.name == "write" && c.args.starts_with("2, ")
            });
            assert!(
                clear < refused && refused < printed,
                "{context}: clear {clear} < record {refused} < message {printed}\n{calls:#?}"
            );
        }
    }
}

per_mode! {
    /// Issue 14: --help, --version and usage errors are printed only after
    /// the helper has become the caller with no capability at all.
    fn help_version_and_usage_errors_print_after_the_drop(install) {
        for (program, list, fd) in [
            ("newuidmap", &["--help"][..], "1"),
            ("newgidmap", &["--version"], "1"),
            ("newuidmap", &["{pid}", "0", "1000"], "2"),
            ("newgidmap", &["--bogus"], "2"),
            ("newuidmap", &["{pid}", "0", "100000", "0"], "2"),
        ] {
            let context = format!("{install} {program} {list:?}");
            let (out, calls) = traced(install, program, list);
            let expected = if fd == "1" { 0 } else { 1 };
            assert_eq!(out.status, expected, "{context}: {out:#?}");
            let drop = assert_drop_first(&calls, "0", &context);
            let printed = position(&calls, "the output", |c| {
                c.name == "write" && c.args.starts_with(&format!("{fd}, "))
            });
            assert!(drop < printed, "{context}: drop {drop} < output {printed}");
            assert!(
                !calls.iter().any(|c| c.name == "sendto"),
                "{context}: not a map request, nothing to log"
            );
        }
    }
}

/// No capset ever makes a capability effective.
fn assert_never_raised(calls: &[Syscall], context: &str) {
    assert!(
        !calls
            .iter()
            .any(|c| c.name == "capset" && !c.args.contains("effective=0,")),
        "{context}: a capability was made effective\n{calls:#?}"
    );
}

e2e! {
    /// Setuid install, outer UID 0: both CAP_SETUID and CAP_SETFCAP are kept
    /// (the file-capability install lacks cap_setfcap and stops earlier), and
    /// alice:0:0 grants nothing, so neither is ever raised.
    fn setuid_outer_root_refusal_keeps_setfcap_never_raised() {
        let (out, calls) = traced(Install::Setuid, "newuidmap", &["{pid}", "0", "0", "1"]);
        assert_eq!(out.status, 1, "{out:#?}");
        assert_drop_first(&calls, "1<<CAP_SETUID|1<<CAP_SETFCAP", "outer 0");
        assert_never_raised(&calls, "outer 0");
    }

    /// The contrast: Debian 12's shadow 4.13 (package uidmap) was built without
    /// libcap, so the same trace shows it writing the map as euid 0 with every
    /// capability: no capset and no setresuid at all.
    fn debian_shadow_4_13_makes_no_drop(test) {
        if !std::path::Path::new(SHADOW_NEWUIDMAP).exists() {
            return skip(test, "shadow's newuidmap is not installed (apt-get install uidmap)");
        }
        let version = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "uidmap"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default();
        if !version.contains("4.13") {
            return not_applicable(test, &format!("needs Debian's uidmap 4.13 (found {version:?})"));
        }
        let map = ["{pid}", "0", "1000", "1", "1", "100000", "65536"];
        let (out, calls) = traced_binary(Install::Setuid, "newuidmap", &map, Some(SHADOW_NEWUIDMAP));
        out.assert_maps("newuidmap", "shadow", &["0 1000 1", "1 100000 65536"]);
        for name in ["capset", "setresuid", "setuid"] {
            assert!(
                !calls.iter().any(|c| c.name == name),
                "shadow 4.13 unexpectedly called {name}\n{calls:#?}"
            );
        }
        // The checks the other tests apply would catch it.
        let checked = std::panic::catch_unwind(|| assert_drop_first(&calls, "1<<CAP_SETUID", "shadow"));
        assert!(checked.is_err(), "the order checks must reject shadow 4.13's trace");
        // Ours, same call: the drop is there.
        let (_, ours) = traced(Install::Setuid, "newuidmap", &map);
        assert!(ours.iter().any(|c| c.name == "capset"));
        assert!(ours.iter().any(|c| c.name == "setresuid"));
    }
}
