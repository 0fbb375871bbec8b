//! Warning Events on the objects the families read (a Profile with a bad quota label, an
//! AddonTemplate that does not render, a PodSetting outside a team namespace): written once per
//! distinct set of warnings of an object, not once per reconcile, so a converged cluster gets no
//! Event writes.

use crate::controllers::Warning;
use crate::controllers::runtime::converge::CONTROLLER_MANAGER;
use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, PostParams};
use std::collections::HashMap;
use std::sync::Mutex;

/// Publishes Warning Events, remembering what was said of each object.
pub struct Recorder {
    client: kube::Client,
    said: Mutex<HashMap<String, Vec<Warning>>>,
}

impl Recorder {
    /// A recorder with nothing said yet.
    pub fn new(client: kube::Client) -> Recorder {
        Recorder {
            client,
            said: Mutex::new(HashMap::new()),
        }
    }

    /// Publishes `warnings` on `object` unless they are what was last said of it; an empty list
    /// forgets the object (its next warning is said again).
    pub async fn warn(&self, object: &ObjectReference, warnings: &[Warning]) {
        let key = key(object);
        {
            let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
            if warnings.is_empty() {
                said.remove(&key);
                return;
            }
            if said.get(&key).is_some_and(|w| w == warnings) {
                return;
            }
            said.insert(key, warnings.to_vec());
        }
        for warning in warnings {
            self.publish(object, warning).await;
        }
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
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
        let name = object.name.clone().unwrap_or_default();
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{name}.")),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            involved_object: object.clone(),
            type_: Some("Warning".into()),
            reason: Some(warning.reason.clone()),
            message: Some(warning.message.clone()),
            reporting_component: Some(CONTROLLER_MANAGER.into()),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            count: Some(1),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            tracing::warn!(object = %name, error = %e, "recording a warning event");
        }
    }
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
