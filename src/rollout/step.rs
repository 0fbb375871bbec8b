//! The rollout loop's one step, pure: the rollout and what was just seen of every pushed ORB
//! in, what to do out (state changes, pushes, reverts, a halt, the end). The runner applies
//! the state changes with [`apply`] and carries out pushes and reverts; nothing here waits or
//! does I/O, so every rule is table-tested.
//!
//! Per ORB: Waiting → Pushed (its commit on the remote) → Applying (the engine reports that
//! commit, or a later one, in current/status.yaml) → Healthy (the roll-up is Healthy there;
//! done once held for `bake`). Degraded health or a failed sync, a same-key conflict, no
//! Healthy within `progressDeadline` of the push, or an unreachable repo halt the rollout on
//! that ORB; nothing resumes by itself. A wave starts only when every ORB of the waves before
//! it is done; within a wave, pushes wait for `maxConcurrent` and `maxUnavailable`.

use super::state::{OrbRollout, OrbState, Phase, Rollout};
use crate::health::Health;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What was seen of one pushed ORB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The commit the engine last reported applied.
    pub applied: Option<String>,
    /// That commit is the rollout's commit or comes after it.
    pub includes_push: bool,
    /// The engine's health roll-up there (None: no object has a health).
    pub health: Option<Health>,
    /// The sync's result (Synced, Partial, Invalid, Failed).
    pub result: String,
    /// Why it is not Healthy (the worst object's message, or the sync's errors).
    pub message: String,
    /// The repo could not be read: why.
    pub error: Option<String>,
}

/// What was seen of every pushed ORB, by name.
pub type Observations = BTreeMap<String, Observation>;

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move an ORB to a state.
    Set {
        /// The ORB.
        orb: String,
        /// Its new state.
        state: OrbState,
        /// Why.
        message: String,
    },
    /// Push the ORB's planned change.
    Push {
        /// The ORB.
        orb: String,
    },
    /// Push the revert of the ORB's rollout commit.
    Revert {
        /// The ORB.
        orb: String,
    },
    /// Stop: the rollout is Halted on this ORB.
    Halt {
        /// The ORB.
        orb: String,
        /// Why.
        reason: String,
    },
    /// The rollout reached an end (Completed or Reverted).
    Finish(Phase),
}

/// Whether `from` + `seconds` is at or before `now`.
fn passed(from: Option<DateTime<Utc>>, seconds: u64, now: DateTime<Utc>) -> bool {
    from.is_some_and(|t| (now - t).num_milliseconds() >= seconds as i64 * 1000)
}

/// An ORB's state after what was seen of it (Pushed, Applying or Healthy before).
fn advance(
    rollout: &Rollout,
    orb: &OrbRollout,
    seen: Option<&Observation>,
    now: DateTime<Utc>,
) -> (OrbState, String) {
    let deadline = rollout.strategy.progress_deadline_seconds;
    let late = passed(orb.pushed_at, deadline, now);
    let keep = (orb.state, orb.message.clone());
    let Some(seen) = seen else {
        return keep;
    };
    // Done with its wave: only a Degraded roll-up counts now (not a blip of its remote).
    let done = rollout.is_done(orb, now);
    if let Some(e) = &seen.error {
        if done {
            return keep;
        }
        return (OrbState::Unreachable, e.clone());
    }
    let applied = seen
        .applied
        .as_deref()
        .map_or("none".into(), crate::repo::short_hex);
    if !seen.includes_push {
        if orb.state == OrbState::Pushed && late {
            return (
                OrbState::Timeout,
                format!(
                    "the engine did not apply the rollout's commit within {deadline} s (it reports {applied})"
                ),
            );
        }
        return keep;
    }
    if matches!(seen.result.as_str(), "Invalid" | "Failed") {
        return (
            OrbState::Degraded,
            format!("sync {} at {applied}: {}", seen.result, seen.message),
        );
    }
    let healthy = seen.result == "Synced" && matches!(seen.health, None | Some(Health::Healthy));
    let shown = seen
        .health
        .map_or_else(|| seen.result.clone(), |h| h.as_str().to_string());
    match seen.health {
        Some(Health::Degraded) => (OrbState::Degraded, seen.message.clone()),
        _ if healthy => (OrbState::Healthy, format!("Healthy at {applied}")),
        _ if done => keep,
        _ if late => (
            OrbState::Timeout,
            format!(
                "not Healthy within {deadline} s: {} {}",
                shown, seen.message
            )
            .trim_end()
            .to_string(),
        ),
        _ => (
            OrbState::Applying,
            format!(
                "{} at {applied}{}",
                shown,
                if seen.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", seen.message)
                }
            ),
        ),
    }
}

/// What to do next, given what was seen at `now`.
pub fn step(rollout: &Rollout, seen: &Observations, now: DateTime<Utc>) -> Vec<Action> {
    match rollout.phase {
        Phase::Running => running(rollout, seen, now),
        Phase::Reverting => reverting(rollout),
        _ => Vec::new(),
    }
}

fn running(rollout: &Rollout, seen: &Observations, now: DateTime<Utc>) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut next = rollout.clone();
    for orb in &rollout.orbs {
        if !matches!(
            orb.state,
            OrbState::Pushed | OrbState::Applying | OrbState::Healthy
        ) {
            continue;
        }
        let (state, message) = advance(rollout, orb, seen.get(&orb.name), now);
        if state != orb.state || message != orb.message {
            let action = Action::Set {
                orb: orb.name.clone(),
                state,
                message,
            };
            apply(&mut next, &action, now);
            actions.push(action);
        }
    }
    // The first failure, in wave order, halts.
    let mut failed: Vec<&OrbRollout> = next.orbs.iter().filter(|o| o.state.is_failure()).collect();
    failed.sort_by_key(|o| o.wave);
    if let Some(orb) = failed.first() {
        actions.push(Action::Halt {
            orb: orb.name.clone(),
            reason: format!("{}: {}", orb.state.as_str(), orb.message),
        });
        return actions;
    }
    let Some(wave) = next.current_wave(now) else {
        actions.push(Action::Finish(Phase::Completed));
        return actions;
    };
    let members: Vec<&OrbRollout> = next.orbs.iter().filter(|o| o.wave == wave).collect();
    let size = members.len();
    let (concurrent, unavailable_limit) = next.limits(wave);
    let max_concurrent = concurrent.resolve(size).max(1);
    let max_unavailable = unavailable_limit.resolve(size).max(1);
    let in_flight = members
        .iter()
        .filter(|o| {
            matches!(
                o.state,
                OrbState::Pushed | OrbState::Applying | OrbState::Healthy
            ) && !next.is_done(o, now)
        })
        .count();
    let unavailable = members.iter().filter(|o| o.state.is_unavailable()).count();
    let room = max_concurrent
        .saturating_sub(in_flight)
        .min(max_unavailable.saturating_sub(unavailable));
    actions.extend(
        members
            .iter()
            .filter(|o| o.state == OrbState::Waiting)
            .take(room)
            .map(|o| Action::Push {
                orb: o.name.clone(),
            }),
    );
    actions
}

/// Reverts the last wave that still has a pushed, unreverted ORB; then the one before.
fn reverting(rollout: &Rollout) -> Vec<Action> {
    let pending = |o: &&OrbRollout| o.commit.is_some() && o.state != OrbState::Reverted;
    let Some(wave) = rollout.orbs.iter().filter(pending).map(|o| o.wave).max() else {
        return vec![Action::Finish(Phase::Reverted)];
    };
    rollout
        .orbs
        .iter()
        .filter(pending)
        .filter(|o| o.wave == wave)
        .map(|o| Action::Revert {
            orb: o.name.clone(),
        })
        .collect()
}

/// Applies a state change, halt or end to `rollout` (pushes and reverts are the runner's).
pub fn apply(rollout: &mut Rollout, action: &Action, now: DateTime<Utc>) {
    match action {
        Action::Set {
            orb,
            state,
            message,
        } => rollout.set_state(orb, *state, message, now),
        Action::Halt { orb, reason } => {
            rollout.phase = Phase::Halted {
                orb: orb.clone(),
                reason: reason.clone(),
            };
            rollout.log(now, orb, format!("halted: {reason}"));
        }
        Action::Finish(phase) => {
            rollout.phase = phase.clone();
            rollout.log(now, "", phase.as_str());
        }
        Action::Push { .. } | Action::Revert { .. } => {}
    }
}

/// Notes what was seen (applied commit, health) on each ORB, for the views; changes no state.
pub fn record(rollout: &mut Rollout, seen: &Observations) {
    for orb in &mut rollout.orbs {
        if let Some(s) = seen.get(&orb.name)
            && s.error.is_none()
        {
            orb.applied = s.applied.clone();
            orb.health = Some(s.health.map_or_else(
                || {
                    if s.result.is_empty() {
                        "-".to_string()
                    } else {
                        s.result.clone()
                    }
                },
                |h| h.as_str().to_string(),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::change::{Edit, FleetChange};
    use crate::rollout::state::{OrbRollout, Strategy};
    use crate::rollout::waves::{Limit, Wave};
    use chrono::TimeZone as _;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    /// A running rollout of waves given as ORB names, with bake 60 s and deadline 300 s.
    fn rollout(waves: &[&[&str]], concurrent: Limit, unavailable: Limit) -> Rollout {
        let mut orbs = Vec::new();
        for (i, w) in waves.iter().enumerate() {
            for name in *w {
                orbs.push(OrbRollout {
                    name: name.to_string(),
                    wave: i,
                    base: None,
                    content: String::new(),
                    plan: String::new(),
                    diff: String::new(),
                    state: OrbState::Waiting,
                    since: t(0),
                    commit: None,
                    pushed_at: None,
                    healthy_at: None,
                    applied: None,
                    health: None,
                    revert_commit: None,
                    message: String::new(),
                });
            }
        }
        Rollout {
            id: "r1".into(),
            created: t(0),
            selector: "*".into(),
            change: FleetChange {
                path: "desired/q.yaml".into(),
                edit: Edit::Content(String::new()),
            },
            strategy: Strategy {
                max_concurrent: concurrent,
                max_unavailable: unavailable,
                bake_seconds: 60,
                progress_deadline_seconds: 300,
            },
            waves: waves
                .iter()
                .enumerate()
                .map(|(i, w)| Wave {
                    name: format!("w{i}"),
                    orbs: w.iter().map(|s| s.to_string()).collect(),
                    max_concurrent: None,
                    max_unavailable: None,
                })
                .collect(),
            unassigned: Vec::new(),
            orbs,
            phase: Phase::Running,
            events: Vec::new(),
        }
    }

    fn pushed(r: &mut Rollout, orb: &str, at: i64) {
        let o = r.orb_mut(orb).unwrap();
        o.state = OrbState::Pushed;
        o.commit = Some(format!("c-{orb}"));
        o.pushed_at = Some(t(at));
    }

    fn healthy(r: &mut Rollout, orb: &str, pushed_at: i64, healthy_at: i64) {
        pushed(r, orb, pushed_at);
        let o = r.orb_mut(orb).unwrap();
        o.state = OrbState::Healthy;
        o.healthy_at = Some(t(healthy_at));
        o.message = format!("Healthy at c-{orb}");
    }

    fn seen(health: Option<Health>, result: &str, applied: bool) -> Observation {
        Observation {
            applied: Some("abcdef1234".into()),
            includes_push: applied,
            health,
            result: result.into(),
            message: "Deployment/web: why".into(),
            error: None,
        }
    }

    fn pushes(actions: &[Action]) -> Vec<&str> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Push { orb } => Some(orb.as_str()),
                _ => None,
            })
            .collect()
    }

    fn sets(actions: &[Action]) -> Vec<(&str, OrbState)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Set { orb, state, .. } => Some((orb.as_str(), *state)),
                _ => None,
            })
            .collect()
    }

    fn halt(actions: &[Action]) -> Option<(&str, &str)> {
        actions.iter().find_map(|a| match a {
            Action::Halt { orb, reason } => Some((orb.as_str(), reason.as_str())),
            _ => None,
        })
    }

    #[test]
    fn the_canary_goes_first_and_a_wave_waits_for_the_bake() {
        let all = Limit::Percent(100);
        let mut r = rollout(&[&["c"], &["a", "b"], &["d"]], all, all);
        assert_eq!(pushes(&step(&r, &Observations::new(), t(0))), ["c"]);
        // Pushed, not applied yet: nothing moves.
        pushed(&mut r, "c", 0);
        let none = Observations::from([("c".into(), seen(None, "Synced", false))]);
        assert!(step(&r, &none, t(5)).is_empty());
        // Applied and healthy at the commit: Healthy, but wave 1 waits for the bake.
        let ok = Observations::from([("c".into(), seen(Some(Health::Healthy), "Synced", true))]);
        let actions = step(&r, &ok, t(10));
        assert_eq!(sets(&actions), [("c", OrbState::Healthy)]);
        assert!(pushes(&actions).is_empty());
        healthy(&mut r, "c", 0, 10);
        assert!(pushes(&step(&r, &ok, t(69))).is_empty(), "59 s of 60");
        assert_eq!(pushes(&step(&r, &ok, t(70))), ["a", "b"]);
        // A healthy ORB without health-rule objects (health None) counts as Healthy.
        let mut r2 = rollout(&[&["c"]], all, all);
        pushed(&mut r2, "c", 0);
        let bare = Observations::from([("c".into(), seen(None, "Synced", true))]);
        assert_eq!(sets(&step(&r2, &bare, t(1))), [("c", OrbState::Healthy)]);
    }

    #[test]
    fn limits_hold_pushes_back_within_a_wave() {
        let mut r = rollout(
            &[&["c"], &["a", "b", "d", "e"]],
            Limit::Percent(50),
            Limit::Count(1),
        );
        healthy(&mut r, "c", 0, 0);
        assert_eq!(
            pushes(&step(&r, &Observations::new(), t(100))),
            ["a"],
            "maxUnavailable 1"
        );
        pushed(&mut r, "a", 100);
        assert!(pushes(&step(&r, &Observations::new(), t(101))).is_empty());
        healthy(&mut r, "a", 100, 110);
        assert_eq!(
            pushes(&step(&r, &Observations::new(), t(111))),
            ["b"],
            "a is healthy (not unavailable) but still baking: 2 in flight is 50% of 4"
        );
        pushed(&mut r, "b", 111);
        healthy(&mut r, "b", 111, 112);
        assert!(
            pushes(&step(&r, &Observations::new(), t(113))).is_empty(),
            "maxConcurrent 50% of 4 = 2 in flight"
        );
        assert_eq!(pushes(&step(&r, &Observations::new(), t(171))), ["d"]);
    }

    #[test]
    fn a_wave_of_its_own_limits_overrides_the_rollouts() {
        let all = Limit::Percent(100);
        let mut r = rollout(&[&["c"], &["a", "b", "d"]], all, all);
        r.waves[1].max_unavailable = Some(Limit::Count(1));
        healthy(&mut r, "c", 0, 0);
        assert_eq!(pushes(&step(&r, &Observations::new(), t(100))), ["a"]);
        assert_eq!(r.summary(t(100)).max_unavailable, 1);
        // Without it, the rollout's 100% pushes the whole wave.
        r.waves[1].max_unavailable = None;
        assert_eq!(
            pushes(&step(&r, &Observations::new(), t(100))),
            ["a", "b", "d"]
        );
    }

    #[test]
    fn failures_halt_on_the_orb_with_the_reason() {
        let all = Limit::Percent(100);
        let base = {
            let mut r = rollout(&[&["c"], &["a", "b"], &["d"]], all, all);
            healthy(&mut r, "c", 0, 0);
            pushed(&mut r, "a", 100);
            pushed(&mut r, "b", 100);
            r
        };
        let table: Vec<(&str, Observation, i64, OrbState, &str)> = vec![
            (
                "degraded",
                seen(Some(Health::Degraded), "Synced", true),
                110,
                OrbState::Degraded,
                "Degraded: Deployment/web: why",
            ),
            (
                "sync invalid",
                seen(None, "Invalid", true),
                110,
                OrbState::Degraded,
                "Degraded: sync Invalid at abcdef12",
            ),
            (
                "never applied",
                seen(None, "Synced", false),
                400,
                OrbState::Timeout,
                "Timeout: the engine did not apply the rollout's commit within 300 s",
            ),
            (
                "never healthy",
                seen(Some(Health::Progressing), "Synced", true),
                400,
                OrbState::Timeout,
                "Timeout: not Healthy within 300 s: Progressing Deployment/web: why",
            ),
            (
                "unreachable",
                Observation {
                    error: Some("file:///x: gone".into()),
                    ..Default::default()
                },
                110,
                OrbState::Unreachable,
                "Unreachable: file:///x: gone",
            ),
        ];
        for (case, bad, at, state, reason) in table {
            let ok = seen(Some(Health::Healthy), "Synced", true);
            let obs = Observations::from([
                ("c".into(), ok.clone()),
                ("a".into(), ok),
                ("b".into(), bad),
            ]);
            let actions = step(&base, &obs, t(at));
            assert!(
                sets(&actions).contains(&("b", state)),
                "{case}: {actions:?}"
            );
            let (orb, why) = halt(&actions).unwrap_or_else(|| panic!("{case}: no halt"));
            assert_eq!(orb, "b", "{case}");
            assert!(why.starts_with(reason), "{case}: {why}");
            assert!(pushes(&actions).is_empty(), "{case}: wave 2 gets nothing");
        }
        // Progressing within the deadline is Applying, no halt.
        let obs =
            Observations::from([("b".into(), seen(Some(Health::Progressing), "Synced", true))]);
        let actions = step(&base, &obs, t(120));
        assert_eq!(sets(&actions), [("b", OrbState::Applying)]);
        assert!(halt(&actions).is_none());
        // A conflict recorded by a push halts the next step.
        let mut conflicted = base.clone();
        conflicted.set_state("a", OrbState::Conflict, "desired/q.yaml: conflicts", t(101));
        let actions = step(&conflicted, &Observations::new(), t(102));
        assert_eq!(
            halt(&actions),
            Some(("a", "Conflict: desired/q.yaml: conflicts"))
        );
        // Halted: nothing happens until the operator moves.
        let mut halted = base.clone();
        halted.phase = Phase::Halted {
            orb: "b".into(),
            reason: "x".into(),
        };
        assert!(step(&halted, &Observations::new(), t(1000)).is_empty());
    }

    #[test]
    fn a_done_orb_only_halts_on_degraded_and_the_end_is_completed() {
        let all = Limit::Percent(100);
        let mut r = rollout(&[&["c"], &["a"]], all, all);
        healthy(&mut r, "c", 0, 0);
        healthy(&mut r, "a", 100, 100);
        let flap =
            Observations::from([("c".into(), seen(Some(Health::Progressing), "Synced", true))]);
        let actions = step(&r, &flap, t(400));
        assert!(sets(&actions).is_empty(), "{actions:?}");
        assert_eq!(actions, [Action::Finish(Phase::Completed)]);
        let bad = Observations::from([("c".into(), seen(Some(Health::Degraded), "Synced", true))]);
        assert_eq!(halt(&step(&r, &bad, t(400))).unwrap().0, "c");
        let blip = Observations::from([(
            "c".into(),
            Observation {
                error: Some("timed out".into()),
                ..Default::default()
            },
        )]);
        assert_eq!(step(&r, &blip, t(400)), [Action::Finish(Phase::Completed)]);
        // Skipped and Unchanged ORBs are done.
        r.orb_mut("a").unwrap().state = OrbState::Skipped;
        r.orb_mut("c").unwrap().state = OrbState::Unchanged;
        assert_eq!(
            step(&r, &Observations::new(), t(0)),
            [Action::Finish(Phase::Completed)]
        );
    }

    #[test]
    fn revert_goes_last_wave_first_and_only_to_pushed_orbs() {
        let all = Limit::Percent(100);
        let mut r = rollout(&[&["c"], &["a", "b"], &["d"]], all, all);
        healthy(&mut r, "c", 0, 0);
        pushed(&mut r, "a", 100);
        pushed(&mut r, "b", 100);
        r.orb_mut("b").unwrap().state = OrbState::Degraded;
        r.phase = Phase::Reverting;
        let reverts = |r: &Rollout| -> Vec<String> {
            step(r, &Observations::new(), t(0))
                .into_iter()
                .map(|a| match a {
                    Action::Revert { orb } => orb,
                    other => format!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(reverts(&r), ["a", "b"], "d was never pushed");
        r.orb_mut("a").unwrap().state = OrbState::Reverted;
        r.orb_mut("b").unwrap().state = OrbState::Reverted;
        assert_eq!(reverts(&r), ["c"]);
        r.orb_mut("c").unwrap().state = OrbState::Reverted;
        assert_eq!(reverts(&r), ["Finish(Reverted)"]);
    }

    #[test]
    fn the_header_counts_ready_wave_and_unavailable() {
        let mut r = rollout(
            &[&["c"], &["a", "b"], &["d"]],
            Limit::Percent(100),
            Limit::Percent(50),
        );
        healthy(&mut r, "c", 0, 0);
        pushed(&mut r, "a", 100);
        assert_eq!(
            r.summary(t(100)).to_string(),
            "ready 1/4 · wave 2/3 · unavailable 1/1"
        );
    }
}
