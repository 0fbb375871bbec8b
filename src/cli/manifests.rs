//! `orbdeck manifests crds`: generated manifests, printed as YAML.

use clap::Subcommand;
use std::process::ExitCode;

/// What to print.
#[derive(Debug, Subcommand)]
pub enum ManifestsCommand {
    /// The CustomResourceDefinitions of every kind orbdeck knows (as in assets/crds/).
    Crds,
}

/// Prints the requested manifests.
pub fn run(cmd: ManifestsCommand) -> ExitCode {
    match cmd {
        ManifestsCommand::Crds => print!("{}", crate::model::crds_yaml()),
    }
    ExitCode::SUCCESS
}
