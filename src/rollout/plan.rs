//! Planning a rollout: every ORB the selector picks is given its wave, the change is made to
//! its file at its remote's tip (that tip is the base its push will merge from), and the result
//! is planned against its cluster by a server-side dry run (offline when the cluster cannot be
//! reached), all ORBs at once. Nothing is written to any repo or cluster.

use super::RolloutError;
use super::change::FleetChange;
use super::state::{OrbRollout, OrbState, Phase, Rollout, Strategy, new_id};
use super::waves::{Grouping, WaveLimit, assign};
use crate::fleet::config::{FleetConfig, OrbEntry, Paths};
use crate::fleet::connect;
use crate::fleet::selector::Selector;
use crate::plan::{Overlay, plan_orb};
use chrono::{DateTime, Utc};

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// Which ORBs.
    pub selector: Selector,
    /// The change.
    pub change: FleetChange,
    /// How the ORBs after the canary are grouped.
    pub grouping: Grouping,
    /// Limits, bake and deadline.
    pub strategy: Strategy,
    /// Waves' own limits, by wave name.
    pub wave_limits: Vec<WaveLimit>,
}

/// One ORB's plan: its base, the planned file, the dry run (or why there is none).
struct Planned {
    base: Option<String>,
    content: String,
    unchanged: bool,
    plan: String,
    diff: String,
}

/// Plans `request` on the fleet of `config`; fails, listing every ORB that cannot take the
/// change, when one cannot.
pub async fn plan(
    config: &FleetConfig,
    paths: &Paths,
    request: Request,
    now: DateTime<Utc>,
) -> Result<Rollout, RolloutError> {
    let selected = request.selector.select(&config.orbs);
    if selected.is_empty() {
        return Err(RolloutError::NoOrbs(request.selector.to_string()));
    }
    let (mut waves, unassigned) = assign(&selected, &request.grouping);
    let mut errors = Vec::new();
    for own in &request.wave_limits {
        match waves.iter_mut().find(|w| w.name == own.wave) {
            Some(w) if own.unavailable => w.max_unavailable = Some(own.limit),
            Some(w) => w.max_concurrent = Some(own.limit),
            None => errors.push(format!(
                "--wave-limit {}: no such wave (the waves: {})",
                own.wave,
                waves
                    .iter()
                    .map(|w| w.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    for wave in waves.iter().filter(|w| !w.orbs.is_empty()) {
        let limits = [
            (
                "maxConcurrent",
                wave.max_concurrent
                    .unwrap_or(request.strategy.max_concurrent),
            ),
            (
                "maxUnavailable",
                wave.max_unavailable
                    .unwrap_or(request.strategy.max_unavailable),
            ),
        ];
        for (field, limit) in limits {
            if limit.resolve(wave.orbs.len()) == 0 {
                errors.push(format!(
                    "{field} {limit} is 0 ORBs of {} ({} ORBs): nothing would ever be pushed",
                    wave.name,
                    wave.orbs.len()
                ));
            }
        }
    }
    let in_waves: Vec<(usize, &OrbEntry)> = waves
        .iter()
        .enumerate()
        .flat_map(|(i, w)| w.orbs.iter().map(move |n| (i, n)))
        .filter_map(|(i, n)| selected.iter().find(|o| &o.name == n).map(|o| (i, *o)))
        .collect();
    let plans = futures::future::join_all(
        in_waves
            .iter()
            .map(|(_, orb)| plan_one(config, paths, orb, &request.change)),
    )
    .await;
    let mut orbs = Vec::new();
    for ((wave, orb), planned) in in_waves.iter().zip(plans) {
        match planned {
            Ok(p) => orbs.push(OrbRollout {
                name: orb.name.clone(),
                wave: *wave,
                base: p.base,
                content: p.content,
                plan: p.plan,
                diff: p.diff,
                state: if p.unchanged {
                    OrbState::Unchanged
                } else {
                    OrbState::Waiting
                },
                since: now,
                commit: None,
                pushed_at: None,
                healthy_at: None,
                applied: None,
                health: None,
                revert_commit: None,
                message: String::new(),
            }),
            Err(e) => errors.push(format!("{}: {e}", orb.name)),
        }
    }
    if !errors.is_empty() {
        return Err(RolloutError::Plan(errors));
    }
    let id = new_id(now);
    let mut rollout = Rollout {
        id,
        created: now,
        selector: request.selector.to_string(),
        change: request.change,
        strategy: request.strategy,
        waves,
        unassigned,
        orbs,
        phase: Phase::Planned,
        events: Vec::new(),
    };
    rollout.log(now, "", format!("planned: {}", rollout.change.describe()));
    Ok(rollout)
}

/// Makes the change to `orb`'s file at its tip and plans it against its cluster.
async fn plan_one(
    config: &FleetConfig,
    paths: &Paths,
    orb: &OrbEntry,
    change: &FleetChange,
) -> Result<Planned, String> {
    if orb.repo.is_none() {
        return Err("live only (no repo paired): a rollout commits to every ORB it selects".into());
    }
    if !orb.write {
        return Err(format!(
            "read-only in the fleet file (write: false); a rollout commits to every ORB it selects (`orbdeck orb add {} --write`)",
            orb.name
        ));
    }
    let read = {
        let (config, paths, orb, change) =
            (config.clone(), paths.clone(), orb.clone(), change.clone());
        tokio::task::spawn_blocking(move || -> Result<_, String> {
            let repo = connect::open_repo(&config, &paths, &orb).map_err(|e| e.to_string())?;
            let tip = repo.fetch().map_err(|e| e.to_string())?;
            let current = repo
                .file(tip, &change.path)
                .map_err(|e| e.to_string())?
                .map(|b| String::from_utf8(b).map_err(|_| format!("{}: not UTF-8", change.path)))
                .transpose()?;
            let content = change
                .apply(current.as_deref())
                .map_err(|e| e.to_string())?;
            Ok((tip, current, content))
        })
    };
    let (tip, current, content) = read.await.map_err(|e| e.to_string())??;
    let base = tip.map(|t| t.to_string());
    if current.as_deref() == Some(content.as_str()) {
        return Ok(Planned {
            base,
            content,
            unchanged: true,
            plan: "unchanged: the file already holds the change".into(),
            diff: String::new(),
        });
    }
    let overlay = Overlay {
        drafts: None,
        files: vec![(change.path.clone(), content.clone().into_bytes())],
        removed: Vec::new(),
        offline: false,
    };
    let plan = plan_orb(config, paths, orb, overlay)
        .await
        .map_err(|e| e.to_string())?;
    let (c, u, d) = plan.counts();
    let mut summary = format!("{c} to create, {u} to update, {d} to delete");
    for note in &plan.notes {
        summary.push_str(&format!("; {note}"));
    }
    let diff = plan
        .items
        .iter()
        .map(|i| i.diff.as_str())
        .collect::<Vec<_>>()
        .join("");
    Ok(Planned {
        base,
        content,
        unchanged: false,
        plan: summary,
        diff,
    })
}
