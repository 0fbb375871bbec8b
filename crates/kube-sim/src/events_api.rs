//! `events.k8s.io/v1` Events: the same stored objects as core `v1` Events (one storage, as in a
//! cluster), served with the fields renamed as the API server's conversion renames them, so an
//! Event written through one API is read through the other (kube-runtime's `Recorder` writes
//! `events.k8s.io/v1`; `kubectl get events` reads `v1`).
#![deny(clippy::indexing_slicing)]

use serde_json::{Map, Value, json};

/// The API group of the newer Events API.
pub const GROUP: &str = "events.k8s.io";

/// (`events.k8s.io/v1` field, core `v1` field).
const RENAMES: [(&str, &str); 8] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingInstance", "reportingInstance"),
];

/// An `events.k8s.io/v1` Event (or a merge patch of one) in the core `v1` form it is stored in.
pub fn to_core(mut event: Value) -> Value {
    rename(&mut event, |(new, old)| (new, old));
    if event.get("apiVersion").is_some() {
        crate::object::set(&mut event, &["apiVersion"], json!("v1"));
    }
    event
}

/// A stored core `v1` Event in its `events.k8s.io/v1` form.
pub fn to_events(mut event: Value) -> Value {
    rename(&mut event, |(new, old)| (old, new));
    crate::object::set(&mut event, &["apiVersion"], json!(format!("{GROUP}/v1")));
    event
}

fn rename(
    event: &mut Value,
    direction: impl Fn((&'static str, &'static str)) -> (&'static str, &'static str),
) {
    let Some(fields) = event.as_object_mut() else {
        return;
    };
    let mut renamed = Map::new();
    for pair in RENAMES {
        let (from, to) = direction(pair);
        if let Some(v) = fields.shift_remove(from) {
            renamed.insert(to.to_owned(), v);
        }
    }
    fields.extend(renamed);
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_between_the_two_apis() {
        let newer = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "p.1", "namespace": "default"},
            "regarding": {"kind": "Profile", "name": "alice"}, "note": "bad label",
            "reason": "InvalidQuotaLabel", "type": "Warning", "reportingController": "orbdeck",
            "eventTime": "2026-12-01T10:00:00.000000Z", "action": "Reconcile"});
        let core = to_core(newer.clone());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["involvedObject"]["name"], "alice");
        assert_eq!(core["message"], "bad label");
        assert_eq!(core["reportingComponent"], "orbdeck");
        assert!(core.get("note").is_none() && core.get("regarding").is_none());
        assert_eq!(to_events(core), newer);
    }
}
