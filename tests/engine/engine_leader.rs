//! Leader election on a Lease against the sim: one leader at a time, takeover after a leader's
//! death (lease expiry) or shutdown (release), a leader cut off from the API stepping down before
//! the Lease can pass, and sync requests through the Lease's annotation.

use crate::common;

use common::Sim;
use common::proxy::{Proxy, client_via};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams};
use orbdeck::engine::leader::{self, LeaseConfig, SYNC_REQUESTED_ANNOTATION};
use serde_json::json;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const LEASE: &str = "orbdeck-engine";
const LEASE_DURATION: Duration = Duration::from_secs(3);
const RENEW_DEADLINE: Duration = Duration::from_secs(2);
const RETRY_PERIOD: Duration = Duration::from_millis(300);

fn config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        lease_duration: LEASE_DURATION,
        renew_deadline: RENEW_DEADLINE,
        retry_period: RETRY_PERIOD,
        ..LeaseConfig::new("default", LEASE, identity)
    }
}

/// One running election candidate.
struct Candidate {
    leading: watch::Receiver<bool>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl Candidate {
    fn start(client: kube::Client, identity: &str) -> Candidate {
        let (tx, leading) = watch::channel(false);
        let stop = CancellationToken::new();
        let task = tokio::spawn(leader::run(client, config(identity), tx, stop.clone()));
        Candidate {
            leading,
            stop,
            task,
        }
    }

    fn leads(&self) -> bool {
        *self.leading.borrow()
    }

    /// Graceful shutdown: cancels and waits for the task (which releases the Lease).
    async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the election stops within 5 s of shutdown")
            .expect("the election task ends cleanly");
    }
}

/// Waits until `leading` is `value`; returns when it happened (None after `within`).
async fn wait_leading(
    leading: &mut watch::Receiver<bool>,
    value: bool,
    within: Duration,
) -> Option<Instant> {
    tokio::time::timeout(within, leading.wait_for(|v| *v == value))
        .await
        .ok()
        .map(|r| {
            r.expect("sender alive");
            Instant::now()
        })
}

async fn lease(client: &kube::Client) -> Lease {
    Api::<Lease>::namespaced(client.clone(), "default")
        .get(LEASE)
        .await
        .expect("the Lease exists")
}

fn holder(lease: &Lease) -> Option<String> {
    lease.spec.as_ref()?.holder_identity.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leads_and_a_dead_leaders_lease_expires_to_the_other() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let mut a = Candidate::start(client.clone(), "a");
    let mut b = Candidate::start(client.clone(), "b");

    // Whoever wins the race to create the Lease leads; the other waits.
    let first = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            tokio::select! {
                _ = a.leading.changed() => {}
                _ = b.leading.changed() => {}
            }
            if a.leads() || b.leads() {
                return;
            }
        }
    })
    .await;
    assert!(first.is_ok(), "nobody leads after 5 s");
    // Exactly one leads at every sample, over several renewals.
    for _ in 0..60 {
        assert!(
            a.leads() != b.leads(),
            "exactly one must lead (a: {}, b: {})",
            a.leads(),
            b.leads()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (dead, mut standby, standby_id) = if a.leads() { (a, b, "b") } else { (b, a, "a") };
    let held = lease(&client).await;
    assert_ne!(holder(&held).as_deref(), Some(standby_id));
    let spec = held.spec.clone().unwrap();
    assert_eq!(spec.lease_duration_seconds, Some(3));
    assert_eq!(spec.lease_transitions, Some(0));
    assert!(spec.acquire_time.is_some() && spec.renew_time.is_some());

    // Simulated death: the task vanishes without releasing anything.
    let killed = Instant::now();
    dead.task.abort();
    assert!(dead.task.await.unwrap_err().is_cancelled());
    assert!(
        !*dead.leading.borrow(),
        "an aborted candidate is not leading"
    );
    let took_over = wait_leading(&mut standby.leading, true, Duration::from_secs(10))
        .await
        .expect("the standby leads within 10 s");
    let after = took_over - killed;
    // It waited for the Lease to expire (renewed at most a retry period before the death)...
    assert!(
        after >= LEASE_DURATION - RETRY_PERIOD * 2,
        "took over after {after:?}, before the lease could expire"
    );
    // ...and no longer than the lease duration plus a retry and a margin.
    assert!(
        after <= LEASE_DURATION + Duration::from_millis(1500),
        "took over only after {after:?}"
    );
    let held = lease(&client).await;
    assert_eq!(holder(&held).as_deref(), Some(standby_id));
    assert_eq!(held.spec.unwrap().lease_transitions, Some(1));
    standby.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_shutting_down_releases_the_lease_at_once() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let mut a = Candidate::start(client.clone(), "a");
    wait_leading(&mut a.leading, true, Duration::from_secs(5))
        .await
        .expect("a leads");
    let mut b = Candidate::start(client.clone(), "b");
    // b sees a renewing and stays standby.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(a.leads() && !b.leads());

    let leading_a = a.leading.clone();
    let stopped = Instant::now();
    a.shutdown().await;
    assert!(!*leading_a.borrow(), "a stopped leading");
    let released = lease(&client).await;
    assert_ne!(holder(&released).as_deref(), Some("a"));
    let took_over = wait_leading(&mut b.leading, true, Duration::from_secs(5))
        .await
        .expect("b leads");
    let after = took_over - stopped;
    assert!(
        after <= Duration::from_millis(1200),
        "b took over only after {after:?} (lease {LEASE_DURATION:?})"
    );
    let held = lease(&client).await;
    assert_eq!(holder(&held).as_deref(), Some("b"));
    assert_eq!(held.spec.unwrap().lease_transitions, Some(1));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_the_api_steps_down_before_the_lease_passes() {
    let sim = Sim::start(0).await;
    let mut proxy = Proxy::start(&sim).await;
    let mut a = Candidate::start(client_via(&sim, &proxy.url).await, "a");
    wait_leading(&mut a.leading, true, Duration::from_secs(5))
        .await
        .expect("a leads");
    let b = Candidate::start(sim.client().await, "b");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(a.leads() && !b.leads());

    // a loses the API server; b still reaches it.
    let cut = Instant::now();
    proxy.cut().await;
    let mut a_dropped = None;
    let mut b_led = None;
    while b_led.is_none() && cut.elapsed() < Duration::from_secs(10) {
        let (la, lb) = (a.leads(), b.leads());
        assert!(!(la && lb), "both lead {:?} after the cut", cut.elapsed());
        if !la && a_dropped.is_none() {
            a_dropped = Some(cut.elapsed());
        }
        if lb {
            b_led = Some(cut.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let a_dropped = a_dropped.expect("a stopped leading");
    let b_led = b_led.expect("b leads within 10 s of the cut");
    // a keeps leading through brief errors, and stops within the renew deadline.
    assert!(
        a_dropped >= RENEW_DEADLINE - RETRY_PERIOD * 2,
        "a stopped after {a_dropped:?}, sooner than its deadline allows"
    );
    assert!(
        a_dropped <= RENEW_DEADLINE + Duration::from_millis(500),
        "a still led {a_dropped:?} after the cut (renew deadline {RENEW_DEADLINE:?})"
    );
    assert!(
        b_led > a_dropped,
        "b led at {b_led:?}, a stopped at {a_dropped:?}"
    );
    assert!(
        b_led <= LEASE_DURATION + Duration::from_millis(1500),
        "b took over only after {b_led:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_sync_annotation_asks_for_a_sync_and_leaves_the_leader_alone() {
    let sim = Sim::start(0).await;
    let client = sim.client().await;
    let api: Api<Lease> = Api::namespaced(client.clone(), "default");
    let mut elector = Candidate::start(client.clone(), "a");
    wait_leading(&mut elector.leading, true, Duration::from_secs(5))
        .await
        .expect("a leads");
    let annotate = |value: serde_json::Value| {
        let api = api.clone();
        async move {
            api.patch(
                LEASE,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"annotations": value}})),
            )
            .await
            .expect("annotation patched")
        }
    };
    let lease = annotate(json!({SYNC_REQUESTED_ANNOTATION: "first"})).await;
    assert_eq!(leader::sync_requested(&lease).as_deref(), Some("first"));

    let (tx, mut rx) = mpsc::channel(1);
    let stop = CancellationToken::new();
    let watch = tokio::spawn(leader::watch_sync_requests(
        client.clone(),
        config("a"),
        tx,
        stop.clone(),
    ));
    let quiet = Duration::from_millis(1200);
    // The value found at start is the baseline, and the leader's renewals ask nothing.
    assert!(
        tokio::time::timeout(quiet, rx.recv()).await.is_err(),
        "no request yet"
    );
    annotate(json!({SYNC_REQUESTED_ANNOTATION: "second"})).await;
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a new value asks for a sync")
        .expect("channel open");
    // Other annotations, and removing the request, ask nothing.
    annotate(json!({"example.com/note": "hello"})).await;
    annotate(json!({SYNC_REQUESTED_ANNOTATION: null})).await;
    assert!(tokio::time::timeout(quiet, rx.recv()).await.is_err());
    annotate(json!({SYNC_REQUESTED_ANNOTATION: "third"})).await;
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a new value asks for a sync")
        .expect("channel open");

    // Edits to the Lease conflict with renewals but never cost the leader its Lease.
    assert!(elector.leads());
    assert!(
        !elector.leading.has_changed().unwrap(),
        "leadership flickered while the Lease was edited"
    );
    let held = api.get(LEASE).await.unwrap();
    assert_eq!(holder(&held).as_deref(), Some("a"));
    assert_eq!(held.spec.unwrap().lease_transitions, Some(0));

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), watch)
        .await
        .expect("the watch stops")
        .unwrap();
    elector.shutdown().await;
}

#[test]
fn default_timings_let_a_standby_take_over_within_20_s() {
    let config = LeaseConfig::new("orbdeck-system", LEASE, "pod-1");
    assert_eq!(
        config,
        LeaseConfig {
            namespace: "orbdeck-system".into(),
            name: LEASE.into(),
            identity: "pod-1".into(),
            ..LeaseConfig::default()
        }
    );
    assert_eq!(config.lease_duration, Duration::from_secs(15));
    assert_eq!(config.renew_deadline, Duration::from_secs(10));
    assert_eq!(config.retry_period, Duration::from_secs(2));
    // Expiry after the last renewal plus one jittered retry stays within the 20 s.
    assert!(config.lease_duration + config.retry_period.mul_f64(1.2) < Duration::from_secs(20));
}
