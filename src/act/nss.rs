//! libsubid NSS modules: the `subid: NAME` sources of /etc/nsswitch.conf.
//!
//! A module NAME is the shared library `libsubid_NAME.so` (SSSD ships
//! `libsubid_sss.so`), found through the dynamic loader's normal search (the
//! ld.so cache and the trusted system directories; a setuid or
//! file-capability process ignores LD_LIBRARY_PATH). This module is the safe
//! face of the raw calls in `sys`: names are checked, owners converted,
//! statuses turned into [`ModuleError`], and the module's ranges into
//! [`IdRange`]s that the policy combines with /etc/subuid and /etc/subgid.
//!
//! The helpers load and query modules only after they have become the
//! caller (real, effective and saved IDs) with no effective capability, so
//! module code runs with the caller's privileges plus one capability in the
//! permitted set, the same state in which glibc already runs NSS modules for
//! the passwd lookup. A module could in principle raise that permitted
//! capability itself (it is code in our process); modules are installed by
//! root in the system library directories, so they are trusted like any
//! library the helper links. SSSD's module only talks to sssd_nss over its
//! public socket and needs no privilege.
//!
//! Symbols: `shadow_subid_has_range` and `shadow_subid_list_owner_ranges`
//! are required. `shadow_subid_free` is optional: SSSD exports it only from
//! 2.10.0, and with older modules (SSSD 2.8 in Debian 12, the 2.9 series)
//! the caller releases the returned array with libc free(), as shadow
//! before 4.16 does; `sys` picks the deallocator. Such modules are fully
//! supported, not "broken". `shadow_subid_find_subid_owners` is never
//! called (SSSD's always returns SUBID_STATUS_ERROR) and not required.
//!
//! Status codes (shadow's `enum subid_status`): SUCCESS is an answer;
//! UNKNOWN_USER is "this user has no ranges" (SSSD returns it for an
//! unknown user and for a user without ranges alike); ERROR_CONN means the
//! service behind the module is unreachable (SSSD: sssd not running), so
//! the module is unavailable and grants nothing; ERROR (or any other code)
//! from `list_owner_ranges` makes the caller fall back to `has_range` per
//! range (SSSD's `has_range` lists too, so it fails the same way there).
//! A module that could not be consulted is never reported as holding no
//! ranges for the user.

use std::ffi::CString;

use crate::kind::IdKind;
use crate::parse::map::{ID_LIMIT, IdRange};
use crate::parse::nsswitch::{is_module_name, library_name};
use crate::sys::{SubidLoadError, SubidModule};

const SUCCESS: i32 = 0;
const UNKNOWN_USER: i32 = 1;
const ERROR_CONN: i32 = 2;

/// Why a module gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleError {
    /// The module name is not `[A-Za-z0-9_.-]+` without a leading dot.
    BadName { name: String },
    /// The owner name cannot be passed to C (empty or contains NUL).
    BadOwner,
    /// dlopen failed.
    Load { library: String, message: String },
    /// A required symbol (`shadow_subid_has_range` or
    /// `shadow_subid_list_owner_ranges`) is missing.
    MissingSymbol {
        library: String,
        symbol: String,
        message: String,
    },
    /// The module returned SUBID_STATUS_ERROR_CONN.
    Unreachable { library: String },
    /// The module returned SUBID_STATUS_ERROR or an unknown status.
    Failed { library: String, status: i32 },
}

impl ModuleError {
    /// One line, naming the library and the error.
    pub fn describe(&self) -> String {
        match self {
            ModuleError::BadName { name } => format!(
                "\"{}\" is not a module name",
                crate::parse::text::escape(name.as_bytes())
            ),
            ModuleError::BadOwner => "the user name cannot be passed to a module".into(),
            ModuleError::Load { library, message } => {
                format!("cannot load {library}: {}", clean(message))
            }
            ModuleError::MissingSymbol {
                library,
                symbol,
                message,
            } => format!(
                "{library} does not provide {symbol} (not a libsubid module?): {}",
                clean(message)
            ),
            ModuleError::Unreachable { library } => {
                format!("{library} cannot reach its service (SUBID_STATUS_ERROR_CONN)")
            }
            ModuleError::Failed { library, status } => {
                format!("{library} failed ({})", status_name(*status))
            }
        }
    }

    /// True when the module could not be loaded at all (bad name, dlopen
    /// failure, missing symbol), as opposed to a module that was loaded and
    /// then failed to answer. shadow's libsubid uses the files instead in
    /// the first case only.
    pub fn is_load_failure(&self) -> bool {
        matches!(
            self,
            ModuleError::BadName { .. }
                | ModuleError::Load { .. }
                | ModuleError::MissingSymbol { .. }
        )
    }

    /// True when the module's service could not be reached.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ModuleError::Unreachable { .. })
    }

    /// True when the module as a whole cannot be used (as opposed to a
    /// failed listing, after which `has_range` is still worth asking).
    pub fn is_unavailable(&self) -> bool {
        !matches!(self, ModuleError::Failed { .. })
    }
}

/// dlerror text can name paths with odd bytes; keep it printable.
fn clean(message: &str) -> String {
    crate::parse::text::escape(message.as_bytes())
}

fn status_name(status: i32) -> String {
    match status {
        SUCCESS => "SUBID_STATUS_SUCCESS".into(),
        UNKNOWN_USER => "SUBID_STATUS_UNKNOWN_USER".into(),
        ERROR_CONN => "SUBID_STATUS_ERROR_CONN".into(),
        3 => "SUBID_STATUS_ERROR".into(),
        other => format!("unknown status {other}"),
    }
}

/// What `list_owner_ranges` returned, as valid ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    pub ranges: Vec<IdRange>,
    /// Entries that are not valid ranges of 32-bit IDs (count 0, start or
    /// count above 2^32-1, or reaching past 4294967294): never granted.
    pub ignored: Vec<(u64, u64)>,
}

/// Converts one module entry; `None` when it is not a usable range.
pub fn to_range(start: u64, count: u64) -> Option<IdRange> {
    if count == 0 || start.checked_add(count)? > ID_LIMIT {
        return None;
    }
    IdRange::new(u32::try_from(start).ok()?, u32::try_from(count).ok()?)
}

/// A loaded libsubid module.
pub struct Module {
    library: String,
    raw: SubidModule,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("library", &self.library)
            .finish()
    }
}

impl Module {
    /// Loads `libsubid_NAME.so` and resolves `shadow_subid_has_range` and
    /// `shadow_subid_list_owner_ranges`. `shadow_subid_free` is used when
    /// the module has it (SSSD 2.10+, shadow 4.16+ modules); older modules
    /// (SSSD 2.8, 2.9) leave the returned array to libc free(), as shadow
    /// before 4.16 does. `shadow_subid_find_subid_owners` is never called
    /// (SSSD's always fails) and not required.
    pub fn load(name: &str) -> Result<Module, ModuleError> {
        if !is_module_name(name.as_bytes()) {
            return Err(ModuleError::BadName { name: name.into() });
        }
        let library = library_name(name);
        let c_library = CString::new(library.clone())
            .map_err(|_| ModuleError::BadName { name: name.into() })?;
        match SubidModule::load(&c_library) {
            Ok(raw) => Ok(Module { library, raw }),
            Err(SubidLoadError::Open(message)) => Err(ModuleError::Load { library, message }),
            Err(SubidLoadError::Symbol(symbol, message)) => Err(ModuleError::MissingSymbol {
                library,
                symbol,
                message,
            }),
        }
    }

    /// `libsubid_NAME.so`.
    pub fn library(&self) -> &str {
        &self.library
    }

    fn owner(owner: &str) -> Result<CString, ModuleError> {
        if owner.is_empty() {
            return Err(ModuleError::BadOwner);
        }
        CString::new(owner).map_err(|_| ModuleError::BadOwner)
    }

    fn error(&self, status: i32) -> ModuleError {
        if status == ERROR_CONN {
            ModuleError::Unreachable {
                library: self.library.clone(),
            }
        } else {
            ModuleError::Failed {
                library: self.library.clone(),
                status,
            }
        }
    }

    /// The ranges of `kind` delegated to the user NAMED `owner`.
    /// UNKNOWN_USER counts as "no ranges".
    pub fn list(&self, owner: &str, kind: IdKind) -> Result<Listing, ModuleError> {
        let owner = Module::owner(owner)?;
        let pairs = match self.raw.list_owner_ranges(&owner, kind.subid_type()) {
            Ok(pairs) => pairs,
            Err(UNKNOWN_USER) => Vec::new(),
            Err(status) => return Err(self.error(status)),
        };
        let mut listing = Listing::default();
        for (start, count) in pairs {
            match to_range(start, count) {
                Some(range) => listing.ranges.push(range),
                None => listing.ignored.push((start, count)),
            }
        }
        Ok(listing)
    }

    /// Whether the module delegates all of `range` to `owner`.
    /// UNKNOWN_USER counts as "no".
    pub fn has_range(
        &self,
        owner: &str,
        range: IdRange,
        kind: IdKind,
    ) -> Result<bool, ModuleError> {
        let owner = Module::owner(owner)?;
        let answer = self.raw.has_range(
            &owner,
            u64::from(range.start()),
            u64::from(range.count()),
            kind.subid_type(),
        );
        match answer {
            Ok(yes) => Ok(yes),
            Err(UNKNOWN_USER) => Ok(false),
            Err(status) => Err(self.error(status)),
        }
    }
}

/// A user's ranges of `kind` from module `name` (the word in nsswitch.conf,
/// e.g. `sss`), for tools such as `subid show`. `owner` is the user NAME, as
/// shadow passes it. Entries that are not valid 32-bit ranges are dropped.
/// Only `list_owner_ranges` is used: a module that cannot list returns
/// [`ModuleError::Failed`]. The caller decides what privilege to hold while
/// module code runs (the helpers call modules only after dropping to the
/// caller).
pub fn module_ranges(name: &str, owner: &str, kind: IdKind) -> Result<Vec<IdRange>, ModuleError> {
    Ok(Module::load(name)?.list(owner, kind)?.ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_must_fit_32_bits() {
        assert_eq!(to_range(100_000, 65_536), IdRange::new(100_000, 65_536));
        assert_eq!(to_range(100_000, 0), None);
        assert_eq!(to_range(1 << 32, 1), None);
        assert_eq!(to_range(0, 1 << 32), None);
        assert_eq!(to_range(u64::MAX, 2), None);
        assert_eq!(to_range(4_294_967_294, 1), IdRange::new(4_294_967_294, 1));
        assert_eq!(to_range(4_294_967_295, 1), None);
    }

    #[test]
    fn names_never_become_paths() {
        for bad in ["", ".x", "../x", "a/b", "a b", "a\0b"] {
            assert!(matches!(
                Module::load(bad),
                Err(ModuleError::BadName { .. })
            ));
        }
        assert_eq!(library_name("sss"), "libsubid_sss.so");
    }

    #[test]
    fn missing_module_is_a_load_error() {
        let error = Module::load("newidmap-no-such-module").unwrap_err();
        assert!(matches!(error, ModuleError::Load { .. }));
        assert!(error.is_unavailable());
        assert!(
            error
                .describe()
                .starts_with("cannot load libsubid_newidmap-no-such-module.so: ")
        );
    }
}
