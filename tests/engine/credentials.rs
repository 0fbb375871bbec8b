//! RegistryCredentials through `orbdeck engine`, run as its ServiceAccount with the deploy
//! manifests' RBAC only, against the sim and a bare repo whose desired/ holds the password as an
//! age-encrypted Secret: 50 namespaces get the pull Secret and both ServiceAccounts list it; a
//! namespace created later with kubectl gets them within a second; entries a user added with
//! kubectl patch survive; a password change reaches every namespace; deleting the credential
//! cleans every namespace; and no password (nor its base64) is in the engine's log, the Events,
//! current/ or any git object.

use crate::common;

use age::secrecy::ExposeSecret as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::Sim;
use common::engine::{gone, push, put};
use common::repos::Origin;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::api::{Api, ListParams};
use kube_sim::testing::eventually;
use orbdeck::controllers::credentials::desired::{Login, docker_config};
use serde_json::json;
use std::time::{Duration, Instant};

const NAMESPACES: usize = 50;
const FIRST: &str = "s3cr3t-Pa55w0rd-first";
const SECOND: &str = "s3cr3t-Pa55w0rd-second";
const SERVER: &str = "registry.example.com:5000";

const CREDENTIAL: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: RegistryCredential\nmetadata:\n  name: harbor\n  namespace: orbdeck-system\nspec:\n  server: registry.example.com:5000\n  username: robot\n  passwordSecretRef:\n    name: harbor-login\n    key: password\n  namespaceSelector:\n    matchLabels:\n      pulls: \"yes\"\n  excludeNamespaces: [team-skip]\n";

fn team(i: usize) -> String {
    format!("team-{i:02}")
}

/// The password Secret, encrypted to `recipient`, as `orbdeck secret set` leaves it.
fn login_secret(password: &str, recipient: &str) -> String {
    let secret = orbdeck::secrets::encrypt_secret(
        &json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "harbor-login", "namespace": "orbdeck-system"},
            "stringData": {"password": password}}),
        &[recipient.to_owned()],
    )
    .unwrap();
    serde_saphyr::to_string(&secret).unwrap()
}

/// The password the pull Secret `harbor` of `ns` holds, if it is there.
async fn pull_password(client: &kube::Client, ns: &str) -> Option<String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let s = api.get_opt("harbor").await.ok()??;
    if s.type_.as_deref() != Some("kubernetes.io/dockerconfigjson") {
        return None;
    }
    let config: serde_json::Value =
        serde_json::from_slice(&s.data?.get(".dockerconfigjson")?.0).ok()?;
    config["auths"][SERVER]["password"]
        .as_str()
        .map(str::to_owned)
}

/// The imagePullSecrets names of ServiceAccount `name` in `ns` (None when it does not exist).
async fn pull_entries(client: &kube::Client, ns: &str, name: &str) -> Option<Vec<String>> {
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    let sa = api.get_opt(name).await.ok()??;
    Some(
        sa.image_pull_secrets
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.name)
            .collect(),
    )
}

/// Whether `ns` has the pull Secret with `password` and both accounts list it.
async fn covered(client: &kube::Client, ns: &str, password: &str) -> bool {
    if pull_password(client, ns).await.as_deref() != Some(password) {
        return false;
    }
    for account in ["orbdeck-pull", "default"] {
        let listed = pull_entries(client, ns, account).await;
        if !listed.is_some_and(|l| l.contains(&"harbor".to_owned())) {
            return false;
        }
    }
    true
}

/// Every blob in the bare repo (every commit's current/ and desired/ among them).
fn all_blobs(repo: &std::path::Path) -> Vec<Vec<u8>> {
    let repo = git2::Repository::open_bare(repo).unwrap();
    let odb = repo.odb().unwrap();
    let mut ids = Vec::new();
    odb.foreach(|id| {
        ids.push(*id);
        true
    })
    .unwrap();
    ids.iter()
        .filter_map(|id| repo.find_blob(*id).ok().map(|b| b.content().to_vec()))
        .collect()
}

/// The forms in which a password could leak: plain, base64, the `auth` field, the Secret data.
fn leaks(password: &str) -> Vec<String> {
    let login = Login {
        username: "robot".into(),
        password: password.into(),
    };
    vec![
        password.to_owned(),
        STANDARD.encode(password),
        STANDARD.encode(format!("robot:{password}")),
        STANDARD.encode(docker_config(SERVER, &login)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_namespaces_get_the_pull_secret_and_lose_it_and_no_password_leaks() {
    let sim = Sim::start(0).await;
    let admin = sim.client().await;
    // The engine's age identity, where `orbdeck bootstrap` keeps it.
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    sim.ok_stdin(
        &["apply", "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: orbdeck-system}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: orbdeck-age-identity, namespace: orbdeck-system}}\ndata:\n  identity.txt: {}\n",
            STANDARD.encode(identity.to_string().expose_secret())
        ),
    )
    .await;
    let mut namespaces = String::new();
    for i in 0..NAMESPACES {
        namespaces.push_str(&format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n  labels:\n    pulls: \"yes\"\n",
            team(i)
        ));
    }
    namespaces.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-skip\n  labels:\n    pulls: \"yes\"\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n");
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", &format!("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 1s\n  writeInterval: 0s\nsecrets:\n  recipients:\n    - {recipient}\n")),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/namespaces.yaml", &namespaces),
        ("desired/registry/harbor-login.yaml", &login_secret(FIRST, &recipient)),
        ("desired/registry/harbor.yaml", CREDENTIAL),
    ]);

    // The engine as its ServiceAccount: the deploy manifests' RBAC and nothing for this ORB
    // beyond it (its Namespaces, Secret and RegistryCredential are all the engine's own kinds).
    orbdeck::engine::identity::install(&admin, json!([]))
        .await
        .unwrap();
    let token = orbdeck::engine::identity::token(&admin, 3600)
        .await
        .unwrap();
    let kubeconfig = sim.dir.path().join("engine.kubeconfig");
    std::fs::write(
        &kubeconfig,
        sim.server
            .kubeconfig_yaml()
            .replace(sim.server.cluster().token(), &token),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("engine.log");
    let mut engine = std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args(["engine", "--repo", &origin.url()])
        .args(["--listen", "127.0.0.1:0", "--webhook-listen", "127.0.0.1:0"])
        .args([
            "--webhook-advertise-url",
            "https://127.0.0.1:0",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .arg("--data")
        .arg(home.path().join("data"))
        .env("ORBDECK_LOG", "debug")
        .env_remove("ORBDECK_LOG_FORMAT")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(home.path().join("engine.err")).unwrap())
        .spawn()
        .unwrap();
    let engine_log = || {
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        let err = std::fs::read_to_string(home.path().join("engine.err")).unwrap_or_default();
        format!("{out}{err}")
    };
    let secrets: Api<Secret> = Api::all(admin.clone());
    let all = |password: &'static str, extra: Vec<String>| {
        let admin = admin.clone();
        async move {
            for ns in (0..NAMESPACES).map(team).chain(extra) {
                if !covered(&admin, &ns, password).await {
                    return false;
                }
            }
            true
        }
    };
    let started = Instant::now();
    let first = eventually(90, || all(FIRST, vec![])).await;
    if !first {
        let _ = engine.kill();
        panic!(
            "not every namespace got the pull secret; engine log:\n{}",
            engine_log()
        );
    }
    println!(
        "50 namespaces covered {:?} after the engine started",
        started.elapsed()
    );
    for ns in ["team-skip", "other", "orbdeck-system"] {
        assert_eq!(
            pull_password(&admin, ns).await,
            None,
            "{ns} is not selected"
        );
    }
    let reported = eventually(30, || async {
        origin.file("current/credentials.yaml").is_some_and(|t| {
            t.contains("name: harbor") && t.contains("team-00") && t.contains("team-49")
        })
    })
    .await;
    assert!(reported, "{:?}", origin.file("current/credentials.yaml"));
    let status =
        eventually(20, || async {
            let out = sim
            .kubectl(&[
                "get", "registrycredential", "harbor", "-n", "orbdeck-system", "-o",
                "jsonpath={.status.namespaces} {.status.conditions[?(@.type==\"Ready\")].status}",
            ])
            .await;
            String::from_utf8_lossy(&out.stdout) == "50 True"
        })
        .await;
    assert!(
        status,
        "the credential's status does not say 50 namespaces, Ready"
    );

    // A namespace created later with kubectl: covered within a second (a watch, not a poll).
    let before = Instant::now();
    sim.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-late\n  labels:\n    pulls: \"yes\"\n",
    )
    .await;
    let created = before.elapsed();
    let late = eventually(10, || async { covered(&admin, "team-late", FIRST).await }).await;
    let took = before.elapsed() - created;
    assert!(late, "team-late never covered: {}", engine_log());
    println!("a new namespace was covered {took:?} after kubectl returned");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // Entries users add survive: one replaces default's list (a strategic patch of an atomic
    // list), one appends to orbdeck-pull's (a JSON patch).
    sim.ok(&[
        "patch",
        "serviceaccount",
        "default",
        "-n",
        "team-00",
        "-p",
        r#"{"imagePullSecrets":[{"name":"mine"}]}"#,
    ])
    .await;
    sim.ok(&[
        "patch",
        "serviceaccount",
        "orbdeck-pull",
        "-n",
        "team-01",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"theirs"}}]"#,
    ])
    .await;
    let kept = eventually(10, || async {
        pull_entries(&admin, "team-00", "default").await
            == Some(vec!["mine".into(), "harbor".into()])
    })
    .await;
    assert!(
        kept,
        "{:?}",
        pull_entries(&admin, "team-00", "default").await
    );

    // A password change (a new encrypted Secret pushed) reaches every namespace, and the
    // entries users added are still there after those passes.
    push(
        &origin,
        vec![put(
            "desired/registry/harbor-login.yaml",
            &login_secret(SECOND, &recipient),
        )],
    );
    let second = eventually(60, || all(SECOND, vec!["team-late".into()])).await;
    assert!(
        second,
        "the new password did not reach every namespace: {}",
        engine_log()
    );
    assert_eq!(
        pull_entries(&admin, "team-00", "default").await,
        Some(vec!["mine".into(), "harbor".into()])
    );
    assert_eq!(
        pull_entries(&admin, "team-01", "orbdeck-pull").await,
        Some(vec!["harbor".into(), "theirs".into()])
    );

    // Deleting the credential cleans every namespace; users' entries stay on default.
    push(&origin, vec![gone("desired/registry/harbor.yaml")]);
    let cleaned = eventually(60, || async {
        let lp = ListParams::default().labels("orbdeck.io/controller=credentials");
        let left = secrets.list(&lp).await.map(|l| l.items.len()).unwrap_or(1);
        let accounts = Api::<ServiceAccount>::all(admin.clone())
            .list(&ListParams::default())
            .await
            .unwrap();
        let listed = accounts.items.iter().any(|sa| {
            sa.metadata.name.as_deref() == Some("orbdeck-pull")
                || sa
                    .image_pull_secrets
                    .iter()
                    .flatten()
                    .any(|r| r.name == "harbor")
        });
        left == 0 && !listed
    })
    .await;
    assert!(
        cleaned,
        "leftovers after the credential was deleted: {}",
        engine_log()
    );
    assert_eq!(
        pull_entries(&admin, "team-00", "default").await,
        Some(vec!["mine".into()])
    );

    // No password anywhere: the engine's log (at debug), the Events, current/, git.
    let _ = engine.kill();
    let _ = engine.wait();
    let text = engine_log();
    assert!(
        text.contains("credentials"),
        "the log says nothing of the family: {text}"
    );
    let events = sim.ok(&["get", "events", "-A", "-o", "yaml"]).await;
    let events2 = sim
        .ok(&["get", "events.events.k8s.io", "-A", "-o", "yaml"])
        .await;
    let (_dir, repo) = origin.clone_repo("reader");
    let tip = repo.fetch().unwrap();
    let mut current = String::new();
    for file in ["current/credentials.yaml", "current/status.yaml"] {
        current.push_str(
            &repo
                .file(tip, file)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
        );
    }
    assert!(
        current.contains("harbor") || current.contains("credentials: []"),
        "{current}"
    );
    let blobs = all_blobs(&origin.path());
    for password in [FIRST, SECOND] {
        for leak in leaks(password) {
            assert!(
                !text.contains(&leak),
                "the engine log holds a password form"
            );
            assert!(
                !events.contains(&leak) && !events2.contains(&leak),
                "an Event holds one"
            );
            assert!(!current.contains(&leak), "current/ holds one");
            let needle = leak.as_bytes();
            assert!(
                !blobs
                    .iter()
                    .any(|b| b.windows(needle.len()).any(|w| w == needle)),
                "a git object holds one"
            );
        }
    }
}
