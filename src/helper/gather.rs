//! Gathering the caller's subordinate ranges: all the I/O behind a
//! decision, and nothing else (no decision, no printing).
//!
//! Sources come from /etc/nsswitch.conf (`subid:`; none means /etc/subuid or
//! /etc/subgid only), consulted in order, the rest skipped once more ranges
//! cannot change the outcome ([`policy::settled`]). In the file, the fast
//! pass finds entries keyed by the caller's name or UID; only if the map is
//! still not allowed are other owners resolved (two accounts sharing a
//! UID). Modules are asked by user name with `list_owner_ranges`; a module
//! whose listing fails is asked `has_range` for each part still uncovered
//! at the end. Warnings come back as values (printed by the caller, after
//! the drop); line numbers, which only messages need, cost a second read of
//! the file ([`Gathered::number_lines`]), done only for a refusal or a dry
//! run's notes.

use std::fs::File;
use std::io::{Seek, SeekFrom};

use crate::act::config;
use crate::act::config::ConfigError;
use crate::act::nss::{Module, ModuleError};
use crate::decide::policy::{self, Coverage};
use crate::kind::IdKind;
use crate::parse::caller_entries::{
    OwnedEntry, OwnedScan, OwnerKey, OwnerMatch, scan_aliases, scan_direct, scan_direct_file,
};
use crate::parse::map::{IdRange, ValidMap};
use crate::parse::nsswitch::{SubidSource, library_name, subid_sources};
use crate::parse::passwd::{Account, UserDirectory};
use nix::errno::Errno;

/// The most `has_range` questions asked of one module whose listing failed.
const MAX_HAS_RANGE_QUERIES: usize = 1024;

/// What the gathering needs to know about the call.
pub struct Wanted<'a> {
    pub kind: IdKind,
    pub map: &'a ValidMap,
    /// The caller's real UID (newuidmap) or real GID (newgidmap).
    pub own_id: u32,
    pub account: &'a Account,
    pub directory: &'a dyn UserDirectory,
}

impl Wanted<'_> {
    /// Modules are asked by name, as shadow does; a name that cannot be
    /// matched exactly (not UTF-8) is never sent.
    fn module_owner(&self) -> Option<&str> {
        self.account
            .name
            .as_deref()
            .filter(|n| !n.is_empty() && !n.contains('\0'))
    }

    fn outer_ranges(&self) -> Vec<IdRange> {
        self.map
            .triplets()
            .iter()
            .filter_map(|t| t.outer_range())
            .collect()
    }
}

/// Whether a configured module could be consulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceState {
    Answered,
    /// Not loaded, its service unreachable, or it failed: its ranges are
    /// unknown, so it must never be said to hold none.
    Unavailable,
}

/// A place subordinate ranges were looked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// /etc/subuid or /etc/subgid.
    Files { path: &'static str },
    /// `libsubid_NAME.so`.
    Module { library: String, state: SourceState },
}

impl Source {
    pub fn name(&self) -> &str {
        match self {
            Source::Files { path } => path,
            Source::Module { library, .. } => library,
        }
    }

    pub fn answered(&self) -> bool {
        !matches!(
            self,
            Source::Module {
                state: SourceState::Unavailable,
                ..
            }
        )
    }
}

/// Why the ranges could not be gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatherError {
    /// The subid file is not trustworthy or cannot be opened.
    Config(ConfigError),
    /// Reading the (trusted, opened) subid file failed.
    Read { path: &'static str, errno: Errno },
}

/// Something the caller should know that does not stop the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A `subid:` word that is not a module name.
    NotAModuleName { text: Vec<u8> },
    /// A module could not be consulted; `others` when other sources remain.
    Unavailable {
        library: String,
        why: String,
        others: bool,
    },
    /// A module listed something that is not a valid range.
    IgnoredEntry {
        library: String,
        start: u64,
        count: u64,
    },
    /// A module's listing failed; it is asked about each range instead.
    AskingEach { library: String },
}

/// The caller's subordinate ranges, from every source consulted.
pub struct Gathered {
    /// Where ranges were looked for, in nsswitch.conf order.
    pub sources: Vec<Source>,
    /// nsswitch.conf names a module (otherwise every message stays exactly
    /// as for the files-only configuration).
    pub with_modules: bool,
    pub files: OwnedScan,
    /// (library, range) from modules.
    pub modules: Vec<(String, IdRange)>,
    /// Libraries that could not answer, in the order they failed.
    pub unavailable: Vec<String>,
    /// Every unavailable module failed only because its service could not
    /// be reached (SUBID_STATUS_ERROR_CONN).
    pub only_unreachable: bool,
    /// The subid file, kept open for the alias pass and the numbered read.
    file: Option<File>,
    key: OwnerKey,
    /// How many sources nsswitch.conf names.
    sources_configured: usize,
}

impl Gathered {
    pub fn coverage(&self) -> Coverage {
        let mut ranges = self.files.ranges();
        ranges.extend(self.modules.iter().map(|(_, r)| *r));
        Coverage::new(&ranges)
    }

    /// Which sources grant part of `outer`, for the dry run.
    pub fn granted_by(&self, kind: IdKind, outer: IdRange) -> Vec<String> {
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

    /// Reads the file again, numbering its lines (the fast pass does not):
    /// only a refusal and a dry run's notes print line numbers.
    pub fn number_lines(&mut self, kind: IdKind) -> Result<(), GatherError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(0)).map_err(read_error(kind))?;
        let aliases: Vec<OwnedEntry> = self
            .files
            .entries
            .drain(..)
            .filter(|e| e.matched == OwnerMatch::Alias)
            .collect();
        self.files = scan_direct(&mut *file, &self.key, true).map_err(read_error(kind))?;
        self.files.entries.extend(aliases);
        self.files.entries.sort_by_key(|e| e.line);
        Ok(())
    }

    fn settled(&self, wanted: &Wanted) -> bool {
        policy::settled(wanted.kind, wanted.map, wanted.own_id, &self.coverage())
    }

    fn mark_unavailable(
        &mut self,
        library: &str,
        error: &ModuleError,
        unreachable: bool,
        warnings: &mut Vec<Warning>,
    ) {
        self.unavailable_because(library, error.describe(), unreachable, warnings);
    }

    fn unavailable_because(
        &mut self,
        library: &str,
        why: String,
        unreachable: bool,
        warnings: &mut Vec<Warning>,
    ) {
        self.only_unreachable &= unreachable;
        warnings.push(Warning::Unavailable {
            library: library.to_string(),
            why,
            others: self.sources_configured > 1,
        });
        for source in &mut self.sources {
            if matches!(source, Source::Module { library: l, .. } if l == library) {
                *source = Source::Module {
                    library: library.to_string(),
                    state: SourceState::Unavailable,
                };
            }
        }
        if !self.unavailable.iter().any(|l| l == library) {
            self.unavailable.push(library.to_string());
        }
    }
}

fn read_error(kind: IdKind) -> impl Fn(std::io::Error) -> GatherError {
    move |e| GatherError::Read {
        path: kind.subid_path(),
        errno: crate::act::target::io_errno(&e),
    }
}

/// Gathers from the sources `nsswitch` (the text of /etc/nsswitch.conf)
/// names; warnings are appended to `warnings` even when this fails.
pub fn gather(
    wanted: &Wanted,
    nsswitch: &[u8],
    warnings: &mut Vec<Warning>,
) -> Result<Gathered, GatherError> {
    let (sources, problems) = subid_sources(nsswitch);
    warnings.extend(
        problems
            .into_iter()
            .map(|p| Warning::NotAModuleName { text: p.text }),
    );
    let mut gathered = Gathered {
        sources: Vec::new(),
        with_modules: sources.iter().any(|s| matches!(s, SubidSource::Module(_))),
        files: OwnedScan::default(),
        modules: Vec::new(),
        unavailable: Vec::new(),
        only_unreachable: true,
        file: None,
        key: OwnerKey::new(wanted.account.name.as_deref(), wanted.account.uid),
        sources_configured: sources.len(),
    };
    let mut fallback: Vec<Module> = Vec::new();
    for source in &sources {
        match source {
            SubidSource::Files => read_file(wanted.kind, &mut gathered)?,
            SubidSource::Module(name) => {
                if let Some(module) = list_module(wanted, name, &mut gathered, warnings) {
                    fallback.push(module);
                }
            }
        }
        if gathered.settled(wanted) {
            break;
        }
    }
    if !policy::allows(wanted.map, wanted.own_id, &gathered.coverage()) {
        add_aliases(wanted, &mut gathered)?;
    }
    if !gathered.settled(wanted)
        && let Some(owner) = wanted.module_owner()
    {
        for module in &fallback {
            ask_has_range(wanted, owner, module, &mut gathered, warnings);
        }
    }
    Ok(gathered)
}

/// The fast pass over /etc/subuid or /etc/subgid: the caller's name or UID.
fn read_file(kind: IdKind, gathered: &mut Gathered) -> Result<(), GatherError> {
    let path = kind.subid_path();
    gathered.sources.push(Source::Files { path });
    let opened = config::open_config(path).map_err(GatherError::Config)?;
    if let Some(opened) = &opened {
        gathered.files =
            scan_direct_file(&opened.file, opened.size, &gathered.key).map_err(read_error(kind))?;
    }
    gathered.file = opened.map(|opened| opened.file);
    Ok(())
}

/// Entries of other names with the caller's UID, for what is still refused.
fn add_aliases(wanted: &Wanted, gathered: &mut Gathered) -> Result<(), GatherError> {
    let Some(file) = gathered.file.as_mut() else {
        return Ok(());
    };
    let kind = wanted.kind;
    file.seek(SeekFrom::Start(0)).map_err(read_error(kind))?;
    let aliases = scan_aliases(
        &mut *file,
        &gathered.key,
        &wanted.outer_ranges(),
        wanted.directory,
    )
    .map_err(read_error(kind))?;
    if !aliases.is_empty() {
        gathered.files.entries.extend(aliases);
        gathered.files.entries.sort_by_key(|e| e.line);
    }
    Ok(())
}

/// Loads a module and asks for the caller's ranges. Returns the module when
/// its listing failed in a way `has_range` may still answer.
fn list_module(
    wanted: &Wanted,
    name: &str,
    gathered: &mut Gathered,
    warnings: &mut Vec<Warning>,
) -> Option<Module> {
    let library = library_name(name);
    gathered.sources.push(Source::Module {
        library: library.clone(),
        state: SourceState::Answered,
    });
    let Some(owner) = wanted.module_owner() else {
        let why = "your user name is not valid UTF-8".to_string();
        gathered.unavailable_because(&library, why, false, warnings);
        return None;
    };
    let module = match Module::load(name) {
        Ok(module) => module,
        Err(error) => {
            gathered.mark_unavailable(&library, &error, error.is_unreachable(), warnings);
            return None;
        }
    };
    match module.list(owner, wanted.kind) {
        Ok(listing) => {
            for &(start, count) in &listing.ignored {
                warnings.push(Warning::IgnoredEntry {
                    library: library.clone(),
                    start,
                    count,
                });
            }
            gathered
                .modules
                .extend(listing.ranges.into_iter().map(|r| (library.clone(), r)));
            None
        }
        Err(error) if error.is_unavailable() => {
            gathered.mark_unavailable(&library, &error, error.is_unreachable(), warnings);
            None
        }
        Err(_) => Some(module),
    }
}

/// Fallback for a module whose listing failed: asks `has_range` for each
/// part of each outer range that no source covers yet. Only whole parts
/// can be granted this way (the ABI has no "how much of this").
fn ask_has_range(
    wanted: &Wanted,
    owner: &str,
    module: &Module,
    gathered: &mut Gathered,
    warnings: &mut Vec<Warning>,
) {
    let library = module.library().to_string();
    warnings.push(Warning::AskingEach {
        library: library.clone(),
    });
    let mut asked = 0;
    for outer in wanted.outer_ranges() {
        for gap in gathered.coverage().uncovered(outer) {
            if asked == MAX_HAS_RANGE_QUERIES {
                return;
            }
            asked += 1;
            match module.has_range(owner, gap, wanted.kind) {
                Ok(true) => gathered.modules.push((library.clone(), gap)),
                Ok(false) => {}
                Err(error) => {
                    gathered.mark_unavailable(&library, &error, error.is_unreachable(), warnings);
                    return;
                }
            }
        }
    }
}
