//! Status written by server-side apply under the controllers' field manager, and only when it
//! differs from what the object already reports (a converged cluster gets no status writes).

use crate::apply::apply_unread;
use crate::controllers::Warning;
use crate::controllers::runtime::converge::CONTROLLER_MANAGER;
use crate::model::Condition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, PatchParams};
use serde_json::{Value, json};

/// Applies `status` to the object `name` of `api` unless `current` (the status the object
/// reports now, as JSON) already says the same. A vanished object is no error.
pub async fn apply<K>(
    api: &Api<K>,
    name: &str,
    current: Option<Value>,
    status: Value,
) -> Result<bool, kube::Error>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    if current.as_ref() == Some(&status) {
        return Ok(false);
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": {"name": name},
        "status": status,
    });
    let params = PatchParams::apply(CONTROLLER_MANAGER).force();
    match apply_unread(api, Some("status"), name, &params, &body).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// One condition, without a transition time yet (see [`keep_times`]).
pub fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: (!message.is_empty()).then(|| message.to_owned()),
        last_transition_time: None,
    }
}

/// `Ready=True` with `reason`.
pub fn ready(reason: &str) -> Vec<Condition> {
    vec![condition("Ready", "True", reason, "")]
}

/// The conditions of an object that could not be reconciled: `Failed=True` and `Ready=False`.
pub fn failed(reason: &str, message: &str) -> Vec<Condition> {
    vec![
        condition("Failed", "True", reason, message),
        condition("Ready", "False", reason, message),
    ]
}

/// `conditions` with the transition times of `current` where a condition kept its type and
/// status, and now where it changed.
pub fn keep_times(current: &[Condition], mut conditions: Vec<Condition>) -> Vec<Condition> {
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    for c in &mut conditions {
        c.last_transition_time = current
            .iter()
            .find(|old| old.type_ == c.type_ && old.status == c.status)
            .and_then(|old| old.last_transition_time.clone())
            .or_else(|| Some(now.clone()));
    }
    conditions
}

/// The conditions of a fan-out family's source after a pass: its own warning when it has one,
/// else the pass's apply errors, else `Ready` with `ready_reason`; transition times kept from
/// `current`.
pub fn of_pass(
    current: &[Condition],
    warning: Option<&Warning>,
    errors: &[String],
    ready_reason: &str,
) -> Vec<Condition> {
    let conditions = match (warning, errors.is_empty()) {
        (Some(w), _) => failed(&w.reason, &w.message),
        (None, false) => failed("ApplyFailed", &errors.join("; ")),
        (None, true) => ready(ready_reason),
    };
    keep_times(current, conditions)
}

/// [`apply`] of a typed status, logging a failure; whether it went through.
pub async fn write<K, S>(api: &Api<K>, name: &str, current: Option<&S>, wanted: &S) -> bool
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    S: serde::Serialize,
{
    let current = current.and_then(|s| serde_json::to_value(s).ok());
    let wanted = serde_json::to_value(wanted).unwrap_or_default();
    match apply(api, name, current, wanted).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(kind = %K::kind(&()), name, error = %e, "writing status");
            false
        }
    }
}
