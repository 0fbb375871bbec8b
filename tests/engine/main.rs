//! The engine and its controllers against the embedded API server: sync, leadership, failover, health, deploy, profiles.

#[path = "../common/mod.rs"]
mod common;

mod controllers;
mod engine_deploy;
mod engine_failover;
mod engine_health;
mod engine_leader;
mod engine_profiles;
mod engine_sync;
