//! `kubectl create <subcommand>`, which sends protobuf bodies: every object it makes reads back
//! equal to the same object sent as JSON by `kubectl apply`.

use kube_sim::testing::Sim;
use serde_json::Value;

/// The `kubectl create` subcommands an operator types first, each with a name placeholder `@`.
const CREATES: &[&[&str]] = &[
    &["namespace", "@"],
    &[
        "configmap",
        "@",
        "--from-literal=color=blue",
        "--from-literal=size=2",
    ],
    &["secret", "generic", "@", "--from-literal=password=s3cret"],
    &[
        "secret",
        "docker-registry",
        "@",
        "--docker-server=registry.example.com",
        "--docker-username=u",
        "--docker-password=p",
    ],
    &["secret", "tls", "@", "--cert=CERT", "--key=KEY"],
    &[
        "deployment",
        "@",
        "--image=nginx:1.27",
        "--replicas=2",
        "--port=80",
    ],
    &["service", "clusterip", "@", "--tcp=80:8080"],
    &["service", "nodeport", "@", "--tcp=443:8443"],
    &["serviceaccount", "@"],
    &["job", "@", "--image=busybox", "--", "echo", "hi"],
    &[
        "cronjob",
        "@",
        "--image=busybox",
        "--schedule=*/5 * * * *",
        "--",
        "date",
    ],
    &["role", "@", "--verb=get,list", "--resource=pods,pods/log"],
    &[
        "rolebinding",
        "@",
        "--role=viewer",
        "--user=alice",
        "--serviceaccount=team:robot",
    ],
    &[
        "clusterrole",
        "@",
        "--verb=get",
        "--non-resource-url=/healthz",
    ],
    &[
        "clusterrolebinding",
        "@",
        "--clusterrole=view",
        "--group=devs",
    ],
    &["quota", "@", "--hard=cpu=2,memory=4Gi,pods=10"],
    &[
        "priorityclass",
        "@",
        "--value=1000",
        "--description=important",
    ],
    &[
        "poddisruptionbudget",
        "@",
        "--selector=app=web",
        "--min-available=1",
    ],
    &["ingress", "@", "--rule=shop.example.com/cart*=cart:80"],
];

/// What differs between two copies of one object made at different times.
fn comparable(v: Value) -> Value {
    // A Job's generated selector and labels carry its uid.
    let uid = v["metadata"]["uid"]
        .as_str()
        .unwrap_or("no uid")
        .to_string();
    let mut v: Value = serde_json::from_str(&v.to_string().replace(&uid, "UID")).unwrap();
    let meta = v["metadata"].as_object_mut().expect("metadata");
    for k in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "name",
        "generation",
    ] {
        meta.remove(k);
    }
    if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
        if a.is_empty() {
            meta.remove("annotations");
        }
    }
    if let Some(labels) = meta.get_mut("labels").and_then(Value::as_object_mut) {
        labels.remove("kubernetes.io/metadata.name");
        if labels.is_empty() {
            meta.remove("labels");
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    // A Service's allocated cluster IPs and node ports differ between two Services.
    if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
        for port in spec
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            port.remove("nodePort");
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kubectl_create_subcommand_matches_kubectl_apply() {
    let sim = Sim::start(1).await;
    let cert = rcgen::generate_simple_self_signed(vec!["shop.example.com".into()]).unwrap();
    let cert_path = sim.dir.path().join("tls.crt");
    let key_path = sim.dir.path().join("tls.key");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    sim.ok(&["create", "namespace", "team"]).await;
    for (i, args) in CREATES.iter().enumerate() {
        let fill = |name: &str| -> Vec<String> {
            args.iter()
                .map(|a| match *a {
                    "@" => name.to_string(),
                    "--cert=CERT" => format!("--cert={}", cert_path.display()),
                    "--key=KEY" => format!("--key={}", key_path.display()),
                    a => a.to_string(),
                })
                .collect()
        };
        let what = args
            .iter()
            .take_while(|a| **a != "@")
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let (by_create, by_apply) = (format!("by-create-{i}"), format!("by-apply-{i}"));
        let created = fill(&by_create);
        let mut run = vec!["create", "-n", "team"];
        run.extend(created.iter().map(String::as_str));
        let out = sim.kubectl(&run).await;
        assert!(
            out.status.success(),
            "kubectl create {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The same object as JSON, sent by kubectl apply.
        let applied = fill(&by_apply);
        let mut dry = vec!["create", "-n", "team", "--dry-run=client", "-o", "json"];
        dry.extend(applied.iter().map(String::as_str));
        let json = sim.ok(&dry).await;
        sim.ok_stdin(&["apply", "-n", "team", "-f", "-"], &json)
            .await;

        let resource = match args[0] {
            "secret" | "service" => args[0],
            "quota" => "resourcequota",
            r => r,
        };
        let get = |name: String| {
            let sim = &sim;
            async move {
                let out = sim
                    .ok(&["get", "-n", "team", resource, &name, "-o", "json"])
                    .await;
                comparable(serde_json::from_str(&out).unwrap())
            }
        };
        let (a, b) = (get(by_create.clone()).await, get(by_apply.clone()).await);
        let fix = |v: Value| -> Value {
            let text = v
                .to_string()
                .replace(&by_create, "NAME")
                .replace(&by_apply, "NAME");
            serde_json::from_str(&text).unwrap()
        };
        let (a, b) = (fix(a), fix(b));
        assert!(
            a == b,
            "kubectl create {what}: the protobuf object differs:\n{a:#}\nfrom the JSON one:\n{b:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_bodies_are_400s_and_the_server_keeps_serving() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    // runtime.Unknown{typeMeta{apiVersion: v1, kind: Namespace}, raw: Namespace{metadata{name: x}}}
    let type_meta = [&[0x0a, 2][..], b"v1", &[0x12, 9], b"Namespace"].concat();
    let raw = [&[0x0a, 3, 0x0a, 1][..], b"x"].concat();
    let namespace = [
        b"k8s\0".as_slice(),
        &[0x0a, type_meta.len() as u8],
        &type_meta,
        &[0x12, raw.len() as u8],
        &raw,
    ]
    .concat();
    let wrong_kind = namespace
        .iter()
        .map(|b| if *b == b'N' { b'Q' } else { *b })
        .collect();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("wrong magic", b"k9s\0abc".to_vec(), 400, "magic number"),
        (
            "truncated",
            namespace[..namespace.len() - 4].to_vec(),
            400,
            "malformed",
        ),
        (
            "wrong kind",
            wrong_kind,
            400,
            "v1 Qamespace cannot be sent as protobuf",
        ),
        (
            "5 MB",
            [b"k8s\0".as_slice(), &vec![0x0a; 5 << 20]].concat(),
            413,
            "",
        ),
        ("good", namespace.clone(), 201, "\"name\":\"x\""),
    ];
    for (what, body, code, says) in cases {
        let request = axum::http::Request::post("/api/v1/namespaces")
            .header("content-type", "application/vnd.kubernetes.protobuf")
            .body(kube::client::Body::from(body))
            .unwrap();
        let response = client.send(request).await.expect(what);
        let status = response.status().as_u16();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, code, "{what}: {body}");
        assert!(body.contains(says), "{what}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_scale_set_image_expose_and_rollout_restart() {
    let sim = Sim::start(1).await;
    sim.ok(&[
        "run",
        "web",
        "--image=nginx:1.27",
        "--labels=app=web",
        "--port=80",
    ])
    .await;
    let pod = sim
        .ok(&[
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(pod, "nginx:1.27");
    sim.ok(&["create", "deployment", "shop", "--image=nginx:1.26"])
        .await;
    sim.ok(&["scale", "deployment", "shop", "--replicas=3"])
        .await;
    sim.ok(&["set", "image", "deployment/shop", "nginx=nginx:1.27"])
        .await;
    sim.ok(&[
        "expose",
        "deployment",
        "shop",
        "--port=80",
        "--target-port=8080",
    ])
    .await;
    sim.ok(&["rollout", "restart", "deployment/shop"]).await;
    let get = |path: &'static str| {
        let sim = &sim;
        async move {
            sim.ok(&[
                "get",
                "deployment",
                "shop",
                "-o",
                &format!("jsonpath={path}"),
            ])
            .await
        }
    };
    assert_eq!(get("{.spec.replicas}").await, "3");
    assert_eq!(
        get("{.spec.template.spec.containers[0].image}").await,
        "nginx:1.27"
    );
    assert!(
        !get("{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}")
            .await
            .is_empty()
    );
    let service = sim
        .ok(&[
            "get",
            "service",
            "shop",
            "-o",
            "jsonpath={.spec.selector.app} {.spec.ports[0].targetPort}",
        ])
        .await;
    assert_eq!(service, "shop 8080");
}
