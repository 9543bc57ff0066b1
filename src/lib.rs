//! newidmap: memory-safe newuidmap and newgidmap.
//!
//! One library behind both helpers (and the `subid` admin tool), split into
//! a pure core (parse, decide) and thin edges that touch the system (config,
//! target, privilege, write, audit). Raw FFI and system calls live in [`sys`] alone.
//!
//! Lint levels (unsafe_code, unwrap/expect/panic) are set crate-wide in
//! Cargo.toml's `[lints]`. The per-file `#![forbid(unsafe_code)]` lines stay
//! until the module restructure moves those files, then go in one change.

pub mod output;

pub mod admin;
pub mod audit;
pub mod config;
pub mod directory;
pub mod environment;
pub mod error;
pub mod gather;
pub mod helper;
pub mod kind;
pub mod logindefs;
pub mod mapping;
pub mod nss;
pub mod nsswitch;
pub mod number;
pub mod owned;
pub mod ownership;
pub mod passwd;
pub mod policy;
pub mod privilege;
pub mod request;
pub mod subid;
#[allow(unsafe_code)]
mod sys;
pub mod target;
pub mod text;
pub mod write;

pub use kind::IdKind;
