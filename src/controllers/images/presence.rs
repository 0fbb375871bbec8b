//! "Does the target registry hold this image?": answers with a time to live, filled from the
//! ImageReplications' statuses (the replicator's findings, seen by every engine replica) and by
//! HEAD requests made off the admission path. Read by the admission of every pod.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an answer is trusted.
pub const TTL: Duration = Duration::from_secs(300);

/// The shared answers, by destination reference.
#[derive(Clone, Default)]
pub struct Presence {
    answers: Arc<Mutex<HashMap<String, (bool, Instant)>>>,
}

impl Presence {
    /// What is known of `destination`: `None` when nothing (or only something stale) is.
    pub fn get(&self, destination: &str) -> Option<bool> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .get(destination)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(present, _)| *present)
    }

    /// Records what was found of `destination` now.
    pub fn set(&self, destination: &str, present: bool) {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        if answers.len() > 100_000 {
            answers.retain(|_, (_, at)| at.elapsed() < TTL);
        }
        answers.insert(destination.to_owned(), (present, Instant::now()));
    }

    /// Whether `destination` is known present.
    pub fn has(&self, destination: &str) -> bool {
        self.get(destination) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_and_replaced() {
        let p = Presence::default();
        assert_eq!(p.get("x"), None);
        p.set("x", false);
        assert_eq!(p.get("x"), Some(false));
        assert!(!p.has("x"));
        p.set("x", true);
        assert!(p.clone().has("x"));
    }
}
