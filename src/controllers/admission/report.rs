//! `current/admission.yaml`: whether the API server can reach each webhook (the engine's own
//! probe, as the API server would call it) and the last problems the webhooks met, each also a
//! Warning Event on the pod.

use super::server::Answered;
use crate::controllers::Warning;
use crate::controllers::runtime::events::Recorder;
use k8s_openapi::api::core::v1::ObjectReference;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Where the report is written in the ORB repo.
pub const REPORT_FILE: &str = "current/admission.yaml";
/// How many problems the report keeps.
const KEPT: usize = 10;
/// Reason of the Warning Event of a problem.
pub const PROBLEM_REASON: &str = "AdmissionWebhookFailed";

/// `current/admission.yaml`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReport {
    /// Each webhook orbdeck configured, as its last probe found it.
    pub webhooks: Vec<WebhookReport>,
    /// The last problems met answering (the pods were admitted unchanged), newest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

/// One webhook as the engine's probe found it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReport {
    /// Its name in the MutatingWebhookConfiguration.
    pub name: String,
    /// Where the API server calls it.
    pub url: String,
    /// `Ignore` (a failing webhook admits pods unchanged) or `Fail`.
    pub failure_policy: String,
    /// Whether it answered the last probe within its timeout.
    pub reachable: bool,
    /// Why it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One problem a webhook met.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// When (RFC 3339).
    pub time: String,
    /// The webhook's path.
    pub webhook: String,
    /// The pod's namespace/name.
    pub pod: String,
    /// What went wrong.
    pub message: String,
}

/// The problems met by this replica's webhooks, and the probe results.
pub struct Problems {
    recent: Mutex<VecDeque<Problem>>,
    probes: Mutex<BTreeMap<String, WebhookReport>>,
    events: Option<Arc<Recorder>>,
}

impl Problems {
    /// Problems published as Events through `events` (none in unit tests).
    pub fn new(events: Option<Arc<Recorder>>) -> Problems {
        Problems {
            recent: Mutex::default(),
            probes: Mutex::default(),
            events,
        }
    }

    /// Records a problem met on pod `name` in `namespace` by the webhook at `path`: in the
    /// report, the log (WARN) and as a Warning Event.
    pub fn record(&self, path: &str, namespace: &str, name: &str, message: &str) {
        let message = crate::text::sanitize(message).into_owned();
        tracing::warn!(webhook = path, pod = %format!("{namespace}/{name}"), "{message}");
        {
            let mut recent = lock(&self.recent);
            recent.push_back(Problem {
                time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                webhook: path.to_owned(),
                pod: format!("{namespace}/{name}"),
                message: message.clone(),
            });
            while recent.len() > KEPT {
                recent.pop_front();
            }
        }
        if let Some(events) = self.events.clone() {
            let object = ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                namespace: Some(namespace.to_owned()),
                name: Some(name.to_owned()),
                ..Default::default()
            };
            let warning = Warning::new(PROBLEM_REASON, format!("{path}: {message}"));
            tokio::spawn(async move { events.warn(&object, &[warning]).await });
        }
    }

    /// The review to send back, the problem of `answered` recorded.
    pub fn settle(&self, path: &str, answered: Answered) -> Value {
        if let Some((namespace, name, message)) = &answered.problem {
            self.record(path, namespace, name, message);
        }
        answered.review
    }

    /// Records the result of probing one webhook.
    pub fn probed(&self, webhook: WebhookReport) {
        if !webhook.reachable {
            tracing::warn!(
                webhook = %webhook.name,
                url = %webhook.url,
                "the API server cannot reach this webhook: {}",
                webhook.error.as_deref().unwrap_or_default()
            );
        }
        lock(&self.probes).insert(webhook.name.clone(), webhook);
    }

    /// The report as of now (`None` before the first probe).
    pub fn report(&self) -> Option<AdmissionReport> {
        let probes = lock(&self.probes);
        if probes.is_empty() {
            return None;
        }
        Some(AdmissionReport {
            webhooks: probes.values().cloned().collect(),
            problems: lock(&self.recent).iter().cloned().collect(),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
