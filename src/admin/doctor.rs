//! `subid doctor [USER] [--json]`: one checklist of everything a rootless
//! launcher needs, each line ok or a problem with its one fix.
//!
//! Run as the user (checks yourself) or as root naming a user. Sections:
//! ranges (files and NSS modules), the helpers first on PATH
//! ([`super::doctor_setup`]), the kernel and the calling context
//! ([`crate::act::environment`], the same detection the helpers use), the audit
//! trail, and a live trial that maps a throwaway namespace with the helpers
//! found ([`super::doctor_trial`]). Exit 0 when all is well, 1 if any
//! line is a problem, 3 on a bad command line.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;

use super::check::{Accounts, check_file};
use super::doctor_setup::Helpers;
use super::doctor_trial;
use super::json::JsonWriter;
use super::report::{EXIT_USAGE, FindingCode};
use super::show::{self, Who};
use super::{PROGRAM, Paths};
use crate::act::accounts::SystemDirectory;
use crate::act::environment::{self, Context};
use crate::act::output;
use crate::kind::IdKind;
use crate::parse::logindefs::LoginDefs;
use crate::parse::map::IdRange;
use crate::parse::passwd::{Account, UserDirectory};
use crate::parse::subid::{Line, for_each_line, parse_line};
use crate::parse::text::escape;

/// What rootless podman, buildah and rootlesskit need per user and kind.
pub const MIN_IDS: u32 = 65_536;

/// One line of the checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Stable name for scripts: `subuid-ranges`, `newuidmap`, `trial`...
    pub id: &'static str,
    pub ok: bool,
    pub message: String,
    /// Empty when ok.
    pub fix: String,
}

impl Check {
    pub fn ok(id: &'static str, message: String) -> Check {
        Check {
            id,
            ok: true,
            message,
            fix: String::new(),
        }
    }

    pub fn problem(id: &'static str, message: String, fix: String) -> Check {
        Check {
            id,
            ok: false,
            message,
            fix,
        }
    }
}

/// The user being checked.
#[derive(Clone, Debug)]
pub struct Subject {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// `subid doctor` after option parsing.
pub fn run(user: Option<&OsString>, json: bool) -> ExitCode {
    let subject = match subject(user) {
        Ok(subject) => subject,
        Err(message) => {
            output::error_lines(PROGRAM, &[message]);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let paths = Paths::default();
    let mut checks = Vec::new();
    let mut firsts = Vec::new();
    for kind in [IdKind::Uid, IdKind::Gid] {
        let (found, first) = ranges(kind, &subject, &paths);
        checks.extend(found);
        firsts.push(first);
    }
    let helpers = Helpers::find(std::env::var_os("PATH").as_deref());
    checks.extend(helpers.checks());
    checks.extend(kernel());
    checks.extend(calling_context());
    checks.push(audit_trail());
    checks.extend(doctor_trial::trial(
        &subject, &helpers, firsts[0], firsts[1],
    ));
    let text = if json {
        render_json(&subject, &checks)
    } else {
        render_text(&subject, &checks)
    };
    let _ = output::to_stdout(text.as_bytes());
    if checks.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn subject(user: Option<&OsString>) -> Result<Subject, String> {
    let directory = SystemDirectory::default();
    let me = nix::unistd::getuid().as_raw();
    let uid = match user {
        None => me,
        Some(name) => {
            let bytes = name.as_bytes();
            let uid = directory
                .uid_by_name(bytes)
                .or_else(|| crate::parse::number::parse_u32(bytes))
                .ok_or_else(|| format!("no such user \"{}\"", escape(bytes)))?;
            if uid != me && me != 0 {
                return Err(format!(
                    "only root can check another user (\"{}\"); run subid doctor without a user to check yourself",
                    escape(bytes)
                ));
            }
            uid
        }
    };
    match directory.account_by_uid(uid) {
        Ok(Some(Account { name, uid, gid })) => Ok(Subject {
            name: name.unwrap_or_else(|| uid.to_string()),
            uid,
            gid,
        }),
        _ => Err(format!("UID {uid} has no passwd entry")),
    }
}

/// The user's ranges of one kind: present, large enough, not shared with
/// another owner or a real account (the `subid check` findings on the
/// user's own lines). Returns the checks and the first range, for the trial.
fn ranges(kind: IdKind, subject: &Subject, paths: &Paths) -> (Vec<Check>, Option<IdRange>) {
    let id = match kind {
        IdKind::Uid => "subuid-ranges",
        IdKind::Gid => "subgid-ranges",
    };
    let upper = kind.upper();
    let user = &subject.name;
    let who = Who::new(user.as_bytes(), Some(subject.uid));
    let show::Found {
        ranges: found,
        problems: errors,
        ..
    } = show::user_ranges(kind, &who, paths);
    let sources = show::configured_sources(paths);
    let mut checks: Vec<Check> = errors
        .iter()
        .map(|e| {
            Check::problem(
                id,
                e.message(),
                "make the module's service reachable (e.g. systemctl status sssd), or remove it from the subid: line of /etc/nsswitch.conf".into(),
            )
        })
        .collect();
    // A free block under shadow's lock, never a fixed range (it may be taken).
    let add = format!("as root: subid add {user} (it picks a free block in both files)");
    let Some(&first) = found.first() else {
        checks.push(Check::problem(
            id,
            format!(
                "{user} has no subordinate {upper}s ({} via nsswitch.conf's subid: line)",
                sources
                    .iter()
                    .map(|s| match s {
                        crate::parse::nsswitch::SubidSource::Files =>
                            paths.subid(kind).display().to_string(),
                        crate::parse::nsswitch::SubidSource::Module(n) =>
                            crate::parse::nsswitch::library_name(n),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            add,
        ));
        return (checks, None);
    };
    let largest = found.iter().map(|r| r.count()).max().unwrap_or(0);
    let listed: Vec<String> = found.iter().take(4).map(|r| r.human()).collect();
    if largest < MIN_IDS {
        checks.push(Check::problem(
            id,
            format!(
                "{user}'s subordinate {upper}s are {}: rootless containers need one range of at least {MIN_IDS}",
                listed.join(", ")
            ),
            format!("as root: subid add {user} --count {MIN_IDS}"),
        ));
    } else {
        checks.push(Check::ok(
            id,
            format!("{user} has subordinate {upper}s {}", listed.join(", ")),
        ));
    }
    checks.extend(shared_ids(kind, id, &who, paths));
    (checks, Some(first))
}

/// `subid check`'s overlap and account-ID findings that involve the user's
/// own lines of the file.
fn shared_ids(kind: IdKind, id: &'static str, who: &Who, paths: &Paths) -> Vec<Check> {
    let path = paths.subid(kind);
    let mut mine = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = for_each_line(file, |number, raw| {
            if let Ok(raw) = raw
                && let Line::Entry { owner, .. } = parse_line(raw)
                && who.owns(owner)
            {
                mine.push(number);
            }
        });
    }
    if mine.is_empty() {
        return Vec::new();
    }
    let accounts = Accounts::from_passwd(&std::fs::read(&paths.passwd).unwrap_or_default());
    let defs = LoginDefs::parse(&std::fs::read(&paths.login_defs).unwrap_or_default());
    let (_, findings) = check_file(path, kind, &accounts, &defs);
    let theirs = |line: Option<usize>| line.is_some_and(|l| mine.contains(&l));
    let shared: Vec<Check> = findings
        .into_iter()
        .filter(|f| matches!(f.code, FindingCode::Overlap | FindingCode::AccountIds))
        .filter(|f| theirs(f.line) || theirs(f.related_line))
        .take(4)
        .map(|f| {
            Check::problem(
                id,
                format!("{}:{}: {}", f.file, f.line.unwrap_or_default(), f.message),
                format!("as root: {}", f.fix),
            )
        })
        .collect();
    if shared.is_empty() {
        vec![Check::ok(
            id,
            format!(
                "{}'s ranges in {} overlap no other owner and no account ID",
                String::from_utf8_lossy(&who.given),
                path.display()
            ),
        )]
    } else {
        shared
    }
}

fn read_number(path: &str) -> Option<u64> {
    let text = std::fs::read(path).ok()?;
    std::str::from_utf8(text.trim_ascii()).ok()?.parse().ok()
}

/// User namespaces enabled, and not restricted by AppArmor.
fn kernel() -> Vec<Check> {
    let mut checks = Vec::new();
    match read_number("/proc/sys/user/max_user_namespaces") {
        Some(0) => checks.push(Check::problem(
            "userns",
            "user namespaces are disabled (user.max_user_namespaces = 0)".into(),
            "as root: sysctl -w user.max_user_namespaces=15000 (and set it in /etc/sysctl.d/)"
                .into(),
        )),
        Some(n) => checks.push(Check::ok(
            "userns",
            format!("user namespaces are enabled (user.max_user_namespaces = {n})"),
        )),
        None => checks.push(Check::problem(
            "userns",
            "this kernel has no /proc/sys/user/max_user_namespaces: it lacks user namespaces"
                .into(),
            "boot a kernel built with CONFIG_USER_NS=y".into(),
        )),
    }
    if read_number("/proc/sys/kernel/unprivileged_userns_clone") == Some(0) {
        checks.push(Check::problem(
            "userns",
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0)"
                .into(),
            "as root: sysctl -w kernel.unprivileged_userns_clone=1 (and set it in /etc/sysctl.d/)"
                .into(),
        ));
    }
    if environment::apparmor_restricts_userns() {
        checks.push(Check::problem(
            "apparmor",
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)".into(),
            "give the launcher an AppArmor profile with the userns rule (Ubuntu ships them for podman and buildah in /etc/apparmor.d/)".into(),
        ));
    }
    checks
}

/// no_new_privs, a tracer, the bounding set and the user namespace of the
/// process running doctor: a launcher started from here inherits them.
fn calling_context() -> Vec<Check> {
    let mut context = Context::read(IdKind::Uid);
    // The question is about the helpers a launcher would start from here,
    // not about subid's own file (never privileged, on any mount).
    context.exe_privileged = true;
    context.exe_nosuid = false;
    let gid_map =
        crate::parse::procfs::parse_map(&std::fs::read("/proc/self/gid_map").unwrap_or_default());
    let mut checks = Vec::new();
    let id = "context";
    if context.status.no_new_privs {
        checks.push(Check::problem(
            id,
            "this session has no_new_privs set, so the kernel ignores the helpers' setuid bit and file capabilities".into(),
            "start the session without no_new_privs (not under NoNewPrivileges=yes, allowPrivilegeEscalation: false or a seccomp sandbox)".into(),
        ));
    }
    let needed = [caps::Capability::CAP_SETUID, caps::Capability::CAP_SETGID];
    for (kind, map) in [
        (IdKind::Uid, context.uid_map.clone()),
        (IdKind::Gid, gid_map),
    ] {
        let mut one = context.clone();
        one.map = map;
        let Some(cause) = one.why_unprivileged(&needed, &[]) else {
            continue;
        };
        if checks.iter().all(|c: &Check| c.message != cause.what(kind)) {
            checks.push(Check::problem(id, cause.what(kind), cause.fix(kind)));
        }
        if !matches!(cause, environment::Cause::RootUnmapped { .. }) {
            break;
        }
    }
    // The same cause reads the same for both kinds except the map named.
    checks.dedup_by(|a, b| a.fix == b.fix && a.id == b.id);
    if checks.is_empty() {
        checks.push(Check::ok(
            id,
            "this session can run the helpers with their privilege (no no_new_privs, no tracer, full bounding set, initial user namespace or root mapped)".into(),
        ));
    }
    checks
}

/// Whether the helpers' audit lines reach a syslog daemon.
fn audit_trail() -> Check {
    let socket = std::os::unix::net::UnixDatagram::unbound();
    let listening = socket.and_then(|s| s.connect("/dev/log")).is_ok();
    if listening {
        Check::ok(
            "audit",
            "a syslog daemon listens on /dev/log: read the helpers' lines with journalctl -t newuidmap -t newgidmap, or in /var/log/auth.log".into(),
        )
    } else {
        Check::problem(
            "audit",
            "nothing listens on /dev/log, so the helpers' audit lines (every grant and refusal) are dropped".into(),
            "run a syslog daemon (systemd-journald, or apt install rsyslog), then read them with journalctl -t newuidmap or in /var/log/auth.log".into(),
        )
    }
}

fn render_text(subject: &Subject, checks: &[Check]) -> String {
    let mut out = format!(
        "subid doctor: rootless set-up of {} (UID {})\n",
        subject.name, subject.uid
    );
    for check in checks {
        if check.ok {
            out.push_str(&format!("ok       {}: {}\n", check.id, check.message));
        } else {
            out.push_str(&format!("PROBLEM  {}: {}\n", check.id, check.message));
            out.push_str(&format!("         fix: {}\n", check.fix));
        }
    }
    let problems = checks.iter().filter(|c| !c.ok).count();
    if problems == 0 {
        out.push_str("all checks passed\n");
    } else {
        out.push_str(&format!(
            "{problems} problem{} found\n",
            if problems == 1 { "" } else { "s" }
        ));
    }
    out
}

fn render_json(subject: &Subject, checks: &[Check]) -> String {
    let mut w = JsonWriter::default();
    w.open_object();
    w.key("user");
    w.string(&subject.name);
    w.key("uid");
    w.number(u64::from(subject.uid));
    w.key("ok");
    w.boolean(checks.iter().all(|c| c.ok));
    w.key("checks");
    w.open_array();
    for check in checks {
        w.open_object();
        w.key("check");
        w.string(check.id);
        w.key("ok");
        w.boolean(check.ok);
        w.key("message");
        w.string(&check.message);
        w.key("fix");
        w.string(&check.fix);
        w.close_object();
    }
    w.close_array();
    w.close_object();
    let mut text = w.finish();
    text.push('\n');
    text
}

/// True when `path` is on a mount with ST_NOSUID.
pub fn on_nosuid_mount(path: &Path) -> bool {
    nix::sys::statvfs::statvfs(path)
        .is_ok_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOSUID))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let subject = Subject {
            name: "alice".into(),
            uid: 1000,
            gid: 1000,
        };
        let checks = vec![
            Check::ok("audit", "fine".into()),
            Check::problem("newuidmap", "bad \"x\"".into(), "do y".into()),
        ];
        let text = render_text(&subject, &checks);
        assert!(text.contains("ok       audit: fine\n"), "{text}");
        assert!(text.contains("PROBLEM  newuidmap: bad \"x\"\n         fix: do y\n"));
        assert!(text.ends_with("1 problem found\n"));
        let json = render_json(&subject, &checks);
        assert!(
            json.starts_with(
                r#"{"user":"alice","uid":1000,"ok":false,"checks":[{"check":"audit","ok":true"#
            ),
            "{json}"
        );
        assert!(
            json.contains(r#""message":"bad \"x\"","fix":"do y"}"#),
            "{json}"
        );
    }
}
