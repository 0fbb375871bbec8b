//! What the engine checks before it starts, and how it says what a sync did: its namespace
//! (created when it may be), its Lease (readable and writable), and after each sync one line at a
//! level a user sees when the sync changed or failed anything, with the command that fixes a
//! missing CRD. Steady syncs say nothing above DEBUG.

use crate::engine::sync::Action;
use crate::repo::status::OrbStatus;
use crate::wellknown::ObjectId;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};

/// The command that installs orbdeck's CRDs.
pub const INSTALL_CRDS: &str = "orbdeck manifests crds | kubectl apply --server-side -f -";

/// Makes sure the engine's namespace exists (creating it when allowed) and that its Lease can be
/// read; logs at WARN/ERROR what is missing and how to fix it. Never fails: the engine keeps
/// trying (and says so) rather than exiting.
pub async fn check(client: &kube::Client, namespace: &str, lease: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    match namespaces.get_opt(namespace).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            let ns = Namespace {
                metadata: kube::api::ObjectMeta {
                    name: Some(namespace.to_owned()),
                    ..Default::default()
                },
                ..Default::default()
            };
            match namespaces.create(&PostParams::default(), &ns).await {
                Ok(_) => tracing::info!(namespace, "created the engine's namespace"),
                Err(e) => tracing::error!(
                    namespace,
                    error = %e,
                    "the engine's namespace does not exist and could not be created; the engine \
                     waits for it: kubectl create namespace {namespace}"
                ),
            }
        }
        Err(e) => tracing::warn!(
            namespace,
            error = %e,
            "cannot read the engine's namespace; check the engine's RBAC (orbdeck manifests deploy)"
        ),
    }
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    if let Err(e) = leases.get_opt(lease).await {
        tracing::error!(
            namespace,
            lease,
            error = %e,
            "cannot read the engine's Lease, so it cannot lead; give it RBAC on \
             coordination.k8s.io leases (orbdeck manifests deploy)"
        );
    }
}

/// Logs what a finished sync did: INFO when it changed something, WARN when anything failed
/// (the first errors, and the fix when kinds are not served), DEBUG when nothing changed.
pub fn log_sync(status: &OrbStatus, actions: &[(ObjectId, Action)]) {
    let count = |a: Action| actions.iter().filter(|(_, x)| *x == a).count();
    // A self-heal is a change too; its own line (and Event) names the object.
    let (created, configured, pruned) = (
        count(Action::Created),
        count(Action::Configured) + count(Action::Healed),
        count(Action::Pruned),
    );
    let failed: Vec<String> = status
        .objects
        .iter()
        .filter(|o| o.outcome == "failed")
        .map(|o| {
            format!(
                "{} {}: {}",
                o.kind,
                o.name,
                o.message.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    let commit: String = status.commit.chars().take(8).collect();
    let problems: Vec<&String> = status.errors.iter().chain(failed.iter()).collect();
    if problems.is_empty() {
        // A held sync wave is said once, with what the sync applied before it.
        let waiting = match status.objects.iter().find(|o| o.outcome == "waiting") {
            Some(o) => format!("; {}", o.message.as_deref().unwrap_or("waiting")),
            None => String::new(),
        };
        if created + configured + pruned > 0 {
            tracing::info!(
                commit,
                created,
                configured,
                pruned,
                "sync {}: {created} created, {configured} configured, {pruned} pruned{waiting}",
                status.result
            );
        } else {
            tracing::debug!(commit, "sync {}: nothing to change", status.result);
        }
        return;
    }
    let first: Vec<&str> = problems.iter().take(3).map(|s| s.as_str()).collect();
    let not_served = problems.iter().any(|p| p.contains("not served"));
    let hint = if not_served {
        format!("; install the CRDs: {INSTALL_CRDS}")
    } else {
        String::new()
    };
    tracing::warn!(
        commit,
        created,
        configured,
        pruned,
        failed = failed.len(),
        "sync {}: {created} created, {configured} configured, {pruned} pruned, {} failed, {} error(s): {}{hint}",
        status.result,
        failed.len(),
        status.errors.len(),
        first.join("; ")
    );
}
