//! The only code that touches the system: /proc, /etc, NSS modules,
//! capabilities, syslog, stdout and stderr (through [`crate::sys`] for the
//! raw calls). `target` and `write` are public only so the doc tests can
//! show that nothing outside them can make a `VerifiedTarget` or reach the
//! write.
pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod config;
pub(crate) mod environment;
pub(crate) mod nss;
pub(crate) mod output;
pub(crate) mod privilege;
pub mod target;
pub mod write;
