//! newuidmap / newgidmap: the whole call, as small named steps.
//!
//! Order matters and is the security argument: harden, parse (pure), drop
//! to the caller keeping one capability (not effective), identify the
//! caller, open and check the target, decide from the configured sources,
//! then raise the capability, and write setgroups and the map.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{Seek, SeekFrom};
use std::process::ExitCode;

use caps::CapsHashSet;

use crate::audit::{self, Severity};
use crate::config::{self, LOGIN_DEFS};
use crate::directory::{Account, SystemDirectory, UserDirectory};
use crate::error::{Failure, OwnershipMismatch, RefusalReport, usage_line};
use crate::kind::IdKind;
use crate::logindefs::LoginDefs;
use crate::mapping::{IdRange, ValidMap};
use crate::output::{self, escape};
use crate::owned::{OwnedScan, OwnerKey, scan_aliases, scan_direct};
use crate::policy::{Coverage, Decision, decide};
use crate::privilege::{self, RealIds};
use crate::request::{self, Command, MapRequest};
use crate::target::Target;
use crate::write::{self, SetgroupsOutcome};

/// The entry point of both binaries.
pub fn main(kind: IdKind) -> ExitCode {
    output::install_panic_hook(kind.program());
    if let Err(error) = privilege::harden_process() {
        output::error_lines(kind.program(), &Failure::Privilege(error).lines(kind));
        return ExitCode::FAILURE;
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
            output::error_lines(kind.program(), &failure.lines(kind));
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Help => {
            output::to_stdout(help_text(kind).as_bytes());
            ExitCode::SUCCESS
        }
        Command::Version => {
            output::to_stdout(
                format!(
                    "{} (newidmap) {}\n",
                    kind.program(),
                    env!("CARGO_PKG_VERSION")
                )
                .as_bytes(),
            );
            ExitCode::SUCCESS
        }
        Command::Map(request) => {
            let mut call = Call::new(kind, &request);
            let result = call.run(&request);
            call.finish(result)
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
}

impl Call {
    fn new(kind: IdKind, request: &MapRequest) -> Call {
        Call {
            kind,
            ids: RealIds::current(),
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
        }
    }

    fn run(&mut self, request: &MapRequest) -> Result<(), Failure> {
        let kind = self.kind;
        let keep = if request.dry_run {
            privilege::drop_everything(self.ids).map_err(Failure::Privilege)?;
            CapsHashSet::new()
        } else {
            let keep = privilege::needed(kind, request.map.maps_outer_zero());
            privilege::check_available(&keep).map_err(Failure::Privilege)?;
            privilege::drop_to_caller(self.ids, &keep).map_err(Failure::Privilege)?;
            keep
        };
        let directory = SystemDirectory;
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
        let decision = decide_map(kind, &request.map, own_id, &account, &directory)?;
        let deny_setgroups = kind == IdKind::Gid && decision.needs_setgroups_deny();
        let Some(target) = target.filter(|_| !request.dry_run) else {
            print_dry_run(kind, &request.map, deny_setgroups);
            return Ok(());
        };
        privilege::raise_kept(&keep).map_err(Failure::Privilege)?;
        let pid = target.pid();
        if deny_setgroups {
            match write::deny_setgroups(&target) {
                Ok(SetgroupsOutcome::Unsupported) => crate::say!(
                    kind.program(),
                    "warning: this kernel has no /proc/PID/setgroups; nothing to deny"
                ),
                Ok(_) => {}
                Err(error) => return Err(Failure::Write { pid, error }),
            }
        }
        write::write_map(&target, kind, &request.map.render())
            .map_err(|error| Failure::Write { pid, error })
    }

    fn finish(&self, result: Result<(), Failure>) -> ExitCode {
        let program = self.kind.program();
        let lines = match &result {
            Ok(()) => Vec::new(),
            Err(failure) => failure.lines(self.kind),
        };
        output::error_lines(program, &lines);
        if !self.dry_run {
            let who = format!(
                "uid={} user={} target={}",
                self.ids.uid,
                self.user.as_deref().unwrap_or("?"),
                self.pid.map_or_else(|| "?".to_string(), |p| p.to_string())
            );
            match lines.first() {
                None => audit::log(
                    program,
                    Severity::Info,
                    &format!("{who} granted map={}", self.map),
                ),
                Some(reason) => audit::log(
                    program,
                    Severity::Notice,
                    &format!("{who} refused: {reason}"),
                ),
            }
        }
        if result.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
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

/// Reads the caller's subordinate ranges and decides. The fast pass finds
/// entries keyed by the caller's name or UID; only if that leaves the map
/// refused are other owners resolved (two accounts sharing a UID).
fn decide_map(
    kind: IdKind,
    map: &ValidMap,
    own_id: u32,
    account: &Account,
    directory: &dyn UserDirectory,
) -> Result<Decision, Failure> {
    let path = kind.subid_path();
    let read_error = |e: std::io::Error| Failure::SubidRead {
        path,
        errno: crate::target::io_errno(&e),
    };
    let key = OwnerKey::new(account.name.as_deref(), account.uid);
    let mut file = config::open_config(path).map_err(Failure::Config)?;
    let mut scan = match file.as_mut() {
        Some(file) => scan_direct(&mut *file, &key).map_err(read_error)?,
        None => OwnedScan::default(),
    };
    let first = decide(map, own_id, &Coverage::new(&scan.ranges()));
    let refusal = match first {
        Ok(decision) => return Ok(decision),
        Err(refusal) => refusal,
    };
    if let Some(file) = file.as_mut() {
        let wanted: Vec<IdRange> = map
            .triplets()
            .iter()
            .filter_map(|t| t.outer_range())
            .collect();
        file.seek(SeekFrom::Start(0)).map_err(read_error)?;
        let aliases = scan_aliases(&mut *file, &key, &wanted, directory).map_err(read_error)?;
        if !aliases.is_empty() {
            scan.entries.extend(aliases);
            scan.entries.sort_by_key(|e| e.line);
            if let Ok(decision) = decide(map, own_id, &Coverage::new(&scan.ranges())) {
                return Ok(decision);
            }
        }
    }
    let refusal = decide(map, own_id, &Coverage::new(&scan.ranges()))
        .err()
        .unwrap_or(refusal);
    Err(Failure::Refused(Box::new(RefusalReport {
        refusal,
        user: display_name(account),
        owned: scan.entries,
        broken: scan.broken,
        module_ranges: Vec::new(),
        unavailable_modules: Vec::new(),
    })))
}

fn print_dry_run(kind: IdKind, map: &ValidMap, deny_setgroups: bool) {
    let mut text = map.render();
    if kind == IdKind::Gid {
        let note: &[u8] = if deny_setgroups {
            b"# setgroups: deny (only your own GID is mapped)\n"
        } else {
            b"# setgroups: unchanged\n"
        };
        text.extend_from_slice(note);
    }
    output::to_stdout(&text);
}
