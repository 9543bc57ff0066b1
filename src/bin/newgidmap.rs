//! newgidmap: see the newidmap library. The C `main` comes from
//! `helper_main!`, which skips std's start-up work (see src/sys.rs). Under
//! `cargo test --all-targets` the crate builds as an empty test harness.
#![cfg_attr(not(test), no_main)]
#[cfg(not(test))]
newidmap::helper_main!(newidmap::IdKind::Gid);
