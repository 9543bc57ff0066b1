//! `subid`: the unprivileged administrator's tool for /etc/subuid and
//! /etc/subgid (issue 6). Never installed setuid.
//!
//! - [`check`]: every problem in the files, each with file:line and a fix.
//! - [`show`]: a user's ranges, printed as shadow's `getsubids` prints them
//!   (and `getsubids` itself when invoked under that name).
//! - [`doctor`]: a user's whole rootless set-up, checked line by line.
//! - [`edit`]: `add` / `remove`, under shadow's `FILE.lock` protocol
//!   ([`lock`]), writing through `FILE+`, fsync, rename and a `FILE-` backup.
//!
//! All parsing goes through [`crate::parse::subid`]; this tree adds no grammar.

pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod doctor;
pub(crate) mod doctor_setup;
pub(crate) mod doctor_trial;
pub(crate) mod edit;
pub(crate) mod json;
pub mod lock;
pub(crate) mod options;
pub(crate) mod report;
pub(crate) mod show;

use std::path::{Path, PathBuf};

use crate::kind::IdKind;

/// The program name used as the message prefix.
pub const PROGRAM: &str = "subid";

/// The files a command reads or writes. The defaults are the /etc files;
/// tests and chroots override them (`--root DIR` or one option per file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub subuid: PathBuf,
    pub subgid: PathBuf,
    pub passwd: PathBuf,
    pub login_defs: PathBuf,
    pub nsswitch: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths::under(Path::new("/"))
    }
}

impl Paths {
    /// The usual files below `root` (`/` for the running system).
    pub fn under(root: &Path) -> Paths {
        let etc = root.join("etc");
        Paths {
            subuid: etc.join("subuid"),
            subgid: etc.join("subgid"),
            passwd: etc.join("passwd"),
            login_defs: etc.join("login.defs"),
            nsswitch: etc.join("nsswitch.conf"),
        }
    }

    pub fn subid(&self, kind: IdKind) -> &Path {
        match kind {
            IdKind::Uid => &self.subuid,
            IdKind::Gid => &self.subgid,
        }
    }

    /// True when `path` is the running system's file for `kind`.
    pub fn is_system_file(path: &Path, kind: IdKind) -> bool {
        path == Path::new(kind.subid_path())
    }

    /// True when the passwd file is the system's, so NSS may be asked too.
    pub fn passwd_is_system(&self) -> bool {
        self.passwd == Path::new("/etc/passwd")
    }
}

/// shadow's defaults when login.defs does not set a key.
pub(crate) mod defaults {
    pub const UID_MIN: u32 = 1000;
    pub const UID_MAX: u32 = 60000;
    pub const SUB_MIN: u32 = 100_000;
    pub const SUB_MAX: u32 = 600_100_000;
    pub const SUB_COUNT: u32 = 65_536;
}

/// `KIND` word for file-level messages: `subuid` / `subgid`.
pub fn file_word(kind: IdKind) -> &'static str {
    match kind {
        IdKind::Uid => "subuid",
        IdKind::Gid => "subgid",
    }
}

pub use cli::main;
