//! Carrying a rollout out: see every pushed ORB (fetch its repo, read current/status.yaml),
//! take one [`step`](super::step::step) holding the rollout's lock, push the change or its
//! revert through the normal write path (the planned base, key-level merge, never a force
//! push), save, wait, again, until the rollout halts or ends. Killed at any point, it starts
//! again from the file. Also the operator's moves: start, resume, skip, abort, revert.

use super::RolloutError;
use super::state::{Event, OrbState, Phase, Rollout, Store};
use super::step::{Action, Observation, Observations, apply, record, step};
use crate::fleet::config::{FleetConfig, Paths};
use crate::fleet::connect;
use crate::repo::status::OrbStatus;
use crate::repo::{Change, Edit, RepoError, RetryPolicy, history, write::write};
use chrono::Utc;
use git2::Oid;
use std::time::Duration;

/// The fleet a rollout runs on: its config and this machine's paths.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The fleet file's contents.
    pub config: FleetConfig,
    /// Where clones and rollouts live.
    pub paths: Paths,
}

impl Fleet {
    /// The rollouts of this machine (`<data dir>/rollouts`).
    pub fn store(&self) -> Store {
        Store::new(self.paths.data.join("rollouts"))
    }
}

/// Fetches `orb`'s repo and reads what its engine reports about `commit`.
fn observe_one(fleet: &Fleet, orb: &str, commit: &str) -> Observation {
    let fail = |e: String| Observation {
        error: Some(e),
        ..Default::default()
    };
    let Some(entry) = fleet.config.orb(orb) else {
        return fail(format!("{orb} is no longer in the fleet file"));
    };
    let repo = match connect::open_repo(&fleet.config, &fleet.paths, entry) {
        Ok(r) => r,
        Err(e) => return fail(e.to_string()),
    };
    let tip = match repo.fetch() {
        Ok(Some(t)) => t,
        Ok(None) => return fail("the remote branch is gone".into()),
        Err(e) => return fail(e.to_string()),
    };
    let Some(status) = OrbStatus::read(&repo, tip) else {
        return Observation::default();
    };
    let includes_push = match (Oid::from_str(&status.commit), Oid::from_str(commit)) {
        (Ok(applied), Ok(pushed)) => repo.contains(applied, pushed).unwrap_or(false),
        _ => false,
    };
    let message = if status.errors.is_empty() {
        status
            .objects
            .iter()
            .filter(|o| o.health == status.health && o.health_message.is_some())
            .map(|o| {
                format!(
                    "{}/{}: {}",
                    o.kind,
                    o.name,
                    o.health_message.as_deref().unwrap_or_default()
                )
            })
            .next()
            .unwrap_or_default()
    } else {
        status.errors.join("; ")
    };
    Observation {
        applied: (!status.commit.is_empty()).then_some(status.commit),
        includes_push,
        health: status.health,
        result: status.result,
        message: crate::text::sanitize(&message).into_owned(),
        error: None,
    }
}

/// Sees every ORB of `rollout` that has a commit, all at once.
pub async fn observe(fleet: &Fleet, rollout: &Rollout) -> Observations {
    let tasks: Vec<_> = rollout
        .orbs
        .iter()
        .filter_map(|o| {
            let commit = o.revert_commit.clone().or_else(|| o.commit.clone())?;
            let (fleet, name) = (fleet.clone(), o.name.clone());
            Some(tokio::task::spawn_blocking(move || {
                let seen = observe_one(&fleet, &name, &commit);
                (name, seen)
            }))
        })
        .collect();
    let mut out = Observations::new();
    for task in tasks {
        if let Ok((name, seen)) = task.await {
            out.insert(name, seen);
        }
    }
    out
}

/// The commit message of the rollout's change on one ORB: it names the rollout.
fn message(rollout: &Rollout, wave: usize) -> String {
    let wave_name = rollout
        .waves
        .get(wave)
        .map_or_else(String::new, |w| w.name.clone());
    format!(
        "rollout {id}: {what}\n\nWave {n} ({wave_name}) of rollout {id}, ORBs {selector}.\n\nRollout: {id}\n",
        id = rollout.id,
        what = rollout.change.describe(),
        n = wave,
        selector = if rollout.selector.is_empty() {
            "*"
        } else {
            &rollout.selector
        },
    )
}

/// Pushes the planned change of `orb` (blocking) and records the outcome.
fn push(fleet: &Fleet, rollout: &mut Rollout, orb: &str) {
    let now = Utc::now();
    let Some(o) = rollout.orb(orb).cloned() else {
        return;
    };
    let result = (|| -> Result<crate::repo::Written, RepoError> {
        let entry = fleet
            .config
            .orb(orb)
            .ok_or_else(|| RepoError::NotPaired { orb: orb.into() })?;
        let repo = connect::open_repo(&fleet.config, &fleet.paths, entry)?;
        let edit = Edit {
            base: o.base.as_deref().and_then(|b| Oid::from_str(b).ok()),
            changes: vec![Change {
                path: rollout.change.path.clone(),
                content: Some(o.content.clone().into_bytes()),
            }],
            message: message(rollout, o.wave),
        };
        write(&repo, &edit, &RetryPolicy::default())
    })();
    match result {
        Ok(written) => {
            let commit = written.commit.to_string();
            let said = if written.created {
                format!("pushed {}", crate::repo::short_hex(&commit))
            } else {
                format!(
                    "the remote already holds it at {}",
                    crate::repo::short_hex(&commit)
                )
            };
            rollout.set_state(orb, OrbState::Pushed, &said, now);
            if let Some(o) = rollout.orb_mut(orb) {
                o.commit = Some(commit);
                o.pushed_at = Some(now);
            }
        }
        Err(e) => {
            let state = match e {
                RepoError::Conflict { .. } | RepoError::Unmergeable { .. } => OrbState::Conflict,
                _ => OrbState::Unreachable,
            };
            let said = crate::text::sanitize(&e.to_string()).replace('\n', " · ");
            rollout.set_state(orb, state, &said, now);
        }
    }
}

/// Pushes the revert of `orb`'s rollout commit (blocking); a failure halts the revert.
fn revert(fleet: &Fleet, rollout: &mut Rollout, orb: &str) {
    let now = Utc::now();
    let Some(commit) = rollout.orb(orb).and_then(|o| o.commit.clone()) else {
        return;
    };
    let id = rollout.id.clone();
    let result = (|| -> Result<crate::repo::Written, RepoError> {
        let entry = fleet
            .config
            .orb(orb)
            .ok_or_else(|| RepoError::NotPaired { orb: orb.into() })?;
        let repo = connect::open_repo(&fleet.config, &fleet.paths, entry)?;
        repo.fetch()?;
        let mut edit = history::revert(&repo, Oid::from_str(&commit)?)?;
        edit.message.push_str(&format!("\n\nRollout: {id}\n"));
        write(&repo, &edit, &RetryPolicy::default())
    })();
    match result {
        Ok(written) => {
            let hex = written.commit.to_string();
            let said = format!("reverted by {}", crate::repo::short_hex(&hex));
            rollout.set_state(orb, OrbState::Reverted, &said, now);
            if let Some(o) = rollout.orb_mut(orb) {
                o.revert_commit = Some(hex);
            }
        }
        Err(e) => {
            let reason = format!(
                "revert: {}",
                crate::text::sanitize(&e.to_string()).replace('\n', " · ")
            );
            apply(
                rollout,
                &Action::Halt {
                    orb: orb.to_string(),
                    reason,
                },
                now,
            );
        }
    }
}

/// One step holding the lock (blocking): records what was seen, steps, pushes, saves. Returns
/// the rollout as saved.
fn locked_step(fleet: &Fleet, id: &str, seen: &Observations) -> Result<Rollout, RolloutError> {
    let store = fleet.store();
    let _lock = store.lock(id)?;
    let mut rollout = store.load(id)?;
    record(&mut rollout, seen);
    let mut seen = seen.clone();
    // A failed push halts in the same step; a few rounds settle it.
    for _ in 0..4 {
        let actions = step(&rollout, &seen, Utc::now());
        if actions.is_empty() {
            break;
        }
        for action in &actions {
            match action {
                Action::Push { orb } => push(fleet, &mut rollout, orb),
                Action::Revert { orb } => revert(fleet, &mut rollout, orb),
                other => apply(&mut rollout, other, Utc::now()),
            }
        }
        // What was seen is used once; the next rounds only settle the pushes' outcomes.
        seen.clear();
        store.save(&rollout)?;
        if !matches!(rollout.phase, Phase::Running | Phase::Reverting) {
            break;
        }
    }
    store.save(&rollout)?;
    Ok(rollout)
}

/// Runs rollout `id`'s loop, looking every `poll`, until it halts or ends (or is still only
/// planned); `say` is given every new line of its history. Returns the phase it stopped in.
pub async fn run(
    fleet: &Fleet,
    id: &str,
    poll: Duration,
    mut say: impl FnMut(&Event),
) -> Result<Phase, RolloutError> {
    let store = fleet.store();
    let _runner = store
        .try_lock_runner(id)?
        .ok_or_else(|| RolloutError::Busy(id.to_string()))?;
    let mut told = store.load(id)?.events.len();
    loop {
        let rollout = store.load(id)?;
        if !matches!(rollout.phase, Phase::Running | Phase::Reverting) {
            return Ok(rollout.phase);
        }
        let seen = observe(fleet, &rollout).await;
        let stepped = {
            let (fleet, id) = (fleet.clone(), id.to_string());
            tokio::task::spawn_blocking(move || locked_step(&fleet, &id, &seen)).await??
        };
        for event in stepped.events.iter().skip(told) {
            say(event);
        }
        told = stepped.events.len();
        if !matches!(stepped.phase, Phase::Running | Phase::Reverting) {
            return Ok(stepped.phase);
        }
        tokio::time::sleep(poll).await;
    }
}

/// The operator's moves on a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Planned → Running.
    Start,
    /// Halted → Running: the failed ORBs are looked at again (a conflict is planned again on
    /// its remote's tip, so the change is made on top of what is there now).
    Resume,
    /// Halted → Running without the ORB it halted on.
    Skip,
    /// Stop for good; nothing is undone.
    Abort,
    /// Revert every pushed ORB, last wave first.
    Revert,
}

/// Makes `wanted` on rollout `id` (blocking; holding its lock) and returns the rollout.
pub fn make_move(fleet: &Fleet, id: &str, wanted: Move) -> Result<Rollout, RolloutError> {
    let store = fleet.store();
    let _lock = store.lock(id)?;
    let mut rollout = store.load(id)?;
    let now = Utc::now();
    let refuse = |rollout: &Rollout, message: &str| RolloutError::Phase {
        id: rollout.id.clone(),
        phase: rollout.phase.as_str().to_string(),
        message: message.to_string(),
    };
    match (wanted, rollout.phase.clone()) {
        (Move::Start, Phase::Planned) => {
            rollout.phase = Phase::Running;
            rollout.log(now, "", "started");
        }
        (Move::Start, _) => return Err(refuse(&rollout, "only a planned rollout starts")),
        (Move::Resume, Phase::Halted { .. }) => {
            let failed: Vec<String> = rollout
                .orbs
                .iter()
                .filter(|o| o.state.is_failure())
                .map(|o| o.name.clone())
                .collect();
            for name in failed {
                resume_orb(fleet, &mut rollout, &name)?;
            }
            rollout.phase = Phase::Running;
            rollout.log(now, "", "resumed");
        }
        (Move::Skip, Phase::Halted { orb, .. }) => {
            rollout.set_state(&orb, OrbState::Skipped, "skipped by the operator", now);
            rollout.phase = Phase::Running;
            rollout.log(now, "", format!("resumed without {orb}"));
        }
        (Move::Resume | Move::Skip, _) => {
            return Err(refuse(
                &rollout,
                "only a halted rollout resumes or skips an ORB",
            ));
        }
        (Move::Abort, phase) if !phase.is_final() => {
            rollout.phase = Phase::Aborted;
            rollout.log(now, "", "aborted by the operator");
        }
        (Move::Revert, phase)
            if !matches!(phase, Phase::Planned | Phase::Reverted | Phase::Aborted)
                || (phase == Phase::Aborted && rollout.orbs.iter().any(|o| o.commit.is_some())) =>
        {
            rollout.phase = Phase::Reverting;
            rollout.log(now, "", "reverting, last wave first");
        }
        (Move::Abort | Move::Revert, _) => {
            return Err(refuse(&rollout, "it is over; nothing to abort or revert"));
        }
    }
    store.save(&rollout)?;
    Ok(rollout)
}

/// Puts a failed ORB back in the loop: one with a commit waits again for its engine (with a
/// fresh deadline); a conflict, or one never pushed, is planned again on its remote's tip.
fn resume_orb(fleet: &Fleet, rollout: &mut Rollout, name: &str) -> Result<(), RolloutError> {
    let now = Utc::now();
    let Some(orb) = rollout.orb(name).cloned() else {
        return Ok(());
    };
    if orb.commit.is_some() && orb.state != OrbState::Conflict {
        rollout.set_state(name, OrbState::Pushed, "resumed: looking again", now);
        if let Some(o) = rollout.orb_mut(name) {
            o.pushed_at = Some(now);
        }
        return Ok(());
    }
    let replanned = (|| -> Result<(Option<Oid>, String), String> {
        let entry = fleet
            .config
            .orb(name)
            .ok_or_else(|| format!("{name} is no longer in the fleet file"))?;
        let repo =
            connect::open_repo(&fleet.config, &fleet.paths, entry).map_err(|e| e.to_string())?;
        let tip = repo.fetch().map_err(|e| e.to_string())?;
        let current = repo
            .file(tip, &rollout.change.path)
            .map_err(|e| e.to_string())?
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let content = rollout
            .change
            .apply(current.as_deref())
            .map_err(|e| e.to_string())?;
        Ok((tip, content))
    })();
    match replanned {
        Ok((tip, content)) => {
            let at = tip.map_or("an empty repo".into(), |t| {
                crate::repo::short_hex(&t.to_string())
            });
            rollout.set_state(
                name,
                OrbState::Waiting,
                &format!("resumed: planned again on {at}"),
                now,
            );
            if let Some(o) = rollout.orb_mut(name) {
                o.base = tip.map(|t| t.to_string());
                o.content = content;
            }
            Ok(())
        }
        Err(e) => Err(RolloutError::Plan(vec![format!("{name}: {e}")])),
    }
}
