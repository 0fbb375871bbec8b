//! The quotas controller (seed 001): one ResourceQuota `quotas` per profile namespace.
//!
//! `hard` is built in three layers, each overriding the one before key by key:
//! 1. the ORB's `quota_defaults` (StatCan's values built in);
//! 2. the Profile's `spec.resourceQuotaSpec.hard` (Kubeflow's field);
//! 3. the Profile's labels `quotas.statcan.gc.ca/<key>` for the eight keys of [`LABELLED_KEYS`],
//!    and `quotas.statcan.gc.ca/gpu`, which sets `requests.nvidia.com/gpu`.
//!
//! Label values are plain Kubernetes quantities, exactly as StatCan writes them (`16`, `64Gi`,
//! `1.5`): label values may hold `.`, so nothing is encoded. Where the original panics
//! (`resource.MustParse`) or silently uses 0 (`strconv.Atoi` on the gpu label), a value that is
//! not a quantity by Kubernetes' rules, is negative, or is fractional for a count (pods, services,
//! GPUs) yields a [`Warning`] naming the label and value, and the previous layer's value is kept.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::desired::{Meta, child, profile_name};
use crate::controllers::Warning;
use crate::model::{Profile, ProfileSettings};
use quantity::Quantity;

/// Name of the ResourceQuota in every profile namespace.
pub const QUOTA_NAME: &str = "quotas";
/// Prefix of the Profile labels that override quota keys.
pub const LABEL_PREFIX: &str = "quotas.statcan.gc.ca/";
/// The Profile label that sets [`GPU_KEY`].
pub const GPU_LABEL: &str = "quotas.statcan.gc.ca/gpu";
/// The quota key the GPU label sets.
pub const GPU_KEY: &str = "requests.nvidia.com/gpu";
/// Quota keys a `quotas.statcan.gc.ca/<key>` label overrides.
pub const LABELLED_KEYS: [&str; 8] = [
    "requests.cpu",
    "limits.cpu",
    "requests.memory",
    "limits.memory",
    "requests.storage",
    "pods",
    "services.nodeports",
    "services.loadbalancers",
];

/// Which layer set a quota key, for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The ORB's `quota_defaults`.
    Default,
    /// The Profile's `spec.resourceQuotaSpec.hard`.
    ProfileSpec,
    /// A Profile label, named here.
    Label(String),
}

/// The ResourceQuota `quotas` for the Profile, with warnings for values that were not used.
pub fn resource_quota(profile: &Profile, settings: &ProfileSettings) -> (Value, Vec<Warning>) {
    let (hard, mut warnings) = layers(profile, settings);
    if let Some(spec) = &profile.spec.resource_quota_spec
        && (spec.scopes.is_some() || spec.scope_selector.is_some())
    {
        warnings.push(Warning::new(
            "IgnoredQuotaScopes",
            format!(
                "Profile {}: spec.resourceQuotaSpec scopes and scopeSelector are ignored; the \
                 quota {QUOTA_NAME:?} covers the whole namespace",
                profile_name(profile)
            ),
        ));
    }
    let hard: BTreeMap<&String, String> =
        hard.iter().map(|(k, (q, _))| (k, q.to_string())).collect();
    let quota = child(
        profile,
        ("v1", "ResourceQuota"),
        QUOTA_NAME,
        Some(profile_name(profile)),
        Meta::default(),
        json!({"spec": {"hard": hard}}),
    );
    (quota, warnings)
}

/// Which layer set each key of the quota's `hard`.
pub fn quota_sources(profile: &Profile, settings: &ProfileSettings) -> BTreeMap<String, Source> {
    layers(profile, settings)
        .0
        .into_iter()
        .map(|(k, (_, source))| (k, source))
        .collect()
}

/// The merged `hard` map with each key's value and source, and the warnings met.
fn layers(
    profile: &Profile,
    settings: &ProfileSettings,
) -> (BTreeMap<String, (Quantity, Source)>, Vec<Warning>) {
    let name = profile_name(profile);
    let mut hard: BTreeMap<String, (Quantity, Source)> = BTreeMap::new();
    let mut warnings = Vec::new();
    for (key, value) in &settings.quota_defaults {
        match checked(key, value) {
            Ok(q) => {
                hard.insert(key.clone(), (q, Source::Default));
            }
            Err(why) => warnings.push(Warning::new(
                "InvalidQuotaDefault",
                format!("quota default {key}={value:?} {why}; {key} is left unset"),
            )),
        }
    }
    let spec_hard = profile
        .spec
        .resource_quota_spec
        .as_ref()
        .and_then(|s| s.hard.as_ref());
    for (key, value) in spec_hard.into_iter().flatten() {
        match checked(key, &value.0) {
            Ok(q) => {
                hard.insert(key.clone(), (q, Source::ProfileSpec));
            }
            Err(why) => warnings.push(Warning::new(
                "InvalidQuotaSpec",
                format!(
                    "Profile {name}: spec.resourceQuotaSpec.hard {key}={:?} {why}; {}",
                    value.0,
                    kept(&hard, key)
                ),
            )),
        }
    }
    let labels = profile.metadata.labels.as_ref();
    for (label, value) in labels.into_iter().flatten() {
        let Some(suffix) = label.strip_prefix(LABEL_PREFIX) else {
            continue;
        };
        let key = if label == GPU_LABEL {
            GPU_KEY
        } else if let Some(key) = LABELLED_KEYS.iter().find(|k| **k == suffix) {
            key
        } else {
            warnings.push(Warning::new(
                "UnknownQuotaLabel",
                format!(
                    "Profile {name}: label {label}={value:?} is not a quota label (known: {}, \
                     {GPU_LABEL}); it is ignored",
                    LABELLED_KEYS
                        .map(|k| format!("{LABEL_PREFIX}{k}"))
                        .join(", ")
                ),
            ));
            continue;
        };
        match checked(key, value) {
            Ok(q) => {
                hard.insert(key.to_owned(), (q, Source::Label(label.clone())));
            }
            Err(why) => warnings.push(Warning::new(
                "InvalidQuotaLabel",
                format!(
                    "Profile {name}: label {label}={value:?} {why}; {}",
                    kept(&hard, key)
                ),
            )),
        }
    }
    (hard, warnings)
}

/// Parses a quota value, refusing what the API server would: non-quantities, negative values,
/// and fractions of counted resources. The error is not an error value but the words that
/// complete the warning about the label ("is negative").
fn checked(key: &str, value: &str) -> Result<Quantity, String> {
    let q = Quantity::parse(value).map_err(|e| format!("is not a quantity ({e})"))?;
    if q.is_negative() {
        return Err("is negative".into());
    }
    if is_count(key) && q.nanos() % 1_000_000_000 != 0 {
        return Err("is not a whole number".into());
    }
    Ok(q)
}

/// Quota keys that count objects or devices, so take whole numbers only.
fn is_count(key: &str) -> bool {
    matches!(
        key,
        "pods"
            | "services"
            | "services.nodeports"
            | "services.loadbalancers"
            | "configmaps"
            | "secrets"
            | "persistentvolumeclaims"
            | "replicationcontrollers"
            | "resourcequotas"
    ) || key.starts_with("count/")
        || key == GPU_KEY
}

/// Says what value a key keeps after a rejected override.
fn kept(hard: &BTreeMap<String, (Quantity, Source)>, key: &str) -> String {
    match hard.get(key) {
        Some((q, Source::Default)) => format!("keeping {key}={q} (default)"),
        Some((q, Source::ProfileSpec)) => format!("keeping {key}={q} (profile spec)"),
        Some((q, Source::Label(l))) => format!("keeping {key}={q} (label {l})"),
        None => format!("{key} is left unset"),
    }
}
