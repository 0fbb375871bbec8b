//! Rollouts asked for from the control room: a plan from `:rollout`'s flags and a draft's edit
//! (saved as Planned under the data dir, as `orbdeck rollout plan` saves it), the operator's
//! moves, and a rollout's status as `orbdeck rollout status` prints it. The runtime's rollout
//! task carries running rollouts out.

use super::{EffectError, Env, sanitize_lines};
use crate::rollout::change::Edit;
use crate::rollout::options::CommandLine;
use crate::rollout::run::{Fleet, Move, make_move};
use crate::rollout::{Phase, plan, report};
use crate::text::sanitize;
use crate::ui::Action;
use clap::Parser as _;

fn fleet(env: &Env) -> Fleet {
    Fleet {
        config: env.config.clone(),
        paths: env.paths.clone(),
    }
}

/// Plans the rollout `args` ask for; the change is the edit of `draft` (ORB, path) unless the
/// flags say one.
pub(super) async fn plan(
    env: &Env,
    args: Vec<String>,
    draft: Option<(String, String)>,
) -> Result<Action, EffectError> {
    let parsed = match CommandLine::try_parse_from(&args) {
        Ok(p) => p.plan,
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            return Ok(not_planned(&format!(
                ":rollout: {} (the flags of `orbdeck rollout plan --help`)",
                first.trim_start_matches("error: ")
            )));
        }
    };
    let edit = match &draft {
        Some((orb, path)) => {
            let Some(d) = env.drafts.load(orb, path) else {
                return Ok(not_planned(&format!(
                    "{path} @ {orb} has no draft: edit it first (enter, change it, esc), then :rollout; or give --set KEY VALUE"
                )));
            };
            let Some(content) = d.content.as_deref() else {
                return Ok(not_planned(&format!(
                    "{path} @ {orb}: the draft deletes the file; a rollout carries an edit (delete it per ORB with D)"
                )));
            };
            match Edit::between(d.base_content.as_deref(), content) {
                Some(edit) => Some(edit),
                None => {
                    return Ok(not_planned(&format!(
                        "{path} @ {orb}: the draft changes no value (only comments or layout); --content FILE rolls a whole file out"
                    )));
                }
            }
        }
        None => None,
    };
    let request = match parsed.request(edit) {
        Ok(r) => r,
        Err(e) => return Ok(not_planned(&format!(":rollout: {e}"))),
    };
    let fleet = fleet(env);
    let mut rollout =
        match plan::plan(&fleet.config, &fleet.paths, request, chrono::Utc::now()).await {
            Ok(r) => r,
            Err(e) => return Ok(not_planned(&e.to_string())),
        };
    if parsed.start {
        rollout.phase = Phase::Running;
        rollout.log(chrono::Utc::now(), "", "started");
    }
    let store = fleet.store();
    let saved = {
        let (store, rollout) = (store.clone(), rollout.clone());
        tokio::task::spawn_blocking(move || store.save(&rollout)).await?
    };
    if let Err(e) = saved {
        return Ok(not_planned(&format!("the rollout was not saved: {e}")));
    }
    // The draft goes once the rollout carries it to its own ORB (it may be in no wave).
    let carried = draft.filter(|(orb, _)| rollout.orb(orb).is_some());
    let mut text = report::plan(&rollout);
    text.push_str(&format!(
        "\nsaved {}\n{}",
        store.file(&rollout.id).display(),
        if parsed.start {
            "started; the control room carries it out while it runs with --write".to_string()
        } else {
            format!(
                "c starts it here; or `orbdeck rollout start {id}` then `orbdeck rollout run {id}`",
                id = rollout.id
            )
        }
    ));
    if parsed.start {
        if let Some((orb, path)) = carried {
            discard(env, orb, path).await?;
        }
        return Ok(Action::RolloutPlanned {
            id: None,
            text: sanitize_lines(&text),
            draft: None,
        });
    }
    Ok(Action::RolloutPlanned {
        id: Some(rollout.id),
        text: sanitize_lines(&text),
        draft: carried,
    })
}

/// Why nothing was planned, shown in the plan's viewer.
fn not_planned(why: &str) -> Action {
    Action::RolloutPlanned {
        id: None,
        text: sanitize_lines(&format!("Nothing was planned or saved.\n\n{why}")),
        draft: None,
    }
}

/// Drops the draft a started rollout carries, telling the control room.
async fn discard(env: &Env, orb: String, path: String) -> Result<(), EffectError> {
    let drafts = env.drafts.clone();
    let (o, p) = (orb.clone(), path.clone());
    tokio::task::spawn_blocking(move || drafts.remove(&o, &p)).await??;
    env.send(Action::DraftDiscarded { orb, path });
    Ok(())
}

/// Makes `wanted` on rollout `id`, then drops `draft` (a start carrying its edit).
pub(super) async fn moved(
    env: &Env,
    id: String,
    wanted: Move,
    draft: Option<(String, String)>,
) -> Result<Action, EffectError> {
    let fleet = fleet(env);
    let done = {
        let id = id.clone();
        tokio::task::spawn_blocking(move || make_move(&fleet, &id, wanted)).await?
    };
    if let (Ok(_), Some((orb, path))) = (&done, draft) {
        discard(env, orb, path).await?;
    }
    Ok(match done {
        Ok(r) => Action::Notice(format!(
            "Rollout {} {}{}",
            sanitize(&id),
            r.phase.as_str().to_lowercase(),
            match wanted {
                Move::Abort => ": nothing more is pushed, nothing was undone.",
                Move::Revert => ": revert commits go to every pushed ORB, last wave first.",
                _ => ".",
            }
        )),
        Err(e) => Action::Error(sanitize(&e.to_string()).into_owned()),
    })
}

/// Rollout `id` as `orbdeck rollout status` prints it.
pub(super) async fn status(env: &Env, id: String) -> Result<Action, EffectError> {
    let store = fleet(env).store();
    let loaded = tokio::task::spawn_blocking(move || store.load(&id)).await?;
    Ok(match loaded {
        Ok(r) => Action::Text(sanitize_lines(&report::status(&r, chrono::Utc::now()))),
        Err(e) => Action::Text(sanitize(&e.to_string()).into_owned()),
    })
}
