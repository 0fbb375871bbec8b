//! The credentials family at run time (seed 002's containership and registry controllers):
//! every RegistryCredential's pull Secret in every namespace it selects, and its entry in the
//! imagePullSecrets of its ServiceAccount (default `orbdeck-pull`) and `default` there. Each pass
//! computes everything wanted ([`desired`]) from watched caches of namespaces, ServiceAccounts,
//! credentials and the Secrets they read, converges each credential's pull Secrets under its
//! own label (so a credential removed, or a namespace no longer selected, loses them, while one
//! whose login is missing for a moment keeps what it made), and writes the
//! ServiceAccounts by server-side apply under the family's own field manager, keeping the
//! entries users added. A new namespace wakes a pass at once (watch). Each credential gets its
//! status, a Warning Event when it yields less than it selects, and its line in
//! `current/credentials.yaml`, which names the namespaces covered and never a secret.

pub mod desired;

use crate::apply::{api_error, apply_unread};
use crate::controllers::runtime::{Context, status, watch};
use crate::controllers::{Warning, family};
use crate::model::{RegistryCredential, RegistryCredentialStatus, SecretKeyRef};
use desired::{Account, AccountWrite, Login};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use kube::api::{Api, DeleteParams, DynamicObject, PatchParams};
use kube::runtime::reflector::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The family's name: its converge scope (label `orbdeck.io/controller`) and metrics label.
pub const FAMILY: &str = "credentials";

/// Field manager of the family's ServiceAccount writes (its imagePullSecrets entries).
pub const FIELD_MANAGER: &str = "orbdeck-credentials";

/// Where the family's report is written in the ORB repo.
pub const REPORT_FILE: &str = "current/credentials.yaml";

/// `current/credentials.yaml`: every RegistryCredential as the engine sees it (no secret).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// One entry per credential, by namespace and name.
    pub credentials: Vec<CredentialReport>,
    /// Writes of the last pass that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// One RegistryCredential as the engine sees it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CredentialReport {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The registry.
    pub server: String,
    /// The pull Secret's name.
    pub secret_name: String,
    /// The ServiceAccount made beside `default`.
    pub service_account: String,
    /// Namespaces holding the pull Secret, listed by both ServiceAccounts.
    pub namespaces: Vec<String>,
    /// Why it yields less than it selects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Watched Secrets of the namespaces credentials live in (their logins), started on first use.
type Sources = Arc<Mutex<HashMap<String, Store<Secret>>>>;

/// Runs the family until the term ends; `report` holds the last pass's report.
pub async fn run(ctx: Arc<Context>, report: Arc<Mutex<Option<Report>>>) {
    if !ctx
        .served(
            "credentials",
            &[("orbdeck.io/v1alpha1", "RegistryCredential")],
        )
        .await
    {
        return;
    }
    let wake = Arc::new(Notify::new());
    let client = ctx.client.clone();
    let namespaces = ctx.namespaces(&wake).await;
    let credentials =
        watch::store::<RegistryCredential>(Api::all(client.clone()), &wake, &ctx.shutdown);
    let accounts = watch::store::<ServiceAccount>(Api::all(client), &wake, &ctx.shutdown);
    let sources: Sources = Arc::default();
    let pass_ctx = ctx.clone();
    let pass_wake = wake.clone();
    watch::passes(ctx, FAMILY, wake, move || {
        let ctx = pass_ctx.clone();
        let (namespaces, credentials, accounts) =
            (namespaces.clone(), credentials.clone(), accounts.clone());
        let (report, sources, wake) = (report.clone(), sources.clone(), pass_wake.clone());
        async move {
            let stores = Stores {
                namespaces: &namespaces,
                credentials: &credentials,
                accounts: &accounts,
                sources: &sources,
                wake: &wake,
            };
            let (ok, r) = pass(&ctx, stores).await;
            *report.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            ok
        }
    })
    .await;
}

/// The caches one pass reads.
struct Stores<'a> {
    namespaces: &'a Store<Namespace>,
    credentials: &'a Store<RegistryCredential>,
    accounts: &'a Store<ServiceAccount>,
    sources: &'a Sources,
    wake: &'a Arc<Notify>,
}

/// One pass: converge the pull Secrets, write the ServiceAccounts, then status and Events.
async fn pass(ctx: &Context, stores: Stores<'_>) -> (bool, Report) {
    let credentials = stores.credentials.state();
    let mut logins = BTreeMap::new();
    for c in &credentials {
        let namespace = c.metadata.namespace.clone().unwrap_or_default();
        let name = c.metadata.name.clone().unwrap_or_default();
        let store = source_store(ctx, stores.sources, stores.wake, &namespace).await;
        logins.insert((namespace, name), login(c, store.as_ref()));
    }
    let accounts: BTreeMap<(String, String), Account> = stores
        .accounts
        .state()
        .iter()
        .map(|sa| {
            let key = (
                sa.metadata.namespace.clone().unwrap_or_default(),
                sa.metadata.name.clone().unwrap_or_default(),
            );
            (key, Account::of(sa, FAMILY))
        })
        .collect();
    let wanted = desired::desired(
        FAMILY,
        &stores.namespaces.state(),
        &credentials,
        &logins,
        &accounts,
    );
    let mut errors = Vec::new();
    // Pull Secrets are looked at (and the engine needs its Secret rights) only while the family
    // has something in the cluster: a credential, or an account still listing its entries.
    let active = !credentials.is_empty() || accounts.values().any(|a| !a.ours.is_empty() || a.made);
    if active {
        errors.extend(converge_secrets(ctx, &credentials, wanted.secrets).await);
    }
    for write in &wanted.accounts {
        if let Err(e) = write_account(ctx, write).await {
            errors.push(e);
        }
    }
    for e in &errors {
        tracing::warn!(error = %e, "credentials");
    }
    let mut ok = errors.is_empty();
    let mut report = Report {
        errors: errors.clone(),
        ..Default::default()
    };
    for outcome in &wanted.credentials {
        let Some(credential) = credentials.iter().find(|c| {
            c.metadata.namespace.as_deref() == Some(&outcome.namespace)
                && c.metadata.name.as_deref() == Some(&outcome.name)
        }) else {
            continue;
        };
        ok &= set_status(ctx, credential, outcome, &errors).await;
        // Once per distinct warning (Event and log), not once per pass.
        let new = ctx
            .recorder
            .warn_about(credential.as_ref(), outcome.warning.as_ref())
            .await;
        if let Some(w) = outcome.warning.as_ref().filter(|_| new) {
            tracing::warn!(
                credential = %format!("{}/{}", outcome.namespace, outcome.name),
                reason = %w.reason,
                "credentials: {}",
                w.message
            );
        }
        report.credentials.push(CredentialReport {
            namespace: outcome.namespace.clone(),
            name: outcome.name.clone(),
            server: outcome.server.clone(),
            secret_name: outcome.secret_name.clone(),
            service_account: outcome.service_account.clone(),
            namespaces: outcome.namespaces.clone(),
            warnings: outcome.warning.iter().map(|w| w.message.clone()).collect(),
        });
    }
    (ok, report)
}

/// Converges each credential's pull Secrets apart (scope: label [`desired::CREDENTIAL_LABEL`]),
/// so one whose login cannot be read now keeps its own, and removes those of credentials gone;
/// the errors.
async fn converge_secrets(
    ctx: &Context,
    credentials: &[Arc<RegistryCredential>],
    secrets: BTreeMap<String, Vec<serde_json::Value>>,
) -> Vec<String> {
    const KIND: [(&str, &str); 1] = [("v1", "Secret")];
    let mut errors = Vec::new();
    let cache = match ctx.converge.kind(KIND[0].0, KIND[0].1).await {
        Ok(c) => c,
        Err(e) => return vec![format!("pull Secrets: {e}")],
    };
    let live: BTreeSet<String> = credentials.iter().map(|c| desired::scope(c)).collect();
    let gone: Vec<String> = cache
        .label_values(desired::CREDENTIAL_LABEL)
        .iter()
        .map(|v| v.to_string())
        .filter(|v| !live.contains(v))
        .collect();
    let scopes = secrets
        .into_iter()
        .chain(gone.into_iter().map(|scope| (scope, Vec::new())));
    for (scope, objects) in scopes {
        let objects = objects.into_iter().map(|o| family(o, FAMILY)).collect();
        let done = ctx
            .converge
            .converge((desired::CREDENTIAL_LABEL, &scope), &KIND, objects)
            .await;
        errors.extend(done.errors);
    }
    errors
}

/// The watched Secrets of `namespace`, started (and waited for, at most 10 s) on first use.
async fn source_store(
    ctx: &Context,
    sources: &Sources,
    wake: &Arc<Notify>,
    namespace: &str,
) -> Option<Store<Secret>> {
    let store = {
        let mut sources = sources.lock().unwrap_or_else(|e| e.into_inner());
        sources
            .entry(namespace.to_owned())
            .or_insert_with(|| {
                tracing::info!(
                    namespace,
                    "credentials: watching the Secrets credentials read"
                );
                watch::store::<Secret>(
                    Api::namespaced(ctx.client.clone(), namespace),
                    wake,
                    &ctx.shutdown,
                )
            })
            .clone()
    };
    match tokio::time::timeout(Duration::from_secs(10), store.wait_until_ready()).await {
        Ok(Ok(())) => Some(store),
        _ => None,
    }
}

/// A credential's login from its Secrets, or why it cannot be read (never naming a value).
fn login(
    credential: &RegistryCredential,
    secrets: Option<&Store<Secret>>,
) -> Result<Login, Warning> {
    let Some(secrets) = secrets else {
        return Err(Warning::new(
            "SecretNotRead",
            "the Secrets of its namespace could not be listed yet",
        ));
    };
    let namespace = credential.metadata.namespace.as_deref().unwrap_or_default();
    let read = |r: &SecretKeyRef, field: &str| -> Result<String, Warning> {
        let key = kube::runtime::reflector::ObjectRef::<Secret>::new(&r.name).within(namespace);
        let Some(secret) = secrets.get(&key) else {
            return Err(Warning::new(
                "SecretMissing",
                format!("{field}: Secret {namespace}/{} not found", r.name),
            ));
        };
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&r.key))
            .map(|b| b.0.clone());
        let Some(bytes) = bytes else {
            return Err(Warning::new(
                "SecretKeyMissing",
                format!(
                    "{field}: Secret {namespace}/{} has no key {}",
                    r.name, r.key
                ),
            ));
        };
        String::from_utf8(bytes).map_err(|_| {
            Warning::new(
                "SecretNotText",
                format!(
                    "{field}: key {} of Secret {namespace}/{} is not UTF-8",
                    r.key, r.name
                ),
            )
        })
    };
    let username = match (
        &credential.spec.username,
        &credential.spec.username_secret_ref,
    ) {
        (_, Some(r)) => read(r, "spec.usernameSecretRef")?,
        (Some(u), None) => u.clone(),
        (None, None) => {
            return Err(Warning::new(
                "NoUsername",
                "spec.username or spec.usernameSecretRef is required",
            ));
        }
    };
    let password = read(
        &credential.spec.password_secret_ref,
        "spec.passwordSecretRef",
    )?;
    Ok(Login { username, password })
}

/// One ServiceAccount write; the error names the account and the API's reason.
async fn write_account(ctx: &Context, write: &AccountWrite) -> Result<(), String> {
    match write {
        AccountWrite::Apply(body) => {
            let namespace = body["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = body["metadata"]["name"].as_str().unwrap_or_default();
            let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), namespace);
            // Forced: a user's own patch owns the (atomic) list; the resourceVersion in the
            // body makes the write fail instead of dropping an entry added since it was read.
            let params = PatchParams::apply(FIELD_MANAGER).force();
            let object: DynamicObject =
                serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
            match apply_unread(&api, None, name, &params, &object).await {
                Ok(()) => Ok(()),
                // Changed since read: the watch brings the new version and the next pass.
                Err(kube::Error::Api(s)) if s.code == 409 => Err(format!(
                    "ServiceAccount {namespace}/{name}: changed while written; trying again"
                )),
                Err(e) => Err(format!(
                    "ServiceAccount {namespace}/{name}: {}",
                    api_error(&e)
                )),
            }
        }
        AccountWrite::Delete(namespace, name) => {
            let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), namespace);
            match api.delete(name, &DeleteParams::default()).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                Err(e) => Err(format!(
                    "delete ServiceAccount {namespace}/{name}: {}",
                    api_error(&e)
                )),
            }
        }
    }
}

async fn set_status(
    ctx: &Context,
    credential: &RegistryCredential,
    outcome: &desired::CredentialOutcome,
    errors: &[String],
) -> bool {
    let current = credential.status.clone().unwrap_or_default();
    let wanted = RegistryCredentialStatus {
        namespaces: u32::try_from(outcome.namespaces.len()).unwrap_or(u32::MAX),
        conditions: status::of_pass(
            &current.conditions,
            outcome.warning.as_ref(),
            errors,
            "PullSecretsApplied",
        ),
    };
    let api: Api<RegistryCredential> = Api::namespaced(ctx.client.clone(), &outcome.namespace);
    status::write(&api, &outcome.name, credential.status.as_ref(), &wanted).await
}
