//! The fleet: the operator's list of ORBs (config file, data dir) and connections to them.

pub mod config;
pub mod connect;
