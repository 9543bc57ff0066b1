//! The `subid` commands' options: one parser, each command naming the
//! options it accepts.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

use super::report::EXIT_USAGE;
use super::{PROGRAM, Paths};
use crate::act::output;
use crate::kind::IdKind;
use crate::parse::number::parse_u32;
use crate::parse::text::escape;

/// Options shared by the commands; each command says which it accepts.
#[derive(Debug, Default)]
pub(super) struct Options {
    pub(super) root: Option<PathBuf>,
    pub(super) subuid: Option<PathBuf>,
    pub(super) subgid: Option<PathBuf>,
    pub(super) passwd: Option<PathBuf>,
    pub(super) login_defs: Option<PathBuf>,
    pub(super) nsswitch: Option<PathBuf>,
    pub(super) json: bool,
    pub(super) group: bool,
    pub(super) uid_only: bool,
    pub(super) gid_only: bool,
    pub(super) count: Option<u32>,
    pub(super) another: bool,
    pub(super) positional: Vec<OsString>,
}

impl Options {
    pub(super) fn paths(&self) -> Paths {
        let mut paths = match &self.root {
            Some(root) => Paths::under(root),
            None => Paths::default(),
        };
        let set = |slot: &mut PathBuf, value: &Option<PathBuf>| {
            if let Some(value) = value {
                *slot = value.clone();
            }
        };
        set(&mut paths.subuid, &self.subuid);
        set(&mut paths.subgid, &self.subgid);
        set(&mut paths.passwd, &self.passwd);
        set(&mut paths.login_defs, &self.login_defs);
        set(&mut paths.nsswitch, &self.nsswitch);
        paths
    }

    pub(super) fn kinds(&self) -> Vec<IdKind> {
        match (self.uid_only, self.gid_only) {
            (true, false) => vec![IdKind::Uid],
            (false, true) => vec![IdKind::Gid],
            _ => vec![IdKind::Uid, IdKind::Gid],
        }
    }

    /// Records one option (`name`, with its value when it takes one);
    /// `bytes` is the argument as written, for the message.
    pub(super) fn set(
        &mut self,
        name: &str,
        value: Option<OsString>,
        bytes: &[u8],
    ) -> Result<(), String> {
        let path = || value.clone().map(PathBuf::from);
        match name {
            "--root" => self.root = path(),
            "--subuid" => self.subuid = path(),
            "--subgid" => self.subgid = path(),
            "--passwd" => self.passwd = path(),
            "--login-defs" => self.login_defs = path(),
            "--nsswitch" => self.nsswitch = path(),
            "--format" => {
                self.json = match value.as_ref().map(|v| v.as_bytes()) {
                    Some(b"json") => true,
                    Some(b"text") => false,
                    _ => return Err("--format takes text or json".into()),
                }
            }
            "--count" => {
                let count = value
                    .as_ref()
                    .and_then(|v| parse_u32(v.as_bytes()))
                    .filter(|&c| c > 0);
                match count {
                    Some(count) => self.count = Some(count),
                    None => return Err("--count takes a decimal number of at least 1".into()),
                }
            }
            "-g" => self.group = true,
            "--json" => self.json = true,
            "--uid-only" => self.uid_only = true,
            "--another" => self.another = true,
            "--gid-only" => self.gid_only = true,
            _ => return Err(format!("unknown option \"{}\"", escape(bytes))),
        }
        Ok(())
    }
}

pub(super) fn parse_options(args: &[OsString], accepted: &[&str]) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.iter();
    let mut only_positional = false;
    while let Some(arg) = args.next() {
        let bytes = arg.as_bytes();
        if only_positional || !bytes.starts_with(b"-") || bytes == b"-" {
            options.positional.push(arg.clone());
            continue;
        }
        if bytes == b"--" {
            only_positional = true;
            continue;
        }
        let (name, inline) = match bytes.iter().position(|&b| b == b'=') {
            Some(at) if bytes.starts_with(b"--") => (
                String::from_utf8_lossy(&bytes[..at]).into_owned(),
                Some(OsStr::from_bytes(&bytes[at + 1..]).to_os_string()),
            ),
            _ => (String::from_utf8_lossy(bytes).into_owned(), None),
        };
        if !accepted.contains(&name.as_str()) {
            return Err(format!("unknown option \"{}\"", escape(bytes)));
        }
        let takes_value = matches!(
            name.as_str(),
            "--root"
                | "--subuid"
                | "--subgid"
                | "--passwd"
                | "--login-defs"
                | "--nsswitch"
                | "--format"
                | "--count"
        );
        let value = if takes_value {
            match inline.or_else(|| args.next().cloned()) {
                Some(value) => Some(value),
                None => return Err(format!("{name} needs a value")),
            }
        } else if inline.is_some() {
            return Err(format!("{name} takes no value"));
        } else {
            None
        };
        options.set(&name, value, bytes)?;
    }
    if options.uid_only && options.gid_only {
        return Err("--uid-only and --gid-only exclude each other".into());
    }
    Ok(options)
}

const FILE_OPTIONS: [&str; 6] = [
    "--root",
    "--subuid",
    "--subgid",
    "--passwd",
    "--login-defs",
    "--nsswitch",
];

pub(super) fn accepted(extra: &[&'static str]) -> Vec<&'static str> {
    FILE_OPTIONS.iter().chain(extra).copied().collect()
}

pub(super) fn usage_error(message: &str) -> ExitCode {
    output::error_lines(
        PROGRAM,
        &[message.to_string(), "try 'subid --help'".to_string()],
    );
    ExitCode::from(EXIT_USAGE)
}
