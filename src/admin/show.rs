//! `subid show` and `getsubids`: a user's ranges from every configured source.
//!
//! Output is shadow's `getsubids` format, `N: USER START COUNT`, N from 0,
//! USER exactly as given. An entry is the user's when its owner field is the
//! user's name as given or the decimal UID that name resolves to (what
//! getsubids and our helpers both accept). Only entries that parse are shown:
//! lines the helpers ignore (count 0, hex, trailing blanks as shadow sees
//! them...) would only mislead a client that maps what it is shown.
//!
//! Sources come from nsswitch.conf's `subid:` line through [`labelled_source_ranges`]:
//! files, and libsubid modules through [`crate::act::nss::module_ranges`] (asked
//! by user name, as shadow's libsubid does).

use std::io;
use std::path::Path;

use crate::kind::IdKind;
use crate::parse::map::IdRange;
use crate::parse::nsswitch::{SubidSource, subid_sources};
use crate::parse::number::push_decimal;
use crate::parse::subid::{Line, for_each_line, parse_line};

use super::Paths;

/// Whose ranges are wanted: the name as given, and the UID it resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    pub given: Vec<u8>,
    pub uid_text: Option<Vec<u8>>,
}

impl Who {
    pub fn new(given: &[u8], uid: Option<u32>) -> Who {
        Who {
            given: given.to_vec(),
            uid_text: uid.map(|uid| {
                let mut text = Vec::new();
                push_decimal(&mut text, uid);
                text
            }),
        }
    }

    pub fn owns(&self, owner: &[u8]) -> bool {
        owner == self.given.as_slice() || self.uid_text.as_deref() == Some(owner)
    }
}

/// The user's entries in one subid file with the line number of each, in
/// file order; none if it is absent.
pub fn file_lines(path: &Path, who: &Who) -> io::Result<Vec<(IdRange, usize)>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ranges = Vec::new();
    for_each_line(file, |line, raw| {
        if let Ok(raw) = raw
            && let Line::Entry { owner, range } = parse_line(raw)
            && who.owns(owner)
        {
            ranges.push((range, line));
        }
    })?;
    Ok(ranges)
}

#[derive(Debug)]
pub enum SourceError {
    /// An NSS module that could not be loaded or asked.
    Module(String, crate::act::nss::ModuleError),
    Read {
        path: String,
        error: io::Error,
    },
}

impl SourceError {
    pub fn message(&self) -> String {
        match self {
            SourceError::Module(name, error) => format!(
                "subid module {} unavailable: {}",
                crate::parse::nsswitch::library_name(name),
                error.describe()
            ),
            SourceError::Read { path, error } => format!("cannot read {path}: {error}"),
        }
    }
}

/// The ranges one source grants `who` (the switch point for NSS
/// modules), each with where it came from
/// (`/etc/subuid line 3`, `libsubid_sss.so`).
pub fn labelled_source_ranges(
    source: &SubidSource,
    kind: IdKind,
    who: &Who,
    paths: &Paths,
) -> Result<Vec<(IdRange, String)>, SourceError> {
    match source {
        SubidSource::Files => {
            let path = paths.subid(kind);
            let shown = path.display().to_string();
            file_lines(path, who)
                .map(|found| {
                    found
                        .into_iter()
                        .map(|(r, line)| (r, format!("{shown} line {line}")))
                        .collect()
                })
                .map_err(|error| SourceError::Read { path: shown, error })
        }
        SubidSource::Module(name) => {
            // Modules are asked by user name, as shadow's libsubid does.
            let owner = String::from_utf8_lossy(&who.given);
            let library = crate::parse::nsswitch::library_name(name);
            crate::act::nss::module_ranges(name, &owner, kind)
                .map(|found| found.into_iter().map(|r| (r, library.clone())).collect())
                .map_err(|error| SourceError::Module(name.clone(), error))
        }
    }
}

/// The configured sources: nsswitch.conf's `subid:` line, `files` by default.
pub fn configured_sources(paths: &Paths) -> Vec<SubidSource> {
    let text = std::fs::read(&paths.nsswitch).unwrap_or_default();
    subid_sources(&text).0
}

/// What [`user_ranges`] found.
#[derive(Debug, Default)]
pub struct Found {
    pub ranges: Vec<IdRange>,
    /// Where each of `ranges` came from (`/etc/subuid line 3`,
    /// `libsubid_sss.so`), index for index.
    pub sources: Vec<String>,
    /// Sources that could not be asked.
    pub problems: Vec<SourceError>,
    /// Sources that answered (a file path or `libsubid_NAME.so`), in order.
    pub answered: Vec<String>,
}

/// Ranges from every source in order, and messages about sources that
/// could not be asked. When a module cannot be loaded at all the files are
/// consulted, as shadow's libsubid does; a module that was loaded but
/// cannot answer (sssd not running) is an error, with no fallback, as in
/// shadow: the files are not what the administrator configured.
pub fn user_ranges(kind: IdKind, who: &Who, paths: &Paths) -> Found {
    let sources = configured_sources(paths);
    let mut found = Found::default();
    let mut files_asked = false;
    let ask = |source: &SubidSource, found: &mut Found| match labelled_source_ranges(
        source, kind, who, paths,
    ) {
        Ok(ranges) => {
            for (range, from) in ranges {
                found.ranges.push(range);
                found.sources.push(from);
            }
            found.answered.push(match source {
                SubidSource::Files => paths.subid(kind).display().to_string(),
                SubidSource::Module(name) => crate::parse::nsswitch::library_name(name),
            });
        }
        Err(e) => found.problems.push(e),
    };
    for source in &sources {
        files_asked |= *source == SubidSource::Files;
        ask(source, &mut found);
    }
    let not_loaded = found
        .problems
        .iter()
        .any(|p| matches!(p, SourceError::Module(_, e) if e.is_load_failure()));
    if !files_asked && not_loaded {
        ask(&SubidSource::Files, &mut found);
    }
    found
}

/// `subid show`'s output, for people, in the one range notation, with
/// where each range came from (`sources`, index for index with `ranges`):
///
/// ```text
/// subordinate UIDs of alice: 65536 IDs in 1 range
///   100000-165535 (65536 IDs)  /etc/subuid line 3
/// ```
pub fn render_human(kind: IdKind, user: &str, ranges: &[IdRange], sources: &[String]) -> String {
    let total: u64 = ranges.iter().map(|r| u64::from(r.count())).sum();
    let mut out = format!(
        "subordinate {}s of {user}: {total} ID{} in {} range{}\n",
        kind.upper(),
        if total == 1 { "" } else { "s" },
        ranges.len(),
        if ranges.len() == 1 { "" } else { "s" }
    );
    let width = ranges.iter().map(|r| r.human().len()).max().unwrap_or(0);
    for (range, source) in ranges.iter().zip(sources) {
        out.push_str(&format!("  {:<width$}  {source}\n", range.human()));
    }
    out
}

/// `0: alice 100000 65536\n` lines, as getsubids prints them.
pub fn render(user: &[u8], ranges: &[IdRange]) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, range) in ranges.iter().enumerate() {
        out.extend_from_slice(index.to_string().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(user);
        out.push(b' ');
        push_decimal(&mut out, range.start());
        out.push(b' ');
        push_decimal(&mut out, range.count());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_getsubids() {
        let ranges = [
            IdRange::new(100_000, 65_536).unwrap(),
            IdRange::new(5, 1).unwrap(),
        ];
        assert_eq!(
            render(b"alice", &ranges),
            b"0: alice 100000 65536\n1: alice 5 1\n"
        );
    }

    #[test]
    fn renders_for_people() {
        let ranges = [
            IdRange::new(100_000, 65_536).unwrap(),
            IdRange::new(5, 1).unwrap(),
        ];
        let sources = [
            "/etc/subuid line 3".to_string(),
            "libsubid_sss.so".to_string(),
        ];
        assert_eq!(
            render_human(IdKind::Uid, "alice", &ranges, &sources),
            "subordinate UIDs of alice: 65537 IDs in 2 ranges\n  100000-165535 (65536 IDs)  /etc/subuid line 3\n  5 (1 ID)                   libsubid_sss.so\n"
        );
    }

    #[test]
    fn owner_matching() {
        let who = Who::new(b"alice", Some(1000));
        assert!(who.owns(b"alice"));
        assert!(who.owns(b"1000"));
        assert!(!who.owns(b"alice2"));
        assert!(!who.owns(b"01000"));
        let numeric = Who::new(b"0", None);
        assert!(numeric.owns(b"0"));
        assert!(!numeric.owns(b"root"));
    }
}
