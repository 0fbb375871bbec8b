//! Malformed writes never panic (issue 15, item 6): thousands of seeded random writes (POST, PUT,
//! every PATCH type, to objects and their `/status`) with wrong-typed metadata, kind and
//! apiVersion, truncated and non-UTF-8 bodies, patches through scalars and strategic-merge
//! directives on the wrong types. Every answer must arrive (no dropped connection), be below 500,
//! and be a Kubernetes `Status` when it is an error; no thread of the process may panic; and the
//! server must still answer, list every kind (also as a Table), and run its controllers afterwards.
//!
//! `MALFORMED_SEED` and `MALFORMED_CASES` change the seed (default 15) and the number of random
//! writes (default 6000).

use kube_sim::testing::{Sim, eventually};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NS: &str = "fuzz";

/// One kind the writes go to.
struct Target {
    /// Collection path.
    collection: String,
    api_version: &'static str,
    kind: &'static str,
    /// A valid object named `name`.
    valid: fn(&str) -> Value,
    /// Names of the objects made valid before the random writes (PUT and PATCH go to them).
    names: Vec<String>,
}

fn targets() -> Vec<Target> {
    let ns = |plural: &str| format!("/api/v1/namespaces/{NS}/{plural}");
    let names = |prefix: &str| (0..4).map(|i| format!("{prefix}-{i}")).collect::<Vec<_>>();
    vec![
        Target {
            collection: "/api/v1/namespaces".into(),
            api_version: "v1",
            kind: "Namespace",
            valid: |n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {"a": "b"}}}),
            names: names("fuzz-ns"),
        },
        Target {
            collection: ns("configmaps"),
            api_version: "v1",
            kind: "ConfigMap",
            valid: |n| {
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": n, "labels": {"a": "b"}, "annotations": {"x": "y"}, "finalizers": ["f/one"]},
                       "data": {"k": "v", "l": "w"}})
            },
            names: names("cm"),
        },
        Target {
            collection: ns("secrets"),
            api_version: "v1",
            kind: "Secret",
            valid: |n| {
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": n},
                       "type": "Opaque", "data": {"k": "dmFsdWU="}, "stringData": {"s": "plain"}})
            },
            names: names("secret"),
        },
        Target {
            collection: ns("pods"),
            api_version: "v1",
            kind: "Pod",
            valid: |n| {
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "labels": {"app": "fuzz"}},
                       "spec": {"containers": [
                           {"name": "main", "image": "busybox", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}},
                           {"name": "side", "image": "busybox"}],
                       "tolerations": [{"key": "k", "operator": "Exists"}]}})
            },
            names: names("pod"),
        },
        Target {
            collection: ns("services"),
            api_version: "v1",
            kind: "Service",
            valid: |n| {
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": n},
                       "spec": {"selector": {"app": "fuzz"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
            },
            names: names("svc"),
        },
        Target {
            collection: format!("/apis/apps/v1/namespaces/{NS}/deployments"),
            api_version: "apps/v1",
            kind: "Deployment",
            valid: |n| {
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": n, "labels": {"app": "fuzz"}},
                       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": n}},
                                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                                "template": {"metadata": {"labels": {"app": n}},
                                             "spec": {"containers": [{"name": "main", "image": "busybox",
                                                                      "ports": [{"containerPort": 80}]}]}}}})
            },
            names: names("deploy"),
        },
    ]
}

/// Values of the wrong type (or of odd size) for any field.
fn junk(rng: &mut StdRng, depth: usize) -> Value {
    match rng.random_range(0..16) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!(rng.random_range(-5i64..5)),
        3 => json!(u64::MAX),
        4 => json!(i64::MIN),
        5 => json!(1.5e300),
        6 => json!(-0.25),
        7 => json!(""),
        8 => json!("x".repeat(rng.random_range(1..300))),
        9 => json!("$patch"),
        10 => json!([]),
        11 => json!({}),
        12 if depth < 3 => Value::Array((0..3).map(|_| junk(rng, depth + 1)).collect()),
        13 if depth < 3 => {
            let mut m = serde_json::Map::new();
            for _ in 0..3 {
                m.insert(field_name(rng), junk(rng, depth + 1));
            }
            Value::Object(m)
        }
        14 => nested(rng.random_range(20..120), rng.random_bool(0.5)),
        _ => json!("ünïcødé \u{0} \u{ffff}"),
    }
}

/// `depth` nested arrays or objects.
fn nested(depth: usize, arrays: bool) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = if arrays { json!([v]) } else { json!({"a": v}) };
    }
    v
}

fn field_name(rng: &mut StdRng) -> String {
    const NAMES: &[&str] = &[
        "metadata",
        "spec",
        "status",
        "kind",
        "apiVersion",
        "name",
        "labels",
        "containers",
        "$patch",
        "$retainKeys",
        "$setElementOrder/containers",
        "$setElementOrder/ports",
        "$deleteFromPrimitiveList/finalizers",
        "$deleteFromPrimitiveList/args",
        "finalizers",
        "ports",
        "port",
        "replicas",
        "selector",
        "matchLabels",
        "template",
        "data",
        "image",
        "env",
        "",
        "a.b/c",
        "~1/~0",
    ];
    NAMES[rng.random_range(0..NAMES.len())].to_string()
}

/// A value of the wrong type for a field meant to hold objects.
fn not_object(rng: &mut StdRng) -> Value {
    match rng.random_range(0..7) {
        0 => json!(7),
        1 => json!("text"),
        2 => json!([1, "two", {"three": 3}]),
        3 => Value::Null,
        4 => json!(true),
        5 => json!([]),
        _ => json!(-1e10),
    }
}

/// A valid object with one to three fields broken.
fn mutated(rng: &mut StdRng, valid: &Value) -> Value {
    let mut obj = valid.clone();
    for _ in 0..rng.random_range(1..=3) {
        mutate(rng, &mut obj);
    }
    obj
}

/// JSON pointers into the objects above (some through scalars or to missing parents).
const POINTERS: &[&str] = &[
    "/metadata",
    "/metadata/name",
    "/metadata/labels",
    "/metadata/labels/a",
    "/metadata/annotations",
    "/metadata/finalizers",
    "/metadata/finalizers/0",
    "/metadata/ownerReferences",
    "/metadata/managedFields",
    "/metadata/resourceVersion",
    "/metadata/generateName",
    "/metadata/namespace",
    "/metadata/deletionTimestamp",
    "/kind",
    "/apiVersion",
    "/spec",
    "/spec/containers",
    "/spec/containers/0",
    "/spec/containers/0/name",
    "/spec/containers/0/ports",
    "/spec/containers/0/ports/0/containerPort",
    "/spec/containers/0/resources/requests",
    "/spec/containers/0/env",
    "/spec/replicas",
    "/spec/selector",
    "/spec/selector/matchLabels",
    "/spec/strategy",
    "/spec/strategy/rollingUpdate",
    "/spec/template",
    "/spec/template/metadata",
    "/spec/template/metadata/labels",
    "/spec/template/spec",
    "/spec/template/spec/containers",
    "/spec/template/spec/containers/0",
    "/spec/template/spec/containers/0/ports",
    "/spec/ports",
    "/spec/ports/0",
    "/spec/ports/0/port",
    "/spec/finalizers",
    "/spec/tolerations",
    "/status",
    "/status/conditions",
    "/status/phase",
    "/data",
    "/data/k",
    "/stringData",
    "/binaryData",
    "/type",
];

/// Sets (creating parents as needed) or removes the field at `ptr`.
fn set_at(obj: &mut Value, ptr: &str, value: Option<Value>) {
    let parts: Vec<&str> = ptr.trim_start_matches('/').split('/').collect();
    let mut at = obj;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let next = match at {
            Value::Object(m) => {
                if last {
                    match value {
                        Some(v) => {
                            m.insert(part.to_string(), v);
                        }
                        None => {
                            m.remove(*part);
                        }
                    }
                    return;
                }
                m.entry(part.to_string()).or_insert_with(|| json!({}))
            }
            Value::Array(a) => {
                let Ok(idx) = part.parse::<usize>() else {
                    return;
                };
                if idx >= a.len() {
                    return;
                }
                if last {
                    match value {
                        Some(v) => a[idx] = v,
                        None => {
                            a.remove(idx);
                        }
                    }
                    return;
                }
                &mut a[idx]
            }
            _ => return,
        };
        at = next;
    }
}

fn mutate(rng: &mut StdRng, obj: &mut Value) {
    let ptr = POINTERS[rng.random_range(0..POINTERS.len())];
    let value = match rng.random_range(0..10) {
        0 => None,
        1..=3 => Some(not_object(rng)),
        4 => Some(json!({"name": junk(rng, 0), "a": junk(rng, 0), "$patch": junk(rng, 1)})),
        5 => Some(json!([{"name": junk(rng, 0)}, junk(rng, 1), {"name": "main"}])),
        6 => Some(json!([{"$patch": "delete"}, {"$patch": "replace", "name": 1}])),
        _ => Some(junk(rng, 0)),
    };
    set_at(obj, ptr, value);
}

/// A JSON patch document: well-formed ops at odd paths, and malformed ops.
fn json_patch(rng: &mut StdRng) -> Value {
    if rng.random_range(0..10) == 0 {
        return match rng.random_range(0..4) {
            0 => json!({"op": "add", "path": "/metadata", "value": 1}),
            1 => json!([1, "two", null]),
            2 => json!("replace"),
            _ => json!([[{"op": "add"}]]),
        };
    }
    let ops = (0..rng.random_range(1..4))
        .map(|_| {
            let path = match rng.random_range(0..8) {
                0 => json!(""),
                1 => json!(format!("{}/x/y", pointer(rng))),
                2 => json!(format!("{}/-", pointer(rng))),
                3 => json!(format!("{}/99999999999999999999", pointer(rng))),
                4 => json!("no-slash"),
                5 => junk(rng, 2),
                _ => json!(pointer(rng)),
            };
            let op = match rng.random_range(0..9) {
                0 => json!("add"),
                1 => json!("remove"),
                2 => json!("replace"),
                3 => json!("move"),
                4 => json!("copy"),
                5 => json!("test"),
                6 => json!("frobnicate"),
                7 => junk(rng, 2),
                _ => json!("add"),
            };
            let mut o = json!({"op": op, "path": path});
            if rng.random_bool(0.8) {
                o["value"] = if rng.random_bool(0.5) {
                    not_object(rng)
                } else {
                    junk(rng, 0)
                };
            }
            if rng.random_bool(0.3) {
                o["from"] = json!(pointer(rng));
            }
            o
        })
        .collect::<Vec<_>>();
    json!(ops)
}

fn pointer(rng: &mut StdRng) -> &'static str {
    POINTERS[rng.random_range(0..POINTERS.len())]
}

/// A merge or strategic-merge patch: a sparse, broken object, or a non-object.
fn merge_patch(rng: &mut StdRng, valid: &Value, strategic: bool) -> Value {
    match rng.random_range(0..12) {
        0 => not_object(rng),
        1 => json!({"metadata": not_object(rng)}),
        2 => json!({"metadata": {"labels": not_object(rng), "annotations": not_object(rng)}}),
        3 => json!({"spec": not_object(rng), "status": not_object(rng)}),
        4 if strategic => directives(rng),
        5 if strategic => directives(rng),
        6 if strategic => json!({"spec": directives(rng), "metadata": directives(rng)}),
        7 => {
            let mut p = json!({});
            for _ in 0..rng.random_range(1..4) {
                set_at(&mut p, pointer(rng), Some(junk(rng, 0)));
            }
            p
        }
        _ => mutated(rng, valid),
    }
}

/// Strategic-merge directives on the wrong types and in the wrong places.
fn directives(rng: &mut StdRng) -> Value {
    let dir = match rng.random_range(0..8) {
        0 => "$patch",
        1 => "$retainKeys",
        2 => "$setElementOrder/containers",
        3 => "$setElementOrder/finalizers",
        4 => "$setElementOrder/ports",
        5 => "$deleteFromPrimitiveList/finalizers",
        6 => "$deleteFromPrimitiveList/containers",
        _ => "$setElementOrder/metadata",
    };
    let value = match rng.random_range(0..8) {
        0 => json!("delete"),
        1 => json!("replace"),
        2 => json!("merge"),
        3 => json!([{"name": 1}, 2, [3]]),
        4 => json!(["main", "side"]),
        _ => not_object(rng),
    };
    let mut p = json!({ dir: value });
    if rng.random_bool(0.5) {
        let list = match rng.random_range(0..5) {
            0 => json!([{"$patch": "delete"}]),
            1 => json!([{"$patch": "delete", "name": 5}, "main", null]),
            2 => json!({"$patch": "replace"}),
            3 => json!([{"name": "main", "$patch": not_object(rng)}, {"$retainKeys": ["image"]}]),
            _ => {
                json!([{"name": "main", "ports": {"$patch": "delete"}, "$setElementOrder/ports": 1}])
            }
        };
        let key = match rng.random_range(0..4) {
            0 => "containers",
            1 => "finalizers",
            2 => "ports",
            _ => "labels",
        };
        p[key] = list;
    }
    p
}

/// Bytes of a body: JSON or YAML, sometimes broken at the byte level.
fn encode(rng: &mut StdRng, v: &Value, yaml: bool) -> Vec<u8> {
    let mut bytes = if yaml && rng.random_bool(0.5) {
        serde_saphyr::to_string(v)
            .unwrap_or_else(|_| v.to_string())
            .into_bytes()
    } else {
        v.to_string().into_bytes()
    };
    match rng.random_range(0..14) {
        0 if !bytes.is_empty() => bytes.truncate(rng.random_range(0..bytes.len())),
        1 if !bytes.is_empty() => {
            let at = rng.random_range(0..bytes.len());
            bytes.splice(at..at, [0xff, 0xfe, 0xc3]);
        }
        2 => bytes.clear(),
        3 => bytes = b"18446744073709551616e99999".to_vec(),
        4 if yaml => {
            bytes = match rng.random_range(0..5) {
                0 => b"a: &x [*x]\n".to_vec(),
                1 => b"---\nkind: ConfigMap\n---\nkind: Pod\n".to_vec(),
                2 => b"? [a, b]\n: c\n".to_vec(),
                3 => b"metadata: !!binary aGVsbG8=\n".to_vec(),
                _ => b"metadata:\n  name: [\n".to_vec(),
            }
        }
        5 => {
            let inner = nested(rng.random_range(100..140), rng.random_bool(0.5));
            bytes = json!({"metadata": {"name": "deep", "labels": inner}})
                .to_string()
                .into_bytes();
        }
        _ => {}
    }
    bytes
}

/// One request: method, path, content type, body.
struct Req {
    method: &'static str,
    path: String,
    ctype: &'static str,
    body: Vec<u8>,
}

impl std::fmt::Debug for Req {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(600).collect();
        write!(f, "{} {} ({}) {body}", self.method, self.path, self.ctype)
    }
}

fn random_request(rng: &mut StdRng, targets: &[Target], i: usize) -> Req {
    let t = &targets[rng.random_range(0..targets.len())];
    let existing = &t.names[rng.random_range(0..t.names.len())];
    let valid = (t.valid)(existing);
    let status = rng.random_bool(0.25);
    let object_path = |name: &str| {
        format!(
            "{}/{name}{}",
            t.collection,
            if status { "/status" } else { "" }
        )
    };
    match rng.random_range(0..12) {
        0 | 1 => {
            // POST: mostly fresh names, sometimes a taken one.
            let name = if rng.random_bool(0.8) {
                format!("new-{i}")
            } else {
                existing.clone()
            };
            let mut obj = mutated(rng, &(t.valid)(&name));
            if rng.random_bool(0.2) {
                obj["kind"] = junk(rng, 1);
                obj["apiVersion"] = junk(rng, 1);
            }
            let yaml = rng.random_bool(0.2);
            Req {
                method: "POST",
                path: t.collection.clone(),
                ctype: if yaml {
                    "application/yaml"
                } else {
                    "application/json"
                },
                body: encode(rng, &obj, yaml),
            }
        }
        2 | 3 => {
            // PUT: over an existing object (stale or no resourceVersion) or its status.
            let mut obj = mutated(rng, &valid);
            if rng.random_bool(0.2) {
                obj = not_object(rng);
            }
            Req {
                method: "PUT",
                path: object_path(existing),
                ctype: "application/json",
                body: encode(rng, &obj, false),
            }
        }
        4 | 5 => {
            let patch = merge_patch(rng, &valid, false);
            Req {
                method: "PATCH",
                path: object_path(existing),
                ctype: "application/merge-patch+json",
                body: encode(rng, &patch, false),
            }
        }
        6 | 7 => {
            let patch = merge_patch(rng, &valid, true);
            Req {
                method: "PATCH",
                path: object_path(existing),
                ctype: "application/strategic-merge-patch+json",
                body: encode(rng, &patch, false),
            }
        }
        8 => {
            let patch = json_patch(rng);
            Req {
                method: "PATCH",
                path: object_path(existing),
                ctype: "application/json-patch+json",
                body: encode(rng, &patch, false),
            }
        }
        9 | 10 => {
            // Server-side apply, to existing objects and to missing ones (which creates).
            let name = if rng.random_bool(0.7) {
                existing.clone()
            } else {
                format!("applied-{i}")
            };
            let cfg = match rng.random_range(0..4) {
                0 => merge_patch(rng, &(t.valid)(&name), true),
                _ => mutated(rng, &(t.valid)(&name)),
            };
            let force = if rng.random_bool(0.5) {
                "&force=true"
            } else {
                ""
            };
            let path = format!(
                "{}/{name}{}?fieldManager=fuzz{force}",
                t.collection,
                if status { "/status" } else { "" }
            );
            Req {
                method: "PATCH",
                path,
                ctype: "application/apply-patch+yaml",
                body: encode(rng, &cfg, true),
            }
        }
        _ => {
            // A patch type chosen at random with a body meant for another, or a bare scalar.
            let ctypes = [
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
                "application/json-patch+json",
                "application/apply-patch+yaml",
            ];
            let body = match rng.random_range(0..4) {
                0 => json_patch(rng),
                1 => directives(rng),
                2 => junk(rng, 0),
                _ => merge_patch(rng, &valid, true),
            };
            Req {
                method: "PATCH",
                path: format!("{}?fieldManager=fuzz", object_path(existing)),
                ctype: ctypes[rng.random_range(0..ctypes.len())],
                body: encode(rng, &body, true),
            }
        }
    }
}

/// What came back: the status code and body, or why there was none.
async fn send(
    client: &kube::Client,
    r: &Req,
    accept: Option<&str>,
) -> Result<(u16, Value), String> {
    let mut req = axum::http::Request::builder()
        .method(r.method)
        .uri(&r.path)
        .header("content-type", r.ctype);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let req = req.body(r.body.clone()).map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(
        Duration::from_secs(20),
        client.send(req.map(kube::client::Body::from)),
    )
    .await
    .map_err(|_| "no answer within 20 s".to_string())?
    .map_err(|e| format!("request failed (connection dropped?): {e}"))?;
    let code = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .map_err(|e| format!("body cut off: {e}"))?
        .to_bytes();
    // A body that is not JSON shows as a string (an empty one as null).
    Ok((
        code,
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            if bytes.is_empty() {
                Value::Null
            } else {
                let text = String::from_utf8_lossy(&bytes);
                json!(format!(
                    "not JSON ({e}): {}",
                    text.chars().take(300).collect::<String>()
                ))
            }
        }),
    ))
}

/// Why an answer is not acceptable, if it is not.
fn check(code: u16, body: &Value) -> Option<String> {
    if code >= 500 {
        return Some(format!("status {code}: {body}"));
    }
    if code >= 400 {
        let status_ok = body["kind"] == "Status"
            && body["apiVersion"] == "v1"
            && body["status"] == "Failure"
            && body["code"] == code
            && body["message"].is_string()
            && body["reason"].is_string();
        if !status_ok {
            return Some(format!("status {code} without a Status body: {body}"));
        }
    }
    None
}

/// Panics anywhere in the process while the test runs (handlers and controllers alike).
fn count_panics() -> Arc<(AtomicUsize, Mutex<Vec<String>>)> {
    let seen = Arc::new((AtomicUsize::new(0), Mutex::new(Vec::new())));
    let hook_seen = seen.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        hook_seen.0.fetch_add(1, Ordering::SeqCst);
        // Where in the sim it happened: the first frame in this crate's sources.
        let trace = std::backtrace::Backtrace::force_capture().to_string();
        let site = trace
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("at ./src/") || l.contains("kube-sim/src/"))
            .unwrap_or("at ?");
        if let Ok(mut v) = hook_seen.1.lock() {
            v.push(format!("{info} (in the sim {site})"));
        }
        previous(info);
    }));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_writes_get_status_answers_and_never_panic() {
    let seed: u64 = std::env::var("MALFORMED_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let cases: usize = std::env::var("MALFORMED_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6000);
    let panics = count_panics();
    let sim = Sim::start(1).await;
    let client = sim.client().await;
    let targets = targets();
    let started = Instant::now();
    let mut histogram: BTreeMap<u16, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut requests = 0usize;

    // Valid objects first, so that updates and patches find something to change.
    let ns = Req {
        method: "POST",
        path: "/api/v1/namespaces".into(),
        ctype: "application/json",
        body: json!({"metadata": {"name": NS}}).to_string().into_bytes(),
    };
    let (code, body) = send(&client, &ns, None).await.expect("namespace created");
    assert_eq!(code, 201, "{body}");
    for t in &targets {
        for name in &t.names {
            let r = Req {
                method: "POST",
                path: t.collection.clone(),
                ctype: "application/json",
                body: (t.valid)(name).to_string().into_bytes(),
            };
            let (code, body) = send(&client, &r, None).await.expect("valid object created");
            assert_eq!(code, 201, "{r:?}: {body}");
            requests += 1;
        }
    }

    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..cases {
        let r = random_request(&mut rng, &targets, i);
        let before = panics.0.load(Ordering::SeqCst);
        requests += 1;
        match send(&client, &r, None).await {
            Ok((code, body)) => {
                *histogram.entry(code).or_default() += 1;
                if let Some(why) = check(code, &body) {
                    failures.push(format!("{r:?}\n  -> {why}"));
                }
            }
            Err(e) => {
                *histogram.entry(0).or_default() += 1;
                failures.push(format!("{r:?}\n  -> {e}"));
            }
        }
        if panics.0.load(Ordering::SeqCst) != before {
            failures.push(format!("{r:?}\n  -> panicked"));
        }
    }

    // What was stored is still served: every kind lists, also as a Table (kubectl get).
    for t in &targets {
        for accept in [None, Some("application/json;as=Table;v=v1;g=meta.k8s.io")] {
            let r = Req {
                method: "GET",
                path: t.collection.clone(),
                ctype: "application/json",
                body: vec![],
            };
            requests += 1;
            match send(&client, &r, accept).await {
                Ok((200, body)) if body["items"].is_array() || body["rows"].is_array() => {}
                Ok((code, body)) => failures.push(format!("{r:?} ({accept:?}) -> {code}: {body}")),
                Err(e) => failures.push(format!("{r:?} ({accept:?}) -> {e}")),
            }
            let _ = t.kind;
            let _ = t.api_version;
        }
    }
    let elapsed = started.elapsed();

    // The server is alive and its controllers still run: a new Deployment gets its pod.
    let r = Req {
        method: "GET",
        path: "/api/v1/namespaces".into(),
        ctype: "application/json",
        body: vec![],
    };
    let (code, body) = send(&client, &r, None).await.expect("server alive");
    assert_eq!(code, 200, "{body}");
    let deploy = &targets[targets.len() - 1];
    let r = Req {
        method: "POST",
        path: deploy.collection.clone(),
        ctype: "application/json",
        body: (deploy.valid)("after").to_string().into_bytes(),
    };
    let (code, body) = send(&client, &r, None).await.expect("server alive");
    assert_eq!(code, 201, "{body}");
    let pods = Req {
        method: "GET",
        path: format!("/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dafter"),
        ctype: "application/json",
        body: vec![],
    };
    let controllers_run = eventually(20, || async {
        matches!(send(&client, &pods, None).await, Ok((200, b)) if b["items"].as_array().is_some_and(|i| !i.is_empty()))
    })
    .await;

    let panicked = panics.1.lock().map(|v| v.clone()).unwrap_or_default();
    eprintln!(
        "malformed writes: seed {seed}, {requests} requests in {:.1} s, status codes {histogram:?} \
         (0 = no answer), {} failures, {} panics",
        elapsed.as_secs_f64(),
        failures.len(),
        panicked.len()
    );
    for f in failures.iter().take(40) {
        eprintln!("FAILURE {f}");
    }
    for p in panicked.iter().take(400) {
        eprintln!("PANIC {p}");
    }
    assert!(
        failures.is_empty() && panicked.is_empty(),
        "{} bad answers and {} panics (see above)",
        failures.len(),
        panicked.len()
    );
    assert!(
        controllers_run,
        "the controllers stopped: no pod for a new Deployment"
    );
}
