//! This machine's rollouts, one row per ORB of each (the Rollouts tab): the columns with their
//! sort keys and cells, what its filter searches, and how rows are built from the rollout files
//! (`orbdeck rollout`, `:rollout`).

use super::Width::{Fixed, Flex};
use super::{Key, Table, field, num, text};
use crate::rollout::{OrbState, Phase, Rollout};
use crate::ui::data::RolloutRow;
use crate::ui::render::cell::{age, line};
use std::collections::BTreeMap;

/// The Rollouts tab.
pub(crate) static TABLE: Table<RolloutRow> = Table {
    title: "Rollouts",
    short_title: "Roll",
    command: "rollouts",
    empty_hint: "No rollouts on this machine. Edit a desired file, then `:rollout` rolls the edit out to the ORBs marked with space (or `--orbs SELECTOR`), canary first; `orbdeck rollout plan` does it from a shell.",
    rows: |v| &v.rollouts,
    fields: &[
        field(
            "ROLLOUT",
            Fixed(21),
            2,
            |r| Key::Text(&r.id),
            |at, r| line(&r.id, at.w, at.theme().dim),
        ),
        field(
            "WAVE",
            Flex(6, 1),
            1,
            |r| num(r.wave as u64),
            |at, r| line(&r.wave_name, at.w, at.theme().text),
        ),
        field(
            "STATE",
            Fixed(11),
            0,
            |r| Key::Text(&r.state),
            |at, r| {
                let t = at.theme();
                let style = match (r.severity, r.state.as_str()) {
                    (2, _) => t.error,
                    (1, _) => t.warn,
                    (_, "Healthy") => t.ok,
                    _ => t.dim,
                };
                line(&r.state, at.w, style)
            },
        ),
        field(
            "COMMIT",
            Fixed(8),
            3,
            |r| Key::Text(&r.commit),
            |at, r| line(or_dash(&r.commit), at.w, at.theme().accent),
        ),
        field(
            "APPLIED",
            Fixed(8),
            3,
            |r| Key::Text(&r.applied),
            |at, r| line(or_dash(&r.applied), at.w, at.theme().text),
        ),
        field(
            "HEALTH",
            Fixed(11),
            2,
            |r| Key::Text(&r.health),
            |at, r| {
                let t = at.theme();
                let style = match r.health.as_str() {
                    "Healthy" => t.ok,
                    "Degraded" => t.error,
                    "" => t.dim,
                    _ => t.warn,
                };
                line(or_dash(&r.health), at.w, style)
            },
        ),
        field(
            "DRIFT",
            Fixed(5),
            4,
            |r| num(r.drift.map_or(0, |d| d as u64 + 1)),
            |at, r| {
                let t = at.theme();
                match r.drift {
                    Some(0) => line("0", at.w, t.dim),
                    Some(n) => line(&n.to_string(), at.w, t.warn),
                    None => line("-", at.w, t.dim),
                }
            },
        ),
        field(
            "AGE",
            Fixed(5),
            1,
            |r| num(u64::MAX - r.since),
            |at, r| {
                let shown = if r.since == 0 {
                    "-".to_owned()
                } else {
                    age(at.state.clock.unix, r.since)
                };
                line(&shown, at.w, at.theme().dim)
            },
        ),
        field(
            "MESSAGE",
            Flex(16, 3),
            0,
            |r| Key::Text(&r.message),
            |at, r| line(&r.message, at.w, at.theme().text),
        ),
    ],
    search: |r, push| {
        for s in [&r.id, &r.wave_name, &r.state, &r.health, &r.message] {
            push(s);
        }
    },
    namespace: None,
    object: None,
};

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// Which rollouts the tab shows: every one not yet final, and the last three that are.
pub(crate) fn shown(all: &[Rollout]) -> Vec<&Rollout> {
    let mut finals = 0;
    all.iter()
        .filter(|r| {
            if !r.phase.is_final() {
                return true;
            }
            finals += 1;
            finals <= 3
        })
        .collect()
}

/// The rows of `rollouts` (newest first), by ORB name.
pub(crate) fn rows_by_orb(rollouts: &[&Rollout]) -> BTreeMap<String, Vec<RolloutRow>> {
    let short = |c: &Option<String>| c.as_deref().map(crate::repo::short_hex).unwrap_or_default();
    let mut out: BTreeMap<String, Vec<RolloutRow>> = BTreeMap::new();
    for r in rollouts {
        let halted_on = match &r.phase {
            Phase::Halted { orb, .. } => Some(orb.as_str()),
            _ => None,
        };
        for o in &r.orbs {
            let wave = r.waves.get(o.wave).map_or("-", |w| w.name.as_str());
            let severity = if o.state.is_failure() || halted_on == Some(o.name.as_str()) {
                2
            } else if matches!(o.state, OrbState::Pushed | OrbState::Applying) {
                1
            } else {
                0
            };
            out.entry(o.name.clone()).or_default().push(RolloutRow {
                id: text(&r.id),
                wave: o.wave,
                wave_name: text(&format!("{} {wave}", o.wave)),
                state: o.state.as_str().to_owned(),
                severity,
                commit: short(&o.commit),
                applied: short(&o.applied),
                health: text(o.health.as_deref().unwrap_or_default()),
                since: u64::try_from(o.since.timestamp()).unwrap_or_default(),
                message: text(&o.message),
                drift: None,
            });
        }
        for name in &r.unassigned {
            out.entry(name.clone()).or_default().push(RolloutRow {
                id: text(&r.id),
                wave: usize::MAX,
                wave_name: "-".into(),
                state: "Unassigned".into(),
                message: "matched by the selector, in no wave; never pushed".into(),
                ..Default::default()
            });
        }
    }
    out
}

/// One line per rollout for the note under the table:
/// `r20261202-… Running · ready 2/6 · wave 2/3 · unavailable 1/2 · set spec.hard.cpu=8 in …`.
pub(crate) fn notes(
    rollouts: &[&Rollout],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, String)> {
    rollouts
        .iter()
        .map(|r| {
            let phase = match &r.phase {
                Phase::Halted { orb, reason } => format!("Halted on {orb}: {reason}"),
                p => p.as_str().to_owned(),
            };
            let line = text(&format!(
                "{} {phase} · {} · {}",
                r.id,
                r.summary(now),
                r.change.describe()
            ));
            (text(&r.id), line)
        })
        .collect()
}
