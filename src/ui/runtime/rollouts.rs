//! This machine's rollouts, for the control room: the rollout files read again every second
//! (off the render path) into the Rollouts tab's rows, and, when every ORB of a running rollout
//! may be written, its loop carried out here, as `orbdeck rollout run` would, so a rollout
//! started from the control room goes on after a restart. A rollout another process runs is
//! left to it (its runner lock is held).

use crate::fleet::config::{FleetConfig, Paths};
use crate::rollout::run::{Fleet, run as run_loop};
use crate::rollout::{Phase, Rollout, RolloutError};
use crate::text::sanitize;
use crate::ui::Action;
use crate::ui::kinds::rollouts::{notes, rows_by_orb, shown};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

/// How often the rollout files are read again.
const EVERY: Duration = Duration::from_secs(1);

/// How long a rollout whose loop failed waits before it is carried on again.
const RETRY: Duration = Duration::from_secs(30);

/// How often a rollout carried out here looks at its ORBs.
const POLL: Duration = Duration::from_secs(2);

/// Starts the task on the fleet of `config` (its ORBs' `write` already saying `--write`); it
/// ends with `shutdown`.
pub fn spawn(
    config: &FleetConfig,
    paths: &Paths,
    tx: UnboundedSender<Action>,
    shutdown: CancellationToken,
) {
    let fleet = Fleet {
        config: config.clone(),
        paths: paths.clone(),
    };
    tokio::spawn(async move {
        let driving: Arc<Mutex<HashSet<String>>> = Arc::default();
        let mut last = None;
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let store = fleet.store();
            let Ok(all) = tokio::task::spawn_blocking(move || store.list()).await else {
                continue;
            };
            let seen = shown(&all);
            let action = Action::Rollouts {
                rows: rows_by_orb(&seen),
                notes: notes(&seen, chrono::Utc::now()),
            };
            if last.as_ref() != Some(&action) {
                last = Some(action.clone());
                if tx.send(action).is_err() {
                    return;
                }
            }
            for r in all.iter().filter(|r| runnable(r, &fleet)) {
                if !lock(&driving).insert(r.id.clone()) {
                    continue;
                }
                let (fleet, id, tx) = (fleet.clone(), r.id.clone(), tx.clone());
                let (driving, shutdown) = (driving.clone(), shutdown.clone());
                tokio::spawn(async move {
                    let say = |e: &crate::rollout::state::Event| {
                        let who = if e.orb.is_empty() {
                            String::new()
                        } else {
                            format!("{}: ", e.orb)
                        };
                        let text = format!("Rollout {id}: {who}{}", e.message);
                        let _ = tx.send(Action::Notice(sanitize(&text).into_owned()));
                    };
                    let ended = tokio::select! {
                        () = shutdown.cancelled() => return,
                        ended = run_loop(&fleet, &id, POLL, say) => ended,
                    };
                    let failed = match ended {
                        Ok(Phase::Halted { orb, reason }) => {
                            let text = format!(
                                "Rollout {id} halted on {orb}: {reason} (:rollout resume|skip|abort|revert)"
                            );
                            let _ = tx.send(Action::Error(sanitize(&text).into_owned()));
                            false
                        }
                        Ok(_) | Err(RolloutError::Busy(_)) => false,
                        Err(e) => {
                            let text =
                                format!("Rollout {id}: {e}; tried again in {}s", RETRY.as_secs());
                            tracing::warn!(rollout = %id, error = %e, "the rollout's loop stopped");
                            let _ = tx.send(Action::Error(sanitize(&text).into_owned()));
                            true
                        }
                    };
                    if failed {
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(RETRY) => {}
                        }
                    }
                    lock(&driving).remove(&id);
                });
            }
        }
    });
}

/// Whether this control room carries `r` out: it is running (or reverting) and every ORB it
/// pushes to may be written (`write: true`, or `--write`).
fn runnable(r: &Rollout, fleet: &Fleet) -> bool {
    matches!(r.phase, Phase::Running | Phase::Reverting)
        && r.orbs
            .iter()
            .all(|o| fleet.config.orb(&o.name).is_some_and(|e| e.write))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
