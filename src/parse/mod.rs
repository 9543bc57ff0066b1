//! Pure: text to typed values. No I/O except over a `Read` the caller
//! gives; never imports `act`, `sys`, `helper` or `admin`.
pub mod caller_entries;
pub mod logindefs;
pub mod map;
pub mod nsswitch;
pub mod number;
pub mod passwd;
pub mod procfs;
pub mod request;
pub mod subid;
pub mod text;
