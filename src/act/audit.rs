//! The audit trail: one syslog line per call, facility AUTHPRIV, sent
//! straight to the /dev/log datagram socket (no daemon library, no
//! configuration). Auditing must never be the reason a container fails to
//! start, nor a way to hold the helper: the send never blocks. If nothing
//! listens, or the receiver's queue is full (a stopped or hung journald or
//! rsyslog: `net.unix.max_dgram_qlen` datagrams queued and unread), the
//! record is dropped and the call goes on.

use std::os::unix::net::UnixDatagram;

const DEV_LOG: &str = "/dev/log";
const AUTHPRIV: u8 = 10;
/// Longest message sent; longer ones are cut with a marker (a 340-line map).
const MAX_MESSAGE: usize = 1900;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Notice = 5,
    Info = 6,
}

/// Sends `<PRI>program[pid]: message`. The receiver adds the timestamp;
/// formatting one here would mean reading the time zone from the environment.
///
/// `message` is already escaped by its makers (user names and argv text go
/// through `output::escape`, everything else is fixed text and numbers), so
/// it is not escaped again: a name must read back exactly as the refusal on
/// stderr shows it. As a guard, any byte that is not printable ASCII is
/// still written as `\xNN` (escaped text has none, so this changes nothing
/// for it).
pub fn log(program: &str, severity: Severity, message: &str) {
    let mut message = printable(message);
    if message.len() > MAX_MESSAGE {
        message.truncate(MAX_MESSAGE);
        message.push_str("...");
    }
    let priority = u32::from(AUTHPRIV) * 8 + severity as u32;
    let line = format!("<{priority}>{program}[{}]: {message}", std::process::id());
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    // Non-blocking: a full queue makes send_to fail with EAGAIN at once
    // instead of waiting for a receiver that may never read. The record is
    // then dropped.
    if socket.set_nonblocking(true).is_ok() {
        let _ = socket.send_to(line.as_bytes(), DEV_LOG);
    }
}

/// `\xNN` for every byte outside printable ASCII; everything else as is.
fn printable(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for &b in message.as_bytes() {
        if (0x20..=0x7e).contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::text::escape;

    #[test]
    fn escaped_text_passes_unchanged() {
        let name = escape(b"ev\"il\\\x1b[31m");
        assert_eq!(printable(&name), name);
        assert_eq!(printable("a\nb\u{e9}"), "a\\x0ab\\xc3\\xa9");
    }
}
