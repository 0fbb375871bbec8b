//! The engine's admission webhooks through the sim, with kubectl as the user: a pod created in a
//! team's namespace gets exactly its team's matching PodSettings and its namespace's
//! PodDefaults; a PodSetting changed in git reaches the next pod; a server-side dry run creates
//! nothing; conflicting PodDefaults refuse the pod naming both; a webhook that hangs never
//! loses a pod, and current/admission.yaml says it is failing.

use crate::common;

use common::Sim;
use common::engine::{Running, push, put};
use common::repos::Origin;
use kube_sim::testing::eventually;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1h\n  writeInterval: 0s\n";

/// The team's own namespace and a member's.
const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels:\n    orbdeck.io/team: team-a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: alice\n  labels:\n    orbdeck.io/team: team-a\n";

/// Two PodSettings matching the notebook pod (one for its main container only), one not.
const SETTINGS: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: PodSetting\nmetadata:\n  name: a-gpu\n  namespace: team-a\nspec:\n  selector:\n    matchLabels:\n      tier: gpu\n  containerSelector:\n    regex: main\n  env:\n  - name: CUDA\n    value: \"12\"\n  resources:\n    limits:\n      nvidia.com/gpu: \"1\"\n  nodeSelector:\n    gpu: \"true\"\n---\napiVersion: orbdeck.io/v1alpha1\nkind: PodSetting\nmetadata:\n  name: b-team\n  namespace: team-a\nspec:\n  selector:\n    matchLabels:\n      app: nb\n  labels:\n    team: a\n  securityContext:\n    runAsUser: 1000\n---\napiVersion: orbdeck.io/v1alpha1\nkind: PodSetting\nmetadata:\n  name: c-web\n  namespace: team-a\nspec:\n  selector:\n    matchLabels:\n      app: web\n  image: evil\n";

/// Two PodDefaults of alice's namespace that disagree on MODE, for pods labelled `mode: x`.
const DEFAULTS: &str = "apiVersion: kubeflow.org/v1alpha1\nkind: PodDefault\nmetadata:\n  name: fast\n  namespace: alice\nspec:\n  selector:\n    matchLabels:\n      mode: x\n  env:\n  - name: MODE\n    value: fast\n---\napiVersion: kubeflow.org/v1alpha1\nkind: PodDefault\nmetadata:\n  name: safe\n  namespace: alice\nspec:\n  selector:\n    matchLabels:\n      mode: x\n  env:\n  - name: MODE\n    value: safe\n---\napiVersion: kubeflow.org/v1alpha1\nkind: PodDefault\nmetadata:\n  name: tz\n  namespace: alice\nspec:\n  selector:\n    matchLabels:\n      app: nb\n  env:\n  - name: TZ\n    value: UTC\n";

fn seed(origin: &Origin) {
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/namespaces.yaml", NAMESPACES),
        ("desired/team-a/podsettings.yaml", SETTINGS),
        ("desired/alice/poddefaults.yaml", DEFAULTS),
    ]);
}

fn notebook(name: &str, labels: Value) -> String {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "alice", "labels": labels},
        "spec": {"containers": [
            {"name": "main", "image": "jupyter", "resources": {"limits": {"cpu": "1"}}},
            {"name": "sidecar", "image": "envoy"}
        ]}
    })
    .to_string()
}

async fn pod(sim: &Sim, name: &str) -> Value {
    serde_json::from_str(
        &sim.ok(&["get", "pod", name, "-n", "alice", "-o", "json"])
            .await,
    )
    .expect("kubectl get pod -o json")
}

/// Waits until the engine's configuration is in place and its probe found every webhook.
async fn configured(origin: &Origin) -> bool {
    eventually(30, || async {
        origin
            .file("current/admission.yaml")
            .is_some_and(|t| t.matches("reachable: true").count() == 3)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_get_their_teams_podsettings_and_their_namespaces_poddefaults() {
    let sim = Sim::start(0).await;
    let origin = Origin::new();
    seed(&origin);
    let mut engine = Running::start_with_webhook(&sim, &origin, None).await;
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{status:?}");
    assert!(
        configured(&origin).await,
        "current/admission.yaml: {:?}; status {status:?}",
        origin.file("current/admission.yaml")
    );

    // A notebook pod: a-gpu and b-team match, c-web does not; tz (a PodDefault) matches too.
    // The caches fill from watches: the first pod may come before they have the objects.
    let labels = json!({"app": "nb", "tier": "gpu"});
    assert!(
        eventually(20, || async {
            let _ = sim
                .kubectl(&["delete", "pod", "nb-0", "-n", "alice", "--wait=false"])
                .await;
            sim.ok_stdin(&["apply", "-f", "-"], &notebook("nb-0", labels.clone()))
                .await;
            pod(&sim, "nb-0").await["metadata"]["annotations"]["orbdeck.io/applied-podsettings"]
                == "a-gpu,b-team"
        })
        .await,
        "{}",
        pod(&sim, "nb-0").await
    );
    let p = pod(&sim, "nb-0").await;
    let (main, sidecar) = (&p["spec"]["containers"][0], &p["spec"]["containers"][1]);
    let env = |c: &Value| -> Vec<String> {
        c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "{}={}",
                    e["name"].as_str().unwrap(),
                    e["value"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(env(main), ["CUDA=12", "TZ=UTC"], "{main}");
    assert_eq!(
        env(sidecar),
        ["TZ=UTC"],
        "a-gpu picks the main container only: {sidecar}"
    );
    assert_eq!(
        main["resources"]["limits"],
        json!({"cpu": "1", "nvidia.com/gpu": "1"})
    );
    assert_eq!(p["spec"]["nodeSelector"]["gpu"], "true");
    assert_eq!(p["spec"]["securityContext"]["runAsUser"], 1000);
    assert_eq!(p["metadata"]["labels"]["team"], "a");
    assert_ne!(p["spec"]["containers"][0]["image"], "evil");
    assert!(
        p["metadata"]["annotations"]["poddefault.admission.kubeflow.org/poddefault-tz"].is_string(),
        "{p}"
    );

    // A server-side dry run is admitted the same way and creates nothing.
    let dry = sim
        .ok_stdin(
            &["apply", "--dry-run=server", "-o", "json", "-f", "-"],
            &notebook("nb-dry", labels.clone()),
        )
        .await;
    assert!(dry.contains("a-gpu,b-team"), "{dry}");
    let got = sim.kubectl(&["get", "pod", "nb-dry", "-n", "alice"]).await;
    assert!(!got.status.success(), "a dry run created the pod");

    // A PodSetting changed in git reaches the next pod.
    push(
        &origin,
        vec![put(
            "desired/team-a/podsettings.yaml",
            &SETTINGS.replace("value: \"12\"", "value: \"13\""),
        )],
    );
    engine.sync().await;
    assert!(
        eventually(20, || async {
            let _ = sim
                .kubectl(&["delete", "pod", "nb-1", "-n", "alice", "--wait=false"])
                .await;
            sim.ok_stdin(&["apply", "-f", "-"], &notebook("nb-1", labels.clone()))
                .await;
            env(&pod(&sim, "nb-1").await["spec"]["containers"][0]).contains(&"CUDA=13".into())
        })
        .await,
        "{}",
        pod(&sim, "nb-1").await
    );

    // Conflicting PodDefaults refuse the pod, naming both and the field.
    let refused = sim
        .kubectl_with(
            &["apply", "-f", "-"],
            Some(&notebook("nb-mode", json!({"mode": "x"}))),
            &[],
        )
        .await;
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(
        !refused.status.success(),
        "the conflicting pod was admitted"
    );
    assert!(
        said.contains("\"fast\"") && said.contains("\"safe\"") && said.contains("env \"MODE\""),
        "{said}"
    );
    engine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_hangs_never_loses_a_pod_and_current_says_so() {
    let sim = Sim::start(0).await;
    let origin = Origin::new();
    seed(&origin);
    // Where the API server is told to call: a port that accepts and never answers.
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://127.0.0.1:{}", hang.local_addr().unwrap().port());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = hang.accept().await {
            held.push(conn);
        }
    });
    let mut engine = Running::start_with_webhook(&sim, &origin, Some(&url)).await;
    engine.sync().await;
    assert!(
        eventually(30, || async {
            origin.file("current/admission.yaml").is_some_and(|t| {
                t.contains("reachable: false") && t.contains("no answer within 5s")
            })
        })
        .await,
        "current/admission.yaml: {:?}; {}",
        origin.file("current/admission.yaml"),
        sim.ok(&["get", "mutatingwebhookconfiguration,secret", "-A"])
            .await
    );
    assert!(
        eventually(10, || async {
            sim.kubectl(&["get", "mutatingwebhookconfiguration", "orbdeck-webhooks"])
                .await
                .status
                .success()
        })
        .await
    );
    let started = Instant::now();
    sim.ok_stdin(
        &["apply", "-f", "-"],
        &notebook("nb-0", json!({"app": "nb", "tier": "gpu"})),
    )
    .await;
    let took = started.elapsed();
    let p = pod(&sim, "nb-0").await;
    assert!(
        p["metadata"]["annotations"]["orbdeck.io/applied-podsettings"].is_null(),
        "admitted unchanged: {p}"
    );
    println!("pod admitted past a hanging webhook in {took:?}");
    // Three webhooks, called one after the other, 5 s each at most.
    assert!(took < Duration::from_secs(17), "took {took:?}");
    engine.stop().await;
}

/// A serving certificate that lasts 6 s is renewed (same CA, so the caBundle stands) while pods
/// keep coming: none is admitted without its PodSettings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_is_renewed_without_a_failed_admission() {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::Api;
    use orbdeck::controllers::admission::{Webhook, WebhookOptions};
    let sim = Sim::start(0).await;
    let admin = sim.client().await;
    sim.ok_stdin(&["apply", "-f", "-"], &orbdeck::model::crds_yaml())
        .await;
    sim.ok_stdin(&["apply", "-f", "-"], NAMESPACES).await;
    sim.ok_stdin(&["apply", "-f", "-"], SETTINGS).await;
    sim.ok(&["create", "namespace", "orbdeck-system"]).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let mut options = WebhookOptions::new(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        Some("https://127.0.0.1:0".into()),
        "orbdeck-system",
    );
    options.validity = Duration::from_secs(6);
    let webhook = Webhook::start(admin.clone(), options, stop.clone())
        .await
        .unwrap();
    webhook.configure(&Default::default());
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), "orbdeck-system");
    let serving = || async {
        secrets
            .get_opt("orbdeck-webhook-tls")
            .await
            .ok()
            .flatten()
            .and_then(|s| s.data?.get("tls.crt").map(|b| b.0.clone()))
    };
    let labels = json!({"app": "nb", "tier": "gpu"});
    assert!(
        eventually(20, || async {
            let out = sim
                .kubectl_with(
                    &["apply", "--dry-run=server", "-o", "json", "-f", "-"],
                    Some(&notebook("warm", labels.clone())),
                    &[],
                )
                .await;
            String::from_utf8_lossy(&out.stdout).contains("a-gpu,b-team")
        })
        .await,
        "the webhook never answered"
    );
    let first = serving().await.expect("a serving certificate");
    let mut certificates = std::collections::HashSet::from([first]);
    let started = Instant::now();
    let mut admitted = 0;
    while started.elapsed() < Duration::from_secs(10) {
        let out = sim
            .ok_stdin(
                &["apply", "--dry-run=server", "-o", "json", "-f", "-"],
                &notebook(&format!("nb-{admitted}"), labels.clone()),
            )
            .await;
        assert!(
            out.contains("a-gpu,b-team"),
            "pod {admitted} admitted without its PodSettings: {out}"
        );
        admitted += 1;
        if let Some(c) = serving().await {
            certificates.insert(c);
        }
    }
    println!(
        "{admitted} admissions over 10 s, {} serving certificates",
        certificates.len()
    );
    assert!(certificates.len() >= 2, "the certificate was never renewed");
    stop.cancel();
}

/// The whole path through the product's faces: a policy in desired/, a pod created with
/// kubectl comes back with the copy's reference (`swap: always`), its ImageReplication appears,
/// the leader's replicator copies it and the copy has the source's digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_created_with_kubectl_gets_the_replicated_image_and_the_copy_is_exact() {
    use common::registry::{self, Registry};
    let (src, dst) = (Registry::start(), Registry::start());
    let (digest, _) =
        registry::push_image(&src.image("app:1"), 2, 64 * 1024, 0, ("linux", "amd64")).await;
    let sim = Sim::start(0).await;
    let origin = Origin::new();
    let policy = format!(
        "apiVersion: orbdeck.io/v1alpha1\nkind: ImageReplicationPolicy\nmetadata:\n  name: mirror\nspec:\n  targetRegistry: {}/mirror\n  insecure: true\n  insecureSources: [\"{}\"]\n  swap: always\n",
        dst.host, src.host
    );
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/namespaces.yaml", NAMESPACES),
        ("desired/mirror.yaml", &policy),
    ]);
    let mut engine = Running::start_with_webhook(&sim, &origin, None).await;
    let status = engine.sync().await;
    assert_eq!(status.result, "Synced", "{status:?}");
    assert!(
        configured(&origin).await,
        "{:?}",
        origin.file("current/admission.yaml")
    );
    let source = src.image("app:1");
    let destination = format!("{}/mirror/{}/app:1", dst.host, src.host.replace(':', "_"));
    let body = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app", "namespace": "alice"},
        "spec": {"containers": [{"name": "app", "image": source}]}
    })
    .to_string();
    assert!(
        eventually(20, || async {
            let _ = sim
                .kubectl(&["delete", "pod", "app", "-n", "alice", "--wait=false"])
                .await;
            sim.ok_stdin(&["apply", "-f", "-"], &body).await;
            pod(&sim, "app").await["spec"]["containers"][0]["image"] == destination.as_str()
        })
        .await,
        "{}",
        pod(&sim, "app").await
    );
    assert!(
        eventually(60, || async {
            let out = sim
                .kubectl(&[
                    "get",
                    "imagereplications",
                    "-n",
                    "orbdeck-system",
                    "-o",
                    "json",
                ])
                .await;
            let list: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            list["items"].as_array().into_iter().flatten().any(|r| {
                r["spec"]["destination"] == destination.as_str()
                    && r["status"]["phase"] == "Succeeded"
            })
        })
        .await,
        "{}",
        sim.ok(&[
            "get",
            "imagereplications",
            "-n",
            "orbdeck-system",
            "-o",
            "yaml"
        ])
        .await
    );
    assert_eq!(
        registry::digest_of(&destination).await.as_deref(),
        Some(digest.as_str())
    );
    engine.stop().await;
}
