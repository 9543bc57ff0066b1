//! newuidmap / newgidmap: the whole call, as small named steps.
//!
//! Order matters and is the security argument (SECURITY.md): harden, parse
//! (pure), drop to the caller keeping one capability (not effective),
//! identify the caller, open and verify the target, gather the caller's
//! ranges (all the I/O), decide once (pure), audit, then raise the
//! capability, write setgroups and the map, and clear every capability.

mod explain;
pub(crate) mod gather;
pub(crate) mod messages;

use std::ffi::OsString;

use caps::CapsHashSet;

use crate::act::accounts::SystemDirectory;
use crate::act::audit::{self, Severity};
use crate::act::config::{self, NSSWITCH_CONF};
use crate::act::output;
use crate::act::privilege::{self, PrivilegeError};
use crate::act::target::{Target, VerifiedTarget};
use crate::act::write::{self, SetgroupsOutcome};
use crate::decide::ownership::RealIds;
use crate::decide::policy::{self, Approved, Grant, SetgroupsAction};
use crate::helper::gather::{Gathered, Wanted};
use crate::helper::messages::{Failure, RefusalReport, usage_line};
use crate::kind::IdKind;
use crate::parse::map::ValidMap;
use crate::parse::passwd::{Account, UserDirectory};
use crate::parse::request::{self, Command, MapRequest};
use crate::parse::text::escape;

/// Exit statuses: 0 for a written map (or help), 1 for everything else.
const SUCCESS: i32 = 0;
const FAILURE: i32 = 1;

/// The entry point of both binaries (their C `main`, see [`crate::helper_main`]):
/// harden, parse, then the call ([`Call::run`]).
///
/// Nothing is printed while privileged: usage errors, `--help` and
/// `--version` are printed only after every privilege is dropped.
pub fn main(kind: IdKind) -> i32 {
    output::install_panic_hook(kind.program());
    let ids = RealIds::current();
    if let Err(error) = privilege::harden_process() {
        return fail_before_the_call(kind, ids, Failure::Privilege(error));
    }
    // argv[0] is skipped unread: it may be empty or anything the caller chose.
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let request = match request::parse(&args) {
        Ok(Command::Map(request)) => request,
        Ok(Command::Help) => return answer(ids, &help_text(kind)),
        Ok(Command::Version) => return answer(ids, &version_text(kind)),
        Err(request::ArgError::Usage(e)) => {
            return fail_before_the_call(kind, ids, Failure::Usage(e));
        }
        Err(request::ArgError::Map(e)) => return fail_before_the_call(kind, ids, Failure::Map(e)),
    };
    let mut call = Call::new(kind, ids, &request);
    let result = call.run(&request);
    call.finish(result, &request.map)
}

/// Hardening or parsing failed: every privilege dropped, then the message.
fn fail_before_the_call(kind: IdKind, ids: RealIds, failure: Failure) -> i32 {
    privilege::drop_before_output(ids, false);
    output::error_lines(kind.program(), &failure.lines(kind));
    FAILURE
}

/// `--help` or `--version`: every privilege dropped, then the text.
fn answer(ids: RealIds, text: &str) -> i32 {
    privilege::drop_before_output(ids, false);
    let _ = output::to_stdout(text.as_bytes());
    SUCCESS
}

fn version_text(kind: IdKind) -> String {
    format!(
        "{} (newidmap) {}\n",
        kind.program(),
        env!("CARGO_PKG_VERSION")
    )
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

    /// The call after parsing, step by step in SECURITY.md's order.
    fn run(&mut self, request: &MapRequest) -> Result<(), Failure> {
        let keep = self.drop_to_caller(request)?;
        let nsswitch = config::read_config(NSSWITCH_CONF).map_err(Failure::Config)?;
        let directory = SystemDirectory::configured(&nsswitch);
        let account = self.identify_caller(&directory)?;
        let target = self.open_and_verify_target(request, &account)?;
        let wanted = Wanted {
            kind: self.kind,
            map: &request.map,
            own_id: self.own_id(),
            account: &account,
            directory: &directory,
        };
        let gathered = self.gather(&wanted, &nsswitch)?;
        let (approved, gathered) = self.decide(&wanted, gathered)?;
        let Some(target) = target.filter(|_| !request.dry_run) else {
            return self.print_dry_run(&approved, gathered);
        };
        self.audit_granting();
        self.write(&keep, &target, &approved)
    }

    /// Becomes the caller before any file, lookup or /proc access, keeping
    /// only the capability the write needs (none for a dry run), not
    /// effective.
    fn drop_to_caller(&mut self, request: &MapRequest) -> Result<CapsHashSet, Failure> {
        let keep = if request.dry_run {
            privilege::drop_everything(self.ids).map_err(Failure::Privilege)?;
            CapsHashSet::new()
        } else {
            let keep = privilege::needed(self.kind, request.map.maps_outer_zero());
            // The missing capability is the failure being reported; the
            // report comes after the drop (`finish`).
            privilege::check_available(&keep).map_err(Failure::Privilege)?;
            privilege::drop_to_caller(self.ids, &keep).map_err(Failure::Privilege)?;
            keep
        };
        self.dropped = true;
        Ok(keep)
    }

    fn identify_caller(&mut self, directory: &dyn UserDirectory) -> Result<Account, Failure> {
        let uid = self.ids.uid;
        let account = match directory.account_by_uid(uid) {
            Ok(Some(account)) => account,
            Ok(None) => return Err(Failure::NoPasswdEntry { uid }),
            Err(error) => {
                return Err(Failure::PasswdLookup {
                    uid,
                    errno: error.0,
                });
            }
        };
        self.user = Some(display_name(&account));
        Ok(account)
    }

    /// `None` for a dry run's `-` target.
    fn open_and_verify_target(
        &mut self,
        request: &MapRequest,
        account: &Account,
    ) -> Result<Option<VerifiedTarget>, Failure> {
        let Some(target) = Target::open(request.target).map_err(Failure::Target)? else {
            return Ok(None);
        };
        self.pid = Some(target.pid());
        Ok(Some(target.verify(self.ids, account)?))
    }

    fn own_id(&self) -> u32 {
        match self.kind {
            IdKind::Uid => self.ids.uid,
            IdKind::Gid => self.ids.gid,
        }
    }

    /// The caller's ranges; its warnings are printed now (after the drop,
    /// nothing effective), also when the gathering failed.
    fn gather(&self, wanted: &Wanted, nsswitch: &[u8]) -> Result<Gathered, Failure> {
        let mut warnings = Vec::new();
        let gathered = gather::gather(wanted, nsswitch, &mut warnings).map_err(Failure::from);
        let lines: Vec<String> = warnings.iter().map(|w| w.line(self.kind)).collect();
        if !lines.is_empty() {
            output::error_lines(self.kind.program(), &lines);
        }
        gathered
    }

    /// The one decision, pure, on everything gathered. Only a refusal reads
    /// the file again for the line numbers its message names.
    fn decide(
        &self,
        wanted: &Wanted,
        mut gathered: Gathered,
    ) -> Result<(Approved, Gathered), Failure> {
        let coverage = gathered.coverage();
        match policy::decide(self.kind, wanted.map, wanted.own_id, &coverage) {
            Ok(approved) => Ok((approved, gathered)),
            Err(refusal) => {
                gathered.number_lines(self.kind)?;
                let user = display_name(wanted.account);
                let report = RefusalReport::new(refusal, user, gathered);
                Err(Failure::Refused(Box::new(report)))
            }
        }
    }

    /// The record goes out before the write: once the map is there, the
    /// caller (who may signal the helper: it runs as them) can no longer
    /// keep it from being logged.
    fn audit_granting(&mut self) {
        audit::log(
            self.kind.program(),
            Severity::Info,
            &format!("{} granting map={}", self.who(), self.map),
        );
        self.granting_sent = true;
    }

    /// The capability raised, the one write, every capability cleared.
    fn write(
        &mut self,
        keep: &CapsHashSet,
        target: &VerifiedTarget,
        approved: &Approved,
    ) -> Result<(), Failure> {
        privilege::raise_kept(keep).map_err(Failure::Privilege)?;
        let written = write::write(target, approved);
        // Every capability gone before anything else happens.
        let cleared = privilege::clear_all();
        let pid = target.pid();
        if written.map_err(|error| Failure::Write { pid, error })? == SetgroupsOutcome::Unsupported
        {
            self.deferred
                .push("warning: this kernel has no /proc/PID/setgroups; nothing to deny".into());
        }
        cleared.map_err(Failure::Privilege)
    }

    /// A dry run's answer is its output: if it cannot be printed, the call fails.
    fn print_dry_run(&self, approved: &Approved, mut gathered: Gathered) -> Result<(), Failure> {
        let kind = self.kind;
        let mut text = approved.map().render();
        if gathered.with_modules {
            gathered.number_lines(kind)?;
            for note in grant_notes(approved, &gathered) {
                text.extend_from_slice(note.as_bytes());
            }
        }
        if kind == IdKind::Gid {
            let note: &[u8] = match approved.setgroups() {
                SetgroupsAction::Deny => b"# setgroups: deny (only your own GID is mapped)\n",
                SetgroupsAction::Unchanged => b"# setgroups: unchanged\n",
            };
            text.extend_from_slice(note);
        }
        output::to_stdout(&text).map_err(|error| Failure::DryRunOutput {
            errno: crate::act::target::io_errno(&error),
        })
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
        let Err(mut failure) = result else {
            output::error_lines(program, &self.deferred);
            return SUCCESS;
        };
        privilege::drop_before_output(self.ids, self.dropped);
        if let Failure::Privilege(PrivilegeError::Missing { executable, .. }) = &mut failure {
            *executable = privilege::own_executable();
        }
        // Only a failure pays for the environment diagnosis, and it runs
        // with no capability left.
        let failure = explain::explain(self.kind, map, failure);
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

/// `# triplet N (i o c): granted by ...` for each triplet.
fn grant_notes(approved: &Approved, gathered: &Gathered) -> Vec<String> {
    let kind = approved.kind();
    approved
        .map()
        .triplets()
        .iter()
        .zip(approved.grants())
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
