//! The engine with exactly the RBAC of `orbdeck manifests deploy`: a rule missing there is a 403
//! the engine reports, and the permissions it uses are listed against what the manifests grant.

use crate::common::engine::Running;
use crate::common::repos::Origin;
use crate::common::{Sim, engine_client};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n";
const ALICE: &str = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\n  labels:\n    quotas.statcan.gc.ca/requests.cpu: \"8\"\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n";
const TEAM: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n    orbdeck.io/team: team-a\n    addons: \"yes\"\n---\napiVersion: orbdeck.io/v1alpha1\nkind: PodSetting\nmetadata:\n  name: gpu\n  namespace: team-a\nspec:\n  selector:\n    matchLabels:\n      gpu: \"true\"\n  desc: GPU\n---\napiVersion: orbdeck.io/v1alpha1\nkind: AddonTemplate\nmetadata:\n  name: welcome\nspec:\n  namespaceSelector:\n    matchLabels:\n      addons: \"yes\"\n  manifests: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: welcome\n";

const ENGINE: &str = "system:serviceaccount:orbdeck-system:orbdeck-engine";

fn origin() -> Origin {
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", ALICE),
        ("desired/teams/team-a.yaml", TEAM),
    ]);
    origin
}

/// Replaces the rules of the manifests' ClusterRole orbdeck-engine.
async fn set_rules(sim: &Sim, rules: Value) {
    let roles: Api<ClusterRole> = Api::all(sim.client().await);
    let patch = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "orbdeck-engine"}, "rules": rules});
    roles
        .patch(
            "orbdeck-engine",
            &PatchParams::apply("orbdeck").force(),
            &Patch::Apply(&patch),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_missing_from_the_deploy_manifests_is_the_403_the_engine_reports() {
    let sim = Sim::start(0).await;
    let client = engine_client(&sim).await;
    let granted: Vec<Value> = {
        let role = Api::<ClusterRole>::all(sim.client().await)
            .get("orbdeck-engine")
            .await
            .unwrap();
        serde_json::to_value(role.rules.unwrap())
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    // Without the rule that lets it write Profiles.
    let without: Vec<Value> = granted
        .iter()
        .filter(|r| r["resources"] != json!(["profiles", "poddefaults"]))
        .cloned()
        .collect();
    assert_eq!(
        without.len() + 1,
        granted.len(),
        "the Profile rule is in the manifests"
    );
    set_rules(&sim, json!(without)).await;
    let origin = origin();
    let mut engine = Running::start_via(client, &origin);
    let status = engine.sync().await;
    assert_eq!(status.result, "Partial", "{status:?}");
    // Listing Profiles (to prune) and applying them are what the rule granted.
    let forbidden = |verb: &str| {
        format!(
            "profiles.kubeflow.org is forbidden: User \"{ENGINE}\" cannot {verb} resource \"profiles\" in API group \"kubeflow.org\" at the cluster scope"
        )
    };
    assert!(
        status
            .errors
            .iter()
            .any(|e| e.contains(&forbidden("list")) || e.contains(&forbidden("patch"))),
        "{:#?}",
        status.errors
    );
    // With the manifests' rule back, the next sync applies it.
    set_rules(&sim, json!(granted)).await;
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{:#?}", status.errors);
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_permissions_the_engine_uses_against_what_the_manifests_grant() {
    let sim = Sim::start(0).await;
    let origin = origin();
    let mut engine = Running::start(&sim, &origin).await;
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{:#?}", status.errors);
    let admin = sim.client().await;
    let configmaps =
        Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(admin.clone(), "team-a");
    assert!(
        kube_sim::testing::eventually(30, || async {
            configmaps.get_opt("welcome").await.ok().flatten().is_some()
        })
        .await,
        "the add-on family ran"
    );
    let used = sim.server.cluster().permissions_used(ENGINE);
    let mut granted = vec![];
    for (kind, name, ns) in [
        ("clusterroles", "orbdeck-engine", None),
        ("roles", "orbdeck-engine", Some("orbdeck-system")),
    ] {
        let ar = kube::discovery::ApiResource::erase::<ClusterRole>(&());
        let ar = kube::discovery::ApiResource {
            plural: kind.into(),
            kind: String::new(),
            ..ar
        };
        let api: Api<kube::api::DynamicObject> = match ns {
            Some(ns) => Api::namespaced_with(admin.clone(), ns, &ar),
            None => Api::all_with(admin.clone(), &ar),
        };
        let role = api.get(name).await.unwrap();
        for rule in role.data["rules"].as_array().unwrap() {
            let list = |k: &str| -> Vec<String> {
                rule[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            };
            for group in list("apiGroups") {
                for resource in list("resources") {
                    for verb in list("verbs") {
                        granted.push((verb, group.clone(), resource.clone()));
                    }
                }
            }
        }
    }
    let unused: Vec<_> = granted.iter().filter(|g| !used.contains(g)).collect();
    println!("the engine used {} permissions:", used.len());
    for (verb, group, resource) in &used {
        println!("  {verb:<6} {resource} ({group:?})");
    }
    println!(
        "granted by the manifests but not used in this run ({}):",
        unused.len()
    );
    for (verb, group, resource) in &unused {
        println!("  {verb:<6} {resource} ({group:?})");
    }
    // Everything it used was granted (by the manifests, or by the ORB's own desired role).
    let desired_role = [
        "configmaps",
        "secrets",
        "services",
        "clusterrolebindings",
        "clusterroles",
    ];
    for u in &used {
        assert!(
            granted.contains(u) || desired_role.contains(&u.2.as_str()),
            "used but not granted: {u:?}"
        );
    }
    engine.stop().await;
}

/// A sim restarted with `--state-dir` on the same port is the same cluster: the engine's
/// ServiceAccount token still works, and a change pushed after the restart is applied by the
/// engine that kept running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_rides_out_a_sim_restart_with_its_state_dir() {
    use crate::common::engine::{push, put};
    use k8s_openapi::api::core::v1::ConfigMap;
    let state = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = || kube_sim::Options {
        listen: ([127, 0, 0, 1], port).into(),
        state_dir: Some(state.path().to_path_buf()),
        ..Default::default()
    };
    let server = kube_sim::Server::start(options()).await.unwrap();
    let admin = server.client().await.unwrap();
    orbdeck::engine::identity::install(&admin, crate::common::desired_rules())
        .await
        .unwrap();
    let token = orbdeck::engine::identity::token(&admin, 3600)
        .await
        .unwrap();
    let engine_client = server.client_with_token(0, &token).await.unwrap();
    let origin = Origin::new();
    let cm = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  v: \"{v}\"\n"
        )
    };
    origin.seed(&[("orb.yaml", ORB), ("desired/settings.yaml", &cm("1"))]);
    let mut engine = Running::start_via(engine_client, &origin);
    assert_eq!(engine.sync().await.result, "Synced");

    server.shutdown().await.unwrap();
    let server = kube_sim::Server::start(options()).await.unwrap();
    push(&origin, vec![put("desired/settings.yaml", &cm("2"))]);
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{:#?}", status.errors);
    let admin = server.client().await.unwrap();
    let live = Api::<ConfigMap>::namespaced(admin, "default")
        .get("settings")
        .await
        .unwrap();
    assert_eq!(live.data.unwrap()["v"], "2");
    engine.stop().await;
}
