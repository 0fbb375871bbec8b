//! Sync waves, Argo CD's ordering (`orbdeck.io/sync-wave: "N"`): a sync applies its objects wave
//! by wave, lowest first, and starts a wave only once every object of the wave before it is
//! applied and healthy. A wave that is not there yet holds the later ones: they wait (the next
//! sync comes soon, as after any failure) until the wave's timeout, then fail; they are applied
//! as soon as it is healthy. A failed apply or a Degraded object fails the later waves at once.

use crate::apply::Applier;
use crate::health::{self, Health};
use crate::wellknown::ObjectId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long one sync polls a wave's health before leaving the rest to the next sync.
const IN_SYNC_WAIT: Duration = Duration::from_secs(5);
/// How often a waiting wave's objects are read again.
const POLL: Duration = Duration::from_millis(250);

/// When each wave of a commit began to wait for health (kept by the engine across syncs, so
/// the timeout counts from the first sync that applied the wave).
#[derive(Debug, Default)]
pub struct WaveClock {
    started: HashMap<(String, i32), Instant>,
}

impl WaveClock {
    /// Forgets the waves of other commits.
    pub fn retain_commit(&mut self, commit: &str) {
        self.started.retain(|(c, _), _| c == commit);
    }
}

/// Why the waves after one are not applied.
#[derive(Debug, Clone)]
pub struct Held {
    /// The wave that is not done.
    pub wave: i32,
    /// Whether the later waves fail (timeout, failed apply, Degraded) or still wait.
    pub failed: bool,
    /// What the wave waits for.
    pub reason: String,
}

impl Held {
    /// The outcome (`waiting` or `failed`) and message of an object of a later `wave`.
    pub fn outcome(&self, wave: i32) -> (&'static str, String) {
        let what = if self.failed { "failed" } else { "waiting" };
        let message = format!("wave {wave} waits for wave {}: {}", self.wave, self.reason);
        (what, message)
    }
}

/// An object of a wave and, when its apply failed, why.
pub type Applied = (ObjectId, Option<String>);

/// Waits, within this sync for at most a few seconds, until every object of `wave` is applied
/// and healthy (Suspended, or a kind without a health rule, counts as done); `None` then, else
/// what holds the later waves.
pub async fn settle(
    applier: &mut Applier,
    clock: &mut WaveClock,
    commit: &str,
    wave: i32,
    objects: &[Applied],
    timeout: Duration,
) -> Option<Held> {
    let key = (commit.to_string(), wave);
    let started = *clock
        .started
        .entry(key.clone())
        .or_insert_with(Instant::now);
    let until = Instant::now() + IN_SYNC_WAIT;
    loop {
        let Some(block) = blocker(applier, objects) else {
            clock.started.remove(&key);
            return None;
        };
        let limit = humantime::format_duration(timeout);
        if block.failed || started.elapsed() >= timeout {
            let reason = if block.failed {
                block.reason
            } else {
                format!("not healthy within {limit}: {}", block.reason)
            };
            return Some(Held {
                wave,
                failed: true,
                reason,
            });
        }
        if Instant::now() >= until {
            return Some(Held {
                wave,
                failed: false,
                reason: format!("{} (timeout {limit})", block.reason),
            });
        }
        tokio::time::sleep(POLL).await;
        for (id, error) in objects {
            if error.is_none() && !done(applier.live(id)) {
                // A read that fails leaves the last state; the next poll tries again.
                let _ = applier.refresh(id).await;
            }
        }
    }
}

/// What keeps a wave from being done.
struct Block {
    /// Final for this sync: a failed apply or a Degraded object.
    failed: bool,
    reason: String,
}

fn done(live: Option<&serde_json::Value>) -> bool {
    match live.map(health::of) {
        None => false,
        Some(None) => true,
        Some(Some((h, _))) => matches!(h, Health::Healthy | Health::Suspended),
    }
}

/// The first object (in apply order) that failed or is Degraded, else the first not done yet.
fn blocker(applier: &Applier, objects: &[Applied]) -> Option<Block> {
    let mut waiting = None;
    for (id, error) in objects {
        if let Some(e) = error {
            return Some(Block {
                failed: true,
                reason: format!("failed to apply {e}"),
            });
        }
        let live = applier.live(id);
        if done(live) {
            continue;
        }
        let (health, why) = match live.and_then(health::of) {
            Some(assessed) => assessed,
            None => (Health::Missing, "not in the cluster".into()),
        };
        let reason = match why.as_str() {
            "" => format!("{id} is {}", health.as_str()),
            why => format!("{id} is {}: {why}", health.as_str()),
        };
        if health == Health::Degraded {
            return Some(Block {
                failed: true,
                reason,
            });
        }
        waiting.get_or_insert(Block {
            failed: false,
            reason,
        });
    }
    waiting
}
