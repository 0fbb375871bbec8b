//! The profile controllers inside the engine, against the sim and a bare repo: three Profiles
//! converge to exactly the children seed 001 lists, current/profiles.yaml is pushed, a second
//! sync writes nothing, a quota label change lands, a deleted Profile leaves nothing behind, an
//! engine killed after its Nth write converges when restarted, and the API gone for 30 s is
//! survived without a restart; a change made with kubectl is put back and told as a
//! `SelfHealed` Event.

use crate::common;

use common::Sim;
use common::engine::{Running, gone, push, put};
use common::proxy::{Proxy, engine_client_via};
use common::repos::Origin;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, ListParams};
use kube_sim::testing::eventually;
use orbdeck::controllers::PROFILE_LABEL;
use orbdeck::model::{PodDefault, Profile};
use std::collections::BTreeSet;
use std::time::Duration;

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n";

/// Alice: gpu and cpu label overrides. Team B: owned by a group. Carol: quota in the spec.
const ALICE: &str = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\n  labels:\n    quotas.statcan.gc.ca/gpu: \"4\"\n    quotas.statcan.gc.ca/requests.cpu: \"8\"\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n";
const TEAM_B: &str = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: team-b\nspec:\n  owner:\n    kind: Group\n    name: team-b-admins\n";
const CAROL: &str = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: carol\nspec:\n  owner:\n    kind: User\n    name: carol@example.com\n  resourceQuotaSpec:\n    hard:\n      pods: \"20\"\n";

fn seed(origin: &Origin) {
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", ALICE),
        ("desired/profiles/team-b.yaml", TEAM_B),
        ("desired/profiles/carol.yaml", CAROL),
    ]);
}

/// (kind, namespace, name) of every object labelled with the profile, of the kinds it derives.
async fn live_children(client: &kube::Client, profile: &str) -> BTreeSet<(String, String)> {
    let lp = ListParams::default().labels(&format!("{PROFILE_LABEL}={profile}"));
    let mut out = BTreeSet::new();
    macro_rules! collect {
        ($t:ty, $kind:literal) => {
            if let Ok(list) = Api::<$t>::all(client.clone()).list(&lp).await {
                for o in list.items {
                    if o.metadata.deletion_timestamp.is_none() {
                        out.insert(($kind.to_string(), o.metadata.name.unwrap_or_default()));
                    }
                }
            }
        };
    }
    collect!(Namespace, "Namespace");
    collect!(ServiceAccount, "ServiceAccount");
    collect!(RoleBinding, "RoleBinding");
    collect!(ResourceQuota, "ResourceQuota");
    collect!(LimitRange, "LimitRange");
    collect!(NetworkPolicy, "NetworkPolicy");
    collect!(PodDefault, "PodDefault");
    out
}

/// What a Profile named `name` yields with the default settings and no Istio (seed 001): its
/// namespace, two ServiceAccounts, five RoleBindings, the quota, the limit range, the ten network
/// policies and the protected-b PodDefault.
fn expected_children(name: &str) -> BTreeSet<(String, String)> {
    [
        ("Namespace", name),
        ("ServiceAccount", "default-editor"),
        ("ServiceAccount", "default-viewer"),
        ("RoleBinding", "default-editor"),
        ("RoleBinding", "default-viewer"),
        ("RoleBinding", "ml-pipeline"),
        ("RoleBinding", "namespaceAdmin"),
        ("RoleBinding", "profile-support"),
        ("ResourceQuota", "quotas"),
        ("LimitRange", "default-container-limits"),
        ("NetworkPolicy", "allow-egress-to-cluster-local-gateway"),
        ("NetworkPolicy", "allow-ingress-from-knative-serving"),
        ("NetworkPolicy", "namespace-vault-egress"),
        ("NetworkPolicy", "notebooks-allow-system-to-notebook"),
        ("NetworkPolicy", "notebooks-protected-b-allow-https-egress"),
        ("NetworkPolicy", "notebooks-unclassified-allow-egress"),
        (
            "NetworkPolicy",
            "notebooks-unclassified-allow-egress-to-ingress-gateway",
        ),
        ("NetworkPolicy", "notebooks-unclassified-pipelines-egress"),
        ("NetworkPolicy", "protected-b-jfrog-egress"),
        ("NetworkPolicy", "unclassified-elasticsearch-egress"),
        ("PodDefault", "protected-b"),
    ]
    .iter()
    .map(|(kind, name)| ((*kind).to_owned(), (*name).to_owned()))
    .collect()
}

/// Whether every profile has exactly its expected children.
async fn converged(client: &kube::Client, profiles: &[&str]) -> bool {
    for name in profiles {
        if live_children(client, name).await != expected_children(name) {
            return false;
        }
    }
    true
}

async fn quota(client: &kube::Client, ns: &str, key: &str) -> Option<String> {
    let q = Api::<ResourceQuota>::namespaced(client.clone(), ns)
        .get_opt("quotas")
        .await
        .ok()??;
    q.spec?.hard?.get(key).map(|v| v.0.clone())
}

const ALL: [&str; 3] = ["alice", "team-b", "carol"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_profiles_converge_report_and_rest() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    seed(&origin);
    let mut engine = Running::start(&sim, &origin).await;
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{status:?}");
    assert!(
        eventually(60, || converged(&client, &ALL)).await,
        "children never matched: alice has {:?}",
        live_children(&client, "alice").await
    );

    // What a user of each profile would notice.
    assert_eq!(
        quota(&client, "alice", "requests.cpu").await.as_deref(),
        Some("8")
    );
    assert_eq!(
        quota(&client, "alice", "requests.nvidia.com/gpu")
            .await
            .as_deref(),
        Some("4")
    );
    assert_eq!(
        quota(&client, "alice", "limits.cpu").await.as_deref(),
        Some("70")
    );
    assert_eq!(quota(&client, "carol", "pods").await.as_deref(), Some("20"));
    let ns = Api::<Namespace>::all(client.clone())
        .get("alice")
        .await
        .unwrap();
    assert_eq!(
        ns.metadata.annotations.unwrap()["owner"],
        "alice@example.com"
    );
    assert_eq!(ns.metadata.labels.unwrap()["istio-injection"], "enabled");
    let admin = Api::<RoleBinding>::namespaced(client.clone(), "team-b")
        .get("namespaceAdmin")
        .await
        .unwrap();
    let subject = &admin.subjects.unwrap()[0];
    assert_eq!(
        (subject.kind.as_str(), subject.name.as_str()),
        ("Group", "team-b-admins")
    );
    let profile = Api::<Profile>::all(client.clone())
        .get("alice")
        .await
        .unwrap();
    assert!(
        profile
            .metadata
            .finalizers
            .unwrap()
            .contains(&"profile-finalizer".to_string())
    );

    // current/profiles.yaml is pushed, with the quotas the API server reports.
    let pushed = eventually(30, || async {
        origin_file(&origin, "current/profiles.yaml").is_some_and(|t| {
            t.contains("name: alice")
                && t.contains("name: carol")
                && t.contains("Ready=True")
                && t.contains("requests.nvidia.com/gpu")
        })
    })
    .await;
    assert!(
        pushed,
        "profiles.yaml: {:?}",
        origin_file(&origin, "current/profiles.yaml")
    );

    // A second sync (and the controllers' resync) writes nothing to the API.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = sim.writes_except(&["leases"]);
    engine.sync().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sim.writes_except(&["leases"]),
        before,
        "steady state wrote to the API"
    );

    // A quota label change in git changes the quota at the next sync.
    push(
        &origin,
        vec![put(
            "desired/profiles/alice.yaml",
            &ALICE.replace("\"8\"", "\"12\""),
        )],
    );
    engine.sync().await;
    assert!(
        eventually(30, || async {
            quota(&client, "alice", "requests.cpu").await.as_deref() == Some("12")
        })
        .await
    );

    // Someone deletes a derived policy: it comes back.
    Api::<NetworkPolicy>::namespaced(client.clone(), "carol")
        .delete(
            orbdeck::controllers::profiles::network_policies::names()[0],
            &Default::default(),
        )
        .await
        .unwrap();
    assert!(
        eventually(30, || converged(&client, &ALL[2..])).await,
        "deleted policy not restored"
    );

    // Deleting a Profile from git removes its namespace and everything derived.
    push(&origin, vec![gone("desired/profiles/carol.yaml")]);
    engine.sync().await;
    assert!(
        eventually(60, || async {
            live_children(&client, "carol").await.is_empty()
                && Api::<Namespace>::all(client.clone())
                    .get_opt("carol")
                    .await
                    .unwrap()
                    .is_none()
                && Api::<Profile>::all(client.clone())
                    .get_opt("carol")
                    .await
                    .unwrap()
                    .is_none()
        })
        .await,
        "carol left {:?}",
        live_children(&client, "carol").await
    );
    assert!(
        converged(&client, &ALL[..2]).await,
        "the other profiles were touched"
    );
    engine.stop().await;
}

/// A bad quota label is reported (an Event and current/), and the default is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_quota_label_is_reported_and_default_kept() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    let bad = ALICE.replace("\"4\"", "\"lots\"");
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", &bad),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    engine.sync().await;
    assert!(
        eventually(60, || async {
            quota(&client, "alice", "requests.nvidia.com/gpu")
                .await
                .as_deref()
                == Some("2")
        })
        .await
    );
    let events = Api::<k8s_openapi::api::core::v1::Event>::namespaced(client.clone(), "default");
    assert!(
        eventually(30, || async {
            events
                .list(&ListParams::default())
                .await
                .unwrap()
                .items
                .iter()
                .any(|e| {
                    e.involved_object.name.as_deref() == Some("alice")
                        && e.message.as_deref().unwrap_or_default().contains("lots")
                })
        })
        .await,
        "no warning event"
    );
    assert!(
        eventually(30, || async {
            origin_file(&origin, "current/profiles.yaml").is_some_and(|t| t.contains("lots"))
        })
        .await
    );
    engine.stop().await;
}

/// Killed after its Nth API write, a new engine converges to the same objects, no duplicates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_killed_after_nth_write_converges_on_restart() {
    for n in [3u64, 25, 60] {
        let sim = Sim::start(0).await;
        let client = sim.client().await;
        let origin = Origin::new();
        seed(&origin);
        let start = sim.writes_except(&["leases"]);
        let engine = Running::start(&sim, &origin).await;
        engine.handle.sync_now.notify_one();
        assert!(
            eventually(60, || async { sim.writes_except(&["leases"]) - start >= n }).await,
            "the engine never made {n} writes"
        );
        engine.task.abort();
        let _ = engine.task.await;
        engine.stop.cancel();
        let mut again = Running::start(&sim, &origin).await;
        again.sync().await;
        assert!(
            eventually(60, || converged(&client, &ALL)).await,
            "after a kill at write {n}: alice has {:?}",
            live_children(&client, "alice").await
        );
        let namespaces = Api::<Namespace>::all(client.clone())
            .list(&ListParams::default().labels(PROFILE_LABEL))
            .await
            .unwrap();
        assert_eq!(namespaces.items.len(), 3, "after a kill at write {n}");
        again.stop().await;
    }
}

fn origin_file(origin: &Origin, path: &str) -> Option<String> {
    origin.file(path)
}

/// The API server unreachable for 30 s: the engine and its controllers back off and recover on
/// their own; a change pushed meanwhile lands, and the controllers' watches work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_gone_for_30_s_is_survived_without_restart() {
    let sim = Sim::start(0).await;
    let direct = sim.client().await;
    let mut proxy = Proxy::start(&sim).await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", &ORB.replace("interval: 1h", "interval: 2s")),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", ALICE),
    ]);
    let mut engine = Running::start_via(engine_client_via(&sim, &proxy.url).await, &origin);
    engine.sync().await;
    assert!(eventually(60, || converged(&direct, &ALL[..1])).await);

    proxy.cut().await;
    push(
        &origin,
        vec![put(
            "desired/profiles/alice.yaml",
            &ALICE.replace("\"8\"", "\"16\""),
        )],
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let during = engine.handle.state.borrow().status.clone().unwrap();
    assert_ne!(
        during.result, "Synced",
        "a sync cannot succeed without the API: {during:?}"
    );
    proxy.restore().await;

    assert!(
        eventually(60, || async {
            quota(&direct, "alice", "requests.cpu").await.as_deref() == Some("16")
        })
        .await,
        "the change pushed during the outage never landed"
    );
    Api::<NetworkPolicy>::namespaced(direct.clone(), "alice")
        .delete(
            orbdeck::controllers::profiles::network_policies::names()[1],
            &Default::default(),
        )
        .await
        .unwrap();
    assert!(
        eventually(60, || converged(&direct, &ALL[..1])).await,
        "the controllers did not notice a deleted policy after the outage"
    );
    assert_eq!(
        engine.handle.state.borrow().status.as_ref().unwrap().result,
        "Synced"
    );
    engine.stop().await;
}

/// PodSettings become PodDefaults in the team namespace and copies in the members' namespaces;
/// an AddonTemplate lands in every namespace it selects; both leave with their source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_settings_and_addons_fan_out_and_leave_with_their_source() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    let namespaces = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n    orbdeck.io/team: team-a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: user-x\n  annotations:\n    owner: x@example.com\n  labels:\n    orbdeck.io/team: team-a\n    addons: \"yes\"\n";
    let setting = "apiVersion: orbdeck.io/v1alpha1\nkind: PodSetting\nmetadata:\n  name: gpu-env\n  namespace: team-a\nspec:\n  selector:\n    matchLabels:\n      gpu: \"true\"\n  desc: GPU environment\n  env:\n  - name: CUDA\n    value: \"12\"\n";
    let addon = "apiVersion: orbdeck.io/v1alpha1\nkind: AddonTemplate\nmetadata:\n  name: welcome\nspec:\n  namespaceSelector:\n    matchLabels:\n      addons: \"yes\"\n  manifests: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: welcome\n    data:\n      owner: \"{{owner}}\"\n      namespace: \"{{namespace}}\"\n";
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", ALICE),
        ("desired/teams/namespaces.yaml", namespaces),
        ("desired/teams/setting.yaml", setting),
        ("desired/addons/welcome.yaml", addon),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    engine.sync().await;
    let pd = |ns: &'static str| {
        let api = Api::<PodDefault>::namespaced(client.clone(), ns);
        async move { api.get_opt("gpu-env").await.ok().flatten() }
    };
    assert!(
        eventually(60, || async { pd("team-a").await.is_some() }).await,
        "no PodDefault"
    );
    assert!(
        eventually(30, || async { pd("user-x").await.is_some() }).await,
        "no copy"
    );
    let copy = pd("user-x").await.unwrap();
    assert_eq!(copy.spec.desc, "GPU environment");
    let cm = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(client.clone(), "user-x");
    assert!(
        eventually(30, || async {
            cm.get_opt("welcome").await.ok().flatten().is_some()
        })
        .await,
        "no add-on"
    );
    let data = cm.get("welcome").await.unwrap().data.unwrap();
    assert_eq!(data["owner"], "x@example.com");
    assert_eq!(data["namespace"], "user-x");

    push(
        &origin,
        vec![
            gone("desired/teams/setting.yaml"),
            gone("desired/addons/welcome.yaml"),
        ],
    );
    engine.sync().await;
    assert!(
        eventually(60, || async {
            pd("team-a").await.is_none()
                && pd("user-x").await.is_none()
                && cm.get_opt("welcome").await.ok().flatten().is_none()
        })
        .await,
        "derived objects outlived their source"
    );
    engine.stop().await;
}

/// The fan-out families report like the profile family: status on each source, a Warning Event
/// for a source that yields nothing, their files in current/; and a pass over a converged
/// cluster makes no API request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_families_report_status_events_and_current_and_rest() {
    use k8s_openapi::api::core::v1::Event;
    use orbdeck::model::{AddonTemplate, PodSetting};
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    let namespaces = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n    orbdeck.io/team: team-a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: user-x\n  labels:\n    orbdeck.io/team: team-a\n    addons: \"yes\"\n";
    let settings = "apiVersion: orbdeck.io/v1alpha1\nkind: PodSetting\nmetadata:\n  name: gpu-env\n  namespace: team-a\nspec:\n  selector: {}\n---\napiVersion: orbdeck.io/v1alpha1\nkind: PodSetting\nmetadata:\n  name: stray\n  namespace: user-x\nspec:\n  selector: {}\n";
    let addons = "apiVersion: orbdeck.io/v1alpha1\nkind: AddonTemplate\nmetadata:\n  name: welcome\nspec:\n  namespaceSelector:\n    matchLabels:\n      addons: \"yes\"\n  manifests: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: welcome\n---\napiVersion: orbdeck.io/v1alpha1\nkind: AddonTemplate\nmetadata:\n  name: broken\nspec:\n  namespaceSelector:\n    matchLabels:\n      addons: \"yes\"\n  manifests: |\n    apiVersion: v1\n    metadata:\n      name: no-kind\n";
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", ALICE),
        ("desired/teams/namespaces.yaml", namespaces),
        ("desired/teams/settings.yaml", settings),
        ("desired/addons.yaml", addons),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    engine.sync().await;

    let templates = Api::<AddonTemplate>::all(client.clone());
    let ready = |conditions: &[orbdeck::model::Condition]| {
        conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
    };
    assert!(
        eventually(60, || async {
            let Ok(t) = templates.get("welcome").await else {
                return false;
            };
            t.status.is_some_and(|s| {
                s.namespaces == 1
                    && s.objects == 1
                    && ready(&s.conditions) == Some(("True".into(), "Rendered".into()))
            })
        })
        .await,
        "welcome status: {:?}",
        templates.get("welcome").await.map(|t| t.status)
    );
    let broken = templates.get("broken").await.unwrap().status.unwrap();
    assert_eq!(
        ready(&broken.conditions),
        Some(("False".into(), "RenderFailed".into()))
    );
    let settings = Api::<PodSetting>::namespaced(client.clone(), "team-a");
    assert!(
        eventually(30, || async {
            settings
                .get("gpu-env")
                .await
                .ok()
                .and_then(|s| s.status)
                .is_some_and(|s| {
                    s.pod_defaults == 2 && ready(&s.conditions).is_some_and(|r| r.0 == "True")
                })
        })
        .await,
        "gpu-env status"
    );
    let warning = |ns: &'static str, reason: &'static str| {
        let api = Api::<Event>::namespaced(client.clone(), ns);
        async move {
            api.list(&ListParams::default())
                .await
                .map(|l| {
                    l.items.into_iter().find(|e| {
                        e.reason.as_deref() == Some(reason) && e.type_.as_deref() == Some("Warning")
                    })
                })
                .ok()
                .flatten()
        }
    };
    assert!(
        eventually(30, || async {
            warning("default", "RenderFailed").await.is_some()
        })
        .await,
        "no RenderFailed event"
    );
    let event = warning("default", "RenderFailed").await.unwrap();
    assert_eq!(event.involved_object.name.as_deref(), Some("broken"));
    assert!(
        event.message.unwrap_or_default().contains("no kind"),
        "the event says what is wrong"
    );
    assert!(
        eventually(30, || async {
            warning("user-x", "NotInTeamNamespace").await.is_some()
        })
        .await,
        "no NotInTeamNamespace event"
    );
    assert!(
        eventually(30, || async {
            origin_file(&origin, "current/addons.yaml")
                .is_some_and(|t| t.contains("name: broken") && t.contains("no kind"))
                && origin_file(&origin, "current/pod-settings.yaml")
                    .is_some_and(|t| t.contains("name: stray") && t.contains("podDefaults: 2"))
        })
        .await,
        "current/: {:?} {:?}",
        origin_file(&origin, "current/addons.yaml"),
        origin_file(&origin, "current/pod-settings.yaml")
    );

    // A change that alters nothing wanted wakes both families; their passes make no request.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let skip = ["leases", "events"];
    let before = sim.server.cluster().requests().all_except(&skip);
    Api::<Namespace>::all(client.clone())
        .patch(
            "team-a",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                serde_json::json!({"metadata": {"labels": {"unrelated": "x"}}}),
            ),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = sim.server.cluster().requests().all_except(&skip);
    assert_eq!(
        after - before,
        1,
        "only the test's own patch: {:?}",
        sim.server.cluster().requests()
    );
    engine.stop().await;
}

/// A PodDefault in the namespace a Profile of the same commit makes fails on the first sync
/// (no namespace yet) and is applied within seconds of the namespace appearing, by the engine's
/// own retry, not at the next interval (1 h here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_waiting_for_its_profile_s_namespace_is_retried_within_seconds() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    let poddefault = "apiVersion: kubeflow.org/v1alpha1\nkind: PodDefault\nmetadata:\n  name: add-gpu\n  namespace: alice\nspec:\n  selector:\n    matchLabels:\n      gpu: \"true\"\n  desc: GPU\n";
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", ALICE),
        ("desired/alice/gpu.yaml", poddefault),
    ]);
    let mut engine = Running::start(&sim, &origin).await;
    let first = engine.sync().await;
    assert!(
        first
            .objects
            .iter()
            .any(|o| o.name == "add-gpu" && o.outcome == "failed"),
        "the PodDefault did not wait for its namespace: {first:?}"
    );
    let namespaces = Api::<Namespace>::all(client.clone());
    let appeared = eventually(30, || async {
        namespaces.get_opt("alice").await.ok().flatten().is_some()
    })
    .await;
    assert!(appeared, "the profile controller made no namespace");
    let since = std::time::Instant::now();
    let pds = Api::<PodDefault>::namespaced(client.clone(), "alice");
    let applied = eventually(10, || async {
        pds.get_opt("add-gpu").await.ok().flatten().is_some()
    })
    .await;
    assert!(
        applied && since.elapsed() <= Duration::from_secs(5),
        "applied: {applied} after {:?}; first sync: {first:?}",
        since.elapsed()
    );
    engine.stop().await;
}

/// The `SelfHealed` Events of the cluster, as `kubectl get events` lists them.
async fn self_heals(sim: &Sim) -> String {
    sim
        .ok(&[
            "get",
            "events",
            "-A",
            "-o",
            "jsonpath={range .items[?(@.reason==\"SelfHealed\")]}{.involvedObject.kind}/{.involvedObject.name} {.message}{\"\\n\"}{end}",
        ])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_with_kubectl_is_put_back_and_told_as_a_self_heal_event() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    seed(&origin);
    push(
        &origin,
        vec![put(
            "desired/settings.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  mode: strict\n",
        )],
    );
    let mut engine = Running::start(&sim, &origin).await;
    assert_eq!(engine.sync().await.result, "Synced");
    assert!(eventually(60, || converged(&client, &ALL)).await);
    assert_eq!(
        self_heals(&sim).await,
        "",
        "nothing healed while converging"
    );

    // A second person changes a quota the profile controller owns: it is put back at once.
    // managedFields times are whole seconds, so a change within the second of the controller's
    // own write is not told apart from it: the second person acts a little later.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sim.ok(&[
        "patch",
        "resourcequota",
        "quotas",
        "-n",
        "alice",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"hard":{"requests.cpu":"99"}}}"#,
    ])
    .await;
    assert!(
        eventually(10, || async {
            quota(&client, "alice", "requests.cpu").await.as_deref() == Some("8")
        })
        .await,
        "the quota was not put back"
    );
    let told = eventually(10, || async {
        self_heals(&sim).await.contains("ResourceQuota/quotas")
    })
    .await;
    assert!(told, "no SelfHealed event: {}", self_heals(&sim).await);

    // And a desired ConfigMap changed by hand is put back by the next sync, as a self-heal.
    sim.ok(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        "default",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"mode":"lax"}}"#,
    ])
    .await;
    let (_, actions) = engine.sync_with_actions().await;
    assert!(
        actions
            .iter()
            .any(|(id, a)| id.name == "settings" && *a == orbdeck::engine::sync::Action::Healed),
        "{actions:?}"
    );
    let mode = sim
        .ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "default",
            "-o",
            "jsonpath={.data.mode}",
        ])
        .await;
    assert_eq!(mode, "strict");
    let heals = self_heals(&sim).await;
    assert!(
        heals.contains("ConfigMap/settings") && heals.contains("put back by the engine"),
        "{heals}"
    );
    engine.stop().await;
}
