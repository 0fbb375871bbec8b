//! The out-of-sync list and the whole-ORB plan: desired/ as committed (no drafts) against the
//! cluster by server-side dry run, exactly as `orbdeck plan --no-drafts` computes it.

use super::{EffectError, Env, sanitize_lines};
use crate::plan::{self, Action as Planned};
use crate::repo::status::OrbStatus;
use crate::text::sanitize;
use crate::ui::Action;
use crate::ui::data::DriftRow;

/// What one plan item means for the operator.
fn state_of(action: Planned) -> &'static str {
    match action {
        Planned::Create => "missing",
        Planned::Update => "changed",
        Planned::Delete => "extra",
    }
}

/// Every object that differs → [`Action::Drift`]; a plan that cannot be made is its note.
pub(super) async fn drift(env: &Env, orb: String) -> Result<Action, EffectError> {
    let entry = env.entry(&orb)?;
    let result =
        match plan::plan_orb(&env.config, &env.paths, &entry, plan::Overlay::default()).await {
            Ok(result) => result,
            Err(e) => {
                return Ok(Action::Drift(
                    Vec::new(),
                    vec![sanitize_lines(&e.to_string())],
                ));
            }
        };
    // The prune fence holds back every prune of a sync or none: when the last sync's was held,
    // so is every extra object since.
    let held = env
        .with_repo(&orb, |repo| {
            Ok(repo
                .tip()
                .and_then(|t| OrbStatus::read(repo, t))
                .map(|s| s.errors)
                .unwrap_or_default())
        })
        .await
        .unwrap_or_default()
        .iter()
        .any(|e| e.starts_with("prune held back"));
    let rows = result
        .items
        .iter()
        .map(|item| DriftRow {
            state: if item.action == Planned::Delete && held {
                "held".into()
            } else {
                state_of(item.action).into()
            },
            api_version: sanitize(&item.id.api_version).into_owned(),
            kind: sanitize(&item.id.kind).into_owned(),
            namespace: sanitize(item.id.namespace.as_deref().unwrap_or_default()).into_owned(),
            name: sanitize(&item.id.name).into_owned(),
            diff: item
                .diff
                .lines()
                .map(|l| sanitize(l).into_owned())
                .collect(),
        })
        .collect();
    let mut notes: Vec<String> = result
        .notes
        .iter()
        .map(|n| sanitize(n).into_owned())
        .collect();
    notes.push(format!("{} objects in sync", result.unchanged));
    Ok(Action::Drift(rows, notes))
}

/// The plan as `orbdeck plan` prints it (no colours) → [`Action::Text`].
pub(super) async fn plan_text(env: &Env, orb: String) -> Result<Action, EffectError> {
    let entry = env.entry(&orb)?;
    let text = match plan::plan_orb(&env.config, &env.paths, &entry, plan::Overlay::default()).await
    {
        Ok(result) => plan::render(&result, false),
        Err(e) => e.to_string(),
    };
    Ok(Action::Text(sanitize_lines(&text)))
}
