//! Pure rules: may this caller write this map ([`policy`]), is this
//! process theirs ([`ownership`]). Never imports `act`, `sys`, `helper` or
//! `admin`.
pub mod ownership;
pub mod policy;
