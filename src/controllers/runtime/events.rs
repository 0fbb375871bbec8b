//! Warning Events on the objects the families read (a Profile with a bad quota label, an
//! AddonTemplate that does not render, a PodSetting outside a team namespace), and Normal
//! `SelfHealed` Events on the objects put back after a change in the cluster, published through
//! kube-runtime's `Recorder` (`events.k8s.io/v1`, reporting controller `orbdeck-controllers`,
//! instance the pod's name): once per distinct set of warnings of an object, not once per
//! reconcile, so a converged cluster gets no Event writes.

use crate::controllers::Warning;
use crate::controllers::runtime::converge::CONTROLLER_MANAGER;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Reporter};
use std::collections::HashMap;
use std::sync::Mutex;

/// The Event action of every warning: what the controllers were doing.
const ACTION: &str = "Reconcile";
/// The Event action of a self-heal.
const HEAL_ACTION: &str = "SelfHeal";

/// Publishes Warning Events, remembering what was said of each object.
pub struct Recorder {
    recorder: kube::runtime::events::Recorder,
    said: Mutex<HashMap<String, Vec<Warning>>>,
}

impl Recorder {
    /// A recorder with nothing said yet; the instance is `$POD_NAME` or `$HOSTNAME` when set.
    pub fn new(client: kube::Client) -> Recorder {
        let instance = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .ok();
        let reporter = Reporter {
            controller: CONTROLLER_MANAGER.into(),
            instance,
        };
        Recorder {
            recorder: kube::runtime::events::Recorder::new(client, reporter),
            said: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes `warnings` on `object` unless they are what was last said of it; an empty list
    /// forgets the object (its next warning is said again). Whether they were published (new),
    /// so a caller can log them once too.
    pub async fn warn(&self, object: &ObjectReference, warnings: &[Warning]) -> bool {
        let key = key(object);
        {
            let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
            if warnings.is_empty() {
                said.remove(&key);
                return false;
            }
            if said.get(&key).is_some_and(|w| w == warnings) {
                return false;
            }
            said.insert(key, warnings.to_vec());
        }
        for warning in warnings {
            self.publish(object, warning).await;
        }
        true
    }

    /// Publishes a Normal `SelfHealed` Event on `object`, which someone changed in the cluster
    /// and `who` put back to its desired state, and says so in the log.
    pub async fn healed(&self, object: &ObjectReference, who: &str) {
        let what = format!(
            "{} {}{}",
            object.kind.as_deref().unwrap_or_default(),
            object
                .namespace
                .as_deref()
                .map(|n| format!("{n}/"))
                .unwrap_or_default(),
            object.name.as_deref().unwrap_or_default()
        );
        tracing::info!(object = %what, "self-healed: changed in the cluster, put back by {who}");
        let event = Event {
            type_: EventType::Normal,
            reason: "SelfHealed".into(),
            note: Some(format!(
                "changed in the cluster by another manager; put back by {who}"
            )),
            action: HEAL_ACTION.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, object).await {
            tracing::warn!(object = %what, error = %e, "recording a self-heal event");
        }
    }

    /// Publishes one Event of a step a family took (`action`), Normal or Warning, every time.
    pub async fn step(
        &self,
        object: &ObjectReference,
        warning: bool,
        reason: &str,
        action: &str,
        message: &str,
    ) {
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(note(message)),
            action: action.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, object).await {
            let name = object.name.as_deref().unwrap_or_default();
            tracing::warn!(object = %name, error = %e, "recording an event");
        }
    }

    /// Publishes `warning` on `object`, or forgets it when there is none (see [`Recorder::warn`]).
    pub async fn warn_about<K>(&self, object: &K, warning: Option<&Warning>) -> bool
    where
        K: kube::Resource<DynamicType = ()>,
    {
        let warnings: Vec<Warning> = warning.into_iter().cloned().collect();
        self.warn(&reference(object), &warnings).await
    }

    /// Forgets what was said of an object (it is gone).
    pub fn forget(&self, object: &ObjectReference) {
        self.said
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(object));
    }

    /// One Warning Event in the object's namespace (`default` for cluster-scoped objects).
    async fn publish(&self, object: &ObjectReference, warning: &Warning) {
        let event = Event {
            type_: EventType::Warning,
            reason: warning.reason.clone(),
            note: Some(note(&warning.message)),
            action: ACTION.into(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, object).await {
            let name = object.name.as_deref().unwrap_or_default();
            tracing::warn!(object = %name, error = %e, "recording a warning event");
        }
    }
}

/// At most the 1 kB an Event's note may hold, cut at a character boundary.
fn note(message: &str) -> String {
    const MAX: usize = 1024;
    if message.len() <= MAX {
        return message.to_owned();
    }
    let mut end = MAX - '…'.len_utf8();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

/// A reference to an object of a kind with a static type.
pub fn reference<K>(object: &K) -> ObjectReference
where
    K: kube::Resource<DynamicType = ()>,
{
    let meta = object.meta();
    ObjectReference {
        api_version: Some(K::api_version(&()).into_owned()),
        kind: Some(K::kind(&()).into_owned()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        ..Default::default()
    }
}

/// What a recorder remembers an object by.
fn key(object: &ObjectReference) -> String {
    format!(
        "{}/{}/{}/{}",
        object.api_version.as_deref().unwrap_or_default(),
        object.kind.as_deref().unwrap_or_default(),
        object.namespace.as_deref().unwrap_or_default(),
        object.name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_message_is_cut_to_the_1_kb_an_event_note_holds() {
        let long = "é".repeat(800);
        let note = super::note(&long);
        assert!(note.len() <= 1024 && note.ends_with('…'), "{}", note.len());
        assert_eq!(super::note("short"), "short");
    }
}
