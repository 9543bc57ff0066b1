//! How an end-to-end test runs: the one CI-skip rule, the helpers under test
//! (ours, or Debian's shadow with `IDMAP_UNDER_TEST=shadow`), and the macros
//! that turn one body into one `#[test]` per install mode, named after the
//! function so that a failure names its test and its mode.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::OnceLock;

use super::Install;
use super::compliance;

/// True when the suite runs under CI, where nothing may skip: `CI` is set
/// to anything but "", "0" or "false" (GitHub and GitLab set `true`, some
/// others `1`).
pub fn in_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")))
}

/// Says why `test` does not run; under CI a skip would hide a failure, so it
/// fails instead. The one skip rule of the suite.
pub fn skip(test: &str, why: &str) {
    assert!(!in_ci(), "{test}: {why}, and CI forbids skipping");
    eprintln!("SKIPPED {test}: {why}");
}

/// Whose `newuidmap`/`newgidmap` the end-to-end cases run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnderTest {
    /// This crate's helpers (the default).
    Ours,
    /// Debian's shadow helpers from the `uidmap` package, installed the same
    /// two ways: the compliance run (see compliance.rs).
    Shadow,
}

/// `IDMAP_UNDER_TEST`: unset, empty or `ours` for ours; `shadow` for shadow's.
pub fn under_test() -> UnderTest {
    static CHOICE: OnceLock<UnderTest> = OnceLock::new();
    *CHOICE.get_or_init(|| match std::env::var("IDMAP_UNDER_TEST").as_deref() {
        Err(_) | Ok("" | "ours") => UnderTest::Ours,
        Ok("shadow") => UnderTest::Shadow,
        Ok(other) => panic!("IDMAP_UNDER_TEST={other:?}: expected `ours` or `shadow`"),
    })
}

/// True when our own helpers are under test: only then is the exact wording
/// of a message checked (shadow's behaviour is compared, not its text).
pub fn ours() -> bool {
    under_test() == UnderTest::Ours
}

/// Runs one end-to-end test called `name` (`file::test`, plus `::setuid` or
/// `::fcaps` when it runs once per mode). Skips without root (see `skip`).
/// Against shadow, a test listed in compliance.rs must fail, and any other
/// must pass: a listed test that passes is a stale listing and fails the run.
pub fn run_case(name: &str, install: Option<Install>, body: impl FnOnce()) {
    let full = match install {
        Some(install) => format!("{name}::{install}"),
        None => name.to_string(),
    };
    if !super::privileged(&full) {
        return;
    }
    if ours() {
        return body();
    }
    let listed = compliance::difference(name, install);
    match (listed, catch_unwind(AssertUnwindSafe(body))) {
        (None, Ok(())) => {}
        (None, Err(panic)) => {
            eprintln!(
                "{full}: fails against shadow and is not listed in tests/common/compliance.rs"
            );
            resume_unwind(panic)
        }
        (Some(why), Err(panic)) => {
            // A broken harness is no difference from shadow.
            if panic_message(panic.as_ref()).starts_with(HARNESS_FAILURE) {
                eprintln!("{full}: the harness failed, not the helper");
                resume_unwind(panic)
            }
            eprintln!("COMPLIANCE {full}: differs from shadow, as listed: {why}")
        }
        (Some(why), Ok(())) => panic!(
            "{full}: listed in tests/common/compliance.rs as a difference ({why}), but it passes against shadow: the listing is stale"
        ),
    }
}

/// How `Case::run` starts its panic when the case's script itself failed
/// (no overlay, no target): under the shadow switch such a failure is
/// never counted as a listed difference.
pub const HARNESS_FAILURE: &str = "harness script failed";

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("")
}

/// One `#[test]` per install mode for each function:
/// `per_mode! { fn own_id(install) { ... } }` makes the module `own_id`
/// with the tests `own_id::setuid` and `own_id::fcaps`, each running the
/// body with its `Install` (names derive from the function: nothing to
/// drift). `fn own_id(install, test)` also binds `test` to the function's
/// name, for labels and skip messages. The body sees the enclosing file's
/// items.
#[macro_export]
macro_rules! per_mode {
    ($( $(#[$meta:meta])* fn $name:ident($install:ident $(, $test:ident)?) $body:block )*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_variables)]
            fn body($install: $crate::common::Install $(, $test: &'static str)?) $body

            #[test]
            fn setuid() {
                let install = $crate::common::Install::Setuid;
                $crate::common::run_case(module_path!(), Some(install), || {
                    body(install $(, { let _ = stringify!($test); stringify!($name) })?)
                });
            }

            #[test]
            fn fcaps() {
                let install = $crate::common::Install::Fcaps;
                $crate::common::run_case(module_path!(), Some(install), || {
                    body(install $(, { let _ = stringify!($test); stringify!($name) })?)
                });
            }
        }
    )*};
}

/// One `#[test]` per row per mode: `rows! { fn check; name: (a, b); ... }`
/// makes `name::setuid` and `name::fcaps`, each calling `check(install, a, b)`.
/// A table of cases whose every row is its own test, so a failure (or a
/// difference from shadow) names the row.
/// `rows! { fn check(name); ... }` also passes the row's name:
/// `check(install, "name", a, b)`.
#[macro_export]
macro_rules! rows {
    (fn $check:ident; $( $(#[$meta:meta])* $name:ident: ($($arg:expr),* $(,)?); )*) => {
        $crate::per_mode! { $( $(#[$meta])* fn $name(install) { $check(install, $($arg),*) } )* }
    };
    (fn $check:ident(name); $( $(#[$meta:meta])* $name:ident: ($($arg:expr),* $(,)?); )*) => {
        $crate::per_mode! { $( $(#[$meta])* fn $name(install, test) { $check(install, test, $($arg),*) } )* }
    };
}

/// A privileged end-to-end test that is not run once per mode (it picks its
/// modes itself, or has none), under the same skip and compliance rules.
/// `fn name(test)` binds `test` to the function's name.
#[macro_export]
macro_rules! e2e {
    ($( $(#[$meta:meta])* fn $name:ident($($test:ident)?) $body:block )*) => {$(
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::common::run_case(concat!(module_path!(), "::", stringify!($name)), None, || {
                $(let $test = stringify!($name);)?
                $body
            });
        }
    )*};
}

/// Says that `test` has nothing to check on this machine (what it is about
/// is absent here by design, e.g. a particular distribution's build), which
/// is not a skip of something the suite requires: CI does not fail on it.
pub fn not_applicable(test: &str, why: &str) {
    eprintln!("NOT APPLICABLE {test}: {why}");
}

/// The name of the test function this is written in, derived (so it cannot
/// drift from the function): for tests that are not `per_mode!`/`e2e!`.
#[macro_export]
macro_rules! this_test {
    () => {{
        fn f() {}
        let name = std::any::type_name_of_val(&f);
        let name = name.strip_suffix("::f").unwrap_or(name);
        name.rsplit("::").next().unwrap_or(name)
    }};
}
