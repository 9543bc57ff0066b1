//! Links the unwinder statically, so the helpers load libc.so.6 and nothing else.
//!
//! Rust's std asks the linker for `-lgcc_s` (the shared unwinder) even with
//! `panic = "abort"`. Loading that one extra library costs a setuid helper
//! about 0.1 ms per call (an open, four mmaps, relocation and symbol lookup
//! in the loader's secure mode; measured in docs/performance.md), which is a
//! quarter of what exec'ing any setuid program costs at all. GCC ships the
//! same unwinder as a static archive, libgcc_eh.a; a `libgcc_s.a` in a
//! directory searched before the system's makes `-lgcc_s` resolve to it.
//! With `panic = "abort"` the unwinder is never entered; it is only linked.
//!
//! If the compiler does not know libgcc_eh.a (another toolchain), or the build
//! is a cross build, nothing is done and the binaries link libgcc_s.so.1 as
//! usual: slower, not broken.
//! tests/e2e_packaging.rs checks the result with the dynamic loader's list.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CC");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    // Native builds only: a cross build's `cc` would name the host's archive.
    if !target.ends_with("-linux-gnu") || target != host {
        return;
    }
    let Some(archive) = static_unwinder() else {
        println!("cargo::warning=libgcc_eh.a not found: the binaries will need libgcc_s.so.1");
        return;
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let dir = out_dir.join("static-unwinder");
    let link = dir.join("libgcc_s.a");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::remove_file(&link);
    if std::os::unix::fs::symlink(&archive, &link).is_ok() {
        println!("cargo::rustc-link-search=native={}", dir.display());
    }
}

/// The path of GCC's static unwinder, as the C compiler that links us knows it.
fn static_unwinder() -> Option<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let output = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let printed = String::from_utf8(output.stdout).ok()?;
    let path = Path::new(printed.trim());
    // Unknown files are echoed back as the bare name.
    (output.status.success() && path.is_absolute() && path.is_file()).then(|| path.to_path_buf())
}
