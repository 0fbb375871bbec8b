//! The command line and the layers under it: the fleet commands, git repos, merges, secrets, validation, the model.

#[path = "../common/mod.rs"]
mod common;

mod access_cli;
mod bootstrap_cli;
mod fleet_cli;
mod init_and_sim_cli;
mod merge3;
mod model;
mod repo_git;
mod run;
mod secret_cipher;
mod secrets_cli;
mod upgrades_cli;
mod validate;
