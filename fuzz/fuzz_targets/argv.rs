//! argv parsing: `request::parse` must never panic, and whatever it accepts
//! must render to a map the kernel's grammar reads back as the same triplets,
//! within the kernel's limits, spelled exactly as the caller typed it.
//!
//! Input: arguments separated by NUL bytes (argv entries cannot contain NUL).
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use newidmap::parse::map::{MAX_LINES, MAX_MAP_BYTES};
use newidmap::parse::number::parse_u32;
use newidmap::parse::request::{self, Command};

#[path = "../../tests/model/kernel.rs"]
mod kernel;
use kernel::kernel_read;

fuzz_target!(|data: &[u8]| {
    let args: Vec<OsString> = if data.is_empty() {
        Vec::new()
    } else {
        data.split(|&b| b == 0)
            .map(|a| OsString::from_vec(a.to_vec()))
            .collect()
    };
    // Every single field: accepted exactly when it is canonical decimal.
    for arg in &args {
        let bytes = arg.as_encoded_bytes();
        if let Some(value) = parse_u32(bytes) {
            assert_eq!(value.to_string().as_bytes(), bytes);
        }
    }
    let Ok(Command::Map(req)) = request::parse(&args) else {
        return;
    };
    let rendered = req.map.render();
    assert!(rendered.len() <= MAX_MAP_BYTES, "{} bytes", rendered.len());
    assert!(req.map.triplets().len() <= MAX_LINES);
    let read = kernel_read(&rendered).expect("kernel grammar refuses a rendered map");
    let expect: Vec<(u32, u32, u32)> = req
        .map
        .triplets()
        .iter()
        .map(|t| (t.inner, t.outer, t.count))
        .collect();
    assert_eq!(read, expect);
    // The rendered text is the typed numbers, verbatim.
    let skip = usize::from(req.dry_run) + 1;
    let typed: Vec<u8> = args[skip..]
        .chunks(3)
        .flat_map(|c| {
            let mut line = c
                .iter()
                .map(|a| a.as_encoded_bytes().to_vec())
                .collect::<Vec<_>>()
                .join(&b' ');
            line.push(b'\n');
            line
        })
        .collect();
    assert_eq!(typed, rendered);
    // No two inner or outer ranges overlap (u128 arithmetic, quadratic on purpose).
    for (i, a) in expect.iter().enumerate() {
        for b in &expect[i + 1..] {
            let overlap = |s1: u32, s2: u32, c1: u32, c2: u32| {
                let (s1, s2, c1, c2) = (
                    u128::from(s1),
                    u128::from(s2),
                    u128::from(c1),
                    u128::from(c2),
                );
                s1 < s2 + c2 && s2 < s1 + c1
            };
            assert!(!overlap(a.0, b.0, a.2, b.2), "inner overlap {a:?} {b:?}");
            assert!(!overlap(a.1, b.1, a.2, b.2), "outer overlap {a:?} {b:?}");
        }
    }
});
