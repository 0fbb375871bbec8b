//! The engine and its controllers against the embedded API server: sync, leadership, failover,
//! health, deploy, profiles, environments and the orchestrator API, and the model's CRDs
//! served there.

#[path = "../common/mod.rs"]
mod common;

mod admission;
mod controllers;
mod credentials;
mod engine_bare;
mod engine_deploy;
mod engine_failover;
mod engine_health;
mod engine_leader;
mod engine_profiles;
mod engine_rbac;
mod engine_sync;
mod environments;
mod images;
mod labels;
mod model_sim;
mod node_users;
mod object_health;
mod sync_waves;
mod upgrades;
