//! Every known and intended difference between our helpers and Debian's
//! shadow helpers (package `uidmap`, shadow 4.13), in one place.
//!
//! `IDMAP_UNDER_TEST=shadow cargo test --test 'e2e_*'` runs the same
//! end-to-end cases against shadow's /usr/bin/newuidmap and newgidmap,
//! copied into the harness's install directories setuid-root and with file
//! capabilities (cap_setuid+ep / cap_setgid+ep). Debian's 4.13 is built
//! without libcap, so with file capabilities it writes as the caller with
//! that one capability effective, and the kernel, not shadow, refuses what
//! the capability does not cover (an outer UID 0 needs CAP_SETFCAP).
//!
//! Under the switch, each test named here must fail against shadow (the
//! harness checks it does: a listed test that passes is stale and fails the
//! run), and every test not named here must pass. Only behaviour is compared
//! against shadow: exit status, the maps and setgroups written, stdout, and
//! that a refusal says something; the wording of our messages is checked
//! only when ours are under test.
//!
//! A name is `file::test` (both modes) or `file::test::setuid` / `::fcaps`.

use super::Install;

/// (test, why shadow fails it).
pub const DIFFERENCES: &[(&str, &str)] = &[];

/// The listed reason when `name` (in `install` mode) is a known difference.
pub fn difference(name: &str, install: Option<Install>) -> Option<&'static str> {
    let moded = install.map(|i| format!("{name}::{i}"));
    DIFFERENCES
        .iter()
        .find(|(listed, _)| *listed == name || Some(*listed) == moded.as_deref())
        .map(|(_, why)| *why)
}

/// Every listed name must name a test that exists, so that a renamed or
/// removed test cannot leave a listing behind: the file `tests/FILE.rs`
/// must define the test (`fn NAME(` or a row `NAME: (`).
pub fn assert_listing_names_real_tests() {
    for (listed, _) in DIFFERENCES {
        let mut parts: Vec<&str> = listed.split("::").collect();
        if matches!(parts.last(), Some(&"setuid" | &"fcaps")) {
            parts.pop();
        }
        let (file, test) = (parts[0], parts[1..].join("::"));
        let source = std::fs::read_to_string(format!("{}/tests/{file}.rs", super::REPO))
            .unwrap_or_else(|e| panic!("{listed}: tests/{file}.rs: {e}"));
        let last = test.rsplit("::").next().unwrap_or_default();
        assert!(
            source.contains(&format!("fn {last}(")) || source.contains(&format!("{last}: (")),
            "compliance.rs lists {listed}, but tests/{file}.rs has no such test"
        );
    }
}
