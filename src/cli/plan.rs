//! `orbdeck plan ORB`: what applying the ORB's desired state (with this machine's drafts) would
//! change in its cluster.

use crate::fleet::config::{FleetConfig, Paths};
use crate::plan;
use crate::repo::Drafts;
use clap::{Args, ValueEnum};
use std::io::IsTerminal as _;

/// When to colour the output.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Color {
    /// When stdout is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options of `orbdeck plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// ORB name from the fleet config.
    pub orb: String,
    /// Do not ask the cluster: compare with the desired state the engine last applied.
    #[arg(long)]
    pub offline: bool,
    /// Leave this machine's drafts out (plan the remote's desired state only).
    #[arg(long)]
    pub no_drafts: bool,
    /// Colour the diff.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: Color,
}

/// Runs `orbdeck plan`.
pub async fn run(args: PlanArgs, paths: Paths) -> Result<(), String> {
    let config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    let entry = config
        .orb(&args.orb)
        .ok_or_else(|| format!("no ORB named {:?} in {}", args.orb, paths.config.display()))?
        .clone();
    let drafts = (!args.no_drafts).then(|| Drafts::new(paths.drafts_dir()));
    let overlay = plan::Overlay {
        drafts: drafts.as_ref(),
        files: Vec::new(),
        removed: Vec::new(),
        offline: args.offline,
    };
    let result = plan::plan_orb(&config, &paths, &entry, overlay)
        .await
        .map_err(|e| e.to_string())?;
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal(),
    };
    print!("{}", plan::render(&result, color));
    Ok(())
}
