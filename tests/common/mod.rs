//! End-to-end harness: the real binaries, installed setuid-root or with file
//! capabilities, run as a fixture user inside a private mount namespace whose
//! /etc is the fixture set (a read-only overlay over the real /etc), against
//! a target process in a fresh user namespace. Nothing outside the namespace
//! changes.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

pub mod compliance;
mod run;
pub use run::*;

/// True when the privileged tests can run; otherwise skips (see `skip`).
pub fn privileged(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    skip(
        test,
        "needs root (run the suite as root: packaging/test.sh)",
    );
    false
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Install {
    Setuid,
    Fcaps,
}

/// Both modes. New tests use `per_mode!` (one test per mode) instead of a
/// loop over this; it stays for tests written before the harness had it.
pub const BOTH: [Install; 2] = [Install::Setuid, Install::Fcaps];

impl std::fmt::Display for Install {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Install::Setuid => "setuid",
            Install::Fcaps => "fcaps",
        })
    }
}

/// Lines of a map as the tests write them.
pub fn lines(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub fn unique_dir(label: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("e2e-{}-{label}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

pub fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian's shadow helpers (package uidmap), the compliance reference.
pub const SHADOW_NEWUIDMAP: &str = "/usr/bin/newuidmap";
pub const SHADOW_NEWGIDMAP: &str = "/usr/bin/newgidmap";

/// The helpers under test (ours, or shadow's under `IDMAP_UNDER_TEST=shadow`)
/// installed the given way, in a directory every user can reach.
pub fn installed(install: Install) -> &'static Path {
    static SETUID: OnceLock<PathBuf> = OnceLock::new();
    static FCAPS: OnceLock<PathBuf> = OnceLock::new();
    let cell = match install {
        Install::Setuid => &SETUID,
        Install::Fcaps => &FCAPS,
    };
    cell.get_or_init(|| {
        let (uid_source, gid_source) = match under_test() {
            UnderTest::Ours => (
                env!("CARGO_BIN_EXE_newuidmap"),
                env!("CARGO_BIN_EXE_newgidmap"),
            ),
            UnderTest::Shadow => (SHADOW_NEWUIDMAP, SHADOW_NEWGIDMAP),
        };
        let dir = unique_dir(&format!("{:?}-{install}", under_test()).to_lowercase());
        for (name, path, cap) in [
            ("newuidmap", uid_source, "cap_setuid+ep"),
            ("newgidmap", gid_source, "cap_setgid+ep"),
        ] {
            let dest = dir.join(name);
            fs::copy(path, &dest).unwrap_or_else(|e| panic!("{path}: {e}"));
            run_ok(Command::new("chown").arg("root:root").arg(&dest));
            match install {
                Install::Setuid => run_ok(Command::new("chmod").arg("4755").arg(&dest)),
                Install::Fcaps => {
                    run_ok(Command::new("chmod").arg("0755").arg(&dest));
                    run_ok(Command::new("setcap").arg(cap).arg(&dest));
                }
            }
        }
        dir
    })
}

/// The target program (tests/e2e/target.c), compiled once.
pub fn target_program() -> &'static Path {
    static TARGET: OnceLock<PathBuf> = OnceLock::new();
    TARGET.get_or_init(|| {
        let dir = unique_dir("target");
        let out = dir.join("target");
        run_ok(
            Command::new("cc")
                .args(["-O2", "-Wall", "-o"])
                .arg(&out)
                .arg(Path::new(REPO).join("tests/e2e/target.c")),
        );
        out
    })
}

/// Real user and group IDs of a process the harness starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// A fixture user whose GID equals its UID (all of them).
const fn user(id: u32) -> Ids {
    Ids { uid: id, gid: id }
}

pub const ROOT: Ids = user(0);
pub const ALICE: Ids = user(1000);
pub const BOB: Ids = user(1001);
pub const CAROL: Ids = user(1002);
pub const DAVE: Ids = user(1003);
pub const ERIN: Ids = user(1004);
pub const MALLORY: Ids = user(1005);
/// A UID with no passwd entry in any fixture set.
pub const NOBODY_KNOWS: Ids = user(4242);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetShape {
    /// `unshare --user`: the normal case.
    NewUserns,
    /// No new namespace at all.
    Plain,
    /// In a grandchild of the caller's namespace.
    Nested,
    /// A new namespace, then PR_SET_DUMPABLE 0.
    Nondumpable,
    /// A new namespace and a second thread; `$OUT/ready` holds the
    /// thread's ID.
    Threaded,
    /// The target's child unshared a namespace and exited unreaped: a
    /// zombie (`Z=$(ps --ppid $T -o pid=)` in `wrap`).
    Zombie,
}

/// One helper call and everything around it.
#[derive(Clone, Debug)]
pub struct Case {
    pub install: Install,
    pub fixture: &'static str,
    /// Files written into the fixture copy (name, contents) before mounting.
    pub files: Vec<(String, Vec<u8>)>,
    /// Shell run as root on the fixture copy (`$FIX`) before mounting.
    pub prepare: String,
    pub caller: Ids,
    pub target_owner: Ids,
    pub shape: TargetShape,
    pub program: &'static str,
    /// Arguments; `{pid}` is replaced by the target's PID. Passed as raw bytes.
    pub args: Vec<Vec<u8>>,
    /// Shell run as root after the target exists and before the call (`$T` is its PID).
    pub before: String,
    /// Shell run as the caller right before exec'ing the helper (`$T`, `$BIN`).
    pub wrap: String,
    /// Listen on /dev/log and collect what the helper logs.
    pub audit: bool,
    /// With `audit`: the /dev/log receiver binds but never reads, and its
    /// queue is filled (datagrams sent until EAGAIN) before the call, as with
    /// a stopped or hung syslog daemon. What is queued is collected at the end.
    pub audit_stalled: bool,
    /// Run as root in front of the caller's setpriv (e.g. `unshare --user
    /// --map-users=... --`, to put the caller in another user namespace).
    pub caller_prefix: String,
    /// Extra setpriv options for the caller (e.g. `--bounding-set -setuid`).
    pub caller_setpriv: String,
}

#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub uid_map: String,
    pub gid_map: String,
    pub setgroups: String,
    pub pid: String,
    pub audit: String,
    pub trace: String,
}

impl Outcome {
    /// The map as "inner outer count" lines, whitespace normalised.
    pub fn map(text: &str) -> Vec<String> {
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }
    pub fn uid_lines(&self) -> Vec<String> {
        Self::map(&self.uid_map)
    }
    pub fn gid_lines(&self) -> Vec<String> {
        Self::map(&self.gid_map)
    }
    /// The map `program` writes (uid_map for newuidmap, gid_map otherwise).
    pub fn map_of(&self, program: &str) -> Vec<String> {
        if program == "newuidmap" {
            self.uid_lines()
        } else {
            self.gid_lines()
        }
    }

    /// Asserts a grant: exit 0 and no panic.
    pub fn assert_granted(&self, context: &str) {
        assert_eq!(self.status, 0, "{context}: expected exit 0\n{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{context}: {self:#?}");
    }

    /// Asserts a grant of exactly `map` in the file `program` writes.
    pub fn assert_maps(&self, program: &str, context: &str, map: &[&str]) {
        self.assert_granted(context);
        assert_eq!(self.map_of(program), lines(map), "{context}\n{self:#?}");
    }

    /// Asserts nothing on stderr (compared against shadow too).
    pub fn assert_quiet(&self, context: &str) {
        assert_eq!(self.stderr, "", "{context}: stderr\n{self:#?}");
    }

    /// Our wording: stderr contains `text` (checked only when ours run).
    pub fn says(&self, context: &str, text: &str) {
        self.wording(context, self.stderr.contains(text), "say", text);
    }

    /// Our wording: stderr does not contain `text` (only when ours run).
    pub fn says_not(&self, context: &str, text: &str) {
        self.wording(context, !self.stderr.contains(text), "not say", text);
    }

    /// Our wording: stderr starts with `text` (only when ours run).
    pub fn says_first(&self, context: &str, text: &str) {
        self.wording(context, self.stderr.starts_with(text), "start with", text);
    }

    /// Our wording: stderr is exactly `text` (only when ours run).
    pub fn says_exactly(&self, context: &str, text: &str) {
        if ours() {
            assert_eq!(self.stderr, text, "{context}");
        }
    }

    fn wording(&self, context: &str, holds: bool, should: &str, text: &str) {
        assert!(
            holds || !ours(),
            "{context}: stderr should {should} {text:?}:\n{}",
            self.stderr
        );
    }

    /// Asserts a refusal: exit 1, nothing written, a message, no panic;
    /// for ours also every stderr line prefixed with the program's name.
    pub fn assert_refused(&self, program: &str, context: &str) {
        assert_eq!(self.status, 1, "{context}: expected exit 1\n{self:#?}");
        assert!(
            self.uid_map.trim().is_empty(),
            "{context}: uid_map written\n{self:#?}"
        );
        assert!(
            self.gid_map.trim().is_empty(),
            "{context}: gid_map written\n{self:#?}"
        );
        assert!(!self.stderr.is_empty(), "{context}: no message\n{self:#?}");
        assert!(
            !self.stderr.contains("panicked"),
            "{context}: panic\n{self:#?}"
        );
        if ours() {
            self.assert_prefixed(program, context);
        }
    }

    fn assert_prefixed(&self, program: &str, context: &str) {
        for line in self.stderr.lines() {
            assert!(
                line.starts_with(&format!("{program}: ")),
                "{context}: unprefixed line {line:?}\n{self:#?}"
            );
        }
    }
}

/// `{pid}` followed by `n` one-ID triplets from erin's range (20000..21000):
/// 5-digit outers and 1-digit counts keep 340 lines under 4095 bytes.
pub fn erin_triplets(n: u32) -> Vec<String> {
    let mut args = vec!["{pid}".to_string()];
    for i in 0..n {
        args.extend([
            (i * 2).to_string(),
            (20_000 + i * 2).to_string(),
            "1".to_string(),
        ]);
    }
    args
}

/// A list of owned strings as `&str`s.
pub fn refs(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

/// Copies the fixture set `fixture` to `dest`, with `files` (name,
/// contents) written over it, all root-owned and mode 0644: trusted by the
/// helpers' rule regardless of the checkout's umask.
fn copy_fixture(fixture: &str, files: &[(impl AsRef<str>, impl AsRef<[u8]>)], dest: &Path) {
    run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(Path::new(REPO).join("subid-fixtures").join(fixture))
            .arg(dest),
    );
    for (name, contents) in files {
        let path = dest.join(name.as_ref());
        let _ = fs::remove_file(&path);
        fs::write(&path, contents).unwrap();
    }
    run_ok(Command::new("chown").arg("-hR").arg("root:root").arg(dest));
    run_ok(
        Command::new("find")
            .arg(dest)
            .args(["-type", "f", "-exec", "chmod", "0644", "{}", "+"]),
    );
}

pub fn args(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|a| a.as_bytes().to_vec()).collect()
}

impl Case {
    pub fn new(install: Install, program: &'static str, list: &[&str]) -> Case {
        Case {
            install,
            fixture: "basic",
            files: Vec::new(),
            prepare: String::new(),
            caller: ALICE,
            target_owner: ALICE,
            shape: TargetShape::NewUserns,
            program,
            args: args(list),
            before: String::new(),
            wrap: String::new(),
            audit: false,
            audit_stalled: false,
            caller_prefix: String::new(),
            caller_setpriv: String::new(),
        }
    }

    pub fn uid(install: Install, list: &[&str]) -> Case {
        Case::new(install, "newuidmap", list)
    }

    pub fn gid(install: Install, list: &[&str]) -> Case {
        Case::new(install, "newgidmap", list)
    }

    pub fn by(mut self, caller: Ids) -> Case {
        self.caller = caller;
        self.target_owner = caller;
        self
    }

    pub fn fixture(mut self, name: &'static str) -> Case {
        self.fixture = name;
        self
    }

    pub fn file(mut self, name: &str, contents: &[u8]) -> Case {
        self.files.push((name.to_string(), contents.to_vec()));
        self
    }

    /// The target's owner, when it is not the caller.
    pub fn owner(mut self, ids: Ids) -> Case {
        self.target_owner = ids;
        self
    }

    pub fn shape(mut self, shape: TargetShape) -> Case {
        self.shape = shape;
        self
    }

    /// Shell run as root on the fixture copy before mounting (`$FIX`).
    pub fn prepare(mut self, script: impl Into<String>) -> Case {
        self.prepare = script.into();
        self
    }

    /// Shell run as root once the target exists (`$T`).
    pub fn before(mut self, script: impl Into<String>) -> Case {
        self.before = script.into();
        self
    }

    /// Shell run as the caller right before the helper (`$T`, `$BIN`).
    pub fn wrap(mut self, script: impl Into<String>) -> Case {
        self.wrap = script.into();
        self
    }

    pub fn audit(mut self) -> Case {
        self.audit = true;
        self
    }

    /// Run as root in front of the caller's setpriv (see the field).
    pub fn caller_prefix(mut self, prefix: impl Into<String>) -> Case {
        self.caller_prefix = prefix.into();
        self
    }

    /// Extra setpriv options for the caller (see the field).
    pub fn caller_setpriv(mut self, options: impl Into<String>) -> Case {
        self.caller_setpriv = options.into();
        self
    }

    /// `audit` with a receiver that never reads and a full queue.
    pub fn audit_stalled(mut self) -> Case {
        self.audit = true;
        self.audit_stalled = true;
        self
    }

    pub fn run(&self) -> Outcome {
        let work = unique_dir("case");
        let fix = work.join("fix");
        let out = work.join("out");
        fs::create_dir_all(&out).unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).unwrap();
        copy_fixture(self.fixture, &self.files, &fix);
        let script = self.script(&fix, &out);
        fs::write(work.join("case.sh"), &script).unwrap();
        let status = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "bash"])
            .arg(work.join("case.sh"))
            .status()
            .unwrap();
        assert!(
            status.success(),
            "{HARNESS_FAILURE} ({status}); see {}",
            work.display()
        );
        let read = |name: &str| fs::read_to_string(out.join(name)).unwrap_or_default();
        let outcome = Outcome {
            status: read("status").trim().parse().unwrap_or(-1),
            stdout: read("stdout"),
            stderr: read("stderr"),
            uid_map: read("uid_map"),
            gid_map: read("gid_map"),
            setgroups: read("setgroups").trim().to_string(),
            pid: read("pid").trim().to_string(),
            audit: read("audit"),
            trace: read("trace"),
        };
        let _ = fs::remove_dir_all(&work);
        outcome
    }

    fn script(&self, fix: &Path, out: &Path) -> String {
        let bin = installed(self.install);
        let shape = match self.shape {
            TargetShape::NewUserns => "",
            TargetShape::Plain => "--plain",
            TargetShape::Nested => "--nested",
            TargetShape::Nondumpable => "--nondumpable",
            TargetShape::Threaded => "--threaded",
            TargetShape::Zombie => "--zombie",
        };
        let helper_args: String = self
            .args
            .iter()
            .map(|a| format!(" {}", quote_arg(a)))
            .collect();
        fs::write(
            out.join("call.sh"),
            format!(
                "T=$1\nBIN={}\n{}\nexec \"$BIN/{}\"{helper_args}\n",
                bin.display(),
                self.wrap,
                self.program
            ),
        )
        .unwrap();
        let as_user = |ids: Ids| {
            format!(
                "setpriv --reuid={} --regid={} --clear-groups --",
                ids.uid, ids.gid
            )
        };
        let caller_user = format!(
            "{} {} {} --",
            self.caller_prefix,
            as_user(self.caller).trim_end_matches(" --"),
            self.caller_setpriv
        );
        format!(
            r#"set -u
FIX={fix}; OUT={out}; BIN={bin}
{prepare}
mount -t overlay overlay -o lowerdir="$FIX":/etc /etc || {{ echo "overlay mount failed" >&2; exit 97; }}
{audit}
{target_user} {target} {shape} "$OUT/ready" &
T=$!
for i in $(seq 500); do [ -s "$OUT/ready" ] && break; sleep 0.01; done
[ -s "$OUT/ready" ] || {{ echo "target did not start" >&2; exit 98; }}
echo "$T" > "$OUT/pid"
{before}
{caller_user} bash "$OUT/call.sh" "$T" >"$OUT/stdout" 2>"$OUT/stderr"
echo $? > "$OUT/status"
cat /proc/$T/uid_map > "$OUT/uid_map" 2>/dev/null
cat /proc/$T/gid_map > "$OUT/gid_map" 2>/dev/null
cat /proc/$T/setgroups > "$OUT/setgroups" 2>/dev/null
kill $T 2>/dev/null; wait $T 2>/dev/null
{audit_stop}
exit 0
"#,
            fix = fix.display(),
            out = out.display(),
            bin = bin.display(),
            prepare = self.prepare,
            audit = if self.audit {
                AUDIT_START.replace(
                    "$AUDIT_MODE",
                    if self.audit_stalled {
                        "stalled"
                    } else {
                        "read"
                    },
                )
            } else {
                String::new()
            },
            audit_stop = if self.audit { AUDIT_STOP } else { "" },
            target_user = as_user(self.target_owner),
            target = target_program().display(),
            before = self.before,
            caller_user = caller_user,
        )
    }
}

/// Inside the case's mount namespace, /dev becomes a tmpfs holding links to
/// the real device nodes (bound recursively, so /dev/pts works too) plus our
/// own datagram socket at /dev/log.
const AUDIT_START: &str = r#"mkdir -p "$OUT/realdev" && mount --rbind /dev "$OUT/realdev" && mount -t tmpfs tmpfs /dev
for n in null zero full random urandom tty pts ptmx shm; do ln -s "$OUT/realdev/$n" "/dev/$n"; done
ln -s /proc/self/fd /dev/fd
python3 -c '
import socket, os, sys, time
out, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log"); os.chmod("/dev/log", 0o666)
if mode == "stalled":
    # Fill the queue the way a stopped syslog daemon lets it fill, then
    # prove with a fresh socket that the receiver (not a sender) is full.
    filler = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    while True:
        try:
            filler.sendto(b"filler", socket.MSG_DONTWAIT, "/dev/log")
        except BlockingIOError:
            break
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.sendto(b"probe", socket.MSG_DONTWAIT, "/dev/log")
    except BlockingIOError:
        open(out + "/queue-full", "w").close()
    open(out + "/listening", "w").close()
    while not os.path.exists(out + "/stop"):
        time.sleep(0.05)
    s.setblocking(False)
    with open(out + "/audit", "ab") as f:
        while True:
            try:
                d = s.recv(65536)
            except BlockingIOError:
                break
            if d not in (b"filler", b"probe"):
                f.write(d + b"\n")
    sys.exit(0)
open(out + "/listening", "w").close()
s.settimeout(0.2)
with open(out + "/audit", "ab") as f:
    while not os.path.exists(out + "/stop"):
        try:
            f.write(s.recv(65536) + b"\n"); f.flush()
        except socket.timeout:
            pass
' "$OUT" $AUDIT_MODE &
AUDIT=$!
for i in $(seq 500); do [ -e "$OUT/listening" ] && break; sleep 0.01; done
[ -e "$OUT/listening" ] || { echo "audit listener did not start" >&2; exit 95; }
[ "$AUDIT_MODE" != stalled ] || [ -e "$OUT/queue-full" ] || { echo "the stalled /dev/log queue is not full" >&2; exit 96; }"#;

const AUDIT_STOP: &str = r#"sleep 0.3; touch "$OUT/stop"; wait $AUDIT"#;

/// Quotes an argument for bash; `{pid}` inside it becomes the target's PID.
pub fn quote_arg(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    loop {
        let at = rest.windows(5).position(|w| w == b"{pid}");
        let (part, next) = match at {
            Some(at) => (&rest[..at], Some(&rest[at + 5..])),
            None => (rest, None),
        };
        out.push_str("$'");
        for &b in part {
            if b.is_ascii_alphanumeric() || b"._/:,+=-".contains(&b) {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
        out.push('\'');
        match next {
            Some(next) => {
                out.push_str("\"$T\"");
                rest = next;
            }
            None => return out,
        }
    }
}

// ---------------------------------------------------------------------------
// Issue 3 (adversarial matrix, privilege order): helpers appended here.
// ---------------------------------------------------------------------------

/// A shared library whose constructor prints `LD_PRELOAD-LOADED` on stderr:
/// if a helper's stderr ever shows it, the loader honoured LD_PRELOAD.
pub fn preload_library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = unique_dir("preload");
        let src = dir.join("preload.c");
        fs::write(
            &src,
            "#include <unistd.h>\n\
             __attribute__((constructor)) static void loaded(void) {\n\
             static const char m[] = \"LD_PRELOAD-LOADED\\n\";\n\
             (void)!write(2, m, sizeof m - 1);\n}\n",
        )
        .unwrap();
        let out = dir.join("libpreload.so");
        run_ok(
            Command::new("cc")
                .args(["-shared", "-fPIC", "-O2", "-o"])
                .arg(&out)
                .arg(&src),
        );
        fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
        out
    })
}

impl Outcome {
    /// A refusal as the adversarial matrix expects it: exit 1, nothing on
    /// stdout, maps and setgroups as they were (`maps` is the expected
    /// (uid_map, gid_map) text, normally empty), a message and no panic or
    /// preloaded code. For ours also: every stderr line prefixed and free of
    /// raw control or non-ASCII bytes, the first line saying `summary`, and
    /// no more than a handful of hint lines. `_as` also expects setgroups
    /// still `allow`; `_keeping` leaves that to the caller.
    pub fn assert_refused_as(&self, program: &str, context: &str, summary: &str) {
        self.assert_refused_keeping(program, context, summary, ("", ""));
        assert_eq!(self.setgroups, "allow", "{context}: setgroups changed");
    }

    pub fn assert_refused_keeping(
        &self,
        program: &str,
        context: &str,
        summary: &str,
        maps: (&str, &str),
    ) {
        assert_eq!(self.status, 1, "{context}: expected exit 1\n{self:#?}");
        assert_eq!(self.stdout, "", "{context}: stdout\n{self:#?}");
        assert_eq!(
            Outcome::map(&self.uid_map),
            Outcome::map(maps.0),
            "{context}: uid_map changed\n{self:#?}"
        );
        assert_eq!(
            Outcome::map(&self.gid_map),
            Outcome::map(maps.1),
            "{context}: gid_map changed\n{self:#?}"
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(!lines.is_empty(), "{context}: no message\n{self:#?}");
        for bad in ["panicked", "LD_PRELOAD-LOADED"] {
            assert!(!self.stderr.contains(bad), "{context}: {bad}\n{self:#?}");
        }
        if !ours() {
            return;
        }
        assert!(lines.len() <= 6, "{context}: too many lines\n{self:#?}");
        assert!(
            lines[0].contains(summary),
            "{context}: first line should say {summary:?}\n{self:#?}"
        );
        self.assert_prefixed(program, context);
        for line in &lines {
            assert!(
                line.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{context}: unescaped byte in {line:?}"
            );
        }
        for bad in ["internal error", "RUST_BACKTRACE"] {
            assert!(!self.stderr.contains(bad), "{context}: {bad}\n{self:#?}");
        }
    }
}

/// One syscall line of an `strace -o FILE` trace (no -f, no timestamps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syscall {
    pub name: String,
    pub args: String,
    pub result: String,
}

/// Parses strace output; `+++ exited` and signal lines are skipped.
pub fn parse_trace(text: &str) -> Vec<Syscall> {
    text.lines()
        .filter_map(|line| {
            // strace pads short calls: `setresuid(1000, 1000, 1000)    = 0`.
            let open = line.find('(')?;
            let eq = line.rfind(" = ")?;
            let call = line[..eq].trim_end().strip_suffix(')')?;
            let name = &line[..open];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return None;
            }
            Some(Syscall {
                name: name.to_string(),
                args: call.get(open + 1..)?.to_string(),
                result: line[eq + 3..].trim().to_string(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Issue 7 (real clients and packages): scripted scenes.
//
// A `Scene` is a fixture /etc (a copy of a fixture set, optionally with files
// replaced) and a work directory. `Scene::run` runs a bash script as root in
// private mount and PID namespaces (so every process a client leaves behind,
// such as podman's pause process, dies with the scene) where /etc is the
// fixture overlay. The script can call `as_user UID GID PATH CMD...`, which
// runs CMD as that user with a clean environment, a private HOME and
// XDG_RUNTIME_DIR and the given PATH.

/// Subordinate ranges without the deliberately odd lines of `basic`
/// (`alice:0:0`, `alice:7:x`): podman, buildah and rootlesskit read
/// /etc/subuid themselves and pass every entry on, count-0 ones included.
pub const CLEAN_SUBIDS: &str = "alice:100000:65536\nbob:165536:65536\n";

/// Output of a scene's script.
#[derive(Clone, Debug, Default)]
pub struct SceneOutput {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

pub struct Scene {
    pub work: PathBuf,
    pub fix: PathBuf,
}

impl Scene {
    pub fn new(label: &str, fixture: &str, files: &[(&str, &str)]) -> Scene {
        let work = unique_dir(label);
        let fix = work.join("fix");
        copy_fixture(fixture, files, &fix);
        Scene { work, fix }
    }

    pub fn run(&self, script: &str) -> SceneOutput {
        self.run_script(&format!("mount_fixture\n{script}"))
    }

    /// Like `run`, but /etc stays the real one until the script calls
    /// `mount_fixture` (dpkg, for one, needs the real passwd and group).
    pub fn run_script(&self, script: &str) -> SceneOutput {
        self.run_script_in(&[], script)
    }

    /// Like `run_script`, with more namespaces for unshare (`--net` for a
    /// scene that runs daemons: its own loopback, no host network).
    pub fn run_script_in(&self, namespaces: &[&str], script: &str) -> SceneOutput {
        let full = format!(
            r#"set -u
WORK={work}; FIX={fix}
mount_fixture() {{
  mount -t overlay overlay -o lowerdir="$FIX":/etc /etc || {{ echo "overlay mount failed" >&2; exit 97; }}
}}
as_user() {{
  local uid=$1 gid=$2 path=$3; shift 3
  local home; home=$(mktemp -d "$WORK/home.XXXXXX")
  mkdir -p "$home/run"; chown -R "$uid:$gid" "$home"; chmod 0700 "$home" "$home/run"
  setpriv --reuid="$uid" --regid="$gid" --clear-groups -- \
    env -i HOME="$home" XDG_RUNTIME_DIR="$home/run" PATH="$path" LANG=C.UTF-8 "$@"
}}
{script}
"#,
            work = self.work.display(),
            fix = self.fix.display(),
        );
        let path = self.work.join("scene.sh");
        fs::write(&path, full).unwrap();
        let out = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--mount-proc",
            ])
            .args(namespaces)
            .arg("bash")
            .arg(&path)
            .output()
            .unwrap();
        SceneOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.work);
    }
}

/// The system library directory that holds libc.so.6 (the loader's
/// default search path for this architecture).
pub fn system_libdir() -> &'static str {
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
    ]
    .into_iter()
    .find(|d| Path::new(d).join("libc.so.6").exists())
    .expect("a system library directory holding libc.so.6")
}

/// The absolute path of a program on the root PATH, if installed.
pub fn find_program(name: &str) -> Option<PathBuf> {
    [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ]
    .iter()
    .map(|dir| Path::new(dir).join(name))
    .find(|p| p.is_file())
}

/// True when `program` is installed; otherwise skips (see `skip`):
/// packaging/test.sh installs the package.
pub fn tool_present(test: &str, program: &str, package: &str) -> bool {
    if find_program(program).is_some() {
        return true;
    }
    skip(
        test,
        &format!(
            "{program} is not installed (apt-get install {package}, or run packaging/test.sh)"
        ),
    );
    false
}
