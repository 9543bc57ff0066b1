//! Output that can never panic: std's `eprintln!`/`println!` panic when the
//! stream is closed or a broken pipe, and a panic in a setuid program is a
//! bug. Each message goes out in one write so lines from concurrent callers
//! do not interleave.

use std::io::Write;

/// Prints `program: line` for each line on stderr, ignoring write errors.
pub fn error_lines(program: &str, lines: &[String]) {
    let mut text = String::new();
    for line in lines {
        text.push_str(program);
        text.push_str(": ");
        text.push_str(line);
        text.push('\n');
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Writes bytes to stdout; the error is the caller's to report or ignore
/// (never a panic).
pub fn to_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Installs a panic hook that prints one fixed line. The default hook reads
/// RUST_BACKTRACE from the caller's environment; this one reads nothing.
pub fn install_panic_hook(program: &'static str) {
    std::panic::set_hook(Box::new(move |_| {
        let line = format!("{program}: internal error (please report this bug)\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }));
}
