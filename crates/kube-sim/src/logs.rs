//! The simulated kubelet's container logs: per pod (by uid) and container, the last lines written,
//! each with its timestamp, bounded in lines and bytes. In memory only (a restarted sim starts
//! with empty logs); `pods/log` reads them and a notification wakes followers.

use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::watch;

/// Lines kept per container; older ones are dropped.
pub const MAX_LINES: usize = 1_000;
/// Bytes of text kept per container; older lines are dropped.
pub const MAX_BYTES: usize = 256 * 1024;
/// Longest line kept; the rest of a longer line is cut off.
pub const MAX_LINE: usize = 16 * 1024;

/// One line of a container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Position in the container's log, counting from 1 and never reused.
    pub seq: u64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The text, without the newline.
    pub text: String,
}

impl Line {
    /// The line as served: with a newline, and its RFC 3339 timestamp first when asked.
    pub fn render(&self, timestamps: bool) -> String {
        if timestamps {
            let at = self.at.to_rfc3339_opts(SecondsFormat::Nanos, true);
            format!("{at} {}\n", self.text)
        } else {
            format!("{}\n", self.text)
        }
    }
}

/// The retained lines of one container.
#[derive(Debug, Default)]
struct ContainerLog {
    lines: VecDeque<Line>,
    bytes: usize,
    last_seq: u64,
}

impl ContainerLog {
    fn push(&mut self, text: &str, at: DateTime<Utc>) {
        let text = truncate(text, MAX_LINE);
        self.last_seq += 1;
        self.bytes += text.len();
        self.lines.push_back(Line {
            seq: self.last_seq,
            at,
            text: text.to_string(),
        });
        while self.lines.len() > MAX_LINES || (self.bytes > MAX_BYTES && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.text.len();
            }
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Every pod's container logs, keyed by pod uid then container name.
#[derive(Debug)]
pub struct Logs {
    pods: Mutex<HashMap<String, BTreeMap<String, ContainerLog>>>,
    changed: watch::Sender<u64>,
}

impl Default for Logs {
    fn default() -> Self {
        Logs {
            pods: Mutex::new(HashMap::new()),
            changed: watch::channel(0).0,
        }
    }
}

impl Logs {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, BTreeMap<String, ContainerLog>>> {
        self.pods.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Appends `text` to a container's log, one line per line of it (a final newline ends the
    /// last line rather than starting an empty one).
    pub fn append(&self, uid: &str, container: &str, text: &str) {
        let at = Utc::now();
        {
            let mut pods = self.lock();
            let log = pods
                .entry(uid.to_string())
                .or_default()
                .entry(container.to_string())
                .or_default();
            let text = text.strip_suffix('\n').unwrap_or(text);
            for line in text.split('\n') {
                log.push(line.strip_suffix('\r').unwrap_or(line), at);
            }
        }
        self.notify();
    }

    /// The retained lines of a container after position `after` (0 for all of them).
    pub fn lines_after(&self, uid: &str, container: &str, after: u64) -> Vec<Line> {
        self.lock()
            .get(uid)
            .and_then(|containers| containers.get(container))
            .map(|log| {
                log.lines
                    .iter()
                    .filter(|l| l.seq > after)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Drops the logs of every pod whose uid is not in `live`.
    pub fn retain(&self, live: &HashSet<String>) {
        let dropped = {
            let mut pods = self.lock();
            let before = pods.len();
            pods.retain(|uid, _| live.contains(uid));
            pods.len() != before
        };
        if dropped {
            self.notify();
        }
    }

    /// A receiver that changes whenever a line is appended or logs are dropped.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines_and_keeps_the_newest_within_bounds() {
        let logs = Logs::default();
        logs.append("u", "c", "one\ntwo\r\n");
        let lines = logs.lines_after("u", "c", 0);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["one", "two"]);
        assert_eq!(logs.lines_after("u", "c", 1).len(), 1);
        assert!(logs.lines_after("u", "other", 0).is_empty());
        for i in 0..MAX_LINES + 5 {
            logs.append("u", "c", &format!("line {i}"));
        }
        let lines = logs.lines_after("u", "c", 0);
        assert_eq!(lines.len(), MAX_LINES);
        assert_eq!(lines.last().map(|l| l.text.as_str()), Some("line 1004"));
        let big = "x".repeat(MAX_LINE * 2);
        for _ in 0..20 {
            logs.append("u", "big", &big);
        }
        let lines = logs.lines_after("u", "big", 0);
        assert!(lines.iter().all(|l| l.text.len() == MAX_LINE));
        assert_eq!(lines.len(), MAX_BYTES / MAX_LINE);
        assert_eq!(lines.last().map(|l| l.seq), Some(20));
    }

    #[test]
    fn retain_drops_the_logs_of_gone_pods() {
        let logs = Logs::default();
        logs.append("a", "c", "x");
        logs.append("b", "c", "y");
        let mut rx = logs.subscribe();
        rx.borrow_and_update();
        logs.retain(&HashSet::from(["b".to_string()]));
        assert!(rx.has_changed().unwrap_or(false));
        assert!(logs.lines_after("a", "c", 0).is_empty());
        assert_eq!(logs.lines_after("b", "c", 0).len(), 1);
    }

    #[test]
    fn renders_with_a_nanosecond_timestamp() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T10:00:00.5Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap();
        let line = Line {
            seq: 1,
            at,
            text: "hi".into(),
        };
        assert_eq!(line.render(false), "hi\n");
        assert_eq!(line.render(true), "2024-05-01T10:00:00.500000000Z hi\n");
        assert_eq!(truncate("héllo", 2), "h");
    }
}
