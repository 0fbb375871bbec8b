//! The replicator's decisions, pure: what to do with one ImageReplication now (start an attempt,
//! wait for its retry time, start over on a retry request, nothing), and the jittered exponential
//! delay between attempts. Called by the replicator's passes.

use super::desired::RETRY_ANNOTATION;
use crate::model::{ImageReplication, ImageReplicationStatus, ReplicationPhase};
use std::time::Duration;

/// The delay after the first failed attempt; each later one doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest delay between attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(300);

/// What the replicator does with one ImageReplication now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing: done, given up, or being copied by this engine.
    Nothing,
    /// Start attempt number `attempt` (an interrupted attempt is resumed under its number).
    Start {
        /// The attempt's number, from 1.
        attempt: u32,
    },
    /// Look again in this many milliseconds (a failed attempt's retry time).
    WaitMillis(i64),
    /// The operator asked for another round: back to Pending with no attempts, recording the
    /// annotation's value.
    Reset {
        /// The retry annotation's value acted on.
        retried: String,
    },
}

/// The step for `r` at `now_ms` (Unix milliseconds); `running` when this engine copies it now.
pub fn step(r: &ImageReplication, running: bool, now_ms: i64) -> Step {
    if running {
        return Step::Nothing;
    }
    let status = r.status.clone().unwrap_or_default();
    let asked = r
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(RETRY_ANNOTATION));
    match status.phase {
        ReplicationPhase::MaxAttemptsExceeded => match asked {
            Some(v) if status.retried.as_ref() != Some(v) => Step::Reset { retried: v.clone() },
            _ => Step::Nothing,
        },
        ReplicationPhase::Succeeded => Step::Nothing,
        ReplicationPhase::Pending => Step::Start {
            attempt: status.attempts + 1,
        },
        ReplicationPhase::Replicating => Step::Start {
            attempt: status.attempts.max(1),
        },
        ReplicationPhase::Failed => {
            let due = status
                .next_attempt_time
                .as_ref()
                .map_or(now_ms, |t| t.0.as_millisecond());
            if due > now_ms {
                Step::WaitMillis(due - now_ms)
            } else {
                Step::Start {
                    attempt: status.attempts + 1,
                }
            }
        }
    }
}

/// Whether `status`, as the watch shows it, predates the outcome of attempt `attempt` that
/// this engine already wrote (the watch lags behind the write).
pub fn predates(status: &ImageReplicationStatus, attempt: u32) -> bool {
    status.attempts < attempt
        || (status.attempts == attempt
            && matches!(
                status.phase,
                ReplicationPhase::Pending | ReplicationPhase::Replicating
            ))
}

/// The delay after failed attempt `attempt` (from 1): doubling from [`FIRST_DELAY`] up to
/// [`MAX_DELAY`], times `jitter` (expected in 0.75..1.25).
pub fn delay(attempt: u32, jitter: f64) -> Duration {
    let doubled = FIRST_DELAY.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    doubled.min(MAX_DELAY).mul_f64(jitter.clamp(0.5, 1.5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ImageReplicationSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn replication(status: ImageReplicationStatus) -> ImageReplication {
        let mut r = ImageReplication::new(
            "x",
            ImageReplicationSpec {
                source: "a/b:1".into(),
                destination: "m/a/b:1".into(),
                policy: "p".into(),
            },
        );
        r.status = Some(status);
        r
    }

    #[test]
    fn a_lagging_watch_predates_the_written_outcome() {
        let seen = |phase, attempts| ImageReplicationStatus {
            phase,
            attempts,
            ..Default::default()
        };
        assert!(predates(&seen(ReplicationPhase::Pending, 0), 1));
        assert!(predates(&seen(ReplicationPhase::Replicating, 1), 1));
        assert!(predates(&seen(ReplicationPhase::Failed, 1), 2));
        assert!(!predates(&seen(ReplicationPhase::Succeeded, 1), 1));
        assert!(!predates(&seen(ReplicationPhase::Failed, 2), 2));
        assert!(!predates(&seen(ReplicationPhase::Replicating, 3), 2));
    }

    #[test]
    fn steps() {
        let now = 1_000_000;
        let pending = replication(ImageReplicationStatus::default());
        assert_eq!(step(&pending, false, now), Step::Start { attempt: 1 });
        assert_eq!(step(&pending, true, now), Step::Nothing);
        let failed = |at: i64| {
            replication(ImageReplicationStatus {
                phase: ReplicationPhase::Failed,
                attempts: 2,
                next_attempt_time: Some(Time(
                    k8s_openapi::jiff::Timestamp::from_millisecond(at).unwrap(),
                )),
                ..Default::default()
            })
        };
        assert_eq!(step(&failed(now + 500), false, now), Step::WaitMillis(500));
        assert_eq!(
            step(&failed(now - 1), false, now),
            Step::Start { attempt: 3 }
        );
        let interrupted = replication(ImageReplicationStatus {
            phase: ReplicationPhase::Replicating,
            attempts: 2,
            ..Default::default()
        });
        assert_eq!(step(&interrupted, false, now), Step::Start { attempt: 2 });
        let mut exceeded = replication(ImageReplicationStatus {
            phase: ReplicationPhase::MaxAttemptsExceeded,
            attempts: 3,
            ..Default::default()
        });
        assert_eq!(step(&exceeded, false, now), Step::Nothing);
        exceeded.metadata.annotations =
            Some([(RETRY_ANNOTATION.to_owned(), "t1".to_owned())].into());
        assert_eq!(
            step(&exceeded, false, now),
            Step::Reset {
                retried: "t1".into()
            }
        );
        exceeded.status.as_mut().unwrap().retried = Some("t1".into());
        assert_eq!(step(&exceeded, false, now), Step::Nothing, "acted on once");
    }

    #[test]
    fn delays_double_with_jitter_up_to_the_cap() {
        assert_eq!(delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(delay(30, 1.0), MAX_DELAY);
        assert_eq!(delay(2, 0.75), Duration::from_millis(1500));
    }
}
