//! What the credentials family wants, computed without an API call (seed 002's containership
//! and registry controllers): for each RegistryCredential, a `kubernetes.io/dockerconfigjson`
//! Secret in every namespace it selects, and the imagePullSecrets entries of its ServiceAccount
//! and `default` there.
//!
//! A ServiceAccount's `imagePullSecrets` is an atomic list for the API server (no merge key, as
//! upstream's `+listType=atomic`), so a server-side apply of it replaces the whole list. To keep
//! the entries users added, the list applied is the live one with the family's own entries added
//! and the ones it no longer wants taken out; which entries are the family's is kept in the
//! annotation [`PULL_SECRETS_ANNOTATION`] it applies beside them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::core::{Selector, SelectorExt};
use serde_json::{Value, json};

use crate::controllers::{FAMILY_LABEL, MANAGED_BY_LABEL, MANAGER, Warning};
use crate::model::RegistryCredential;

/// Label on every pull Secret naming its RegistryCredential (`<namespace>.<name>`).
pub const CREDENTIAL_LABEL: &str = "orbdeck.io/registry-credential";

/// Annotation on a ServiceAccount listing (comma-separated, sorted) the imagePullSecrets entries
/// the family added, so that it takes out only its own.
pub const PULL_SECRETS_ANNOTATION: &str = "orbdeck.io/pull-secrets";

/// The ServiceAccount every namespace has, which also gets the pull secrets.
pub const DEFAULT_ACCOUNT: &str = "default";

/// A credential's user name and password, read from its Secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password, not even in a debug print.
        f.debug_struct("Login")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The live state of one ServiceAccount, as far as the family cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// Its resourceVersion (the precondition of the family's write).
    pub resource_version: Option<String>,
    /// Its imagePullSecrets names, in order.
    pub pull_secrets: Vec<String>,
    /// The entries the family added ([`PULL_SECRETS_ANNOTATION`]).
    pub ours: BTreeSet<String>,
    /// It carries the family's label (the family made it, and deletes it when unwanted).
    pub made: bool,
}

impl Account {
    /// What the family reads of a live ServiceAccount.
    pub fn of(sa: &ServiceAccount, family: &str) -> Account {
        let meta = &sa.metadata;
        let ours = meta
            .annotations
            .as_ref()
            .and_then(|a| a.get(PULL_SECRETS_ANNOTATION))
            .map(|v| {
                v.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Account {
            resource_version: meta.resource_version.clone(),
            pull_secrets: sa
                .image_pull_secrets
                .iter()
                .flatten()
                .map(|r| r.name.clone())
                .collect(),
            ours,
            made: meta
                .labels
                .as_ref()
                .is_some_and(|l| l.get(FAMILY_LABEL).map(String::as_str) == Some(family)),
        }
    }
}

/// One credential's outcome: where its pull secret goes and what is wrong with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CredentialOutcome {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The registry.
    pub server: String,
    /// The pull Secret's name in each namespace.
    pub secret_name: String,
    /// The ServiceAccount it makes in each namespace.
    pub service_account: String,
    /// Namespaces that get its pull secret, sorted.
    pub namespaces: Vec<String>,
    /// Why it yields nothing, or less than it selects.
    pub warning: Option<Warning>,
}

/// A ServiceAccount write: the body to apply, or a delete of one the family made.
#[derive(Clone, Debug, PartialEq)]
pub enum AccountWrite {
    /// Server-side apply this body (it carries the live resourceVersion when there is one).
    Apply(Value),
    /// Delete the ServiceAccount `(namespace, name)`.
    Delete(String, String),
}

/// Everything the family wants in one pass.
#[derive(Debug, Default)]
pub struct Desired {
    /// The pull Secrets by credential ([`scope`]), each set to converge alone. A credential
    /// whose login cannot be read now has no entry: what it made is left as it is.
    pub secrets: BTreeMap<String, Vec<Value>>,
    /// ServiceAccount writes needed now (none in a converged cluster).
    pub accounts: Vec<AccountWrite>,
    /// One outcome per credential, sorted by namespace and name.
    pub credentials: Vec<CredentialOutcome>,
}

/// The `.dockerconfigjson` of one login for `server`, as `kubectl create secret docker-registry`
/// writes it.
pub fn docker_config(server: &str, login: &Login) -> String {
    let auth = STANDARD.encode(format!("{}:{}", login.username, login.password));
    json!({"auths": {server: {
        "username": login.username,
        "password": login.password,
        "auth": auth,
    }}})
    .to_string()
}

/// The value of [`CREDENTIAL_LABEL`] on a credential's pull Secrets: `<namespace>.<name>`
/// (cut to the 63 characters a label value holds).
pub fn scope(credential: &RegistryCredential) -> String {
    label_value(&format!(
        "{}.{}",
        credential.metadata.namespace.as_deref().unwrap_or_default(),
        credential.metadata.name.as_deref().unwrap_or_default()
    ))
}

/// The pull Secret of a credential in `namespace`.
pub fn pull_secret(
    credential: &RegistryCredential,
    secret_name: &str,
    namespace: &str,
    login: &Login,
) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": secret_name,
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGER, CREDENTIAL_LABEL: scope(credential)},
        },
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": STANDARD.encode(docker_config(&credential.spec.server, login))},
    })
}

/// `text` cut to the 63 characters a label value holds (ending in an alphanumeric).
fn label_value(text: &str) -> String {
    let mut v: String = text.chars().take(63).collect();
    while v.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.pop();
    }
    v
}

/// The namespaces a credential selects: not being deleted, matching its selector (every
/// namespace without one), not excluded. An invalid selector is a warning and selects none.
pub fn selected(
    credential: &RegistryCredential,
    namespaces: &[Arc<Namespace>],
) -> Result<Vec<String>, Warning> {
    let selector: Option<Selector> = match credential.spec.namespace_selector.clone() {
        Some(s) => Some(
            s.try_into()
                .map_err(|e| Warning::new("InvalidSelector", format!("namespaceSelector: {e}")))?,
        ),
        None => None,
    };
    let mut out: Vec<String> = namespaces
        .iter()
        .filter(|ns| ns.metadata.deletion_timestamp.is_none())
        .filter(|ns| {
            let labels = ns.metadata.labels.clone().unwrap_or_default();
            selector.as_ref().is_none_or(|s| s.matches(&labels))
        })
        .filter_map(|ns| ns.metadata.name.clone())
        .filter(|name| !credential.spec.exclude_namespaces.contains(name))
        .collect();
    out.sort();
    Ok(out)
}

/// Everything wanted: `logins` holds each credential's login (by `(namespace, name)`) or why it
/// could not be read; `accounts` the live ServiceAccounts (by `(namespace, name)`).
pub fn desired(
    family: &str,
    namespaces: &[Arc<Namespace>],
    credentials: &[Arc<RegistryCredential>],
    logins: &BTreeMap<(String, String), Result<Login, Warning>>,
    accounts: &BTreeMap<(String, String), Account>,
) -> Desired {
    let mut out = Desired::default();
    let mut sorted: Vec<&Arc<RegistryCredential>> = credentials.iter().collect();
    sorted.sort_by_key(|c| (c.metadata.namespace.clone(), c.metadata.name.clone()));
    // (namespace, secret name) → the credential whose Secret it is.
    let mut taken: BTreeMap<(String, String), String> = BTreeMap::new();
    // (namespace, ServiceAccount) → the pull secrets it should list.
    let mut wanted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    // Secrets the credentials read: never overwritten by a pull secret.
    let sources: BTreeSet<(String, String)> = sorted
        .iter()
        .flat_map(|c| {
            let ns = c.metadata.namespace.clone().unwrap_or_default();
            let mut refs = vec![(ns.clone(), c.spec.password_secret_ref.name.clone())];
            if let Some(r) = &c.spec.username_secret_ref {
                refs.push((ns, r.name.clone()));
            }
            refs
        })
        .collect();
    for credential in sorted {
        let namespace = credential.metadata.namespace.clone().unwrap_or_default();
        let name = credential.metadata.name.clone().unwrap_or_default();
        let id = format!("{namespace}/{name}");
        let secret_name = credential
            .spec
            .secret_name
            .clone()
            .unwrap_or_else(|| name.clone());
        let mut outcome = CredentialOutcome {
            namespace: namespace.clone(),
            name: name.clone(),
            server: credential.spec.server.clone(),
            secret_name: secret_name.clone(),
            service_account: credential.spec.service_account_name.clone(),
            ..Default::default()
        };
        let unread = Warning::new("SecretNotRead", "its Secrets have not been read yet");
        let login = match logins.get(&(namespace.clone(), name.clone())) {
            Some(Ok(login)) => Ok(login),
            Some(Err(w)) => Err(w.clone()),
            None => Err(unread),
        };
        let targets = match selected(credential, namespaces) {
            Ok(t) => t,
            Err(w) => {
                // It selects nothing: what it made goes.
                out.secrets.entry(scope(credential)).or_default();
                outcome.warning = Some(w);
                out.credentials.push(outcome);
                continue;
            }
        };
        let login = match login {
            Ok(login) => login,
            Err(w) => {
                // A login gone for a moment (its Secret renamed, recreated) must not take the
                // pull secrets away from every namespace: what the credential made stays.
                for target in &targets {
                    for account in [
                        credential.spec.service_account_name.as_str(),
                        DEFAULT_ACCOUNT,
                    ] {
                        let key = (target.clone(), account.to_owned());
                        if accounts
                            .get(&key)
                            .is_some_and(|a| a.ours.contains(&secret_name))
                        {
                            wanted.entry(key).or_default().insert(secret_name.clone());
                        }
                    }
                }
                outcome.warning = Some(Warning::new(
                    &w.reason,
                    format!("{}; what it made is left as it is", w.message),
                ));
                out.credentials.push(outcome);
                continue;
            }
        };
        let made = out.secrets.entry(scope(credential)).or_default();
        let mut clashes = Vec::new();
        for target in targets {
            let key = (target.clone(), secret_name.clone());
            if sources.contains(&key) {
                clashes.push(format!(
                    "{target}: a Secret {secret_name} there is a credential's own Secret"
                ));
                continue;
            }
            if let Some(other) = taken.get(&key) {
                clashes.push(format!(
                    "{target}: Secret {secret_name} is RegistryCredential {other}'s"
                ));
                continue;
            }
            taken.insert(key, id.clone());
            made.push(pull_secret(credential, &secret_name, &target, login));
            for account in [
                credential.spec.service_account_name.as_str(),
                DEFAULT_ACCOUNT,
            ] {
                wanted
                    .entry((target.clone(), account.to_owned()))
                    .or_default()
                    .insert(secret_name.clone());
            }
            outcome.namespaces.push(target);
        }
        if !clashes.is_empty() {
            outcome.warning = Some(Warning::new(
                "SecretNameTaken",
                format!(
                    "not copied where its Secret name is taken (set spec.secretName): {}",
                    clashes.join("; ")
                ),
            ));
        }
        out.credentials.push(outcome);
    }
    out.accounts = account_writes(family, &wanted, accounts);
    out
}

/// The ServiceAccount writes that make every account list exactly its wanted pull secrets
/// besides the entries others added: applies where the list or the annotation differ, deletes
/// of accounts the family made and no longer wants.
fn account_writes(
    family: &str,
    wanted: &BTreeMap<(String, String), BTreeSet<String>>,
    accounts: &BTreeMap<(String, String), Account>,
) -> Vec<AccountWrite> {
    let empty = BTreeSet::new();
    let keys: BTreeSet<&(String, String)> = wanted
        .keys()
        .chain(
            accounts
                .iter()
                .filter(|(_, a)| !a.ours.is_empty() || a.made)
                .map(|(k, _)| k),
        )
        .collect();
    let mut writes = Vec::new();
    for key in keys {
        let (namespace, name) = key;
        let want = wanted.get(key).unwrap_or(&empty);
        let live = accounts.get(key);
        if want.is_empty() {
            match live {
                Some(a) if a.made && name != DEFAULT_ACCOUNT => {
                    writes.push(AccountWrite::Delete(namespace.clone(), name.clone()));
                    continue;
                }
                None => continue,
                Some(_) => {}
            }
        }
        let live = live.cloned().unwrap_or_default();
        let list: Vec<String> = live
            .pull_secrets
            .iter()
            .filter(|s| want.contains(*s) || !live.ours.contains(*s))
            .cloned()
            .chain(
                want.iter()
                    .filter(|s| !live.pull_secrets.contains(s))
                    .cloned(),
            )
            .collect();
        if live.resource_version.is_some() && list == live.pull_secrets && live.ours == *want {
            continue;
        }
        let made = live.resource_version.is_none() || live.made;
        writes.push(AccountWrite::Apply(account_body(
            family,
            namespace,
            name,
            live.resource_version.as_deref(),
            &list,
            want,
            made && name != DEFAULT_ACCOUNT,
        )));
    }
    writes
}

/// The applied configuration of one ServiceAccount: its pull secrets and the annotation naming
/// the family's (none when it has none), labelled as the family's when it made it.
fn account_body(
    family: &str,
    namespace: &str,
    name: &str,
    resource_version: Option<&str>,
    list: &[String],
    ours: &BTreeSet<String>,
    made: bool,
) -> Value {
    let mut metadata = json!({"name": name, "namespace": namespace});
    if let Some(rv) = resource_version {
        metadata["resourceVersion"] = json!(rv);
    }
    if !ours.is_empty() {
        let joined: Vec<&str> = ours.iter().map(String::as_str).collect();
        metadata["annotations"] = json!({PULL_SECRETS_ANNOTATION: joined.join(",")});
    }
    if made {
        metadata["labels"] = json!({MANAGED_BY_LABEL: MANAGER, FAMILY_LABEL: family});
    }
    let entries: Vec<Value> = list.iter().map(|n| json!({"name": n})).collect();
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata,
        "imagePullSecrets": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RegistryCredentialSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    const FAMILY: &str = "credentials";

    fn namespace(name: &str, labels: &[(&str, &str)]) -> Arc<Namespace> {
        Arc::new(Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).into(), (*v).into()))
                        .collect(),
                ),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn credential(name: &str, spec: serde_json::Value) -> Arc<RegistryCredential> {
        let mut base = json!({"server": "registry.example.com:5000", "username": "robot",
            "passwordSecretRef": {"name": "login", "key": "password"}});
        for (k, v) in spec.as_object().unwrap() {
            base[k] = v.clone();
        }
        let spec: RegistryCredentialSpec = serde_json::from_value(base).unwrap();
        let mut c = RegistryCredential::new(name, spec);
        c.metadata.namespace = Some("orbdeck-system".into());
        Arc::new(c)
    }

    fn logins(names: &[&str]) -> BTreeMap<(String, String), Result<Login, Warning>> {
        names
            .iter()
            .map(|n| {
                let login = Login {
                    username: "robot".into(),
                    password: "hunter2".into(),
                };
                (("orbdeck-system".to_owned(), (*n).to_owned()), Ok(login))
            })
            .collect()
    }

    fn bodies(d: &Desired) -> Vec<&Value> {
        d.accounts
            .iter()
            .filter_map(|w| match w {
                AccountWrite::Apply(v) => Some(v),
                AccountWrite::Delete(..) => None,
            })
            .collect()
    }

    #[test]
    fn the_docker_config_is_what_kubectl_create_secret_docker_registry_writes() {
        let login = Login {
            username: "robot".into(),
            password: "hunter2".into(),
        };
        let config: Value = serde_json::from_str(&docker_config("r.example:5000", &login)).unwrap();
        assert_eq!(
            config,
            json!({"auths": {"r.example:5000": {"username": "robot", "password": "hunter2",
                "auth": STANDARD.encode("robot:hunter2")}}})
        );
        assert!(!format!("{login:?}").contains("hunter2"));
    }

    #[test]
    fn every_selected_namespace_gets_the_secret_and_both_accounts_list_it() {
        let namespaces = [
            namespace("team-a", &[("pulls", "yes")]),
            namespace("team-b", &[("pulls", "yes")]),
            namespace("kube-system", &[("pulls", "yes")]),
            namespace("other", &[]),
        ];
        let c = credential(
            "harbor",
            json!({"namespaceSelector": {"matchLabels": {"pulls": "yes"}},
                "excludeNamespaces": ["kube-system"]}),
        );
        let d = desired(
            FAMILY,
            &namespaces,
            &[c],
            &logins(&["harbor"]),
            &BTreeMap::new(),
        );
        let targets: Vec<&str> = d.secrets["orbdeck-system.harbor"]
            .iter()
            .map(|s| s["metadata"]["namespace"].as_str().unwrap())
            .collect();
        assert_eq!(targets, ["team-a", "team-b"]);
        let first = &d.secrets["orbdeck-system.harbor"][0];
        assert_eq!(first["type"], "kubernetes.io/dockerconfigjson");
        assert_eq!(
            first["metadata"]["labels"][CREDENTIAL_LABEL],
            "orbdeck-system.harbor"
        );
        assert_eq!(d.credentials[0].namespaces, ["team-a", "team-b"]);
        let accounts: Vec<(String, String, Value)> = bodies(&d)
            .iter()
            .map(|b| {
                (
                    b["metadata"]["namespace"].as_str().unwrap().to_owned(),
                    b["metadata"]["name"].as_str().unwrap().to_owned(),
                    b["imagePullSecrets"].clone(),
                )
            })
            .collect();
        assert_eq!(accounts.len(), 4, "{accounts:?}");
        for (_, name, list) in &accounts {
            assert!(name == "default" || name == "orbdeck-pull");
            assert_eq!(*list, json!([{"name": "harbor"}]));
        }
        // Only the account the family made carries its label.
        let made: Vec<&Value> = bodies(&d)
            .into_iter()
            .filter(|b| b["metadata"]["labels"].is_object())
            .collect();
        assert!(made.iter().all(|b| b["metadata"]["name"] == "orbdeck-pull"));
    }

    #[test]
    fn entries_others_added_are_kept_and_only_the_familys_own_are_taken_out() {
        let namespaces = [namespace("team-a", &[])];
        let live = Account {
            resource_version: Some("7".into()),
            pull_secrets: vec!["mine".into(), "harbor".into(), "old".into()],
            ours: ["harbor".to_owned(), "old".to_owned()].into(),
            made: false,
        };
        let accounts = BTreeMap::from([(("team-a".to_owned(), "default".to_owned()), live)]);
        let c = credential("harbor", json!({"serviceAccountName": "default"}));
        let d = desired(FAMILY, &namespaces, &[c], &logins(&["harbor"]), &accounts);
        let b = bodies(&d);
        assert_eq!(b.len(), 1);
        assert_eq!(
            b[0]["imagePullSecrets"],
            json!([{"name": "mine"}, {"name": "harbor"}])
        );
        assert_eq!(b[0]["metadata"]["resourceVersion"], "7");
        assert_eq!(
            b[0]["metadata"]["annotations"][PULL_SECRETS_ANNOTATION],
            "harbor"
        );
        // Converged: no write at all.
        let live = Account {
            resource_version: Some("8".into()),
            pull_secrets: vec!["mine".into(), "harbor".into()],
            ours: ["harbor".to_owned()].into(),
            made: false,
        };
        let accounts = BTreeMap::from([(("team-a".to_owned(), "default".to_owned()), live)]);
        let c = credential("harbor", json!({"serviceAccountName": "default"}));
        let d = desired(FAMILY, &namespaces, &[c], &logins(&["harbor"]), &accounts);
        assert!(d.accounts.is_empty(), "{:?}", d.accounts);
    }

    #[test]
    fn without_credentials_the_made_account_goes_and_default_keeps_the_users_entries() {
        let accounts = BTreeMap::from([
            (
                ("team-a".to_owned(), "default".to_owned()),
                Account {
                    resource_version: Some("3".into()),
                    pull_secrets: vec!["harbor".into(), "mine".into()],
                    ours: ["harbor".to_owned()].into(),
                    made: false,
                },
            ),
            (
                ("team-a".to_owned(), "orbdeck-pull".to_owned()),
                Account {
                    resource_version: Some("4".into()),
                    pull_secrets: vec!["harbor".into()],
                    ours: ["harbor".to_owned()].into(),
                    made: true,
                },
            ),
            (
                ("team-a".to_owned(), "builder".to_owned()),
                Account {
                    resource_version: Some("5".into()),
                    pull_secrets: vec!["mine".into()],
                    ..Default::default()
                },
            ),
        ]);
        let d = desired(
            FAMILY,
            &[namespace("team-a", &[])],
            &[],
            &BTreeMap::new(),
            &accounts,
        );
        assert_eq!(d.accounts.len(), 2, "{:?}", d.accounts);
        assert!(d.accounts.contains(&AccountWrite::Delete(
            "team-a".into(),
            "orbdeck-pull".into()
        )));
        let b = bodies(&d);
        assert_eq!(b[0]["imagePullSecrets"], json!([{"name": "mine"}]));
        assert!(b[0]["metadata"].get("annotations").is_none());
        assert!(d.secrets.is_empty());
    }

    #[test]
    fn a_name_taken_by_a_source_secret_or_another_credential_is_a_warning() {
        let namespaces = [namespace("orbdeck-system", &[]), namespace("team-a", &[])];
        // Its pull secret would overwrite its own password Secret in its own namespace.
        let own = credential("login", json!({}));
        let other = credential("zz", json!({"secretName": "login"}));
        let d = desired(
            FAMILY,
            &namespaces,
            &[own, other],
            &logins(&["login", "zz"]),
            &BTreeMap::new(),
        );
        assert_eq!(d.credentials[0].namespaces, ["team-a"]);
        let w = d.credentials[0].warning.as_ref().unwrap();
        assert_eq!(w.reason, "SecretNameTaken");
        assert!(w.message.contains("orbdeck-system"), "{}", w.message);
        assert!(d.credentials[1].namespaces.is_empty());
        assert!(
            d.credentials[1]
                .warning
                .as_ref()
                .unwrap()
                .message
                .contains("orbdeck-system/login")
        );
    }

    #[test]
    fn an_unreadable_login_leaves_what_the_credential_made_as_it_is() {
        let c = credential("harbor", json!({}));
        let mut l = BTreeMap::new();
        l.insert(
            ("orbdeck-system".to_owned(), "harbor".to_owned()),
            Err(Warning::new("SecretMissing", "Secret login not found")),
        );
        let live = Account {
            resource_version: Some("3".into()),
            pull_secrets: vec!["harbor".into()],
            ours: ["harbor".to_owned()].into(),
            made: false,
        };
        let accounts = BTreeMap::from([(("team-a".to_owned(), "default".to_owned()), live)]);
        let d = desired(FAMILY, &[namespace("team-a", &[])], &[c], &l, &accounts);
        // No Secret set to converge (so none is deleted), no entry taken out, none added.
        assert!(d.secrets.is_empty(), "{:?}", d.secrets);
        assert!(d.accounts.is_empty(), "{:?}", d.accounts);
        let w = d.credentials[0].warning.as_ref().unwrap();
        assert!(w.message.contains("left as it is"), "{}", w.message);
    }

    #[test]
    fn an_unreadable_login_yields_nothing_and_says_why() {
        let c = credential("harbor", json!({}));
        let mut l = BTreeMap::new();
        l.insert(
            ("orbdeck-system".to_owned(), "harbor".to_owned()),
            Err(Warning::new("SecretMissing", "Secret login not found")),
        );
        let d = desired(
            FAMILY,
            &[namespace("team-a", &[])],
            &[c],
            &l,
            &BTreeMap::new(),
        );
        assert!(d.secrets.is_empty() && d.accounts.is_empty());
        assert_eq!(
            d.credentials[0].warning.as_ref().unwrap().reason,
            "SecretMissing"
        );
    }
}
