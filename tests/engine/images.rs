//! Image replication against the sim and real registries (Debian's docker-registry): pods
//! reviewed by the image admission (`always` and `exists`), the replicator's exact copies (an
//! image, a two-platform index, a 200 MB layer within bounded memory), a missing source given up
//! after exactly maxAttempts, and two engines of which only the leader copies.

use crate::common;

use common::Sim;
use common::engine::Candidate;
use common::registry::{self, Registry};
use common::repos::Origin;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionReview};
use kube_sim::testing::eventually;
use orbdeck::controllers::images::admission::ImageAdmission;
use orbdeck::controllers::images::desired::{ORIGINAL_IMAGES_ANNOTATION, Wanted, replication_name};
use orbdeck::controllers::runtime::running::Controllers;
use orbdeck::model::{
    ImageReplication, ImageReplicationPolicy, ImageReplicationStatus, ProfileSettings,
    ReplicationPhase,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const NS: &str = "orbdeck-system";

/// A sim serving the model's CRDs, with the engine's identity installed; the admin client and
/// one with the engine's identity.
async fn cluster() -> (Sim, kube::Client, kube::Client) {
    let sim = Sim::start(0).await;
    let root = env!("CARGO_MANIFEST_DIR");
    sim.ok(&["apply", "-f", &format!("{root}/assets/crds/crds.yaml")])
        .await;
    let admin = sim.client().await;
    let engine = common::engine_client(&sim).await;
    let api: Api<ImageReplication> = Api::namespaced(admin.clone(), NS);
    assert!(
        eventually(20, || async { api.list(&Default::default()).await.is_ok() }).await,
        "ImageReplications are served"
    );
    (sim, admin, engine)
}

/// The leader's families, as the engine starts them.
fn replicator(engine: &kube::Client) -> Controllers {
    Controllers::start(
        engine.clone(),
        ProfileSettings::default(),
        Arc::new(orbdeck::metrics::Metrics::new()),
        Duration::from_secs(30),
    )
}

/// Creates the policy `name` copying to `target` (plain HTTP, `sources` plain HTTP too).
async fn policy(admin: &kube::Client, name: &str, target: &str, sources: &[&str], extra: Value) {
    let mut spec = json!({
        "targetRegistry": target,
        "insecure": true,
        "insecureSources": sources,
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    let body: ImageReplicationPolicy = serde_json::from_value(json!({
        "apiVersion": "orbdeck.io/v1alpha1",
        "kind": "ImageReplicationPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap();
    Api::<ImageReplicationPolicy>::all(admin.clone())
        .create(&PostParams::default(), &body)
        .await
        .expect("policy created");
}

/// Asks for the copy of `source` to `destination` as the admission would.
async fn ask(admin: &kube::Client, source: &str, destination: &str, policy: &str) -> String {
    let wanted = Wanted {
        name: replication_name(source, destination),
        source: source.into(),
        destination: destination.into(),
        policy: policy.into(),
    };
    let body: ImageReplication = serde_json::from_value(wanted.object()).unwrap();
    Api::<ImageReplication>::namespaced(admin.clone(), NS)
        .create(&PostParams::default(), &body)
        .await
        .expect("ImageReplication created");
    wanted.name
}

async fn status(admin: &kube::Client, name: &str) -> ImageReplicationStatus {
    Api::<ImageReplication>::namespaced(admin.clone(), NS)
        .get(name)
        .await
        .ok()
        .and_then(|r| r.status)
        .unwrap_or_default()
}

/// Waits until `name` reaches `phase`; returns its status.
async fn until(
    admin: &kube::Client,
    name: &str,
    phase: ReplicationPhase,
    secs: u64,
) -> ImageReplicationStatus {
    let done = eventually(secs, || async { status(admin, name).await.phase == phase }).await;
    let s = status(admin, name).await;
    assert!(done, "{name} not {phase:?} within {secs} s: {s:?}");
    s
}

/// The admission review of a Pod CREATE in namespace `ns`.
fn pod_review(ns: &str, images: &[(&str, &str)], dry_run: bool) -> AdmissionRequest<DynamicObject> {
    let containers: Vec<Value> = images
        .iter()
        .map(|(n, i)| json!({"name": n, "image": i}))
        .collect();
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": ns,
            "operation": "CREATE",
            "userInfo": {"username": "alice"},
            "dryRun": dry_run,
            "object": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web", "namespace": ns},
                "spec": {"containers": containers},
            },
        },
    }))
    .unwrap();
    review.try_into().unwrap()
}

/// The pod as the response's JSONPatch leaves it.
fn patched(request: &AdmissionRequest<DynamicObject>, admission: &ImageAdmission) -> Value {
    let response = admission.review(request);
    assert!(response.allowed);
    let mut pod = serde_json::to_value(request.object.as_ref().unwrap()).unwrap();
    if let Some(bytes) = &response.patch {
        let patch: json_patch::Patch = serde_json::from_slice(bytes).unwrap();
        json_patch::patch(&mut pod, &patch).unwrap();
    }
    pod
}

fn image(pod: &Value) -> &str {
    pod["spec"]["containers"][0]["image"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_rewrites_the_pod_and_the_copy_has_the_same_digest() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (_sim, admin, engine) = cluster().await;
    let (digest, _) =
        registry::push_image(&src.image("app:1"), 3, 256 * 1024, 0, ("linux", "amd64")).await;
    let target = format!("{}/mirror", dst.host);
    policy(
        &admin,
        "mirror",
        &target,
        &[&src.host],
        json!({"swap": "always"}),
    )
    .await;
    let stop = CancellationToken::new();
    let admission = ImageAdmission::start(engine.clone(), stop.clone());
    let destination = format!("{target}/{}/app:1", src.host.replace(':', "_"));

    // The admission answers from its caches once they hold the policy.
    let source = src.image("app:1");
    let request = pod_review("team-a", &[("app", &source)], false);
    assert!(
        eventually(20, || async {
            image(&patched(&request, &admission)) == destination
        })
        .await,
        "the pod is rewritten to {destination}"
    );
    let pod = patched(&request, &admission);
    let originals: Value = serde_json::from_str(
        pod["metadata"]["annotations"][ORIGINAL_IMAGES_ANNOTATION]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(originals, json!({"app": source}));
    let name = replication_name(&source, &destination);
    let api: Api<ImageReplication> = Api::namespaced(admin.clone(), NS);
    assert!(
        eventually(20, || async {
            api.get_opt(&name).await.ok().flatten().is_some()
        })
        .await,
        "the admission created ImageReplication {name}"
    );

    let controllers = replicator(&engine);
    let done = until(&admin, &name, ReplicationPhase::Succeeded, 60).await;
    assert_eq!(done.reason.as_deref(), Some("Copied"));
    assert_eq!(done.attempts, 1);
    assert_eq!(done.digest.as_deref(), Some(digest.as_str()));
    assert!(done.bytes_total >= 3 * 256 * 1024 && done.bytes_copied == done.bytes_total);
    assert_eq!(
        registry::digest_of(&destination).await.as_deref(),
        Some(digest.as_str())
    );

    // current/replications.yaml says so.
    assert!(
        eventually(20, || async {
            let reports = controllers.reports().await;
            reports.get("current/replications.yaml").is_some_and(|y| {
                y.contains(&destination)
                    && y.contains("phase: Succeeded")
                    && y.contains("attempts: 1/3")
            })
        })
        .await,
        "current/replications.yaml: {:?}",
        controllers.reports().await.get("current/replications.yaml")
    );

    // Asked again (another image's pod, the same image): the copy is found there.
    let again = ask(&admin, &source, &format!("{target}/again/app:1"), "mirror").await;
    let done = until(&admin, &again, ReplicationPhase::Succeeded, 60).await;
    assert_eq!(done.reason.as_deref(), Some("Copied"));
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exists_keeps_the_first_pod_and_rewrites_the_next_once_copied() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (_sim, admin, engine) = cluster().await;
    let (digest, _) =
        registry::push_image(&src.image("tool:2"), 2, 64 * 1024, 0, ("linux", "amd64")).await;
    policy(
        &admin,
        "mirror",
        &dst.host,
        &[&src.host],
        json!({"namespaceSelector": {"matchLabels": {"mirror": "yes"}}}),
    )
    .await;
    let ns: Namespace = serde_json::from_value(
        json!({"metadata": {"name": "team-b", "labels": {"mirror": "yes"}}}),
    )
    .unwrap();
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let admission = ImageAdmission::start(engine.clone(), stop.clone());
    let source = src.image("tool:2");
    let destination = format!("{}/{}/tool:2", dst.host, src.host.replace(':', "_"));
    let name = replication_name(&source, &destination);
    let api: Api<ImageReplication> = Api::namespaced(admin.clone(), NS);

    // A dry run creates nothing; a namespace the selector does not take is left alone.
    let dry = pod_review("team-b", &[("t", &source)], true);
    let other = pod_review("elsewhere", &[("t", &source)], false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(image(&patched(&dry, &admission)), source);
    assert_eq!(image(&patched(&other, &admission)), source);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        api.get_opt(&name).await.unwrap().is_none(),
        "dry run or unselected namespace created a copy"
    );

    // The first pod keeps its source (the target lacks it) and asks for the copy.
    let first = pod_review("team-b", &[("t", &source)], false);
    let pod = patched(&first, &admission);
    assert_eq!(
        image(&pod),
        source,
        "exists: the first pod keeps its source image"
    );
    assert!(pod["metadata"].get("annotations").is_none());
    assert!(
        eventually(20, || async {
            api.get_opt(&name).await.ok().flatten().is_some()
        })
        .await
    );

    let _controllers = replicator(&engine);
    until(&admin, &name, ReplicationPhase::Succeeded, 60).await;
    assert_eq!(
        registry::digest_of(&destination).await.as_deref(),
        Some(digest.as_str())
    );
    // The next pod is rewritten (the admission saw the copy succeed).
    let next = pod_review("team-b", &[("t", &source)], false);
    assert!(
        eventually(20, || async {
            image(&patched(&next, &admission)) == destination
        })
        .await,
        "the next pod is rewritten once the copy is there"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_platform_index_is_copied_whole_with_identical_digests() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (_sim, admin, engine) = cluster().await;
    let (index, children) = registry::push_index(&src.image("multi:1")).await;
    policy(&admin, "mirror", &dst.host, &[&src.host], json!({})).await;
    let destination = format!("{}/m/multi:1", dst.host);
    let name = ask(&admin, &src.image("multi:1"), &destination, "mirror").await;
    let _controllers = replicator(&engine);
    let done = until(&admin, &name, ReplicationPhase::Succeeded, 60).await;
    assert_eq!(done.digest.as_deref(), Some(index.as_str()));
    assert_eq!(
        registry::digest_of(&destination).await.as_deref(),
        Some(index.as_str())
    );
    for child in &children {
        let by_digest = format!("{}/m/multi@{child}", dst.host);
        assert_eq!(
            registry::digest_of(&by_digest).await.as_deref(),
            Some(child.as_str()),
            "{by_digest}"
        );
    }
    // Three manifests pushed: the two children by digest, then the index.
    let puts = dst.requests("PUT", "/manifests/");
    assert_eq!(puts, 3, "two children and the index: {}", dst.log());
}

/// Peak resident memory of this process, in kB (VmHWM), after resetting it when allowed.
fn peak_kb(reset: bool) -> u64 {
    if reset {
        // "5" resets the peak RSS to the current RSS (Linux 4.0+).
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field("VmHWM:").max(field("VmRSS:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mb_layer_is_copied_with_bounded_memory() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (_sim, admin, engine) = cluster().await;
    let size: u64 = 200 * 1024 * 1024;
    let (digest, _) =
        registry::push_image(&src.image("big:1"), 1, 1024, size, ("linux", "amd64")).await;
    policy(&admin, "mirror", &dst.host, &[&src.host], json!({})).await;
    let _controllers = replicator(&engine);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = peak_kb(true);
    let started = Instant::now();
    let destination = format!("{}/m/big:1", dst.host);
    let name = ask(&admin, &src.image("big:1"), &destination, "mirror").await;
    let done = until(&admin, &name, ReplicationPhase::Succeeded, 240).await;
    let after = peak_kb(false);
    let growth_mb = after.saturating_sub(before) as f64 / 1024.0;
    println!(
        "200 MB layer copied in {:.1} s; peak RSS {} MB -> {} MB (growth {growth_mb:.1} MB, goal < 64 MB)",
        started.elapsed().as_secs_f64(),
        before / 1024,
        after / 1024
    );
    assert_eq!(done.digest.as_deref(), Some(digest.as_str()));
    assert!(done.bytes_total > size && done.bytes_copied == done.bytes_total);
    assert_eq!(
        registry::digest_of(&destination).await.as_deref(),
        Some(digest.as_str())
    );
    assert!(growth_mb < 64.0, "peak RSS grew by {growth_mb:.1} MB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_is_tried_max_attempts_times_then_given_up_with_the_registrys_error() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (_sim, admin, engine) = cluster().await;
    policy(
        &admin,
        "mirror",
        &dst.host,
        &[&src.host],
        json!({"maxAttempts": 3}),
    )
    .await;
    let _controllers = replicator(&engine);
    let name = ask(
        &admin,
        &src.image("nothing:1"),
        &format!("{}/m/nothing:1", dst.host),
        "mirror",
    )
    .await;
    let done = until(&admin, &name, ReplicationPhase::MaxAttemptsExceeded, 60).await;
    assert_eq!(done.attempts, 3);
    let message = done.message.unwrap_or_default();
    assert!(
        message.contains("pulling the manifest")
            && message.to_lowercase().contains("manifest unknown"),
        "{message}"
    );
    // No further attempt: the source was asked exactly three times.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        src.requests("GET", "/nothing/manifests/"),
        3,
        "{}",
        src.log()
    );
    assert_eq!(status(&admin, &name).await.attempts, 3);
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(admin.clone(), NS);
    let list = events.list(&Default::default()).await.unwrap();
    assert!(
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("MaxAttemptsExceeded")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str())),
        "a Warning Event says it gave up: {:?}",
        list.items.iter().map(|e| &e.reason).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_engines_only_the_leader_copies_each_image_once() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (sim, admin, _) = cluster().await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 2s\n  writeInterval: 0s\n"),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
    ]);
    let mut sources = Vec::new();
    for i in 0..4 {
        registry::push_image(
            &src.image(&format!("app{i}:1")),
            2,
            32 * 1024,
            0,
            ("linux", "amd64"),
        )
        .await;
        sources.push(src.image(&format!("app{i}:1")));
    }
    policy(
        &admin,
        "mirror",
        &dst.host,
        &[&src.host],
        json!({"concurrency": 2}),
    )
    .await;
    let a = Candidate::start(common::engine_client(&sim).await, &origin, "engine-a");
    let b = Candidate::start(common::engine_client(&sim).await, &origin, "engine-b");
    assert!(
        eventually(20, || async { a.leads() || b.leads() }).await,
        "nobody leads"
    );
    let (leader, standby) = if a.leads() { (a, b) } else { (b, a) };
    let mut names = Vec::new();
    for (i, s) in sources.iter().enumerate().take(2) {
        names.push(ask(&admin, s, &format!("{}/m/app{i}:1", dst.host), "mirror").await);
    }
    for n in &names {
        let done = until(&admin, n, ReplicationPhase::Succeeded, 60).await;
        assert_eq!(done.attempts, 1, "{n}");
    }
    assert!(!standby.leads());
    // The leader dies; the standby takes over and copies what is asked for next.
    leader.kill().await;
    for (i, s) in sources.iter().enumerate().skip(2) {
        names.push(ask(&admin, s, &format!("{}/m/app{i}:1", dst.host), "mirror").await);
    }
    for n in &names[2..] {
        let done = until(&admin, n, ReplicationPhase::Succeeded, 90).await;
        assert_eq!(done.attempts, 1, "{n}");
    }
    assert!(standby.leads());
    // Each image was pulled and pushed exactly once, whoever led.
    for i in 0..4 {
        assert_eq!(
            src.requests("GET", &format!("/app{i}/manifests/")),
            1,
            "app{i} pulled once: {}",
            src.log()
        );
        assert_eq!(
            dst.requests("PUT", &format!("/app{i}/manifests/")),
            1,
            "app{i} pushed once"
        );
    }
    standby.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_one_registry_blobs_are_mounted_not_copied() {
    let src = Registry::start();
    let (_sim, admin, engine) = cluster().await;
    let (digest, _) =
        registry::push_image(&src.image("app:1"), 3, 128 * 1024, 0, ("linux", "amd64")).await;
    policy(
        &admin,
        "mirror",
        &format!("{}/mirror", src.host),
        &[],
        json!({}),
    )
    .await;
    let destination = format!("{}/mirror/app:1", src.host);
    let name = ask(&admin, &src.image("app:1"), &destination, "mirror").await;
    let _controllers = replicator(&engine);
    until(&admin, &name, ReplicationPhase::Succeeded, 60).await;
    assert_eq!(
        registry::digest_of(&destination).await.as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(
        src.requests("POST", "mount="),
        4,
        "config and layers mounted: {}",
        src.log()
    );
    assert_eq!(src.requests("GET", "/blobs/"), 0, "no blob pulled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_is_resumed_by_the_next_leader_without_copying_a_blob_twice() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (_sim, admin, engine) = cluster().await;
    let layers = 40;
    let (digest, _) =
        registry::push_image(&src.image("many:1"), layers, 2 << 20, 0, ("linux", "amd64")).await;
    policy(&admin, "mirror", &dst.host, &[&src.host], json!({})).await;
    let destination = format!("{}/m/many:1", dst.host);
    let name = ask(&admin, &src.image("many:1"), &destination, "mirror").await;
    let uploaded = || dst.requests("PUT", "/blobs/uploads/");
    let first = replicator(&engine);
    let deadline = Instant::now() + Duration::from_secs(60);
    while uploaded() < 5 {
        assert!(Instant::now() < deadline, "no blob copied: {}", dst.log());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The leader goes away mid-copy; the next one resumes the same attempt.
    drop(first);
    let at_stop = uploaded();
    assert!(
        at_stop < layers + 1,
        "stopped too late to interrupt ({at_stop} blobs)"
    );
    let _next = replicator(&engine);
    let done = until(&admin, &name, ReplicationPhase::Succeeded, 120).await;
    assert_eq!(done.attempts, 1, "an interruption is no failed attempt");
    assert_eq!(done.digest.as_deref(), Some(digest.as_str()));
    assert_eq!(
        registry::digest_of(&destination).await.as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(
        uploaded(),
        layers + 1,
        "every blob (layers and config) uploaded exactly once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exists_learns_from_a_head_request_that_the_target_has_the_image() {
    let (src, dst) = (Registry::start(), Registry::start());
    let (_sim, admin, engine) = cluster().await;
    let source = src.image("pre:1");
    let destination = format!("{}/{}/pre:1", dst.host, src.host.replace(':', "_"));
    registry::push_image(&destination, 1, 1024, 0, ("linux", "amd64")).await;
    policy(&admin, "mirror", &dst.host, &[&src.host], json!({})).await;
    let stop = CancellationToken::new();
    let admission = ImageAdmission::start(engine.clone(), stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let request = pod_review("team-c", &[("p", &source)], false);
    assert_eq!(
        image(&patched(&request, &admission)),
        source,
        "not known yet: unchanged"
    );
    // No replicator runs: the answer comes from the HEAD the first admission asked for.
    assert!(
        eventually(20, || async {
            image(&patched(&request, &admission)) == destination
        })
        .await,
        "rewritten once the HEAD found it"
    );
    assert!(dst.requests("HEAD", "/pre/manifests/") >= 1);
    stop.cancel();
}
