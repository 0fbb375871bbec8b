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
            Some(Edit::between(d.base_content.as_deref(), content))
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
    Ok(Action::RolloutPlanned {
        id: rollout.id,
        text: sanitize_lines(&text),
        draft,
    })
}

/// Why nothing was planned, shown in the plan's viewer.
fn not_planned(why: &str) -> Action {
    Action::Text(sanitize_lines(&format!(
        "Nothing was planned or saved.\n\n{why}"
    )))
}

/// Makes `wanted` on rollout `id`.
pub(super) async fn moved(env: &Env, id: String, wanted: Move) -> Result<Action, EffectError> {
    let fleet = fleet(env);
    let done = {
        let id = id.clone();
        tokio::task::spawn_blocking(move || make_move(&fleet, &id, wanted)).await?
    };
    Ok(match done {
        Ok(r) => Action::Notice(format!(
            "Rollout {id} {}{}",
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
pub(super) fn status(env: &Env, id: &str) -> Action {
    let now = chrono::Utc::now();
    match fleet(env).store().load(id) {
        Ok(r) => Action::Text(sanitize_lines(&report::status(&r, now))),
        Err(e) => Action::Text(sanitize(&e.to_string()).into_owned()),
    }
}
