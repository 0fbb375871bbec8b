//! What a rollout plan is asked with: the ORBs, the file and its edit, waves and limits, as
//! `orbdeck rollout plan` and the control room's `:rollout` both take them (one parser, so the
//! two faces take the same flags), and the [`Request`](super::plan::Request) they make.

use super::change::{Edit, FleetChange};
use super::plan::Request;
use super::state::Strategy;
use super::waves::{Grouping, Limit, parse_named, parse_wave_limit};
use crate::fleet::selector::Selector;
use clap::{Args, Parser};
use std::path::PathBuf;
use std::time::Duration;

/// Options of `rollout plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Which ORBs: a selector over fleet labels, `name` for the ORB's name (`env=prod`,
    /// `region in (eu,us)`, `name in (a,b)`, `!canary`); `*` for all.
    #[arg(long, value_name = "SELECTOR")]
    pub orbs: String,
    /// The file changed in every ORB's repo, e.g. desired/quota.yaml.
    #[arg(long, value_name = "PATH")]
    pub file: String,
    /// A YAML merge patch (RFC 7386) of the file's one document.
    #[arg(long, value_name = "FILE", group = "edit")]
    pub patch: Option<PathBuf>,
    /// The file's whole new content.
    #[arg(long, value_name = "FILE", group = "edit")]
    pub content: Option<PathBuf>,
    /// Set a key path (`spec.hard.cpu`, `data["a.b"]`) to a YAML value.
    #[arg(long, num_args = 2, value_names = ["KEY", "VALUE"], group = "edit")]
    pub set: Option<Vec<String>>,
    /// A named wave after the canary, NAME:SELECTOR (repeatable, in order); ORBs no wave
    /// takes are Unassigned and never pushed.
    #[arg(
        long = "wave",
        value_name = "NAME:SELECTOR",
        conflicts_with = "wave_size"
    )]
    pub waves: Vec<String>,
    /// Automatic waves after the canary of this many ORBs (default: one wave of the rest).
    #[arg(long)]
    pub wave_size: Option<usize>,
    /// A wave's own limit, WAVE:maxConcurrent=LIMIT or WAVE:maxUnavailable=LIMIT (repeatable;
    /// waves are `canary`, `wave 1`… or the names of `--wave`).
    #[arg(long = "wave-limit", value_name = "WAVE:FIELD=LIMIT")]
    pub wave_limits: Vec<String>,
    /// ORBs of a wave in flight at once: a count or a percentage of the wave.
    #[arg(long, default_value = "100%")]
    pub max_concurrent: Limit,
    /// ORBs of a wave pushed and not yet Healthy at once: a count or a percentage.
    #[arg(long, default_value = "100%")]
    pub max_unavailable: Limit,
    /// How long an ORB stays Healthy before its wave may move on.
    #[arg(long, default_value = "2m", value_parser = duration)]
    pub bake: Duration,
    /// How long an ORB may take from its push to Healthy before it is a Timeout.
    #[arg(long, default_value = "10m", value_parser = duration)]
    pub progress_deadline: Duration,
    /// Start it at once (then `rollout run ID`).
    #[arg(long)]
    pub start: bool,
}

/// `:rollout FLAGS` in the control room: the flags of `orbdeck rollout plan`.
#[derive(Debug, Parser)]
#[command(name = ":rollout", no_binary_name = true, disable_help_flag = true)]
pub struct CommandLine {
    /// The plan's flags.
    #[command(flatten)]
    pub plan: PlanArgs,
}

/// A duration such as `30s` or `2m`.
pub fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{text:?}: {e} (e.g. 30s, 2m)"))
}

impl PlanArgs {
    /// The request these flags ask for; `edit` is the change when no flag says one (an edit
    /// made in the control room).
    pub fn request(&self, edit: Option<Edit>) -> Result<Request, String> {
        let selector = Selector::parse(&self.orbs).map_err(|e| format!("--orbs: {e}"))?;
        let read = |p: &PathBuf, flag: &str| {
            std::fs::read_to_string(p).map_err(|e| format!("{flag} {}: {e}", p.display()))
        };
        let edit = match (&self.patch, &self.content, &self.set, edit) {
            (Some(p), _, _, _) => Edit::MergePatch(read(p, "--patch")?),
            (_, Some(p), _, _) => Edit::Content(read(p, "--content")?),
            (_, _, Some(kv), _) if kv.len() == 2 => Edit::Set {
                key: kv[0].clone(),
                value: kv[1].clone(),
            },
            (_, _, _, Some(edit)) => edit,
            _ => {
                return Err(
                    "say what changes: --patch FILE, --content FILE or --set KEY VALUE".into(),
                );
            }
        };
        let grouping = if self.waves.is_empty() {
            Grouping::Auto(self.wave_size.unwrap_or(usize::MAX))
        } else {
            Grouping::Named(
                self.waves
                    .iter()
                    .map(|w| parse_named(w))
                    .collect::<Result<_, _>>()?,
            )
        };
        Ok(Request {
            selector,
            change: FleetChange {
                path: self.file.clone(),
                edit,
            },
            grouping,
            strategy: Strategy {
                max_concurrent: self.max_concurrent,
                max_unavailable: self.max_unavailable,
                bake_seconds: self.bake.as_secs(),
                progress_deadline_seconds: self.progress_deadline.as_secs(),
            },
            wave_limits: self
                .wave_limits
                .iter()
                .map(|w| parse_wave_limit(w))
                .collect::<Result<_, _>>()?,
        })
    }
}
