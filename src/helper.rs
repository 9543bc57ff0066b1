//! newuidmap / newgidmap: the whole call, as small named steps.
//!
//! Order matters and is the security argument: harden, parse (pure), drop
//! to the caller keeping one capability (not effective), identify the
//! caller, open and check the target, decide from the configured sources,
//! then raise the capability, and write setgroups and the map.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{Seek, SeekFrom};

use caps::CapsHashSet;

use crate::audit::{self, Severity};
use crate::config::{self, LOGIN_DEFS, NSSWITCH_CONF};
use crate::directory::{Account, SystemDirectory, UserDirectory};
use crate::environment;
use crate::error::{Failure, OwnershipMismatch, RefusalReport, usage_line};
use crate::kind::IdKind;
use crate::logindefs::LoginDefs;
use crate::mapping::{IdRange, ValidMap};
use crate::nss::{self, Module};
use crate::nsswitch::{SubidSource, subid_sources};
use crate::output::{self, escape};
use crate::owned::{
    OwnedEntry, OwnedScan, OwnerKey, OwnerMatch, scan_aliases, scan_direct, scan_direct_file,
};
use crate::policy::{Coverage, Decision, Grant, decide};
use crate::privilege::{self, RealIds};
use crate::request::{self, Command, MapRequest};
use crate::target::Target;
use crate::write::{self, SetgroupsOutcome};

/// Exit statuses: 0 for a written map (or help), 1 for everything else.
const SUCCESS: i32 = 0;
const FAILURE: i32 = 1;

/// The entry point of both binaries (their C `main`, see [`crate::helper_main`]).
///
/// Nothing is printed while privileged: usage errors, `--help` and
/// `--version` are printed only after every privilege is dropped.
pub fn main(kind: IdKind) -> i32 {
    output::install_panic_hook(kind.program());
    let ids = RealIds::current();
    if let Err(error) = privilege::harden_process() {
        privilege::drop_before_output(ids, false);
        output::error_lines(kind.program(), &Failure::Privilege(error).lines(kind));
        return FAILURE;
    }
    // argv[0] is skipped unread: it may be empty or anything the caller chose.
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let command = match request::parse(&args) {
        Ok(command) => command,
        Err(error) => {
            let failure = match error {
                request::ArgError::Usage(e) => Failure::Usage(e),
                request::ArgError::Map(e) => Failure::Map(e),
            };
            privilege::drop_before_output(ids, false);
            output::error_lines(kind.program(), &failure.lines(kind));
            return FAILURE;
        }
    };
    match command {
        Command::Help => {
            privilege::drop_before_output(ids, false);
            let _ = output::to_stdout(help_text(kind).as_bytes());
            SUCCESS
        }
        Command::Version => {
            privilege::drop_before_output(ids, false);
            let _ = output::to_stdout(
                format!(
                    "{} (newidmap) {}\n",
                    kind.program(),
                    env!("CARGO_PKG_VERSION")
                )
                .as_bytes(),
            );
            SUCCESS
        }
        Command::Map(request) => {
            let mut call = Call::new(kind, ids, &request);
            let result = call.run(&request);
            call.finish(result, &request.map)
        }
    }
}

fn help_text(kind: IdKind) -> String {
    format!(
        "{usage}\n\n\
Write the {word} map of a process in a new user namespace, as allowed by\n\
{path} (or the subid sources named in /etc/nsswitch.conf).\n\n\
  <pid>       the target process; fd:N uses an open /proc/PID directory or pidfd\n\
  <inner>     first {upper} inside the namespace\n\
  <outer>     first {upper} outside (yours, or one of your subordinate {upper}s)\n\
  <count>     number of {upper}s\n\
  --dry-run   check everything, print the map that would be written, write nothing\n\
              (target - skips the checks that need a process)\n\n\
Exit status: 0 success, 1 failure (the reason is printed on stderr).\n",
        usage = usage_line(kind),
        word = kind.word(),
        upper = kind.upper(),
        path = kind.subid_path(),
    )
}

/// What the audit line needs, filled in as the call proceeds.
struct Call {
    kind: IdKind,
    ids: RealIds,
    user: Option<String>,
    pid: Option<u32>,
    dry_run: bool,
    /// The map as one line, `inner outer count` triplets separated by commas.
    map: String,
    /// The helper has become the caller (keeping at most the one capability).
    dropped: bool,
    /// The `granting` record has been sent: a failure from here on happened
    /// after the decision (raise, setgroups or the map write).
    granting_sent: bool,
    /// Warnings held back while a capability is effective.
    deferred: Vec<String>,
}

impl Call {
    fn new(kind: IdKind, ids: RealIds, request: &MapRequest) -> Call {
        Call {
            kind,
            ids,
            user: None,
            pid: None,
            dry_run: request.dry_run,
            map: request
                .map
                .triplets()
                .iter()
                .map(|t| t.display())
                .collect::<Vec<_>>()
                .join(","),
            dropped: false,
            granting_sent: false,
            deferred: Vec::new(),
        }
    }

    fn run(&mut self, request: &MapRequest) -> Result<(), Failure> {
        let kind = self.kind;
        let keep = if request.dry_run {
            privilege::drop_everything(self.ids).map_err(Failure::Privilege)?;
            CapsHashSet::new()
        } else {
            let keep = privilege::needed(kind, request.map.maps_outer_zero());
            // The missing capability is the failure being reported; the
            // report comes after the drop (`finish`).
            privilege::check_available(&keep).map_err(Failure::Privilege)?;
            privilege::drop_to_caller(self.ids, &keep).map_err(Failure::Privilege)?;
            keep
        };
        self.dropped = true;
        let nsswitch = config::read_config(NSSWITCH_CONF).map_err(Failure::Config)?;
        let directory = SystemDirectory::configured(&nsswitch);
        let account = identify_caller(&directory, self.ids)?;
        self.user = Some(display_name(&account));
        let target = Target::open(request.target).map_err(Failure::Target)?;
        if let Some(target) = &target {
            self.pid = Some(target.pid());
            check_ownership(target, self.ids, &account)?;
            if let Some(problem) = target
                .namespace_problem(self.ids.uid)
                .map_err(Failure::Target)?
            {
                return Err(Failure::Namespace {
                    pid: target.pid(),
                    problem,
                });
            }
        }
        let own_id = match kind {
            IdKind::Uid => self.ids.uid,
            IdKind::Gid => self.ids.gid,
        };
        let (decision, notes) = decide_map(
            kind,
            &request.map,
            own_id,
            &account,
            &directory,
            &nsswitch,
            request.dry_run,
        )?;
        let deny_setgroups = kind == IdKind::Gid && decision.needs_setgroups_deny();
        let Some(target) = target.filter(|_| !request.dry_run) else {
            return print_dry_run(kind, &request.map, deny_setgroups, &notes);
        };
        // The record goes out before the write: once the map is there, the
        // caller (who may signal the helper: it runs as them) can no longer
        // keep it from being logged.
        audit::log(
            kind.program(),
            Severity::Info,
            &format!("{} granting map={}", self.who(), self.map),
        );
        self.granting_sent = true;
        privilege::raise_kept(&keep).map_err(Failure::Privilege)?;
        let written = self.write(&target, deny_setgroups, &request.map);
        // Every capability gone before anything else happens.
        let cleared = privilege::clear_all();
        written?;
        cleared.map_err(Failure::Privilege)
    }

    /// setgroups (when needed) and the map, with the capability effective.
    fn write(
        &mut self,
        target: &Target,
        deny_setgroups: bool,
        map: &ValidMap,
    ) -> Result<(), Failure> {
        let kind = self.kind;
        let pid = target.pid();
        if deny_setgroups {
            match write::deny_setgroups(target) {
                Ok(SetgroupsOutcome::Unsupported) => self.deferred.push(
                    "warning: this kernel has no /proc/PID/setgroups; nothing to deny".into(),
                ),
                Ok(_) => {}
                Err(error) => return Err(Failure::Write { pid, error }),
            }
        }
        write::write_map(target, kind, &map.render()).map_err(|error| Failure::Write { pid, error })
    }

    fn who(&self) -> String {
        format!(
            "uid={} user={} target={}",
            self.ids.uid,
            self.user.as_deref().unwrap_or("?"),
            self.pid.map_or_else(|| "?".to_string(), |p| p.to_string())
        )
    }

    /// A granted map was logged before its write and printed nothing. A
    /// failure: every privilege dropped, then the record, then the message
    /// (so the caller's stderr cannot keep the record from being sent).
    fn finish(&self, result: Result<(), Failure>, map: &ValidMap) -> i32 {
        let program = self.kind.program();
        let Err(failure) = result else {
            output::error_lines(program, &self.deferred);
            return SUCCESS;
        };
        privilege::drop_before_output(self.ids, self.dropped);
        // Only a failure pays for the environment diagnosis, and it runs
        // with no capability left.
        let failure = environment::explain(self.kind, map, failure);
        let mut lines = failure.lines(self.kind);
        if !self.dry_run {
            let outcome = if self.granting_sent {
                "failed after granting"
            } else {
                "refused"
            };
            let reason = lines.first().map_or("", String::as_str);
            audit::log(
                program,
                Severity::Notice,
                &format!("{} {outcome}: {reason}", self.who()),
            );
        }
        let mut all = self.deferred.clone();
        all.append(&mut lines);
        output::error_lines(program, &all);
        FAILURE
    }
}

fn display_name(account: &Account) -> String {
    account
        .name
        .as_deref()
        .map_or_else(|| format!("UID {}", account.uid), |n| escape(n.as_bytes()))
}

fn identify_caller(directory: &dyn UserDirectory, ids: RealIds) -> Result<Account, Failure> {
    match directory.account_by_uid(ids.uid) {
        Ok(Some(account)) => Ok(account),
        Ok(None) => Err(Failure::NoPasswdEntry { uid: ids.uid }),
        Err(error) => Err(Failure::PasswdLookup {
            uid: ids.uid,
            errno: error.0,
        }),
    }
}

/// shadow's rule: the caller is their passwd entry, their real GID is its
/// GID (unless GRANT_AUX_GROUP_SUBIDS), and /proc/PID belongs to their real
/// UID and GID.
fn check_ownership(target: &Target, ids: RealIds, account: &Account) -> Result<(), Failure> {
    let (target_uid, target_gid) = target.owner().map_err(Failure::Target)?;
    let process_ok = ids.uid == account.uid && target_uid == ids.uid && target_gid == ids.gid;
    // login.defs is read only in the rare case it can change the answer.
    let group_ok = ids.gid == account.gid || grant_aux_group_subids()?;
    if process_ok && group_ok {
        return Ok(());
    }
    Err(Failure::Ownership(OwnershipMismatch {
        pid: target.pid(),
        target_uid,
        target_gid,
        real: ids,
        passwd_uid: account.uid,
        passwd_gid: account.gid,
        only_primary_group: process_ok && !group_ok,
    }))
}

fn grant_aux_group_subids() -> Result<bool, Failure> {
    let text = config::read_config(LOGIN_DEFS).map_err(Failure::Config)?;
    Ok(LoginDefs::parse(&text).grant_aux_group_subids)
}

/// The caller's subordinate ranges, from every source consulted so far.
#[derive(Default)]
struct Gathered {
    /// Where ranges were looked for, in nsswitch.conf order.
    sources: Vec<String>,
    /// True when nsswitch.conf names a module (otherwise the output stays
    /// exactly as for the files-only configuration).
    with_modules: bool,
    files: OwnedScan,
    /// (library, range) from modules.
    modules: Vec<(String, IdRange)>,
    /// Libraries that could not answer.
    unavailable: Vec<String>,
    /// True while every unavailable module failed only because its service
    /// could not be reached (SUBID_STATUS_ERROR_CONN).
    only_unreachable: bool,
    /// How many sources nsswitch.conf names.
    configured: usize,
}

impl Gathered {
    fn coverage(&self) -> Coverage {
        let mut ranges = self.files.ranges();
        ranges.extend(self.modules.iter().map(|(_, r)| *r));
        Coverage::new(&ranges)
    }

    /// Which sources grant part of `outer`, for the dry run.
    fn granted_by(&self, kind: IdKind, outer: IdRange) -> Vec<String> {
        let mut by: Vec<String> = self
            .files
            .entries
            .iter()
            .filter(|e| e.range.overlaps(outer))
            .map(|e| format!("{} line {}", kind.subid_path(), e.line))
            .collect();
        for (library, range) in &self.modules {
            if range.overlaps(outer) && !by.contains(library) {
                by.push(library.clone());
            }
        }
        by
    }

    fn unavailable(&mut self, kind: IdKind, library: &str, why: &str, unreachable: bool) {
        self.only_unreachable &= unreachable;
        let rest = if self.configured > 1 {
            "using the other sources"
        } else {
            "it is the only subid source in /etc/nsswitch.conf"
        };
        crate::say!(
            kind.program(),
            "warning: subid module {library} unavailable: {why}; {rest}"
        );
        if !self.unavailable.iter().any(|l| l == library) {
            self.unavailable.push(library.to_string());
        }
    }
}

/// True when more sources cannot change the outcome: allowed, and (for
/// newgidmap) already allowed through a subordinate range, so setgroups
/// stays as it is.
fn settled(kind: IdKind, result: &Result<Decision, crate::policy::Refusal>) -> bool {
    match result {
        Ok(decision) => kind == IdKind::Uid || !decision.needs_setgroups_deny(),
        Err(_) => false,
    }
}

/// The most `has_range` questions asked of one module whose listing failed.
const MAX_HAS_RANGE_QUERIES: usize = 1024;

/// Reads the caller's subordinate ranges from the sources named in
/// /etc/nsswitch.conf (`subid:`; none means /etc/subuid or /etc/subgid
/// only) and decides. A triplet is allowed when the union of what all
/// sources grant covers it. Sources are consulted in order and the rest
/// skipped once the outcome cannot change. In the file, the fast pass finds
/// entries keyed by the caller's name or UID; only if the map is still
/// refused are other owners resolved (two accounts sharing a UID). Modules
/// are asked by user name with `list_owner_ranges`; a module whose listing
/// fails is asked `has_range` for each part still uncovered at the end.
///
/// Returns the decision and, for a dry run with modules configured, one
/// comment line per triplet saying which source granted it.
fn decide_map(
    kind: IdKind,
    map: &ValidMap,
    own_id: u32,
    account: &Account,
    directory: &dyn UserDirectory,
    nsswitch: &[u8],
    dry_run: bool,
) -> Result<(Decision, Vec<String>), Failure> {
    let path = kind.subid_path();
    let read_error = |e: std::io::Error| Failure::SubidRead {
        path,
        errno: crate::target::io_errno(&e),
    };
    let (sources, problems) = subid_sources(nsswitch);
    for problem in &problems {
        crate::say!(
            kind.program(),
            "warning: {NSSWITCH_CONF}: ignoring subid source \"{}\" (not a module name)",
            escape(&problem.text)
        );
    }
    let key = OwnerKey::new(account.name.as_deref(), account.uid);
    // Modules are asked by name, as shadow does; a name that cannot be
    // matched exactly (not UTF-8) is never sent.
    let owner = account
        .name
        .as_deref()
        .filter(|n| !n.is_empty() && !n.contains('\0'));
    let mut gathered = Gathered {
        with_modules: sources.iter().any(|s| matches!(s, SubidSource::Module(_))),
        configured: sources.len(),
        only_unreachable: true,
        ..Gathered::default()
    };
    let mut file = None;
    let mut fallback: Vec<Module> = Vec::new();
    let mut result = decide(map, own_id, &Coverage::default());
    for source in &sources {
        match source {
            SubidSource::Files => {
                gathered.sources.push(path.to_string());
                let opened = config::open_config(path).map_err(Failure::Config)?;
                if let Some(opened) = &opened {
                    gathered.files =
                        scan_direct_file(&opened.file, opened.size, &key).map_err(read_error)?;
                }
                file = opened.map(|opened| opened.file);
            }
            SubidSource::Module(name) => {
                let library = nss::library_name(name);
                gathered.sources.push(library.clone());
                let Some(owner) = owner else {
                    gathered.unavailable(
                        kind,
                        &library,
                        "your user name is not valid UTF-8",
                        false,
                    );
                    continue;
                };
                let module = match Module::load(name) {
                    Ok(module) => module,
                    Err(error) => {
                        gathered.unavailable(
                            kind,
                            &library,
                            &error.describe(),
                            error.is_unreachable(),
                        );
                        continue;
                    }
                };
                match module.list(owner, kind) {
                    Ok(listing) => {
                        for (start, count) in &listing.ignored {
                            crate::say!(
                                kind.program(),
                                "warning: {library} listed start {start} count {count}, which is not a valid {} range; ignored",
                                kind.word()
                            );
                        }
                        gathered
                            .modules
                            .extend(listing.ranges.into_iter().map(|r| (library.clone(), r)));
                    }
                    Err(error) if error.is_unavailable() => {
                        gathered.unavailable(
                            kind,
                            &library,
                            &error.describe(),
                            error.is_unreachable(),
                        );
                    }
                    Err(_) => fallback.push(module),
                }
            }
        }
        result = decide(map, own_id, &gathered.coverage());
        if settled(kind, &result) {
            break;
        }
    }
    if result.is_err()
        && let Some(file) = file.as_mut()
    {
        let wanted: Vec<IdRange> = map
            .triplets()
            .iter()
            .filter_map(|t| t.outer_range())
            .collect();
        file.seek(SeekFrom::Start(0)).map_err(read_error)?;
        let aliases = scan_aliases(&mut *file, &key, &wanted, directory).map_err(read_error)?;
        if !aliases.is_empty() {
            gathered.files.entries.extend(aliases);
            gathered.files.entries.sort_by_key(|e| e.line);
            result = decide(map, own_id, &gathered.coverage());
        }
    }
    if !settled(kind, &result)
        && let Some(owner) = owner
    {
        for module in &fallback {
            ask_has_range(kind, map, owner, module, &mut gathered);
        }
        result = decide(map, own_id, &gathered.coverage());
    }
    // Line numbers appear only in refusals and in the dry run's per-source
    // notes; a granted call never reads the file twice.
    let wants_notes = dry_run && gathered.with_modules;
    if (result.is_err() || wants_notes)
        && let Some(file) = file.as_mut()
    {
        file.seek(SeekFrom::Start(0)).map_err(read_error)?;
        let aliases = gathered
            .files
            .entries
            .drain(..)
            .filter(|e| e.matched == OwnerMatch::Alias);
        let aliases: Vec<OwnedEntry> = aliases.collect();
        gathered.files = scan_direct(&mut *file, &key, true).map_err(read_error)?;
        gathered.files.entries.extend(aliases);
        gathered.files.entries.sort_by_key(|e| e.line);
    }
    match result {
        Ok(decision) => {
            let notes = if wants_notes {
                grant_notes(kind, map, &decision, &gathered)
            } else {
                Vec::new()
            };
            Ok((decision, notes))
        }
        Err(refusal) => Err(Failure::Refused(Box::new(RefusalReport {
            refusal,
            user: display_name(account),
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
        }))),
    }
}

/// Fallback for a module whose listing failed: asks `has_range` for each
/// part of each outer range that no source covers yet. Only whole parts
/// can be granted this way (the ABI has no "how much of this").
fn ask_has_range(
    kind: IdKind,
    map: &ValidMap,
    owner: &str,
    module: &Module,
    gathered: &mut Gathered,
) {
    let library = module.library().to_string();
    crate::say!(
        kind.program(),
        "warning: {library} could not list your ranges; asking it about each requested range"
    );
    let mut asked = 0;
    for triplet in map.triplets() {
        let Some(outer) = triplet.outer_range() else {
            continue;
        };
        for gap in gathered.coverage().uncovered(outer) {
            if asked == MAX_HAS_RANGE_QUERIES {
                return;
            }
            asked += 1;
            match module.has_range(owner, gap, kind) {
                Ok(true) => gathered.modules.push((library.clone(), gap)),
                Ok(false) => {}
                Err(error) => {
                    gathered.unavailable(kind, &library, &error.describe(), error.is_unreachable());
                    return;
                }
            }
        }
    }
}

/// `# triplet N (i o c): granted by ...` for each triplet.
fn grant_notes(
    kind: IdKind,
    map: &ValidMap,
    decision: &Decision,
    gathered: &Gathered,
) -> Vec<String> {
    map.triplets()
        .iter()
        .zip(&decision.grants)
        .enumerate()
        .map(|(index, (triplet, grant))| {
            let by = match (grant, triplet.outer_range()) {
                (Grant::Subordinate, Some(outer)) => gathered.granted_by(kind, outer).join(" + "),
                _ => format!("your own {}", kind.upper()),
            };
            format!(
                "# triplet {} ({}): granted by {by}\n",
                index + 1,
                triplet.display()
            )
        })
        .collect()
}

/// A dry run's answer is its output: if it cannot be printed, the call fails.
fn print_dry_run(
    kind: IdKind,
    map: &ValidMap,
    deny_setgroups: bool,
    notes: &[String],
) -> Result<(), Failure> {
    let mut text = map.render();
    for note in notes {
        text.extend_from_slice(note.as_bytes());
    }
    if kind == IdKind::Gid {
        let note: &[u8] = if deny_setgroups {
            b"# setgroups: deny (only your own GID is mapped)\n"
        } else {
            b"# setgroups: unchanged\n"
        };
        text.extend_from_slice(note);
    }
    output::to_stdout(&text).map_err(|error| Failure::DryRunOutput {
        errno: crate::target::io_errno(&error),
    })
}
