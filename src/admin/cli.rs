//! Command line of `subid` (and of `getsubids` when invoked under that name).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitCode;

use super::check::{Accounts, check_file};
use super::edit::{self, EditError};
use super::options::{Options, accepted, parse_options, usage_error};
use super::report::{EXIT_USAGE, Report};
use super::show::{self, Who};
use super::{PROGRAM, Paths};
use crate::act::accounts::SystemDirectory;
use crate::act::output;
use crate::kind::IdKind;
use crate::parse::logindefs::LoginDefs;
use crate::parse::map::IdRange;
use crate::parse::number::parse_u32;
use crate::parse::passwd::UserDirectory;
use crate::parse::text::escape;

const USAGE: &str = "\
Usage: subid check [--format text|json] [FILE OPTIONS]
       subid show [-g] [USER] [FILE OPTIONS]
       subid add USER [--count N | --another] [--uid-only|--gid-only] [FILE OPTIONS]
       subid remove USER [START:COUNT] [--uid-only|--gid-only] [FILE OPTIONS]
       subid doctor [USER] [--json]

Check and edit /etc/subuid and /etc/subgid, the subordinate ID ranges that
newuidmap and newgidmap enforce.

  check    report syntax errors, lines shadow reads differently, duplicates,
           overlaps between owners, unknown owners, ranges that include real
           account IDs, and insecure file permissions; exit 0 clean, 1 errors,
           2 warnings only, 3 bad command line
  show     print USER's ranges (default: you) and where each comes from;
           exit 1 if none (getsubids, the same program, keeps shadow's format)
  add      allocate the lowest free block of N IDs (default SUB_UID_COUNT)
           between SUB_UID_MIN and SUB_UID_MAX in both files; a user who
           already has ranges (useradd may have given them one) gets
           another block only with --another or an explicit --count
  remove   remove USER's entries (or only START:COUNT) from both files
  doctor   check everything a rootless launcher needs for USER (default: you;
           another user only as root): ranges, the helpers on PATH, the
           kernel, this session, the audit trail, and a live trial mapping a
           throwaway namespace; each problem with its fix; exit 0 all well, 1
           problems

FILE OPTIONS (default: the files in /etc):
  --root DIR          use DIR/etc/subuid, DIR/etc/subgid, ...
  --subuid FILE  --subgid FILE  --passwd FILE  --login-defs FILE
  --nsswitch FILE
";

const GETSUBIDS_USAGE: &str = "\
Usage: getsubids [-g] user
    list subuid ranges for user
    pass -g to list subgid ranges
";

/// Entry point of the `subid` binary.
pub fn main() -> ExitCode {
    output::install_panic_hook(PROGRAM);
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let rest: Vec<OsString> = args.collect();
    if Path::new(&argv0).file_name() == Some(OsStr::new("getsubids")) {
        return getsubids(&rest);
    }
    let Some(command) = rest.first() else {
        output::error_lines(PROGRAM, &["no command given".into()]);
        let _ = output::to_stdout(USAGE.as_bytes());
        return ExitCode::from(EXIT_USAGE);
    };
    let args = &rest[1..];
    match command.as_bytes() {
        b"check" => check(args),
        b"show" => show_command(args),
        b"add" => add(args),
        b"remove" => remove(args),
        b"doctor" => doctor(args),
        // The live trial's throwaway namespace (not a user command).
        b"__doctor-target" => super::doctor_trial::target_main(),
        b"-h" | b"--help" | b"help" => {
            let _ = output::to_stdout(USAGE.as_bytes());
            ExitCode::SUCCESS
        }
        b"--version" => {
            let _ = output::to_stdout(
                format!("subid (newidmap) {}\n", env!("CARGO_PKG_VERSION")).as_bytes(),
            );
            ExitCode::SUCCESS
        }
        other => usage_error(&format!("unknown command \"{}\"", escape(other))),
    }
}

fn doctor(args: &[OsString]) -> ExitCode {
    let options = match parse_options(args, &["--json"]) {
        Ok(options) => options,
        Err(message) => return usage_error(&message),
    };
    if options.positional.len() > 1 {
        return usage_error("doctor takes at most one user");
    }
    super::doctor::run(options.positional.first(), options.json)
}

fn check(args: &[OsString]) -> ExitCode {
    let options = match parse_options(args, &accepted(&["--format"])) {
        Ok(options) => options,
        Err(message) => return usage_error(&message),
    };
    if !options.positional.is_empty() {
        return usage_error("check takes no arguments besides options");
    }
    let paths = options.paths();
    let mut report = Report::default();
    let passwd = match std::fs::read(&paths.passwd) {
        Ok(text) => text,
        Err(e) => {
            output::error_lines(
                PROGRAM,
                &[format!(
                    "cannot read {}: {e}; owners and account IDs are not checked",
                    paths.passwd.display()
                )],
            );
            Vec::new()
        }
    };
    let accounts = Accounts::from_passwd(&passwd);
    let defs = LoginDefs::parse(&std::fs::read(&paths.login_defs).unwrap_or_default());
    for kind in [IdKind::Uid, IdKind::Gid] {
        let (summary, findings) = check_file(paths.subid(kind), kind, &accounts, &defs);
        report.files.push(summary);
        report.findings.extend(findings);
    }
    let text = if options.json {
        report.render_json()
    } else {
        report.render_text()
    };
    let _ = output::to_stdout(text.as_bytes());
    ExitCode::from(report.exit_status())
}

/// Resolves a user name to a UID: the `--passwd` file when one is given,
/// NSS otherwise.
fn uid_of(paths: &Paths, user: &[u8]) -> Option<u32> {
    if paths.passwd_is_system() {
        SystemDirectory::default().uid_by_name(user)
    } else {
        let text = std::fs::read(&paths.passwd).unwrap_or_default();
        Accounts::from_passwd(&text).uid_of(user)
    }
}

fn show_command(args: &[OsString]) -> ExitCode {
    let options = match parse_options(args, &accepted(&["-g"])) {
        Ok(options) => options,
        Err(message) => return usage_error(&message),
    };
    if options.positional.len() > 1 {
        return usage_error("show takes at most one user");
    }
    let paths = options.paths();
    let kind = if options.group {
        IdKind::Gid
    } else {
        IdKind::Uid
    };
    let user: Vec<u8> = match options.positional.first() {
        Some(user) => user.as_bytes().to_vec(),
        None => own_name(),
    };
    let uid = uid_of(&paths, &user);
    let who = Who::new(&user, uid);
    let found = show::user_ranges(kind, &who, &paths);
    let notes: Vec<String> = found.problems.iter().map(|p| p.message()).collect();
    output::error_lines(PROGRAM, &notes);
    // A numeric owner may stand for a UID without a passwd entry.
    let exists = uid.is_some() || parse_u32(&user).is_some();
    let accounts = if paths.passwd_is_system() {
        format!("{} or NSS", paths.passwd.display())
    } else {
        paths.passwd.display().to_string()
    };
    if found.ranges.is_empty() {
        let message = nothing_found(kind, &user, uid, &found, &accounts);
        output::error_lines(PROGRAM, &[message]);
        return ExitCode::FAILURE;
    }
    if !exists {
        output::error_lines(
            PROGRAM,
            &[format!(
                "note: no user \"{}\" in {accounts}: these entries are stale (fix: subid remove {})",
                escape(&user),
                escape(&user)
            )],
        );
    }
    let text = show::render_human(kind, &escape(&user), &found.ranges, &found.sources);
    let _ = output::to_stdout(text.as_bytes());
    ExitCode::SUCCESS
}

/// The caller's user name, or their UID in decimal when they have none.
fn own_name() -> Vec<u8> {
    let uid = nix::unistd::getuid().as_raw();
    match SystemDirectory::default().account_by_uid(uid) {
        Ok(Some(account)) => account.name.unwrap_or_else(|| uid.to_string()).into_bytes(),
        _ => uid.to_string().into_bytes(),
    }
}

/// `subid show`'s message when no source granted anything.
fn nothing_found(
    kind: IdKind,
    user: &[u8],
    uid: Option<u32>,
    found: &show::Found,
    accounts: &str,
) -> String {
    // A numeric owner may stand for a UID without a passwd entry.
    let exists = uid.is_some() || parse_u32(user).is_some();
    // Only sources that answered are said to hold nothing.
    let mut message = if !exists {
        format!(
            "no user \"{}\": not in {accounts}; check the spelling",
            escape(user)
        )
    } else if found.answered.is_empty() {
        format!(
            "the subordinate {}s of \"{}\" could not be looked up: no source answered",
            kind.upper(),
            escape(user)
        )
    } else {
        // A fix only when every source answered: one that could not be
        // consulted may hold the ranges.
        let fix = if uid.is_some() && found.problems.is_empty() {
            format!(
                " (fix, as root: subid add {} --{}-only)",
                escape(user),
                kind.word()
            )
        } else {
            String::new()
        };
        format!(
            "no subordinate {}s for \"{}\" in {}{fix}",
            kind.upper(),
            escape(user),
            found.answered.join(" or ")
        )
    };
    if exists && !found.problems.is_empty() && !found.answered.is_empty() {
        message.push_str(" (the sources above could not be consulted)");
    }
    message
}

/// shadow's getsubids, argument for argument: `[-g] user` or `-h`.
fn getsubids(args: &[OsString]) -> ExitCode {
    let usage = || {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), GETSUBIDS_USAGE.as_bytes());
        ExitCode::FAILURE
    };
    let Some(first) = args.first() else {
        return usage();
    };
    let (kind, owner) = if args.len() == 2 && first.as_bytes() == b"-g" {
        (IdKind::Gid, &args[1])
    } else if args.len() == 1 && first.as_bytes() == b"-h" {
        return usage();
    } else {
        (IdKind::Uid, first)
    };
    let paths = Paths::default();
    let user = owner.as_bytes();
    let who = Who::new(user, uid_of(&paths, user));
    let ranges = show::user_ranges(kind, &who, &paths).ranges;
    if ranges.is_empty() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), b"Error fetching ranges\n");
        return ExitCode::FAILURE;
    }
    let _ = output::to_stdout(&show::render(user, &ranges));
    ExitCode::SUCCESS
}

fn edit_user(options: &Options) -> Result<String, String> {
    let Some(user) = options.positional.first() else {
        return Err("which user?".into());
    };
    user.to_str()
        .map(str::to_string)
        .ok_or_else(|| "the user name is not valid UTF-8".into())
}

fn finish_edit(result: Result<Vec<String>, EditError>) -> ExitCode {
    match result {
        Ok(lines) => {
            let mut text = lines.join("\n");
            text.push('\n');
            let _ = output::to_stdout(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(EditError(message)) => {
            output::error_lines(PROGRAM, &[message]);
            ExitCode::FAILURE
        }
    }
}

fn add(args: &[OsString]) -> ExitCode {
    let options = match parse_options(
        args,
        &accepted(&["--count", "--another", "--uid-only", "--gid-only"]),
    ) {
        Ok(options) => options,
        Err(message) => return usage_error(&message),
    };
    if options.positional.len() != 1 {
        return usage_error("add takes exactly one user");
    }
    let user = match edit_user(&options) {
        Ok(user) => user,
        Err(message) => return usage_error(&message),
    };
    let paths = options.paths();
    let result = edit::add(
        &paths,
        &user,
        options.count,
        options.another,
        &options.kinds(),
    )
    .map(|added| {
        added
            .iter()
            .map(|(kind, range)| {
                format!(
                    "added {} for {user} to {} ({user}:{}:{})",
                    range.human(),
                    paths.subid(*kind).display(),
                    range.start(),
                    range.count(),
                )
            })
            .collect()
    });
    finish_edit(result)
}

fn remove(args: &[OsString]) -> ExitCode {
    let options = match parse_options(args, &accepted(&["--uid-only", "--gid-only"])) {
        Ok(options) => options,
        Err(message) => return usage_error(&message),
    };
    if options.positional.is_empty() || options.positional.len() > 2 {
        return usage_error("remove takes a user and optionally START:COUNT");
    }
    let user = match edit_user(&options) {
        Ok(user) => user,
        Err(message) => return usage_error(&message),
    };
    let range = match options.positional.get(1) {
        None => None,
        Some(text) => {
            let mut parts = text.as_bytes().splitn(2, |&b| b == b':');
            let start = parts.next().and_then(parse_u32);
            let count = parts.next().and_then(parse_u32);
            match start.zip(count).and_then(|(s, c)| IdRange::new(s, c)) {
                Some(range) => Some(range),
                None => {
                    return usage_error(&format!(
                        "\"{}\" is not a range: write START:COUNT, e.g. 100000:65536",
                        escape(text.as_bytes())
                    ));
                }
            }
        }
    };
    let paths = options.paths();
    let result = edit::remove(&paths, &user, range, &options.kinds()).map(|removed| {
        removed
            .iter()
            .map(|(kind, line, range)| {
                format!(
                    "removed {} of {user} from {} (line {line}, {user}:{}:{})",
                    range.human(),
                    paths.subid(*kind).display(),
                    range.start(),
                    range.count(),
                )
            })
            .collect()
    });
    finish_edit(result)
}
