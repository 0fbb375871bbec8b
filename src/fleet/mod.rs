//! The fleet: the operator's list of ORBs (config file, data dir), connections to them, and
//! selectors over their names and labels.

pub mod config;
pub mod connect;
pub mod selector;
