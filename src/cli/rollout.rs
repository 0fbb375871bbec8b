//! `orbdeck rollout`: plan one change across the fleet, then start, run, watch, resume, skip,
//! abort or revert it (see [`crate::rollout`]). Every command reads and writes the rollout's
//! file under the data dir, so any of them may be killed and run again.

use crate::fleet::config::{FleetConfig, Paths};
use crate::rollout::options::PlanArgs;
use crate::rollout::report;
use crate::rollout::run::{Fleet, Move, make_move, run as run_loop};
use crate::rollout::state::{Event, Rollout};
use crate::rollout::{Phase, plan};
use crate::text::sanitize;
use clap::{Args, Subcommand};
use std::time::Duration;

/// The `rollout` subcommands.
#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Plan a change on every selected ORB: waves, each ORB's diff and server-side dry run,
    /// and the Unassigned. Saves the plan; pushes nothing.
    Plan(Box<PlanArgs>),
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

fn duration(text: &str) -> Result<Duration, String> {
    crate::rollout::options::duration(text)
}

/// Runs a `rollout` subcommand.
pub async fn run(cmd: RolloutCommand, paths: Paths) -> Result<(), String> {
    let config = FleetConfig::load(&paths.config).map_err(|e| e.to_string())?;
    let fleet = Fleet { config, paths };
    match cmd {
        RolloutCommand::Plan(args) => plan_command(&fleet, *args).await,
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
            print!("{}", crate::text::table(&rows));
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
    let request = args.request(None)?;
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
