//! A rollout as text for people: the plan (waves, each ORB's dry run and diff, the Unassigned)
//! and the status (the header `ready 7/20 · wave 2/4 · unavailable 1/2` and one row per ORB:
//! wave, state, commit, applied, health, age, message). Shared by `orbdeck rollout` and the
//! control room's `:rollouts`; every outside string is sanitised. Pure.

use super::state::{Phase, Rollout};
use crate::text::sanitize;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The plan: the waves, each ORB's dry run and diff, the Unassigned.
pub fn plan(r: &Rollout) -> String {
    let mut out = format!(
        "rollout {}: {}\n{}\n",
        r.id,
        sanitize(&r.change.describe()),
        strategy_line(r)
    );
    for (i, wave) in r.waves.iter().enumerate() {
        out.push_str(&format!(
            "\nwave {i} ({}): {} ORB(s)\n",
            sanitize(&wave.name),
            wave.orbs.len()
        ));
        for orb in r.orbs.iter().filter(|o| o.wave == i) {
            out.push_str(&format!(
                "  {}: {}\n",
                sanitize(&orb.name),
                sanitize(&orb.plan)
            ));
            for line in orb.diff.lines() {
                out.push_str(&format!("    {}\n", sanitize(line)));
            }
        }
    }
    if !r.unassigned.is_empty() {
        out.push_str(&format!(
            "\nUnassigned (matched by the selector, in no wave; never pushed): {}\n",
            sanitize(&r.unassigned.join(", "))
        ));
    }
    out
}

/// The selector and the strategy in one line, then the waves' own limits.
pub fn strategy_line(r: &Rollout) -> String {
    let s = &r.strategy;
    let own: Vec<String> = r
        .waves
        .iter()
        .filter(|w| w.max_concurrent.is_some() || w.max_unavailable.is_some())
        .map(|w| {
            let (c, u) = (
                w.max_concurrent.unwrap_or(s.max_concurrent),
                w.max_unavailable.unwrap_or(s.max_unavailable),
            );
            format!(
                "{}: maxConcurrent {c}, maxUnavailable {u}",
                sanitize(&w.name)
            )
        })
        .collect();
    let own = if own.is_empty() {
        String::new()
    } else {
        format!("; {}", own.join("; "))
    };
    format!(
        "ORBs {}; maxConcurrent {}, maxUnavailable {} per wave; bake {}; progressDeadline {}{own}",
        sanitize(if r.selector.is_empty() {
            "*"
        } else {
            &r.selector
        }),
        s.max_concurrent,
        s.max_unavailable,
        humantime::format_duration(Duration::from_secs(s.bake_seconds)),
        humantime::format_duration(Duration::from_secs(s.progress_deadline_seconds)),
    )
}

/// `12s`, `3m`, `2h`, `4d`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// The status: the header, one row per ORB, the Unassigned, and what to do when halted.
pub fn status(r: &Rollout, now: DateTime<Utc>) -> String {
    let mut out = format!(
        "rollout {} · {} · {}\nchange: {}\n{}\n\n",
        r.id,
        r.phase.as_str(),
        r.summary(now),
        sanitize(&r.change.describe()),
        strategy_line(r)
    );
    let short = |c: &Option<String>| c.as_deref().map_or("-".into(), crate::repo::short_hex);
    let mut rows = vec![
        [
            "WAVE", "ORB", "STATE", "COMMIT", "APPLIED", "HEALTH", "AGE", "MESSAGE",
        ]
        .map(String::from),
    ];
    for o in &r.orbs {
        let wave = r.waves.get(o.wave).map_or("-", |w| w.name.as_str());
        rows.push([
            sanitize(wave).into_owned(),
            sanitize(&o.name).into_owned(),
            o.state.as_str().to_string(),
            short(&o.commit),
            short(&o.applied),
            o.health.clone().unwrap_or_else(|| "-".into()),
            age((now - o.since).num_seconds()),
            sanitize(&o.message).into_owned(),
        ]);
    }
    for name in &r.unassigned {
        rows.push([
            "-".into(),
            sanitize(name).into_owned(),
            "Unassigned".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "matched by the selector, in no wave; never pushed".into(),
        ]);
    }
    out.push_str(&crate::text::table(&rows));
    if let Phase::Halted { orb, reason } = &r.phase {
        out.push_str(&format!(
            "\nhalted on {}: {}\nnext: `orbdeck rollout resume|skip|abort|revert {}`\n",
            sanitize(orb),
            sanitize(reason),
            r.id
        ));
    }
    out
}
