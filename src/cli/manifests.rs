//! `orbdeck manifests crds|deploy`: generated and in-cluster manifests, printed as YAML.

use clap::Subcommand;
use std::process::ExitCode;

use crate::engine::identity::ENGINE_YAML;

/// The node agent's in-cluster manifests (RBAC, DaemonSet).
const AGENT_YAML: &str = include_str!("../../assets/deploy/agent.yaml");

/// What to print.
#[derive(Debug, Subcommand)]
pub enum ManifestsCommand {
    /// The CustomResourceDefinitions of every kind orbdeck knows (as in assets/crds/).
    Crds,
    /// The engine's Deployment and the node agent's DaemonSet with their RBAC (as in assets/deploy/).
    Deploy,
}

/// Prints the requested manifests.
pub fn run(cmd: ManifestsCommand) -> ExitCode {
    match cmd {
        ManifestsCommand::Crds => print!("{}", crate::model::crds_yaml()),
        ManifestsCommand::Deploy => print!("{ENGINE_YAML}---\n{AGENT_YAML}"),
    }
    ExitCode::SUCCESS
}
