//! Every way a helper call can fail, and the words for it.
//!
//! Messages carry fixed text, numbers and escaped strings only. The first
//! line is the summary (it also goes to the audit log); the lines after it
//! say what to do. Nothing about other users' entries is ever printed.

mod process;
mod ranges;

use crate::act::config::{ConfigError, ConfigProblem, NSSWITCH_CONF};
use crate::act::environment::Cause;
use crate::act::privilege::PrivilegeError;
use crate::act::target::{FdProblem, NamespaceProblem, Rejection, TargetError};
use crate::act::write::{WriteCause, WriteError};
use crate::decide::ownership::OwnershipMismatch;
use crate::decide::policy::Refusal;
use crate::helper::gather::{GatherError, Gathered, Source, Warning};
use crate::kind::IdKind;
use crate::parse::caller_entries::{BrokenLine, NearMiss, OwnedEntry};
use crate::parse::map::{IdRange, MAX_LINES, MAX_MAP_BYTES, MapError};
use crate::parse::request::UsageError;
use crate::parse::text::escape;
use caps::Capability;
use nix::errno::Errno;
use process::namespace_lines;
use process::ownership_lines;
use process::target_lines;
use process::write_lines;
pub use ranges::RefusalReport;
use ranges::refusal_lines;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    Usage(UsageError),
    Map(MapError),
    Privilege(PrivilegeError),
    NoPasswdEntry {
        uid: u32,
    },
    PasswdLookup {
        uid: u32,
        errno: Errno,
    },
    Config(ConfigError),
    SubidRead {
        path: &'static str,
        errno: Errno,
    },
    Target(TargetError),
    Namespace {
        pid: u32,
        problem: NamespaceProblem,
    },
    Ownership(OwnershipMismatch),
    Refused(Box<RefusalReport>),
    Write {
        pid: u32,
        error: WriteError,
    },
    /// A dry run's map could not be printed.
    DryRunOutput {
        errno: Errno,
    },
    /// `seen` happened, and the calling environment explains it (a traced
    /// or namespaced caller, a nosuid mount...): the message leads with
    /// that cause and its fix instead of blaming the install or the files.
    Environment {
        cause: Cause,
        seen: Box<Failure>,
    },
}

pub fn usage_line(kind: IdKind) -> String {
    format!(
        "usage: {} [--dry-run] <pid|fd:N|-> <inner> <outer> <count> [<inner> <outer> <count>]...",
        kind.program()
    )
}

fn errno_text(errno: Errno) -> String {
    format!("{} ({})", errno.desc(), errno as i32)
}

fn capability_name(cap: Capability) -> String {
    cap.to_string().to_lowercase()
}

impl Failure {
    /// The message: summary first, then at most a handful of hint lines.
    pub fn lines(&self, kind: IdKind) -> Vec<String> {
        match self {
            Failure::Usage(error) => vec![usage_problem(error), usage_line(kind)],
            Failure::Map(error) => vec![map_problem(error)],
            Failure::Privilege(error) => privilege_lines(kind, error),
            Failure::NoPasswdEntry { uid } => vec![format!(
                "cannot determine your user name: UID {uid} has no passwd entry"
            )],
            Failure::PasswdLookup { uid, errno } => vec![format!(
                "cannot determine your user name: looking up UID {uid} failed: {}",
                errno_text(*errno)
            )],
            Failure::Config(error) => config_lines(error),
            Failure::SubidRead { path, errno } => {
                vec![format!("cannot read {path}: {}", errno_text(*errno))]
            }
            Failure::DryRunOutput { errno } => vec![format!(
                "dry run: cannot print the map on standard output: {}",
                errno_text(*errno)
            )],
            Failure::Target(error) => target_lines(error),
            Failure::Namespace { pid, problem } => namespace_lines(kind, *pid, *problem),
            Failure::Ownership(mismatch) => ownership_lines(mismatch),
            Failure::Refused(report) => refusal_lines(kind, report),
            Failure::Write { pid, error } => write_lines(kind, *pid, error),
            Failure::Environment { cause, seen } => environment_lines(kind, cause, seen),
        }
    }
}

/// The seen failure's own words first where shadow has words for it (the
/// map write) or where the project always had them (a missing capability),
/// then the cause; otherwise the cause first, since it is what the audit
/// line should record.
fn environment_lines(kind: IdKind, cause: &Cause, seen: &Failure) -> Vec<String> {
    let seen_first = seen.lines(kind).into_iter().next().unwrap_or_default();
    match seen {
        Failure::Privilege(PrivilegeError::Missing { .. }) => {
            vec![
                format!("{seen_first}: {}", cause.what(kind)),
                cause.fix(kind),
            ]
        }
        Failure::Write { .. } => vec![seen_first, cause.what(kind), cause.fix(kind)],
        _ => vec![
            cause.what(kind),
            format!("(what failed: {seen_first})"),
            cause.fix(kind),
        ],
    }
}

fn usage_problem(error: &UsageError) -> String {
    match error {
        UsageError::NoTarget => "missing target process".into(),
        UsageError::NoTriplets => {
            "missing map: give at least one <inner> <outer> <count> triplet".into()
        }
        UsageError::TripletCount { given } => format!(
            "the map needs numbers in groups of three (<inner> <outer> <count>), got {given}"
        ),
        UsageError::BadTarget { text } => format!(
            "bad target \"{}\": expected a process ID (1-2147483647), fd:N, or - with --dry-run",
            escape(text)
        ),
        UsageError::DashWithoutDryRun => "target - is only allowed with --dry-run".into(),
        UsageError::BadNumber {
            triplet,
            field,
            text,
        } => format!(
            "bad {} \"{}\" in triplet {}: expected a plain decimal number from 0 to 4294967295",
            field.name(),
            escape(text),
            triplet + 1
        ),
        UsageError::UnknownOption { text } => format!("unknown option \"{}\"", escape(text)),
    }
}

fn map_problem(error: &MapError) -> String {
    match error {
        MapError::ZeroCount { index, triplet } => {
            format!(
                "triplet {} \"{}\" has count 0",
                index + 1,
                triplet.display()
            )
        }
        MapError::PastLimit {
            index,
            triplet,
            side,
        } => format!(
            "triplet {} \"{}\": the {} range reaches past 4294967294, the largest mappable ID",
            index + 1,
            triplet.display(),
            side.word()
        ),
        MapError::TooManyLines { lines } => {
            format!("{lines} triplets requested; the kernel accepts at most {MAX_LINES}")
        }
        MapError::TooManyBytes { bytes } => format!(
            "the map would be {bytes} bytes; the kernel accepts at most {MAX_MAP_BYTES} (use fewer or shorter triplets)"
        ),
        MapError::Overlap {
            side,
            first,
            second,
        } => format!(
            "triplets {} \"{}\" and {} \"{}\" have overlapping {} ranges; each ID may be mapped once",
            first.0 + 1,
            first.1.display(),
            second.0 + 1,
            second.1.display(),
            side.word()
        ),
    }
}

fn privilege_lines(kind: IdKind, error: &PrivilegeError) -> Vec<String> {
    match error {
        PrivilegeError::Step { step, errno } => {
            vec![format!(
                "cannot set up privileges: {step} failed: {}",
                errno_text(*errno)
            )]
        }
        PrivilegeError::Verify { what } => vec![format!(
            "refusing to continue: {what} differ from what was set (privilege drop not verified)"
        )],
        PrivilegeError::Missing {
            missing,
            no_new_privs,
            executable,
        } => {
            let path = executable
                .as_deref()
                .map_or_else(|| format!("/usr/bin/{}", kind.program()), escape);
            let names: Vec<String> = missing.iter().map(|c| capability_name(*c)).collect();
            let mut lines = vec![format!("this helper lacks {}", names.join(" and "))];
            if *no_new_privs {
                lines.push(
                    "the calling process has no_new_privs set, so the kernel ignored the setuid bit and file capabilities; run it from a context without no_new_privs (e.g. not under NoNewPrivileges=yes or a seccomp sandbox)"
                        .into(),
                );
            } else if missing.contains(&Capability::CAP_SETFCAP) && missing.len() == 1 {
                lines.push(format!(
                    "mapping outer UID 0 needs cap_setfcap as well: setcap {},cap_setfcap+ep {}",
                    kind.capability_name(),
                    path
                ));
            } else {
                lines.push(format!(
                    "install it setuid root (chown root:root {path} && chmod u+s {path}) or with a file capability (setcap {}+ep {path})",
                    kind.capability_name()
                ));
            }
            lines
        }
    }
}

fn config_lines(error: &ConfigError) -> Vec<String> {
    let path = error.path;
    let summary = match error.problem {
        ConfigProblem::Open(errno) => format!("cannot open {path}: {}", errno_text(errno)),
        ConfigProblem::Unreadable { mode, uid, gid } => format!(
            "cannot read {path}: it is mode {mode:04o}, owner UID {uid} GID {gid}, and the helpers read it as you, not as root"
        ),
        ConfigProblem::Read(errno) => format!("cannot read {path}: {}", errno_text(errno)),
        ConfigProblem::NotRegular => format!("refusing {path}: not a regular file"),
        ConfigProblem::NotOwnedByRoot { uid } => {
            format!("refusing {path}: owned by UID {uid}, not root")
        }
        ConfigProblem::WritableByOthers { mode } => {
            format!("refusing {path}: writable by others (mode {mode:04o})")
        }
        ConfigProblem::WritableByGroup { mode, gid } => {
            format!("refusing {path}: writable by group {gid} (mode {mode:04o})")
        }
    };
    let mut lines = vec![summary];
    if let ConfigProblem::Unreadable { .. } = error.problem {
        lines.push(format!(
            "an administrator should make it readable, as shadow's tools create it: chmod 644 {path}"
        ));
    } else if !matches!(
        error.problem,
        ConfigProblem::Open(_) | ConfigProblem::Read(_)
    ) {
        lines.push(format!(
            "an administrator should fix it: chown root:root {path} && chmod 644 {path}"
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helper::gather::SourceState;
    use crate::parse::caller_entries::OwnerMatch;
    use crate::parse::map::{Side, Triplet};
    use crate::parse::subid::LineProblem;

    fn r(start: u32, count: u32) -> IdRange {
        IdRange::new(start, count).unwrap()
    }

    fn t(inner: u32, outer: u32, count: u32) -> Triplet {
        Triplet {
            inner,
            outer,
            count,
        }
    }

    fn entry(range: IdRange, line: usize) -> OwnedEntry {
        OwnedEntry {
            range,
            line,
            matched: OwnerMatch::Direct,
        }
    }

    fn files() -> Source {
        Source::Files {
            path: "/etc/subuid",
        }
    }

    fn sss(state: SourceState) -> Source {
        Source::Module {
            library: "libsubid_sss.so".into(),
            state,
        }
    }

    /// A refusal of triplet 2 `1 200000 10`, with nothing owned.
    fn report(uncovered: Vec<IdRange>) -> RefusalReport {
        RefusalReport {
            refusal: Refusal {
                index: 1,
                triplet: t(1, 200_000, 10),
                uncovered,
            },
            user: "alice".into(),
            owned: Vec::new(),
            broken: Vec::new(),
            module_ranges: Vec::new(),
            unavailable_modules: Vec::new(),
            service_unreachable: false,
            near_misses: Vec::new(),
            sources: Vec::new(),
        }
    }

    fn lines(kind: IdKind, report: RefusalReport) -> Vec<String> {
        Failure::Refused(Box::new(report)).lines(kind)
    }

    #[test]
    fn refusal_with_nothing_owned_names_the_fix() {
        assert_eq!(
            lines(IdKind::Uid, report(vec![r(200_000, 10)])),
            vec![
                "uid range [1-11) -> [200000-200010) not allowed (triplet 2 \"1 200000 10\")",
                "alice has no subordinate UIDs in /etc/subuid",
                "an administrator can add a free block with: subid add alice",
            ]
        );
        let gid = lines(IdKind::Gid, report(vec![r(200_000, 10)]));
        assert_eq!(
            gid[0],
            "gid range [1-11) -> [200000-200010) not allowed (triplet 2 \"1 200000 10\")"
        );
        assert_eq!(gid[1], "alice has no subordinate GIDs in /etc/subgid");
        // A name that would not paste safely into a shell is not printed
        // as a command.
        let mut odd = report(vec![r(200_000, 10)]);
        odd.user = "a b;c".into();
        assert_eq!(
            lines(IdKind::Uid, odd)[2],
            "an administrator can add a free block with subid add and your login name"
        );
    }

    #[test]
    fn refusal_with_modules_names_the_sources() {
        let mut only_sss = report(vec![r(200_000, 10)]);
        only_sss.sources = vec![sss(SourceState::Answered)];
        assert_eq!(
            lines(IdKind::Uid, only_sss)[1..],
            [
                "alice has no subordinate UIDs in libsubid_sss.so",
                "subordinate UIDs come from libsubid_sss.so: they are assigned in that identity service (e.g. FreeIPA), not here",
            ]
        );
        // A module that could not answer is not said to hold nothing.
        let mut both = report(vec![r(200_000, 10)]);
        both.sources = vec![files(), sss(SourceState::Unavailable)];
        both.unavailable_modules = vec!["libsubid_sss.so".into()];
        let text = lines(IdKind::Uid, both);
        assert_eq!(text[1], "alice has no subordinate UIDs in /etc/subuid");
        assert_eq!(
            text[2],
            "an administrator can add a free block with: subid add alice"
        );
        assert_eq!(
            text[3],
            "note: the subid module libsubid_sss.so was unavailable, so its ranges were not consulted (see the warning above)"
        );
        assert_eq!(text.len(), 4);
        // Nothing could be consulted at all.
        for (unreachable, hint) in [
            (
                true,
                "retry once the identity service answers again (for SSSD: systemctl status sssd)",
            ),
            (
                false,
                "an administrator must install the module or correct the subid: line of /etc/nsswitch.conf",
            ),
        ] {
            let mut none = report(vec![r(200_000, 10)]);
            none.sources = vec![sss(SourceState::Unavailable)];
            none.unavailable_modules = vec!["libsubid_sss.so".into()];
            none.service_unreachable = unreachable;
            assert_eq!(
                lines(IdKind::Uid, none)[1..],
                [
                    "alice's subordinate UIDs could not be looked up: libsubid_sss.so could not be consulted (see the warning above)",
                    hint,
                ]
            );
        }
    }

    #[test]
    fn refusal_lists_what_is_owned_and_the_gaps() {
        let mut partly = report(vec![r(200_000, 5)]);
        partly.owned = vec![entry(r(200_005, 100), 3), entry(r(7, 1), 9)];
        partly.broken = vec![BrokenLine {
            line: 4,
            problem: LineProblem::ZeroCount,
        }];
        assert_eq!(
            lines(IdKind::Uid, partly)[1..],
            [
                "subordinate UIDs of alice: 200005-200104 (100 IDs) line 3, 7 (1 ID) line 9",
                "not covered: 200000-200004 (5 IDs)",
                "note: /etc/subuid line 4 names alice but grants nothing: count is 0",
            ]
        );
        let mut none = report(vec![r(200_000, 10)]);
        none.owned = vec![entry(r(100_000, 65_536), 2)];
        none.module_ranges = vec![("libsubid_sss.so".into(), r(300_000, 2))];
        none.sources = vec![files(), sss(SourceState::Answered)];
        assert_eq!(
            lines(IdKind::Gid, none)[1..],
            [
                "subordinate GIDs of alice: 100000-165535 (65536 IDs) /etc/subgid line 2, 300000-300001 (2 IDs) from libsubid_sss.so",
                "none of 200000-200009 (10 IDs) is among them",
            ]
        );
    }

    #[test]
    fn refusal_shows_six_ranges_and_four_gaps() {
        let mut many = report((0..6).map(|i| r(200_000 + 2 * i, 1)).collect());
        many.owned = (0..7)
            .map(|i| entry(r(10 * i, 1), i as usize + 1))
            .collect();
        many.module_ranges = vec![("libsubid_x.so".into(), r(500, 1))];
        let text = lines(IdKind::Uid, many);
        assert_eq!(
            text[1],
            "subordinate UIDs of alice: 0 (1 ID) line 1, 10 (1 ID) line 2, 20 (1 ID) line 3, 30 (1 ID) line 4, 40 (1 ID) line 5, 50 (1 ID) line 6 and 2 more"
        );
        assert_eq!(
            text[2],
            "not covered: 200000 (1 ID), 200002 (1 ID), 200004 (1 ID), 200006 (1 ID)"
        );
        // Five owned and two module ranges: one module range shown.
        let mut mixed = report(vec![r(200_000, 10)]);
        mixed.owned = (0..5).map(|i| entry(r(10 * i, 1), 1)).collect();
        mixed.module_ranges = vec![
            ("libsubid_a.so".into(), r(500, 1)),
            ("libsubid_b.so".into(), r(600, 1)),
        ];
        let text = lines(IdKind::Uid, mixed);
        assert!(
            text[1].ends_with(", 500 (1 ID) from libsubid_a.so and 1 more"),
            "{}",
            text[1]
        );
        assert!(!text[1].contains("libsubid_b.so"));
    }

    #[test]
    fn usage_and_map_texts() {
        let usage = Failure::Usage(UsageError::BadNumber {
            triplet: 0,
            field: crate::parse::request::Field::Count,
            text: b"0x10".to_vec(),
        })
        .lines(IdKind::Uid);
        assert_eq!(
            usage,
            vec![
                "bad count \"0x10\" in triplet 1: expected a plain decimal number from 0 to 4294967295",
                "usage: newuidmap [--dry-run] <pid|fd:N|-> <inner> <outer> <count> [<inner> <outer> <count>]...",
            ]
        );
        let map = Failure::Map(MapError::Overlap {
            side: Side::Outer,
            first: (0, t(0, 100, 10)),
            second: (2, t(20, 105, 1)),
        })
        .lines(IdKind::Gid);
        assert_eq!(
            map,
            vec![
                "triplets 1 \"0 100 10\" and 3 \"20 105 1\" have overlapping outer ranges; each ID may be mapped once"
            ]
        );
        let past = Failure::Map(MapError::PastLimit {
            index: 0,
            triplet: t(4_294_967_290, 0, 6),
            side: Side::Inner,
        })
        .lines(IdKind::Uid);
        assert_eq!(
            past,
            vec![
                "triplet 1 \"4294967290 0 6\": the inner range reaches past 4294967294, the largest mappable ID"
            ]
        );
    }
}
