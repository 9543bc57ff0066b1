//! Start-up reference for the benchmark: a Rust program that does nothing,
//! built the way the helpers are (C `main` of its own, so no std start-up;
//! static unwinder; panic=abort). It reads its arguments so that std's
//! argument capture is in, as in the helpers. See bench/README.md. Not part
//! of the product: its `#[unsafe(no_mangle)]` is the helpers' `helper_main!`
//! (src/sys.rs) written out, since this file is compiled alone with rustc.
#![no_main]

#[unsafe(no_mangle)]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    std::hint::black_box(std::env::args_os().count());
    0
}
