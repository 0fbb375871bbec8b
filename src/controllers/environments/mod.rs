//! The environments family at run time (seed 003's orchestrator): every Environment rendered
//! into its runner Deployment, Service and Ingress ([`desired`]) from watched caches of
//! Environments, environment AddonTemplates, namespaces and runner pods, converged under one
//! family label so what is no longer wanted is removed (ownerReferences let the garbage
//! collector remove them too). Each Environment gets its status (template, runner pod and its
//! phase, Ingress host, `Ready`), a Warning Event when it does not render, and its line in
//! `current/environments.yaml`. The orchestrator API that creates and deletes Environments is
//! [`api`].

pub mod api;
pub mod desired;

use crate::controllers::runtime::{Context, status, watch};
use crate::controllers::{FAMILY_LABEL, family, str_at};
use crate::model::{AddonTemplate, Environment, EnvironmentStatus};
use crate::wellknown::ORB_LABEL;
use desired::ENVIRONMENT_LABEL;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::Api;
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The family's name: its converge scope (label `orbdeck.io/controller`) and metrics label.
pub const FAMILY: &str = "environments";

/// Where the family's report is written in the ORB repo.
pub const REPORT_FILE: &str = "current/environments.yaml";

/// Kinds environment templates render: looked at for leftovers even when no Environment
/// renders them any more (kinds rendered since start are looked at too).
const KINDS: [(&str, &str); 3] = [
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
];

/// The runner phase of an Environment whose Deployment has no pod yet.
pub const NO_POD: &str = "NoPod";

/// `current/environments.yaml`: every Environment as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// One entry per Environment, by namespace and name.
    pub environments: Vec<EnvironmentReport>,
    /// Objects that could not be written in the last pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One Environment as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentReport {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its replId.
    pub repl_id: String,
    /// Its language.
    pub language: String,
    /// Where it comes from: `desired` (git) or `api` (the orchestrator API).
    pub source: String,
    /// The AddonTemplate it is rendered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The runner pod's phase, [`NO_POD`] before it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The runner pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// Its Ingress host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Why it does not render.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Whether an Environment comes from desired/ (the engine's sync labels what it applies with
/// the ORB's name), so only git may remove it.
pub fn from_git(env: &Environment) -> bool {
    env.metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(ORB_LABEL))
        || env
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|f| f.manager.as_deref() == Some(crate::wellknown::FIELD_MANAGER))
}

/// The runner pod of the Environment `name` in `namespace`: the newest one not being deleted
/// (else the newest), with its phase.
pub fn runner_pod(pods: &[Arc<Pod>], namespace: &str, name: &str) -> Option<(String, String)> {
    let mut mine: Vec<&Pod> = pods
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace)
                && p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(ENVIRONMENT_LABEL))
                    .is_some_and(|n| n == name)
        })
        .collect();
    mine.sort_by_key(|p| {
        (
            p.metadata.deletion_timestamp.is_none(),
            p.metadata.creation_timestamp.as_ref().map(|t| t.0),
        )
    });
    let pod = mine.last()?;
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    Some((pod.metadata.name.clone().unwrap_or_default(), phase))
}

/// Runs the family until the term ends; `report` holds the last pass's report.
pub async fn run(ctx: Arc<Context>, report: Arc<Mutex<Option<Report>>>) {
    let kinds = [
        ("orbdeck.io/v1alpha1", "Environment"),
        ("orbdeck.io/v1alpha1", "AddonTemplate"),
    ];
    if !ctx.served("environments", &kinds).await {
        return;
    }
    let wake = Arc::new(Notify::new());
    let client = ctx.client.clone();
    let namespaces = ctx.namespaces(&wake).await;
    let templates = watch::store::<AddonTemplate>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let environments = watch::store::<Environment>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let pods =
        watch::labelled_store::<Pod>(Api::all(client), ENVIRONMENT_LABEL, &wake, &ctx.shutdown);
    let kinds: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(
        KINDS
            .iter()
            .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
            .collect(),
    ));
    let pass_ctx = ctx.clone();
    watch::passes(ctx, FAMILY, wake, move || {
        let ctx = pass_ctx.clone();
        let sources = Sources {
            namespaces: namespaces.clone(),
            templates: templates.clone(),
            environments: environments.clone(),
            pods: pods.clone(),
        };
        let (report, kinds) = (report.clone(), kinds.clone());
        async move {
            let (ok, r) = pass(&ctx, &sources, &kinds).await;
            *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            ok
        }
    })
    .await;
}

/// The watched caches a pass reads.
struct Sources {
    namespaces: Store<Namespace>,
    templates: Store<AddonTemplate>,
    environments: Store<Environment>,
    pods: Store<Pod>,
}

/// One pass: converge the rendered objects, then status and Events of every Environment.
async fn pass(
    ctx: &Context,
    sources: &Sources,
    kinds: &Mutex<Vec<(String, String)>>,
) -> (bool, Report) {
    let environments = sources.environments.state();
    let wanted = desired::desired(
        &sources.namespaces.state(),
        &sources.templates.state(),
        &environments,
    );
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
        tracing::warn!(error = %e, "environments");
    }
    let mut ok = done.errors.is_empty();
    let mut report = Report {
        errors: done.errors.clone(),
        ..Default::default()
    };
    let pods = sources.pods.state();
    for outcome in &wanted.environments {
        let Some(env) = environments.iter().find(|e| {
            e.metadata.namespace.as_deref() == Some(&outcome.namespace)
                && e.metadata.name.as_deref() == Some(&outcome.name)
        }) else {
            continue;
        };
        let runner = outcome
            .warning
            .is_none()
            .then(|| runner_pod(&pods, &outcome.namespace, &outcome.name))
            .map(|p| p.unzip());
        let (pod, phase) = match runner {
            Some((pod, phase)) => (pod, Some(phase.unwrap_or_else(|| NO_POD.into()))),
            None => (None, None),
        };
        let mine: Vec<String> = done
            .errors
            .iter()
            .filter(|e| e.contains(&format!(" {}/{}:", outcome.namespace, env.spec.repl_id)))
            .cloned()
            .collect();
        ok &= set_status(ctx, env, outcome, (&pod, &phase), &mine).await;
        ctx.recorder
            .warn_about(env.as_ref(), outcome.warning.as_ref())
            .await;
        report.environments.push(EnvironmentReport {
            namespace: outcome.namespace.clone(),
            name: outcome.name.clone(),
            repl_id: env.spec.repl_id.clone(),
            language: env.spec.language.clone(),
            source: if from_git(env) { "desired" } else { "api" }.into(),
            template: outcome.template.clone(),
            phase,
            pod,
            host: outcome.host.clone(),
            errors: outcome.warning.iter().map(|w| w.message.clone()).collect(),
        });
    }
    (ok, report)
}

async fn set_status(
    ctx: &Context,
    env: &Environment,
    outcome: &desired::EnvironmentOutcome,
    (pod, phase): (&Option<String>, &Option<String>),
    errors: &[String],
) -> bool {
    let current = env.status.clone().unwrap_or_default();
    let conditions = match (&outcome.warning, errors.is_empty(), phase.as_deref()) {
        (Some(w), _, _) => status::failed(&w.reason, &w.message),
        (None, false, _) => status::failed("ApplyFailed", &errors.join("; ")),
        (None, true, Some("Running")) => status::ready("RunnerRunning"),
        (None, true, p) => {
            let message = match (pod, p) {
                (Some(pod), Some(p)) => format!("runner pod {pod} is {p}"),
                _ => "the runner pod does not exist yet".into(),
            };
            vec![status::condition(
                "Ready",
                "False",
                "RunnerNotRunning",
                &message,
            )]
        }
    };
    let wanted = EnvironmentStatus {
        template: outcome.template.clone(),
        phase: phase.clone(),
        pod: pod.clone(),
        host: outcome.host.clone(),
        conditions: status::keep_times(&current.conditions, conditions),
    };
    let api: Api<Environment> = Api::namespaced(ctx.client.clone(), &outcome.namespace);
    status::write(&api, &outcome.name, env.status.as_ref(), &wanted).await
}
