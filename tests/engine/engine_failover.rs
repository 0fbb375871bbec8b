//! Two whole engines (election, sync, controllers) with the default Lease timings against one sim
//! and one repo: one leads and converges the Profiles while the other does nothing; the leader is
//! killed and the standby leads within 20 s and applies the next change; never both at once.

use crate::common;

use common::Sim;
use common::engine::{Candidate, push, put};
use common::repos::Origin;
use k8s_openapi::api::core::v1::ResourceQuota;
use kube::api::Api;
use kube_sim::testing::eventually;
use std::time::{Duration, Instant};

const ORB: &str = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: alpha\nengine:\n  interval: 2s\n  writeInterval: 0s\n";
const ALICE: &str = "apiVersion: kubeflow.org/v1\nkind: Profile\nmetadata:\n  name: alice\n  labels:\n    quotas.statcan.gc.ca/requests.cpu: \"8\"\nspec:\n  owner:\n    kind: User\n    name: alice@example.com\n";

async fn cpu(client: &kube::Client) -> Option<String> {
    let q = Api::<ResourceQuota>::namespaced(client.clone(), "alice")
        .get_opt("quotas")
        .await
        .ok()??;
    q.spec?.hard?.get("requests.cpu").map(|v| v.0.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_engine_takes_over_within_20_s_and_never_both_lead() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let origin = Origin::new();
    origin.seed(&[
        ("orb.yaml", ORB),
        ("desired/crds.yaml", &orbdeck::model::crds_yaml()),
        ("desired/profiles/alice.yaml", ALICE),
    ]);
    let a = Candidate::start(common::engine_client(&sim).await, &origin, "engine-a");
    let b = Candidate::start(common::engine_client(&sim).await, &origin, "engine-b");
    assert!(
        eventually(20, || async { a.leads() || b.leads() }).await,
        "nobody leads"
    );
    let (leader, standby) = if a.leads() { (a, b) } else { (b, a) };
    assert!(eventually(60, || async { cpu(&client).await.as_deref() == Some("8") }).await);
    // The standby stays idle while the leader works, over several renewals.
    for _ in 0..60 {
        assert!(leader.leads() && !standby.leads(), "exactly one leads");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(standby.syncs(), 0, "a standby synced");
    assert!(leader.syncs() > 0);

    let killed = Instant::now();
    leader.kill().await;
    push(
        &origin,
        vec![put(
            "desired/profiles/alice.yaml",
            &ALICE.replace("\"8\"", "\"9\""),
        )],
    );
    let took_over = loop {
        if standby.leads() {
            break killed.elapsed();
        }
        assert!(
            killed.elapsed() < Duration::from_secs(20),
            "no takeover within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        took_over >= Duration::from_secs(5),
        "took over after {took_over:?}, before the dead leader's lease could expire"
    );
    assert!(
        eventually(30, || async { cpu(&client).await.as_deref() == Some("9") }).await,
        "the new leader did not apply the change"
    );
    // Its sync is counted once it has also written current/, a moment after the apply.
    assert!(
        eventually(10, || async { standby.syncs() > 0 }).await,
        "the new leader's sync was never counted"
    );
    standby.kill().await;
}
