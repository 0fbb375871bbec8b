//! The agent's node users against the sim: a NodeUser's keys in its authorized_keys (lines
//! above orbdeck's marker kept), an invalid key reported while the others are written, and the
//! file put back within 1 s when it is tampered with.

use crate::common::Sim;
use kube::api::Api;
use kube_sim::testing::eventually;
use orbdeck::agent::executor::Executor;
use orbdeck::agent::keys_file::MARKER;
use orbdeck::model::NodeUser;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const ALICE: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";

/// Waits up to 1 s for `check`; how long it took.
async fn within_1_s(check: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not restored within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_keys_hold_the_valid_keys_and_are_restored_when_tampered_with() {
    let sim = Sim::start(1).await;
    sim.ok_stdin(&["apply", "-f", "-"], &orbdeck::model::crds_yaml())
        .await;
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("alice/.ssh/authorized_keys");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "ssh-rsa AAAAB3NzaC1yc2E mine@desk\n").unwrap();
    let user = format!(
        "apiVersion: orbdeck.io/v1alpha1\nkind: NodeUser\nmetadata: {{name: alice}}\nspec:\n  username: alice\n  sshKeys:\n    - {ALICE}\n    - ssh-ed25519 garbage\n"
    );
    sim.ok_stdin(&["apply", "-f", "-"], &user).await;
    let stop = CancellationToken::new();
    let options = orbdeck::agent::Options {
        node: "sim-1-node-1".into(),
        executor: Executor::Sim {
            delay: Duration::ZERO,
        },
        authorized_keys: Some(format!(
            "{}/{{user}}/.ssh/authorized_keys",
            home.path().display()
        )),
    };
    tokio::spawn(orbdeck::agent::run(
        sim.client().await,
        options,
        stop.clone(),
    ));
    let wanted = format!("ssh-rsa AAAAB3NzaC1yc2E mine@desk\n{MARKER}\n{ALICE}\n");
    let written = || {
        std::fs::read_to_string(&path).ok().as_deref() == Some(wanted.as_str())
            && std::fs::metadata(&path).unwrap().permissions().mode() & 0o777 == 0o600
    };
    assert!(
        eventually(10, || async { written() }).await,
        "{:?}",
        std::fs::read_to_string(&path)
    );
    let users: Api<NodeUser> = Api::all(sim.client().await);
    let reported = eventually(10, || async {
        users
            .get("alice")
            .await
            .unwrap()
            .status
            .is_some_and(|s| s.valid_keys == 1 && s.invalid_keys.len() == 1)
    })
    .await;
    assert!(reported, "{:?}", users.get("alice").await.unwrap().status);
    let status = users.get("alice").await.unwrap().status.unwrap();
    assert_eq!(status.invalid_keys[0].index, 1);
    assert!(
        status.invalid_keys[0]
            .message
            .contains("not an SSH public key")
    );

    // A key appended below the marker.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("ssh-ed25519 AAAAC3Nza intruder\n");
    std::fs::write(&path, text).unwrap();
    within_1_s(written).await;
    // Its mode changed.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    within_1_s(written).await;
    // The file deleted: orbdeck's section comes back (the lines above it went with the file).
    std::fs::remove_file(&path).unwrap();
    let restored = || std::fs::read_to_string(&path).ok() == Some(format!("{MARKER}\n{ALICE}\n"));
    within_1_s(restored).await;
    stop.cancel();
}
