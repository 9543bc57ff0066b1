//! The words about the caller's ranges: warnings while they are gathered,
//! and a refusal (what is owned, what is not covered, what to do).

use super::*;

/// Where the caller's subordinate IDs were looked for, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalReport {
    pub refusal: Refusal,
    pub user: String,
    pub owned: Vec<OwnedEntry>,
    pub broken: Vec<BrokenLine>,
    /// Lines meant for the caller whose owner field has a blank in it.
    pub near_misses: Vec<NearMiss>,
    /// Extra owned ranges from NSS modules, with the module's library name
    /// (`libsubid_sss.so`).
    pub module_ranges: Vec<(String, IdRange)>,
    /// Libraries of modules that were configured but could not answer.
    pub unavailable_modules: Vec<String>,
    /// Every unavailable module failed only because its service could not
    /// be reached (sssd not running), not because it could not be loaded.
    pub service_unreachable: bool,
    /// Where ranges were looked for, in order (`/etc/subuid`,
    /// `libsubid_sss.so`), when /etc/nsswitch.conf names a module; empty
    /// for the usual files-only configuration.
    pub sources: Vec<Source>,
}

impl From<GatherError> for Failure {
    fn from(error: GatherError) -> Failure {
        match error {
            GatherError::Config(error) => Failure::Config(error),
            GatherError::Read { path, errno } => Failure::SubidRead { path, errno },
        }
    }
}

impl RefusalReport {
    /// What a refusal message needs, from what was gathered (after
    /// [`Gathered::number_lines`]).
    pub fn new(refusal: Refusal, user: String, gathered: Gathered) -> RefusalReport {
        RefusalReport {
            refusal,
            user,
            owned: gathered.files.entries,
            broken: gathered.files.broken,
            near_misses: gathered.files.near_misses,
            module_ranges: gathered.modules,
            unavailable_modules: gathered.unavailable,
            service_unreachable: gathered.only_unreachable,
            sources: if gathered.with_modules {
                gathered.sources
            } else {
                Vec::new()
            },
        }
    }
}

impl Warning {
    /// The warning's line (the program name is put before it on output).
    pub fn line(&self, kind: IdKind) -> String {
        match self {
            Warning::NotAModuleName { text } => format!(
                "warning: {NSSWITCH_CONF}: ignoring subid source \"{}\" (not a module name)",
                escape(text)
            ),
            Warning::Unavailable {
                library,
                why,
                others,
            } => {
                let rest = if *others {
                    "using the other sources"
                } else {
                    "it is the only subid source in /etc/nsswitch.conf"
                };
                format!("warning: subid module {library} unavailable: {why}; {rest}")
            }
            Warning::IgnoredEntry {
                library,
                start,
                count,
            } => format!(
                "warning: {library} listed start {start} count {count}, which is not a valid {} range; ignored",
                kind.word()
            ),
            Warning::AskingEach { library } => format!(
                "warning: {library} could not list your ranges; asking it about each requested range"
            ),
        }
    }
}

pub(super) fn refusal_lines(kind: IdKind, report: &RefusalReport) -> Vec<String> {
    let seen = Consulted::of(report);
    let mut lines = vec![refusal_summary(kind, &report.refusal)];
    if seen.total == 0 {
        lines.push(nothing_owned(kind, report, &seen));
        lines.push(nothing_owned_fix(kind, report, &seen));
    } else {
        lines.extend(owned_lines(kind, report, &seen));
    }
    lines.extend(refusal_notes(kind, report, &seen));
    lines
}

/// What the refusal's words depend on: how much was found, and where.
struct Consulted<'a> {
    /// Ranges found, from the file and from modules.
    total: usize,
    /// nsswitch.conf names a module (the sources are then named).
    with_modules: bool,
    /// The subid file was among the sources.
    files_used: bool,
    /// Only sources that answered may be said to hold nothing: a module
    /// that could not be consulted is named in a note instead.
    answered: Vec<&'a str>,
}

impl Consulted<'_> {
    fn of(report: &RefusalReport) -> Consulted<'_> {
        let with_modules = !report.sources.is_empty();
        Consulted {
            total: report.owned.len() + report.module_ranges.len(),
            with_modules,
            files_used: !with_modules
                || report
                    .sources
                    .iter()
                    .any(|s| matches!(s, Source::Files { .. })),
            answered: report
                .sources
                .iter()
                .filter(|s| s.answered())
                .map(Source::name)
                .collect(),
        }
    }

    /// Modules were configured and none of them (nor the file) answered.
    fn nothing_answered(&self) -> bool {
        self.with_modules && self.answered.is_empty()
    }
}

/// shadow's words, so scripts that grep them still match.
fn refusal_summary(kind: IdKind, refusal: &Refusal) -> String {
    let t = refusal.triplet;
    let (inner, outer) = (
        t.inner_range().map_or_else(String::new, |r| r.display()),
        t.outer_range().map_or_else(String::new, |r| r.display()),
    );
    format!(
        "{} range {inner} -> {outer} not allowed (triplet {} \"{}\")",
        kind.word(),
        refusal.index + 1,
        t.display()
    )
}

fn nothing_owned(kind: IdKind, report: &RefusalReport, seen: &Consulted) -> String {
    let (user, upper) = (&report.user, kind.upper());
    if !seen.with_modules {
        format!(
            "{user} has no subordinate {upper}s in {}",
            kind.subid_path()
        )
    } else if seen.answered.is_empty() {
        format!(
            "{user}'s subordinate {upper}s could not be looked up: {} could not be consulted (see the warning above)",
            report.unavailable_modules.join(" and ")
        )
    } else {
        format!(
            "{user} has no subordinate {upper}s in {}",
            seen.answered.join(" or ")
        )
    }
}

fn nothing_owned_fix(kind: IdKind, report: &RefusalReport, seen: &Consulted) -> String {
    let user = &report.user;
    if seen.nothing_answered() {
        if report.service_unreachable {
            "retry once the identity service answers again (for SSSD: systemctl status sssd)".into()
        } else {
            "an administrator must install the module or correct the subid: line of /etc/nsswitch.conf"
                .into()
        }
    } else if seen.files_used {
        // Never a fixed range: the one useradd hands out first is likely
        // taken, and usermod does not check for overlaps. subid add picks
        // a free block under shadow's lock.
        if pasteable_owner(user) {
            format!("an administrator can add a free block with: subid add {user}")
        } else {
            "an administrator can add a free block with subid add and your login name".into()
        }
    } else {
        format!(
            "subordinate {}s come from {}: they are assigned in that identity service (e.g. FreeIPA), not here",
            kind.upper(),
            report
                .sources
                .iter()
                .map(Source::name)
                .collect::<Vec<_>>()
                .join(" and ")
        )
    }
}

/// The caller's ranges (at most six), then what the request lacks.
fn owned_lines(kind: IdKind, report: &RefusalReport, seen: &Consulted) -> Vec<String> {
    const SHOWN: usize = 6;
    let path = kind.subid_path();
    let mut listed: Vec<String> = report
        .owned
        .iter()
        .take(SHOWN)
        .map(|e| {
            if seen.with_modules {
                format!("{} {path} line {}", e.range.human(), e.line)
            } else {
                format!("{} line {}", e.range.human(), e.line)
            }
        })
        .collect();
    listed.extend(
        report
            .module_ranges
            .iter()
            .take(SHOWN.saturating_sub(listed.len()))
            .map(|(module, r)| format!("{} from {module}", r.human())),
    );
    let more = seen.total.saturating_sub(listed.len());
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    let refusal = &report.refusal;
    let lack = if refusal.partly_covered() {
        let gaps: Vec<String> = refusal
            .uncovered
            .iter()
            .take(4)
            .map(|g| g.human())
            .collect();
        format!("not covered: {}", gaps.join(", "))
    } else {
        let wanted = refusal
            .triplet
            .outer_range()
            .map_or_else(String::new, |r| r.human());
        format!("none of {wanted} is among them")
    };
    vec![
        format!(
            "subordinate {}s of {}: {}{more}",
            kind.upper(),
            report.user,
            listed.join(", ")
        ),
        lack,
    ]
}

/// Lines of the caller's that grant nothing, and modules not consulted.
fn refusal_notes(kind: IdKind, report: &RefusalReport, seen: &Consulted) -> Vec<String> {
    let (path, user) = (kind.subid_path(), &report.user);
    let mut lines: Vec<String> = report
        .broken
        .iter()
        .map(|broken| {
            format!(
                "note: {path} line {} names {user} but grants nothing: {}",
                broken.line,
                broken.problem.describe()
            )
        })
        .collect();
    lines.extend(report.near_misses.iter().map(|near| {
        format!(
            "note: {path} line {} has owner \"{}\", not {user}: with the blank it is nobody's, so it grants nothing; an administrator should correct the owner field to {user}",
            near.line,
            escape(&near.owner)
        )
    }));
    // When nothing answered, the lines above already name every module.
    if !(seen.total == 0 && seen.nothing_answered()) {
        lines.extend(report.unavailable_modules.iter().map(|module| {
            format!(
                "note: the subid module {module} was unavailable, so its ranges were not consulted (see the warning above)"
            )
        }));
    }
    lines
}

/// True when the (escaped) user name can be pasted into a shell command as
/// is and is one `subid add` accepts as an owner.
fn pasteable_owner(user: &str) -> bool {
    !user.is_empty()
        && !user.starts_with(['+', '-', '#'])
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b))
}
