//! The add-ons family at run time: every AddonTemplate stamped into every namespace it selects
//! (seed 000's userspace chart manager), each pass computing everything wanted ([`desired`]) from
//! watched caches of namespaces and templates and converging it under one family label, so what
//! is no longer wanted (a template deleted, a namespace no longer selected) is removed. Each
//! template gets its status (`namespaces`, `objects`, `Ready`), a Warning Event when it does not
//! render, and its line in `current/addons.yaml`. A converged cluster costs no API request.

pub mod desired;

use crate::controllers::runtime::{Context, status, watch};
use crate::controllers::{FAMILY_LABEL, family, str_at};
use crate::model::{AddonTemplate, AddonTemplateStatus};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The family's name: its converge scope (label `orbdeck.io/controller`) and metrics label.
pub const FAMILY: &str = "addons";

/// Where the family's report is written in the ORB repo.
pub const REPORT_FILE: &str = "current/addons.yaml";

/// Kinds add-on templates commonly hold: looked at for leftovers even when no template renders
/// them any more (kinds rendered since start are looked at too). Secrets are not among them, so
/// that the engine needs no cluster-wide read of Secrets unless a template renders one.
const KINDS: [(&str, &str); 7] = [
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("v1", "PersistentVolumeClaim"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("apps/v1", "Deployment"),
];

/// `current/addons.yaml`: every AddonTemplate as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// One entry per template, by name.
    pub templates: Vec<TemplateReport>,
    /// Objects that could not be written in the last pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One AddonTemplate as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemplateReport {
    /// Its name.
    pub name: String,
    /// Namespaces it is rendered into.
    pub namespaces: usize,
    /// Objects rendered, over every namespace.
    pub objects: usize,
    /// Why it does not render (where it does not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Runs the family until the term ends; `report` holds the last pass's report.
pub async fn run(ctx: Arc<Context>, report: Arc<Mutex<Option<Report>>>) {
    if !ctx
        .served("add-ons", &[("orbdeck.io/v1alpha1", "AddonTemplate")])
        .await
    {
        return;
    }
    let wake = Arc::new(Notify::new());
    let client = ctx.client.clone();
    let namespaces = ctx.namespaces(&wake).await;
    let templates = watch::store::<AddonTemplate>(Api::all(client), &wake, &ctx.shutdown);
    let kinds: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(
        KINDS
            .iter()
            .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
            .collect(),
    ));
    let pass_ctx = ctx.clone();
    watch::passes(ctx, FAMILY, wake, move || {
        let ctx = pass_ctx.clone();
        let (namespaces, templates) = (namespaces.clone(), templates.clone());
        let (report, kinds) = (report.clone(), kinds.clone());
        async move {
            let (ok, r) = pass(&ctx, &namespaces, &templates, &kinds).await;
            *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            ok
        }
    })
    .await;
}

/// One pass: converge the rendered objects, then status and Events of every template.
async fn pass(
    ctx: &Context,
    namespaces: &Store<Namespace>,
    templates: &Store<AddonTemplate>,
    kinds: &Mutex<Vec<(String, String)>>,
) -> (bool, Report) {
    let sources = templates.state();
    let wanted = desired::desired(&namespaces.state(), &sources);
    let kinds: Vec<(String, String)> = {
        let mut kinds = kinds.lock().unwrap_or_else(|e| e.into_inner());
        for object in &wanted.objects {
            let id = (str_at(object, "/apiVersion"), str_at(object, "/kind"));
            if !kinds.contains(&id) {
                kinds.push(id);
            }
        }
        kinds.clone()
    };
    let kind_refs: Vec<(&str, &str)> = kinds
        .iter()
        .map(|(a, k)| (a.as_str(), k.as_str()))
        .collect();
    let objects = wanted
        .objects
        .into_iter()
        .map(|o| family(o, FAMILY))
        .collect();
    let done = ctx
        .converge
        .converge((FAMILY_LABEL, FAMILY), &kind_refs, objects)
        .await;
    for e in &done.errors {
        tracing::warn!(error = %e, "add-ons");
    }
    let mut ok = done.errors.is_empty();
    let mut report = Report {
        errors: done.errors.clone(),
        ..Default::default()
    };
    for outcome in &wanted.templates {
        let Some(template) = sources
            .iter()
            .find(|t| t.metadata.name.as_deref() == Some(&outcome.name))
        else {
            continue;
        };
        ok &= set_status(ctx, template, outcome, &done.errors).await;
        ctx.recorder
            .warn_about(template.as_ref(), outcome.warning.as_ref())
            .await;
        report.templates.push(TemplateReport {
            name: outcome.name.clone(),
            namespaces: outcome.namespaces,
            objects: outcome.objects,
            errors: outcome.warning.iter().map(|w| w.message.clone()).collect(),
        });
    }
    (ok, report)
}

async fn set_status(
    ctx: &Context,
    template: &AddonTemplate,
    outcome: &desired::TemplateOutcome,
    errors: &[String],
) -> bool {
    let current = template.status.clone().unwrap_or_default();
    let wanted = AddonTemplateStatus {
        namespaces: u32::try_from(outcome.namespaces).unwrap_or(u32::MAX),
        objects: u32::try_from(outcome.objects).unwrap_or(u32::MAX),
        conditions: status::of_pass(
            &current.conditions,
            outcome.warning.as_ref(),
            errors,
            "Rendered",
        ),
    };
    let api: Api<AddonTemplate> = Api::all(ctx.client.clone());
    status::write(&api, &outcome.name, template.status.as_ref(), &wanted).await
}
