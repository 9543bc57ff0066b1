//! Issue 14: the second hardening round, end to end, once per install mode.
//! A stalled syslog receiver cannot hold the helper; the caller's stderr
//! (a file with `ulimit -f 0`, a TOSTOP terminal, a full pipe and SIGKILL)
//! cannot stop it before the audit record is sent; the record is exact (a
//! user name escaped once); a root-only /etc/subuid is named; threads are
//! refused by one rule; and what LD_PROFILE does to a setuid install.
//!
//! (The order of the record, the output, the drop and the map write is
//! proved with strace in `e2e_privilege_order.rs`.)
// Test code: a failed unwrap, expect or panic is a failed test (see clippy.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::*;

const UID: &str = "newuidmap";
const GID: &str = "newgidmap";

/// A hang detector only (the helper needs milliseconds): `timeout` exits
/// 124 if it had to stop the helper.
const HANG_LIMIT: &str = "timeout 20";

fn exec_under(prefix: &str, program: &str, args: &str) -> String {
    format!("exec {prefix} \"$BIN/{program}\" {args}")
}

/// The audit record of alice's refused request for [200000-200010).
fn assert_refusal_recorded(out: &Outcome, install: Install) {
    assert!(
        out.audit.contains(&format!(
            "uid=1000 user=alice target={} refused: uid range [0-10) -> [200000-200010) not allowed",
            out.pid
        )),
        "{install}: {out:#?}"
    );
}

per_mode! {
    fn stalled_syslog_receiver_does_not_hold_the_helper(install) {
        // Granted: the map is written and the helper exits although the
        // record cannot be queued.
        let out = Case::uid(install, &[])
            .audit_stalled()
            .wrap(exec_under(HANG_LIMIT, UID, "\"$T\" 0 1000 1 1 100000 65536"))
            .run();
        assert_ne!(out.status, 124, "{install} grant: the helper hung\n{out:#?}");
        out.assert_maps(UID, &format!("{install} grant"), &["0 1000 1", "1 100000 65536"]);
        // The queue was full when the helper sent: its record was dropped.
        assert_eq!(out.audit, "", "{install}: {out:#?}");
    }

    fn stalled_syslog_receiver_does_not_hold_a_refusal(install) {
        // Refused: the refusal is printed and the helper exits 1.
        let out = Case::gid(install, &[])
            .audit_stalled()
            .wrap(exec_under(HANG_LIMIT, GID, "\"$T\" 0 200000 1"))
            .run();
        assert_ne!(out.status, 124, "{install} refusal: the helper hung\n{out:#?}");
        out.assert_refused_as(GID, &format!("{install} stalled refusal"), "not allowed");
        assert_eq!(out.audit, "", "{install}: {out:#?}");
    }

    fn file_size_limit_on_stderr_cannot_suppress_the_record(install) {
        // stderr is a file (the harness's) and no byte may be written to it:
        // each write raises SIGXFSZ, whose default action kills.
        let out = Case::uid(install, &["{pid}", "0", "200000", "10"])
            .audit()
            .wrap("ulimit -f 0")
            .run();
        assert_eq!(
            out.status, 1,
            "{install}: expected a normal exit 1, not death by SIGXFSZ (153)\n{out:#?}"
        );
        assert_eq!(out.stderr, "", "{install}: nothing can be written");
        assert_eq!(out.uid_map, "");
        assert_refusal_recorded(&out, install);
    }

    fn file_size_limit_on_stderr_and_a_grant(install) {
        // A grant under the same limit.
        let out = Case::uid(install, &["{pid}", "0", "1000", "1"])
            .audit()
            .wrap("ulimit -f 0")
            .run();
        out.assert_maps(UID, &install.to_string(), &["0 1000 1"]);
        assert!(out.audit.contains("granting map=0 1000 1"), "{out:#?}");
    }
}

/// Runs the helper (its path and arguments follow the script) as a
/// background job of a fresh terminal with TOSTOP set, its stderr that
/// terminal: a write there raises SIGTTOU, which stops the job. Exits 90 if
/// the helper was stopped, else with the helper's status; what the helper
/// wrote on the terminal goes to stderr.
const TOSTOP_TERMINAL: &str = r#"
import fcntl, os, sys, termios
helper = sys.argv[1:]
master, slave = os.openpty()
leader = os.fork()
if leader == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    attrs = termios.tcgetattr(slave)
    attrs[3] |= termios.TOSTOP
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)
        os.dup2(slave, 2)
        os.execv(helper[0], helper)
    try:
        os.setpgid(child, child)
    except OSError:
        pass
    _, status = os.waitpid(child, os.WUNTRACED)
    if os.WIFSTOPPED(status):
        os.kill(child, 9)
        os.waitpid(child, 0)
        os._exit(90)
    os._exit(os.waitstatus_to_exitcode(status) & 0xff)
_, status = os.waitpid(leader, 0)
os.set_blocking(master, False)
out = b""
while True:
    try:
        data = os.read(master, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
sys.stderr.write(out.decode(errors="replace").replace("\r", ""))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

per_mode! {
    fn tostop_terminal_cannot_stop_the_helper(install) {
        let out = Case::uid(install, &[])
            .audit()
            .wrap(format!(
                "exec {HANG_LIMIT} python3 -c '{TOSTOP_TERMINAL}' \"$BIN/{UID}\" \"$T\" 0 200000 10"
            ))
            .run();
        assert_ne!(out.status, 90, "{install}: the helper was stopped by SIGTTOU\n{out:#?}");
        out.assert_refused_as(UID, &format!("{install} TOSTOP"), "not allowed");
        assert!(
            out.audit.contains("refused: uid range [0-10) -> [200000-200010)"),
            "{install}: {out:#?}"
        );
    }
}

/// Runs the helper (path and arguments follow) with stderr a pipe that is
/// already full and never read, waits until the helper sleeps (blocked in
/// its write to stderr), then SIGKILLs it, as a caller may: the helper
/// runs as the caller. Exits 0 if the helper was killed, 91 if it exited.
const FULL_PIPE_THEN_KILL: &str = r#"
import os, signal, sys, time
helper = sys.argv[1:]
r, w = os.pipe()
os.set_blocking(w, False)
for chunk in (4096, 1):
    try:
        while True:
            os.write(w, b"x" * chunk)
    except BlockingIOError:
        pass
os.set_blocking(w, True)
pid = os.fork()
if pid == 0:
    os.dup2(w, 2)
    os.execv(helper[0], helper)
os.close(w)
def state():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
asleep = 0
for _ in range(1000):
    now = state()
    if now in ("Z", "gone"):
        break
    asleep = asleep + 1 if now == "S" else 0
    if asleep == 5:
        break
    time.sleep(0.02)
os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.exit(0 if os.WIFSIGNALED(status) else 91)
"#;

per_mode! {
    fn full_stderr_pipe_and_sigkill_cannot_suppress_the_record(install) {
        let out = Case::uid(install, &[])
            .audit()
            .wrap(format!(
                "exec {HANG_LIMIT} python3 -c '{FULL_PIPE_THEN_KILL}' \"$BIN/{UID}\" \"$T\" 0 200000 10"
            ))
            .run();
        assert_eq!(out.status, 0, "{install}: the helper should block on stderr and be killed\n{out:#?}");
        assert_eq!(out.uid_map, "");
        assert_refusal_recorded(&out, install);
    }

    fn audit_record_has_the_name_escaped_once(install) {
        // mallory's passwd name is "mal\x1b[31mlory" (an ESC byte); stderr shows
        // it as mal\x1b[31mlory, and the record must show exactly that.
        let once = "user=mal\\x1b[31mlory ";
        for (list, outcome) in [
            (&["{pid}", "0", "600000", "1000"][..], "granting map=0 600000 1000"),
            (&["{pid}", "0", "100000", "10"], "refused: uid range"),
        ] {
            let out = Case::uid(install, list).by(MALLORY).audit().run();
            let context = format!("{install} {outcome}");
            assert_eq!(out.audit.lines().count(), 1, "{context}: {out:#?}");
            assert!(out.audit.contains(once), "{context}: {:?}", out.audit);
            assert!(out.audit.contains(outcome), "{context}: {:?}", out.audit);
            assert!(!out.audit.contains("\\\\"), "{context}: {:?}", out.audit);
            assert!(!out.audit.contains('\x1b'), "{context}: {:?}", out.audit);
            if outcome.starts_with("refused") {
                out.says(&context, "mal\\x1b[31mlory");
            }
        }
    }

    fn root_only_subid_file_names_mode_owner_and_fix(install) {
        for (program, file) in [(UID, "subuid"), (GID, "subgid")] {
            let out = Case::new(install, program, &["{pid}", "0", "100000", "10"])
                .prepare(format!("chmod 0600 \"$FIX/{file}\""))
                .run();
            let context = format!("{install} {program}");
            out.assert_refused_as(
                program,
                &context,
                &format!(
                    "cannot read /etc/{file}: it is mode 0600, owner UID 0 GID 0, and the helpers read it as you, not as root"
                ),
            );
            out.says(&context, &format!("as shadow's tools create it: chmod 644 /etc/{file}"));
        }
    }

    fn threads_are_refused_by_one_rule(install) {
        let tid = "$(cat \"$OUT/ready\")";
        let pidfd = |flags: &str| {
            format!(
                "exec python3 -c 'import os,sys; fd = os.pidfd_open(int(sys.argv[1]), {flags}); os.dup2(fd, 5); os.execv(sys.argv[2], sys.argv[2:])' {tid} \"$BIN/{UID}\" fd:5 0 1000 1"
            )
        };
        let thread_case = |wrap: String| {
            Case::uid(install, &[])
                .shape(TargetShape::Threaded)
                .before("export OUT")
                .wrap(wrap)
        };
        // Control: the same multi-threaded target by its PID is mapped.
        thread_case(format!("exec \"$BIN/{UID}\" \"$T\" 0 1000 1"))
            .run()
            .assert_maps(UID, &format!("{install} control"), &["0 1000 1"]);

        let cases = [
            // A thread ID given as the PID.
            (format!("exec \"$BIN/{UID}\" {tid} 0 1000 1"), "is a thread of process"),
            // A thread's pidfd (PIDFD_THREAD is O_EXCL).
            (pidfd("os.O_EXCL"), "fd:5 is a thread (thread"),
            // A thread's /proc/PID/task/TID directory.
            (
                format!("exec 5</proc/$T/task/{tid}; exec \"$BIN/{UID}\" fd:5 0 1000 1"),
                "fd:5 is a thread (thread",
            ),
        ];
        for (wrap, summary) in cases {
            let out = thread_case(wrap.clone()).run();
            let context = format!("{install} {wrap}");
            out.assert_refused_as(UID, &context, summary);
            // The process it belongs to is named.
            out.says(&context, &format!("of process {}", out.pid));
        }
    }

    fn ld_profile_reaches_only_the_setuid_install(install) {
        // glibc's secure mode still honours LD_PROFILE and writes the profile
        // into /var/profile when that directory exists. Here /var is a tmpfs of
        // the case's own mount namespace.
        let out = Case::uid(install, &[])
            .prepare("mount -t tmpfs tmpfs /var && mkdir -m 0755 /var/profile")
            .wrap(format!(
                "LD_PROFILE=libc.so.6 \"$BIN/{UID}\" \"$T\" 0 1000 1; s=$?; \
                 stat -c '%u %n' /var/profile/* 2>/dev/null; exit $s"
            ))
            .run();
        out.assert_granted(&install.to_string());
        match install {
            // Loaded as root: a root-owned file the caller named.
            Install::Setuid => {
                assert_eq!(out.stdout, "0 /var/profile/libc.so.6.profile\n", "{out:#?}")
            }
            // Loaded as the caller, who cannot write there: nothing.
            Install::Fcaps => assert_eq!(out.stdout, "", "{out:#?}"),
        }
    }
}
