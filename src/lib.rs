//! orbdeck: a control room for fleets of Kubernetes clusters, each paired with a Git repository.
//! The library holds every part; `main.rs` only parses the command line and calls in here.

pub mod cli;
pub mod sim;
