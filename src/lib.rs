//! newidmap: memory-safe newuidmap and newgidmap.
//!
//! One library behind both helpers (and the `subid` admin tool), in layers
//! the tree shows: [`parse`] (text to typed values) and [`decide`] (the
//! rules) are pure and never import the rest; [`act`] is the only code
//! that touches the system; [`helper`] runs the privileged call as named
//! steps; [`admin`] is the `subid` tool. Raw FFI and system calls live in
//! `sys` alone.
//!
//! Lint levels (unsafe_code, unwrap/expect/panic) are set crate-wide in
//! Cargo.toml's `[lints]`, so no file repeats `#![forbid(unsafe_code)]`.

pub mod act;
pub mod admin;
pub mod decide;
pub mod helper;
pub mod kind;
pub mod parse;
#[allow(unsafe_code)]
mod sys;

pub use kind::IdKind;
