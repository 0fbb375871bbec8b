//! The limitrange controller (seed 001): default container requests and limits per profile, so
//! that pods without them still fit the namespace's ResourceQuota.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::desired::{Meta, child, profile_name};
use crate::controllers::Warning;
use crate::model::{Profile, ProfileSettings};
use quantity::Quantity;

/// Name of the LimitRange in every profile namespace.
pub const LIMIT_RANGE_NAME: &str = "default-container-limits";

/// The LimitRange `default-container-limits`: one `Container` item whose `default` and
/// `defaultRequest` come from `settings.limit_range`. A value that is not a non-negative quantity
/// is left out with a warning, and so is a default request above its default limit (the API
/// server would refuse the whole object); Kubernetes then defaults the request to the limit.
pub fn limit_range(profile: &Profile, settings: &ProfileSettings) -> (Value, Vec<Warning>) {
    let d = &settings.limit_range;
    let mut warnings = Vec::new();
    let mut default = BTreeMap::new();
    let mut request = BTreeMap::new();
    for (resource, limit, req) in [
        ("cpu", &d.default_cpu, &d.default_request_cpu),
        ("memory", &d.default_memory, &d.default_request_memory),
    ] {
        let limit = checked(&mut warnings, &format!("default {resource} limit"), limit);
        let req = checked(&mut warnings, &format!("default {resource} request"), req);
        if let Some(l) = limit {
            default.insert(resource, l.to_string());
        }
        match (req, limit) {
            (Some(r), Some(l)) if r > l => warnings.push(Warning::new(
                "InvalidLimitRange",
                format!(
                    "limit range default {resource} request {r} is above the default limit {l}; \
                     the request is left out"
                ),
            )),
            (Some(r), _) => {
                request.insert(resource, r.to_string());
            }
            (None, _) => {}
        }
    }
    let mut item = serde_json::Map::new();
    item.insert("type".into(), json!("Container"));
    if !default.is_empty() {
        item.insert("default".into(), json!(default));
    }
    if !request.is_empty() {
        item.insert("defaultRequest".into(), json!(request));
    }
    let object = child(
        profile,
        ("v1", "LimitRange"),
        LIMIT_RANGE_NAME,
        Some(profile_name(profile)),
        Meta::default(),
        json!({"spec": {"limits": [item]}}),
    );
    (object, warnings)
}

/// Parses one setting, recording a warning when it is unusable.
fn checked(warnings: &mut Vec<Warning>, what: &str, value: &str) -> Option<Quantity> {
    match Quantity::parse(value) {
        Ok(q) if !q.is_negative() => Some(q),
        Ok(_) => {
            warnings.push(Warning::new(
                "InvalidLimitRange",
                format!("limit range {what} {value:?} is negative; it is left out"),
            ));
            None
        }
        Err(e) => {
            warnings.push(Warning::new(
                "InvalidLimitRange",
                format!("limit range {what} {value:?} is not a quantity ({e}); it is left out"),
            ));
            None
        }
    }
}
