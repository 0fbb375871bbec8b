//! The notebook controller (seed 001): the `protected-b` PodDefault in every profile namespace,
//! offered in Kubeflow's notebook form.

use serde_json::{Value, json};

use super::desired::{Meta, child, profile_name};
use crate::controllers::{CLASSIFICATION_LABEL, PROTECTED_B};
use crate::model::Profile;

/// Name of the PodDefault.
pub const PROTECTED_B_PODDEFAULT: &str = "protected-b";
/// Notebook label that selects the PodDefault (set by the notebook form's checkbox).
pub const PROTECTED_B_SELECTOR: &str = "notebook.statcan.gc.ca/protected-b";
/// What the notebook form shows for it.
pub const DESCRIPTION: &str = "Run a Protected B notebook: its pods are labelled \
    data.statcan.gc.ca/classification=protected-b, so they may reach the internet on HTTPS only \
    and files cannot be uploaded or downloaded through the browser";

/// The PodDefault `protected-b`: notebooks labelled `notebook.statcan.gc.ca/protected-b: "true"`
/// get the label `data.statcan.gc.ca/classification: protected-b`.
pub fn protected_b(profile: &Profile) -> Value {
    child(
        profile,
        ("kubeflow.org/v1alpha1", "PodDefault"),
        PROTECTED_B_PODDEFAULT,
        Some(profile_name(profile)),
        Meta::default(),
        json!({"spec": {
            "selector": {"matchLabels": {PROTECTED_B_SELECTOR: "true"}},
            "desc": DESCRIPTION,
            "labels": {CLASSIFICATION_LABEL: PROTECTED_B},
        }}),
    )
}
