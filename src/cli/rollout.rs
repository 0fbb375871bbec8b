//! `orbdeck rollout`: plan one change across the fleet, then start, run, watch, resume, skip,
//! abort or revert it (see [`crate::rollout`]). Every command reads and writes the rollout's
//! file under the data dir, so any of them may be killed and run again.

use crate::fleet::config::{FleetConfig, Paths};
use crate::fleet::selector::Selector;
use crate::rollout::change::{Edit, FleetChange};
use crate::rollout::report;
use crate::rollout::run::{Fleet, Move, make_move, run as run_loop};
use crate::rollout::state::{Event, Rollout, Strategy};
use crate::rollout::waves::{Grouping, Limit, parse_named};
use crate::rollout::{Phase, plan};
use crate::text::sanitize;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// The `rollout` subcommands.
#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Plan a change on every selected ORB: waves, each ORB's diff and server-side dry run,
    /// and the Unassigned. Saves the plan; pushes nothing.
    Plan(PlanArgs),
    /// Start a planned rollout (then `rollout run ID` carries it out).
    Start(IdArg),
    /// Run a rollout's loop until it halts or ends; killed, it continues from its file when
    /// run again.
    Run(RunArgs),
    /// Where a rollout is: every ORB's wave, state, commit, applied commit, health, age, message.
    Status(IdArg),
    /// List the rollouts of this machine, newest first.
    List,
    /// Resume a halted rollout: the ORB it halted on is looked at (or planned) again.
    Resume(IdArg),
    /// Resume a halted rollout without the ORB it halted on.
    Skip(IdArg),
    /// Stop a rollout for good; nothing is undone.
    Abort(IdArg),
    /// Push revert commits to every ORB the rollout pushed to, last wave first.
    Revert(RunArgs),
}

/// A rollout id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The rollout id (`orbdeck rollout list`).
    pub id: String,
}

/// Options of `rollout run` and `rollout revert`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The rollout id.
    pub id: String,
    /// How often the ORBs are looked at.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub poll: Duration,
}

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

fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| format!("{text:?}: {e} (e.g. 30s, 2m)"))
}

/// Runs a `rollout` subcommand.
pub async fn run(cmd: RolloutCommand, paths: Paths) -> Result<(), String> {
    let config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    let fleet = Fleet { config, paths };
    match cmd {
        RolloutCommand::Plan(args) => plan_command(&fleet, args).await,
        RolloutCommand::Start(IdArg { id }) => {
            let r = moved(&fleet, &id, Move::Start).await?;
            println!(
                "rollout {} started; `orbdeck rollout run {}` carries it out",
                r.id, r.id
            );
            Ok(())
        }
        RolloutCommand::Run(args) => follow(&fleet, &args).await,
        RolloutCommand::Status(IdArg { id }) => {
            let r = fleet.store().load(&id).map_err(|e| e.to_string())?;
            print!("{}", report::status(&r, chrono::Utc::now()));
            Ok(())
        }
        RolloutCommand::List => {
            let all = fleet.store().list();
            if all.is_empty() {
                println!("no rollouts; plan one with `orbdeck rollout plan`");
            }
            let mut rows = vec![["ID", "PHASE", "PROGRESS", "CHANGE"].map(String::from)];
            let now = chrono::Utc::now();
            for r in all {
                rows.push([
                    r.id.clone(),
                    r.phase.as_str().to_string(),
                    r.summary(now).to_string(),
                    sanitize(&r.change.describe()).into_owned(),
                ]);
            }
            print!("{}", report::table(&rows));
            Ok(())
        }
        RolloutCommand::Resume(IdArg { id }) => {
            moved(&fleet, &id, Move::Resume).await?;
            println!("rollout {id} resumed; `orbdeck rollout run {id}` carries it on");
            Ok(())
        }
        RolloutCommand::Skip(IdArg { id }) => {
            let before = fleet.store().load(&id).map_err(|e| e.to_string())?;
            moved(&fleet, &id, Move::Skip).await?;
            if let Phase::Halted { orb, .. } = before.phase {
                println!(
                    "skipped {}; rollout {id} resumed (`orbdeck rollout run {id}`)",
                    sanitize(&orb)
                );
            }
            Ok(())
        }
        RolloutCommand::Abort(IdArg { id }) => {
            moved(&fleet, &id, Move::Abort).await?;
            println!("rollout {id} aborted; nothing more is pushed and nothing was undone");
            Ok(())
        }
        RolloutCommand::Revert(args) => {
            moved(&fleet, &args.id, Move::Revert).await?;
            follow(&fleet, &args).await
        }
    }
}

async fn moved(fleet: &Fleet, id: &str, wanted: Move) -> Result<Rollout, String> {
    let (fleet, id) = (fleet.clone(), id.to_string());
    tokio::task::spawn_blocking(move || make_move(&fleet, &id, wanted))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Runs the loop, saying each new event; fails when the rollout halts.
async fn follow(fleet: &Fleet, args: &RunArgs) -> Result<(), String> {
    let say = |e: &Event| {
        let who = if e.orb.is_empty() {
            String::new()
        } else {
            format!("{}: ", sanitize(&e.orb))
        };
        println!(
            "{} {who}{}",
            e.time.format("%H:%M:%S"),
            sanitize(&e.message)
        );
    };
    let phase = run_loop(fleet, &args.id, args.poll, say)
        .await
        .map_err(|e| e.to_string())?;
    let id = &args.id;
    match phase {
        Phase::Halted { orb, reason } => Err(format!(
            "rollout {id} halted on {}: {}\nnext: `orbdeck rollout resume|skip|abort|revert {id}`",
            sanitize(&orb),
            sanitize(&reason)
        )),
        Phase::Planned => Err(format!(
            "rollout {id} is only planned; start it with `orbdeck rollout start {id}`"
        )),
        phase => {
            println!("rollout {id} {}", phase.as_str().to_lowercase());
            Ok(())
        }
    }
}

async fn plan_command(fleet: &Fleet, args: PlanArgs) -> Result<(), String> {
    let selector = Selector::parse(&args.orbs).map_err(|e| format!("--orbs: {e}"))?;
    let read = |p: &PathBuf, flag: &str| {
        std::fs::read_to_string(p).map_err(|e| format!("{flag} {}: {e}", p.display()))
    };
    let edit = match (&args.patch, &args.content, &args.set) {
        (Some(p), _, _) => Edit::MergePatch(read(p, "--patch")?),
        (_, Some(p), _) => Edit::Content(read(p, "--content")?),
        (_, _, Some(kv)) if kv.len() == 2 => Edit::Set {
            key: kv[0].clone(),
            value: kv[1].clone(),
        },
        _ => {
            return Err("say what changes: --patch FILE, --content FILE or --set KEY VALUE".into());
        }
    };
    let grouping = if args.waves.is_empty() {
        Grouping::Auto(args.wave_size.unwrap_or(usize::MAX))
    } else {
        Grouping::Named(
            args.waves
                .iter()
                .map(|w| parse_named(w))
                .collect::<Result<_, _>>()?,
        )
    };
    let request = plan::Request {
        selector,
        change: FleetChange {
            path: args.file.clone(),
            edit,
        },
        grouping,
        strategy: Strategy {
            max_concurrent: args.max_concurrent,
            max_unavailable: args.max_unavailable,
            bake_seconds: args.bake.as_secs(),
            progress_deadline_seconds: args.progress_deadline.as_secs(),
        },
    };
    let mut rollout = plan::plan(&fleet.config, &fleet.paths, request, chrono::Utc::now())
        .await
        .map_err(|e| e.to_string())?;
    print!("{}", report::plan(&rollout));
    let store = fleet.store();
    let id = rollout.id.clone();
    if args.start {
        rollout.phase = Phase::Running;
        rollout.log(chrono::Utc::now(), "", "started");
    }
    store.save(&rollout).map_err(|e| e.to_string())?;
    println!("saved {}", store.file(&id).display());
    if args.start {
        println!("rollout {id} started; `orbdeck rollout run {id}` carries it out");
    } else {
        println!("start it with `orbdeck rollout start {id}`, then `orbdeck rollout run {id}`");
    }
    Ok(())
}
