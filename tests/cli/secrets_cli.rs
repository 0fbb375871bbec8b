//! `orbdeck secret set|edit` through the binary: values are age ciphertext in the repo, the
//! plaintext is nowhere on disk (repo objects and data dir are searched), and a round trip
//! through $EDITOR decrypts and re-encrypts.

use crate::common;

use base64::Engine as _;
use common::repos::Origin;
use std::path::Path;

const PLAIN: &str = "hunter2-very-secret-value";

use crate::run::{orbdeck_with as orbdeck, text};

/// Every blob of every object in a git repository, decompressed.
fn all_blobs(repo: &Path) -> Vec<Vec<u8>> {
    let repo = git2::Repository::open(repo).unwrap();
    let odb = repo.odb().unwrap();
    let mut ids = Vec::new();
    odb.foreach(|id| {
        ids.push(*id);
        true
    })
    .unwrap();
    ids.iter()
        .map(|id| odb.read(*id).unwrap().data().to_vec())
        .collect()
}

fn files_under(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else if let Ok(b) = std::fs::read(&p) {
                out.push(b);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// `orbdeck orb add alpha` (writable) and `orbdeck secret set alpha desired/secrets/db.yaml
/// password` with [`PLAIN`] on stdin; the output never shows the value.
fn add_and_set_password(home: &Path, origin: &Origin) {
    let out = orbdeck(
        home,
        &["orb", "add", "alpha", "--repo", &origin.url(), "--write"],
        "",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = orbdeck(
        home,
        &[
            "secret",
            "set",
            "alpha",
            "desired/secrets/db.yaml",
            "password",
            "--namespace",
            "team-a",
        ],
        &format!("{PLAIN}\n"),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(PLAIN));
}

#[test]
fn secrets_are_encrypted_in_git_and_round_trip_through_the_editor() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let home = tempfile::tempdir().unwrap();
    let id_file = home.path().join("age.txt");
    {
        use age::secrecy::ExposeSecret as _;
        std::fs::write(
            &id_file,
            format!(
                "# test identity\n{}\n",
                identity.to_string().expose_secret()
            ),
        )
        .unwrap();
    }
    let origin = Origin::new();
    origin.seed(&[("orb.yaml", &format!("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nsecrets:\n  recipients:\n    - {recipient}\n"))]);
    add_and_set_password(home.path(), &origin);

    let b64 = base64::engine::general_purpose::STANDARD.encode(PLAIN);
    let check_clean = |when: &str| {
        for blob in all_blobs(&origin.path())
            .iter()
            .chain(files_under(&home.path().join("data")).iter())
        {
            assert!(
                !contains(blob, PLAIN) && !contains(blob, &b64),
                "plaintext found on disk {when}"
            );
        }
    };
    check_clean("after set");
    let (_d, repo) = origin.clone_repo("reader");
    let tip = repo.fetch().unwrap();
    let file =
        String::from_utf8(repo.file(tip, "desired/secrets/db.yaml").unwrap().unwrap()).unwrap();
    assert!(
        file.contains("BEGIN AGE ENCRYPTED FILE") && file.contains("orbdeck.io/encrypted"),
        "{file}"
    );
    let doc: serde_json::Value = serde_saphyr::from_str(&file).unwrap();
    assert_eq!(doc["metadata"]["namespace"], "team-a");
    let plain = orbdeck::secrets::decrypt_secret(&doc, std::slice::from_ref(&identity)).unwrap();
    assert_eq!(plain["data"]["password"], b64.as_str());
    let password_cipher = doc["data"]["password"].clone();

    // $EDITOR sees the plaintext and adds a key; the unchanged value keeps its ciphertext.
    let editor = home.path().join("editor.sh");
    let seen = home.path().join("seen-by-editor");
    std::fs::write(&editor, format!("#!/bin/sh\ngrep -c '{PLAIN}' \"$1\" > {}\nsed -i 's/^stringData:$/stringData:\\n  user: admin/' \"$1\"\n", seen.display())).unwrap();
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = orbdeck(
        home.path(),
        &[
            "secret",
            "edit",
            "alpha",
            "desired/secrets/db.yaml",
            "--identity",
            id_file.to_str().unwrap(),
        ],
        "",
        &[("EDITOR", editor.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap().trim(),
        "1",
        "the editor saw the plaintext once"
    );
    check_clean("after edit");
    let tip = repo.fetch().unwrap();
    let doc: serde_json::Value =
        serde_saphyr::from_slice(&repo.file(tip, "desired/secrets/db.yaml").unwrap().unwrap())
            .unwrap();
    assert_eq!(
        doc["data"]["password"], password_cipher,
        "unchanged value re-used"
    );
    let plain = orbdeck::secrets::decrypt_secret(&doc, &[identity]).unwrap();
    assert_eq!(
        plain["data"]["user"],
        base64::engine::general_purpose::STANDARD
            .encode("admin")
            .as_str()
    );

    // The wrong identity cannot open it, and says which key failed.
    let other = home.path().join("other.txt");
    {
        use age::secrecy::ExposeSecret as _;
        std::fs::write(
            &other,
            age::x25519::Identity::generate()
                .to_string()
                .expose_secret(),
        )
        .unwrap();
    }
    let out = orbdeck(
        home.path(),
        &[
            "secret",
            "edit",
            "alpha",
            "desired/secrets/db.yaml",
            "--identity",
            other.to_str().unwrap(),
        ],
        "",
        &[("EDITOR", "true")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("password") || text(&out).contains("user"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(PLAIN));
}

/// `orbdeck secret set` on an ORB whose engine holds the identity: `orbdeck validate` accepts the
/// encrypted Secret, the engine applies it decrypted (kubectl sees the value), a Secret encrypted
/// to another key fails alone while the rest is applied, and the plaintext is in no git object and
/// not in the engine's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_set_with_the_cli_reaches_the_cluster_through_the_engine() {
    use age::secrecy::ExposeSecret as _;
    use kube_sim::testing::eventually;
    let sim = common::Sim::start(0).await;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    let identity_secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: orbdeck-age-identity, namespace: orbdeck-system}}\ndata:\n  identity.txt: {}\n",
        b64.encode(identity.to_string().expose_secret())
    );
    sim.ok_stdin(
        &["apply", "-f", "-"],
        &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: orbdeck-system}}\n---\n{identity_secret}"),
    )
    .await;
    let home = tempfile::tempdir().unwrap();
    let origin = Origin::new();
    let stranger = age::x25519::Identity::generate().to_public().to_string();
    let foreign = orbdeck::secrets::encrypt_secret(
        &serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "foreign", "namespace": "team-a"},
            "stringData": {"token": "not-for-this-engine"}}),
        &[stranger],
    )
    .unwrap();
    origin.seed(&[
        ("orb.yaml", &format!("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 2s\n  writeInterval: 0s\nsecrets:\n  recipients:\n    - {recipient}\n")),
        ("desired/team-a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team-a\ndata:\n  mode: fast\n"),
        ("desired/secrets/foreign.yaml", &serde_saphyr::to_string(&foreign).unwrap()),
    ]);
    add_and_set_password(home.path(), &origin);

    // The committed desired state validates as it is.
    let checkout = home.path().join("checkout");
    let cloned = std::process::Command::new("git")
        .args(["clone", "-q", &origin.url()])
        .arg(&checkout)
        .status()
        .unwrap();
    assert!(cloned.success());
    let out = orbdeck(
        home.path(),
        &["validate", checkout.to_str().unwrap()],
        "",
        &[],
    );
    assert!(
        out.status.success(),
        "validate refused the encrypted Secret: {}",
        text(&out)
    );

    // The engine runs as its ServiceAccount, with the deploy manifests' RBAC.
    let engine_kubeconfig = home.path().join("engine.kubeconfig");
    common::engine_kubeconfig(&sim, &engine_kubeconfig).await;
    let log = home.path().join("engine.log");
    let mut engine = std::process::Command::new(env!("CARGO_BIN_EXE_orbdeck"))
        .args([
            "engine",
            "--repo",
            &origin.url(),
            "--namespace",
            "orbdeck-system",
        ])
        .args(["--listen", "127.0.0.1:0"])
        .args(["--webhook-listen", "127.0.0.1:0"])
        .args([
            "--webhook-advertise-url",
            "https://127.0.0.1:0",
            "--kubeconfig",
        ])
        .arg(&engine_kubeconfig)
        .env("ORBDECK_DATA", home.path().join("engine-data"))
        .env("ORBDECK_LOG", "debug")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(home.path().join("engine.err")).unwrap())
        .spawn()
        .unwrap();
    let applied = eventually(60, || async {
        let out = sim
            .kubectl(&[
                "get",
                "secret",
                "db",
                "-n",
                "team-a",
                "-o",
                "jsonpath={.data.password}",
            ])
            .await;
        String::from_utf8_lossy(&out.stdout) == b64.encode(PLAIN)
    })
    .await;
    let status_text = || {
        let (_d, repo) = origin.clone_repo("status reader");
        let tip = repo.fetch().unwrap();
        repo.file(tip, "current/status.yaml")
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let foreign_failed = eventually(30, || async {
        let status = status_text();
        status.contains("name: foreign") && status.contains("cannot decrypt")
    })
    .await;
    let _ = engine.kill();
    let _ = engine.wait();
    let engine_log = format!(
        "{}{}",
        std::fs::read_to_string(&log).unwrap_or_default(),
        std::fs::read_to_string(home.path().join("engine.err")).unwrap_or_default()
    );
    assert!(
        applied,
        "the Secret never reached the cluster; engine log:\n{engine_log}"
    );
    assert!(foreign_failed, "status: {}", status_text());
    let settings = sim
        .ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.mode}",
        ])
        .await;
    assert_eq!(settings, "fast", "the rest of the ORB is applied");
    for blob in all_blobs(&origin.path()) {
        assert!(
            !contains(&blob, PLAIN) && !contains(&blob, &b64.encode(PLAIN)),
            "plaintext in a git object"
        );
    }
    assert!(
        !engine_log.contains(PLAIN) && !engine_log.contains(&b64.encode(PLAIN)),
        "plaintext in the engine's log"
    );
}
