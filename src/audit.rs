//! The audit trail: one syslog line per call, facility AUTHPRIV, sent
//! straight to the /dev/log datagram socket (no daemon library, no
//! configuration). If nothing listens, the call goes on silently: auditing
//! must never be the reason a container fails to start.
#![forbid(unsafe_code)]

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
pub fn log(program: &str, severity: Severity, message: &str) {
    let mut message = crate::output::escape(message.as_bytes());
    if message.len() > MAX_MESSAGE {
        message.truncate(MAX_MESSAGE);
        message.push_str("...");
    }
    let priority = u32::from(AUTHPRIV) * 8 + severity as u32;
    let line = format!("<{priority}>{program}[{}]: {message}", std::process::id());
    if let Ok(socket) = UnixDatagram::unbound() {
        let _ = socket.send_to(line.as_bytes(), DEV_LOG);
    }
}
