//! The embedded API server through kube-rs, the client orbdeck itself uses: watches, reflectors,
//! server-side apply, finalizers, garbage collection, quota, webhooks and bad input.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube_sim::testing::{Sim, eventually};
use serde_json::{Value, json};
use std::time::Duration;

fn cm(name: &str, data: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": data}})).unwrap()
}

async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    ctype: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", ctype)
        .body(body)
        .unwrap();
    let resp = client
        .send(req.map(kube::client::Body::from))
        .await
        .expect("request sent");
    let status = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_sees_changes_and_recovers_from_410() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    // Every namespace also holds kube-root-ca.crt; this test follows only its own objects.
    let mut events = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .try_filter(|o| std::future::ready(o.metadata.name.as_deref() != Some("kube-root-ca.crt")))
        .boxed();
    api.create(&PostParams::default(), &cm("a", "1"))
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seen.metadata.name.as_deref(), Some("a"));
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(5), events.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seen.data.unwrap()["k"], "2");

    // Raw watch: deletes arrive, and an expired resourceVersion gets 410 Gone.
    let list = api.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    let mut stream = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        Some(WatchEvent::Deleted(obj)) => assert_eq!(obj.metadata.name.as_deref(), Some("a")),
        other => panic!("expected Deleted, got {other:?}"),
    }
    sim.server.cluster().compact();
    let mut stale = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), stale.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        Some(WatchEvent::Error(e)) => assert_eq!(e.code, 410),
        other => panic!("expected 410, got {other:?}"),
    }
    // The watcher re-lists after the compaction and still sees new objects.
    api.create(&PostParams::default(), &cm("b", "1"))
        .await
        .unwrap();
    let mut names = vec![];
    while !names.contains(&"b".to_string()) {
        let obj = tokio::time::timeout(Duration::from_secs(5), events.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        names.push(obj.metadata.name.unwrap());
    }
}

/// Objects in a reflector store that this test created (named c0, c1, ...).
fn own(reader: &reflector::Store<ConfigMap>) -> usize {
    reader
        .state()
        .iter()
        .filter(|c| {
            c.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with('c'))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_and_reflector() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut stream = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    let got_bookmark = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(ev) = stream.try_next().await.unwrap() {
            if matches!(ev, WatchEvent::Bookmark(_)) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(got_bookmark);

    let (reader, writer) = reflector::store();
    // With backoff, and aborted before the sim goes: a watcher without backoff retries a dead server
    // in a loop that never yields, and a runtime cannot shut down under it.
    let rf = reflector(
        writer,
        watcher(api.clone(), watcher::Config::default()).default_backoff(),
    );
    let task = tokio::spawn(rf.applied_objects().for_each(|_| async {}));
    for i in 0..20 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), "x"))
            .await
            .unwrap();
    }
    api.delete("c3", &DeleteParams::default()).await.unwrap();
    assert!(
        eventually(5, || async { own(&reader) == 19 }).await,
        "store has {}",
        own(&reader)
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_conflicts_and_force() {
    let sim = Sim::start(0).await;
    let api: Api<ConfigMap> = Api::namespaced(sim.client().await, "default");
    let mine = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"k": "1", "x": "y"}});
    api.patch("s", &PatchParams::apply("alice"), &Patch::Apply(&mine))
        .await
        .unwrap();
    let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"k": "2"}});
    let err = api
        .patch("s", &PatchParams::apply("bob"), &Patch::Apply(&theirs))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert!(
                s.message.contains("alice") && s.message.contains(".data.k"),
                "{}",
                s.message
            );
        }
        other => panic!("expected a conflict, got {other}"),
    }
    let forced = api
        .patch(
            "s",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(&theirs),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.as_ref().unwrap()["k"], "2");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"alice".into()) && managers.contains(&"bob".into()));
    // alice drops x from her config: it is deleted; k now belongs to bob and stays.
    let mine =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {}});
    let after = api
        .patch("s", &PatchParams::apply("alice"), &Patch::Apply(&mine))
        .await
        .unwrap();
    assert_eq!(after.data.unwrap().get("x"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_namespace_cascade_and_garbage_collection() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let ns_api: Api<Namespace> = Api::all(client.clone());
    ns_api
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap(),
        )
        .await
        .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "team");

    // A finalizer keeps the object until it is removed.
    let mut held = cm("held", "1");
    held.metadata.finalizers = Some(vec!["example.com/keep".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let still = api.get("held").await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_none());

    // Background GC: a dependent goes after its owner.
    let owner = api
        .create(&PostParams::default(), &cm("owner", "1"))
        .await
        .unwrap();
    let mut dep = cm("dep", "1");
    dep.metadata.owner_references = Some(vec![
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "name": "owner", "uid": owner.metadata.uid.clone().unwrap()}))
        .unwrap(),
    ]);
    api.create(&PostParams::default(), &dep).await.unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    assert!(
        eventually(5, || async { api.get_opt("dep").await.unwrap().is_none() }).await,
        "dependent not collected"
    );

    // Foreground: the owner waits for its dependents.
    let owner = api
        .create(&PostParams::default(), &cm("owner2", "1"))
        .await
        .unwrap();
    let mut dep = cm("dep2", "1");
    dep.metadata.owner_references = Some(vec![
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "name": "owner2", "uid": owner.metadata.uid.clone().unwrap(), "blockOwnerDeletion": true}))
        .unwrap(),
    ]);
    dep.metadata.finalizers = Some(vec!["example.com/slow".into()]);
    api.create(&PostParams::default(), &dep).await.unwrap();
    api.delete("owner2", &DeleteParams::foreground())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        api.get_opt("owner2").await.unwrap().is_some(),
        "foreground owner must wait for its dependent"
    );
    api.patch(
        "dep2",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(
        eventually(5, || async {
            api.get_opt("owner2").await.unwrap().is_none()
        })
        .await,
        "owner not released"
    );

    // Namespace deletion removes its contents, then the namespace.
    api.create(&PostParams::default(), &cm("left", "1"))
        .await
        .unwrap();
    ns_api
        .delete("team", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        eventually(5, || async {
            ns_api.get_opt("team").await.unwrap().is_none()
        })
        .await,
        "namespace not removed"
    );
    let all: Api<ConfigMap> = Api::all(client);
    assert!(
        all.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .all(|c| c.metadata.namespace.as_deref() != Some("team"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_bumps_on_spec_only_and_status_is_separate() {
    let sim = Sim::start(0).await;
    let api: Api<Pod> = Api::namespaced(sim.client().await, "default");
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}))
    .unwrap();
    let created = api.create(&PostParams::default(), &pod).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    let labelled = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let changed = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"activeDeadlineSeconds": 30}})),
        )
        .await
        .unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    // status through the main resource is ignored; through /status it sticks and leaves spec alone.
    let ignored = api
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Failed"}})),
        )
        .await
        .unwrap();
    assert_ne!(
        ignored.status.and_then(|s| s.phase).as_deref(),
        Some("Failed")
    );
    let st = api
        .patch_status(
            "p",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"status": {"phase": "Failed"}, "spec": {"activeDeadlineSeconds": 99}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(st.status.unwrap().phase.as_deref(), Some("Failed"));
    assert_eq!(st.spec.unwrap().active_deadline_seconds, Some(30));
    assert_eq!(st.metadata.generation, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_rejects_over_cpu_and_counts_exactly() {
    let sim = Sim::start(1).await;
    let client = sim.client().await;
    let quotas: Api<k8s_openapi::api::core::v1::ResourceQuota> =
        Api::namespaced(client.clone(), "default");
    quotas
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "compute"},
        "spec": {"hard": {"requests.cpu": "1", "pods": "5", "requests.memory": "1Gi"}}}))
            .unwrap(),
        )
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod = |name: &str, cpu: &str| -> Pod {
        serde_json::from_value(
            json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "x",
            "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]}}),
        )
        .unwrap()
    };
    pods.create(&PostParams::default(), &pod("a", "600m"))
        .await
        .unwrap();
    pods.create(&PostParams::default(), &pod("b", "300m"))
        .await
        .unwrap();
    let q = quotas.get("compute").await.unwrap();
    let used = q.status.unwrap().used.unwrap();
    assert_eq!(used["requests.cpu"].0, "900m");
    assert_eq!(used["pods"].0, "2");
    assert_eq!(used["requests.memory"].0, "512Mi");
    match pods
        .create(&PostParams::default(), &pod("c", "200m"))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 403);
            assert!(
                s.message.contains("exceeded quota: compute")
                    && s.message.contains("requests.cpu=200m"),
                "{}",
                s.message
            );
        }
        other => panic!("{other}"),
    }
    pods.delete("a", &DeleteParams::default()).await.unwrap();
    let used = quotas
        .get("compute")
        .await
        .unwrap()
        .status
        .unwrap()
        .used
        .unwrap();
    assert_eq!(used["requests.cpu"].0, "300m");
    pods.create(&PostParams::default(), &pod("c", "200m"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_status_errors_and_server_keeps_serving() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    let (code, st) = raw(
        &client,
        "POST",
        cms,
        "application/json",
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(
        (code, st["reason"].as_str()),
        (400, Some("BadRequest")),
        "{st}"
    );
    let body = json!({"apiVersion": "v2", "kind": "ConfigMap", "metadata": {"name": "x"}});
    let (code, st) = raw(
        &client,
        "POST",
        cms,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(code, 400);
    assert!(st["message"].as_str().unwrap().contains("v2"), "{st}");
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}});
    let (code, st) = raw(
        &client,
        "POST",
        cms,
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!((code, st["reason"].as_str()), (422, Some("Invalid")));
    assert!(
        st["message"].as_str().unwrap().contains("metadata.name"),
        "{st}"
    );
    let (code, st) = raw(
        &client,
        "GET",
        &format!("{cms}?labelSelector=a%20in%20(b"),
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400, "{st}");
    let big = format!(
        "{{\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"k\":\"{}\"}}}}",
        "x".repeat(5 << 20)
    );
    let (code, st) = raw(&client, "POST", cms, "application/json", big.into_bytes()).await;
    assert_eq!(code, 413, "{st}");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (code, _) = raw(&client, "POST", cms, "application/json", deep.into_bytes()).await;
    assert_eq!(code, 400);
    let (code, st) = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/gizmos",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!((code, st["kind"].as_str()), (404, Some("Status")));
    let (code, _) = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps/nope",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 404);
    // Still serving.
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("fine", "1"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_need_the_token_and_are_counted() {
    let sim = Sim::start(0).await;
    let yaml = sim.server.kubeconfig_yaml();
    let token = sim.server.cluster().token().to_string();
    let anon_yaml = yaml.replace(&token, "wrong-token");
    let kc = kube::config::Kubeconfig::from_yaml(&anon_yaml).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let anon = kube::Client::try_from(config).unwrap();
    let err = Api::<ConfigMap>::namespaced(anon, "default")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 401),
        "{err}"
    );

    let client = sim.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &cm("one", "1"))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("two", "1"))
        .await
        .unwrap();
    let (_, counts) = raw(&client, "GET", "/sim/requests", "application/json", vec![]).await;
    let creates: u64 = counts
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("create configmaps "))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert_eq!(creates, 2, "{counts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_a_restart_with_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let options = || kube_sim::Options {
        state_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let server = kube_sim::Server::start(options()).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    api.create(&PostParams::default(), &cm("kept", "42"))
        .await
        .unwrap();
    server.shutdown().await.unwrap();
    let server = kube_sim::Server::start(options()).await.unwrap();
    let api: Api<ConfigMap> = Api::namespaced(server.client().await.unwrap(), "default");
    assert_eq!(api.get("kept").await.unwrap().data.unwrap()["k"], "42");
}
