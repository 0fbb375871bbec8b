//! assets/deploy: `orbdeck manifests deploy` prints it, `orbdeck validate` finds nothing wrong,
//! and server-side applying every document to the sim brings the engine and agent up.

use crate::common;

use common::Sim;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube_sim::testing::eventually;
use orbdeck::validate::{ModelSchemas, validate_text};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const ENGINE: &str = include_str!("../../assets/deploy/engine.yaml");
const AGENT: &str = include_str!("../../assets/deploy/agent.yaml");

fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .expect("YAML parses")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

#[test]
fn manifests_deploy_prints_both_files() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args(["manifests", "deploy"])
        .output()
        .expect("orbdeck runs");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, format!("{ENGINE}---\n{AGENT}"));
    assert_eq!(
        documents(&printed).len(),
        documents(ENGINE).len() + documents(AGENT).len()
    );
}

#[test]
fn deploy_manifests_validate_clean() {
    for (file, text) in [("engine.yaml", ENGINE), ("agent.yaml", AGENT)] {
        let report = validate_text(Path::new(file), text.as_bytes(), &ModelSchemas);
        assert!(
            report.diagnostics.is_empty(),
            "{file}: {:#?}",
            report.diagnostics
        );
        assert_eq!(report.objects.len(), documents(text).len());
    }
}

#[test]
fn engine_rbac_is_least_privilege() {
    let docs = documents(ENGINE);
    let role = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("a ClusterRole");
    let rules = role["rules"].as_array().unwrap();
    let mut verbs = BTreeSet::new();
    for rule in rules {
        for verb in rule["verbs"].as_array().unwrap() {
            verbs.insert(verb.as_str().unwrap());
        }
        let strs = |key: &str| -> Vec<&str> {
            rule[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect()
        };
        assert!(!strs("apiGroups").contains(&"*"), "no wildcard group");
        assert!(!strs("resources").contains(&"*"), "no wildcard resource");
        assert!(
            !strs("resources").contains(&"secrets"),
            "no cluster-wide secrets"
        );
        if strs("verbs").contains(&"bind") {
            assert_eq!(
                strs("resourceNames"),
                [
                    "kubeflow-admin",
                    "kubeflow-edit",
                    "kubeflow-view",
                    "ml-pipeline",
                    "profile-support"
                ]
            );
        }
    }
    assert!(!verbs.contains("*") && !verbs.contains("escalate") && !verbs.contains("impersonate"));
    // Secrets cluster-wide only in the role of their own, for the pull Secrets of
    // RegistryCredentials, and only the verbs that controller uses.
    let roles: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "ClusterRole").collect();
    assert_eq!(
        roles.len(),
        2,
        "orbdeck-engine and orbdeck-engine-pull-secrets"
    );
    assert_eq!(roles[1]["metadata"]["name"], "orbdeck-engine-pull-secrets");
    assert_eq!(
        roles[1]["rules"],
        serde_json::json!([{"apiGroups": [""], "resources": ["secrets"],
            "verbs": ["get", "list", "watch", "create", "patch", "delete"]}])
    );
    assert!(!verbs.contains("deletecollection"));
    let deploy = docs.iter().find(|d| d["kind"] == "Deployment").unwrap();
    assert_eq!(deploy["spec"]["replicas"], 2);
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["args"],
        serde_json::json!(["engine", "--repo", "$(ORB_REPO)", "--log-format", "json"])
    );
    // The binary takes those arguments (the image runs `orbdeck` with them).
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let parsed =
        <orbdeck::cli::Cli as clap::Parser>::try_parse_from(std::iter::once("orbdeck").chain(args));
    assert!(parsed.is_ok(), "{:?}", parsed.err());
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");

    // The agent: privileged on its host, its arguments ones the binary takes, the upgrade
    // command run through nsenter in the host's namespaces.
    let agent = documents(AGENT);
    let ds = agent.iter().find(|d| d["kind"] == "DaemonSet").unwrap();
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["privileged"], true);
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The node comes from the downward API as NODE_NAME in the pod.
    let parsed = <orbdeck::cli::Cli as clap::Parser>::try_parse_from(
        ["orbdeck", args[0], "--node", "n1"]
            .into_iter()
            .chain(args[1..].iter().copied()),
    );
    assert!(parsed.is_ok(), "{:?}", parsed.err());
    let command = &args[args.iter().position(|a| *a == "--").unwrap() + 1..];
    assert_eq!(command[0], "nsenter");
    assert_eq!(command.last(), Some(&"{version}"));
    assert_eq!(pod["volumes"][1]["hostPath"]["path"], "/home");
}

/// Server-side applies one document, resolving its kind through discovery.
async fn apply(client: &kube::Client, doc: &Value) {
    let object: DynamicObject = serde_json::from_value(doc.clone()).expect("an object");
    let gvk = GroupVersionKind::try_from(object.types.as_ref().expect("apiVersion and kind"))
        .expect("a group, version and kind");
    let (resource, caps) = discovery::pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|e| panic!("the sim serves {gvk:?}: {e}"));
    let name = object.metadata.name.clone().expect("a name");
    let api: Api<DynamicObject> = match caps.scope {
        Scope::Namespaced => Api::namespaced_with(
            client.clone(),
            object.metadata.namespace.as_deref().expect("a namespace"),
            &resource,
        ),
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    };
    api.patch(
        &name,
        &PatchParams::apply("orbdeck-deploy-test"),
        &Patch::Apply(&object),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {} {name}: {e}", gvk.kind));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_manifests_apply_and_come_up() {
    let sim = Sim::start(2).await;
    let client = sim.client().await;
    for doc in documents(ENGINE).iter().chain(&documents(AGENT)) {
        apply(&client, doc).await;
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "orbdeck-system");
    let available = eventually(20, || async {
        deployments
            .get("orbdeck-engine")
            .await
            .ok()
            .and_then(|d| d.status)
            .and_then(|s| s.available_replicas)
            == Some(2)
    })
    .await;
    assert!(
        available,
        "engine not available: {:?}",
        deployments.get("orbdeck-engine").await.unwrap().status
    );
    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), "orbdeck-system");
    let ready = eventually(20, || async {
        daemonsets
            .get("orbdeck-agent")
            .await
            .ok()
            .and_then(|d| d.status)
            .is_some_and(|s| s.desired_number_scheduled == 2 && s.number_ready == 2)
    })
    .await;
    assert!(
        ready,
        "agent not ready: {:?}",
        daemonsets.get("orbdeck-agent").await.unwrap().status
    );
    // Applying again changes nothing.
    for doc in documents(ENGINE).iter().chain(&documents(AGENT)) {
        apply(&client, doc).await;
    }
    let again = deployments.get("orbdeck-engine").await.unwrap();
    assert_eq!(again.metadata.generation, Some(1));
}
