//! The pod-settings family at run time: PodSettings to PodDefaults and their copies in team
//! members' namespaces (seed 000), each pass computing everything wanted ([`desired`]) from
//! watched caches of namespaces, PodSettings and PodDefaults, and converging it under one family
//! label, so what is no longer wanted (a PodSetting deleted, a member gone) is removed. Each
//! PodSetting gets its status (`podDefaults`, `Ready`), a Warning Event when it yields nothing,
//! and its line in `current/pod-settings.yaml`. A converged cluster costs no API request.

pub mod desired;

use crate::controllers::runtime::{Context, status, watch};
use crate::controllers::{FAMILY_LABEL, family};
use crate::model::{PodDefault, PodSetting, PodSettingStatus};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The family's name: its converge scope (label `orbdeck.io/controller`) and metrics label.
pub const FAMILY: &str = "pod-settings";

/// Where the family's report is written in the ORB repo.
pub const REPORT_FILE: &str = "current/pod-settings.yaml";

/// `current/pod-settings.yaml`: every PodSetting as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// One entry per PodSetting, by namespace and name.
    pub pod_settings: Vec<SettingReport>,
    /// Errors of the last pass that belong to no one PodSetting (objects that could not be written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One PodSetting as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SettingReport {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Namespaces holding its PodDefault.
    pub pod_defaults: usize,
    /// Why it yields nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Runs the family until the term ends; `report` holds the last pass's report.
pub async fn run(ctx: Arc<Context>, report: Arc<Mutex<Option<Report>>>) {
    let kinds = [
        ("orbdeck.io/v1alpha1", "PodSetting"),
        ("kubeflow.org/v1alpha1", "PodDefault"),
    ];
    if !ctx.served("pod settings", &kinds).await {
        return;
    }
    let wake = Arc::new(Notify::new());
    let client = ctx.client.clone();
    let namespaces = ctx.namespaces(&wake).await;
    let settings = watch::store::<PodSetting>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let poddefaults = watch::store::<PodDefault>(Api::all(client), &wake, &ctx.shutdown);
    let pass_ctx = ctx.clone();
    watch::passes(ctx, FAMILY, wake, move || {
        let ctx = pass_ctx.clone();
        let (namespaces, settings, poddefaults) =
            (namespaces.clone(), settings.clone(), poddefaults.clone());
        let report = report.clone();
        async move {
            let (ok, r) = pass(&ctx, &namespaces, &settings, &poddefaults).await;
            *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            ok
        }
    })
    .await;
}

/// One pass: converge the PodDefaults, then status and Events of every PodSetting.
async fn pass(
    ctx: &Context,
    namespaces: &Store<Namespace>,
    settings: &Store<PodSetting>,
    poddefaults: &Store<PodDefault>,
) -> (bool, Report) {
    let namespaces = namespaces.state();
    // Only PodDefaults in a team's own namespace are read (copied to its members).
    let teams = desired::teams(&namespaces);
    let existing: Vec<serde_json::Value> = poddefaults
        .state()
        .iter()
        .filter(|pd| {
            let team = pd.metadata.namespace.as_ref().and_then(|ns| teams.get(ns));
            team.is_some_and(|(own, members)| *own && !members.is_empty())
        })
        .filter_map(|pd| serde_json::to_value(pd.as_ref()).ok())
        .collect();
    let sources = settings.state();
    let wanted = desired::desired(&teams, &sources, &existing);
    let objects = wanted
        .objects
        .into_iter()
        .map(|o| family(o, FAMILY))
        .collect();
    let done = ctx
        .converge
        .converge(
            (FAMILY_LABEL, FAMILY),
            &[("kubeflow.org/v1alpha1", "PodDefault")],
            objects,
        )
        .await;
    for e in &done.errors {
        tracing::warn!(error = %e, "pod settings");
    }
    let mut ok = done.errors.is_empty();
    let mut report = Report {
        errors: done.errors.clone(),
        ..Default::default()
    };
    for outcome in &wanted.settings {
        let Some(setting) = sources.iter().find(|s| {
            s.metadata.namespace.as_deref() == Some(&outcome.namespace)
                && s.metadata.name.as_deref() == Some(&outcome.name)
        }) else {
            continue;
        };
        ok &= set_status(ctx, setting, outcome, &done.errors).await;
        ctx.recorder
            .warn_about(setting.as_ref(), outcome.warning.as_ref())
            .await;
        report.pod_settings.push(SettingReport {
            namespace: outcome.namespace.clone(),
            name: outcome.name.clone(),
            pod_defaults: outcome.namespaces.len(),
            warnings: outcome.warning.iter().map(|w| w.message.clone()).collect(),
        });
    }
    (ok, report)
}

async fn set_status(
    ctx: &Context,
    setting: &PodSetting,
    outcome: &desired::SettingOutcome,
    errors: &[String],
) -> bool {
    let current = setting.status.clone().unwrap_or_default();
    let wanted = PodSettingStatus {
        pod_defaults: u32::try_from(outcome.namespaces.len()).unwrap_or(u32::MAX),
        conditions: status::of_pass(
            &current.conditions,
            outcome.warning.as_ref(),
            errors,
            "PodDefaultsApplied",
        ),
    };
    let api: Api<PodSetting> = Api::namespaced(ctx.client.clone(), &outcome.namespace);
    status::write(&api, &outcome.name, setting.status.as_ref(), &wanted).await
}
