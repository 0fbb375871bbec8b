//! orbdeck: a control room for fleets of Kubernetes clusters, each paired with a Git repository.
//! The library holds every part; `main.rs` only parses the command line and calls in here.

pub mod access;
pub mod agent;
pub mod apply;
pub mod cli;
pub mod controllers;
pub mod engine;
pub mod fleet;
pub mod health;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod names;
pub mod plan;
pub mod repo;
pub mod secrets;
pub mod text;
pub mod ui;
pub mod validate;
pub mod wellknown;
