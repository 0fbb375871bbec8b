//! An engine run in-process against a sim and a bare repo, and pushes to that repo.

use super::Sim;
use super::repos::{Origin, edit};
use orbdeck::controllers::admission::{Webhook, WebhookOptions};
use orbdeck::engine::{self, EngineHandle, EngineOptions};
use orbdeck::repo::{Change, OrbRepo, RemoteOptions, RetryPolicy};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// An engine task with its handle and clone directory.
pub struct Running {
    /// Sync requests and state.
    pub handle: EngineHandle,
    /// Stops it.
    pub stop: CancellationToken,
    /// The engine's task.
    pub task: tokio::task::JoinHandle<()>,
    _clone: tempfile::TempDir,
}

impl Running {
    /// Starts an engine with its own identity (see [`super::engine_client`]) that leads from
    /// the start and syncs only when asked (interval 1 h).
    pub async fn start(sim: &Sim, origin: &Origin) -> Running {
        let (tx, leading) = tokio::sync::watch::channel(true);
        std::mem::forget(tx);
        Running::start_with(super::engine_client(sim).await, origin, leading)
    }

    /// Starts an engine with `client` that leads from the start and syncs only when asked.
    pub fn start_via(client: kube::Client, origin: &Origin) -> Running {
        let (tx, leading) = tokio::sync::watch::channel(true);
        std::mem::forget(tx);
        Running::start_with(client, origin, leading)
    }

    /// Starts an engine with its own identity, leading from the start, and its webhook server
    /// on a free loopback port; the API server is told to call it at `advertise` (default:
    /// that port).
    pub async fn start_with_webhook(
        sim: &Sim,
        origin: &Origin,
        advertise: Option<&str>,
    ) -> Running {
        let (tx, leading) = tokio::sync::watch::channel(true);
        std::mem::forget(tx);
        let client = super::engine_client(sim).await;
        let stop = CancellationToken::new();
        let options = WebhookOptions::new(
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            Some(advertise.unwrap_or("https://127.0.0.1:0").to_owned()),
            "orbdeck-system",
        );
        let webhook = Webhook::start(client.clone(), options, stop.clone())
            .await
            .expect("the webhook server binds");
        Running::start_full(client, origin, leading, Some(Arc::new(webhook)), stop)
    }

    /// Starts an engine that syncs while `leading` says so.
    pub fn start_with(
        client: kube::Client,
        origin: &Origin,
        leading: tokio::sync::watch::Receiver<bool>,
    ) -> Running {
        Running::start_full(client, origin, leading, None, CancellationToken::new())
    }

    fn start_full(
        client: kube::Client,
        origin: &Origin,
        leading: tokio::sync::watch::Receiver<bool>,
        webhook: Option<Arc<Webhook>>,
        stop: CancellationToken,
    ) -> Running {
        let clone = tempfile::tempdir().unwrap();
        let repo = OrbRepo::open(
            clone.path(),
            &origin.url(),
            "main",
            RemoteOptions::default(),
        )
        .unwrap();
        let (handle, task) = engine::spawn(
            client,
            EngineOptions {
                repo,
                interval: Duration::from_secs(3600),
                identities: Vec::new(),
                metrics: Default::default(),
                webhook,
            },
            leading,
            stop.clone(),
        );
        Running {
            handle,
            stop,
            task,
            _clone: clone,
        }
    }

    /// Asks for a sync and waits until it is done; returns the status.
    pub async fn sync(&mut self) -> orbdeck::repo::status::OrbStatus {
        self.sync_with_actions().await.0
    }

    /// Like `sync`, with the writes the sync made.
    pub async fn sync_with_actions(
        &mut self,
    ) -> (
        orbdeck::repo::status::OrbStatus,
        Vec<(orbdeck::wellknown::ObjectId, orbdeck::engine::sync::Action)>,
    ) {
        let before = self.handle.state.borrow().syncs;
        self.handle.sync_now.notify_one();
        // The state as the wait saw it, not as a later sync may have left it.
        let state = tokio::time::timeout(
            Duration::from_secs(30),
            self.handle.state.wait_for(|s| s.syncs > before),
        )
        .await
        .expect("a sync within 30 s")
        .unwrap();
        (state.status.clone().unwrap(), state.actions.clone())
    }

    /// Stops the engine and waits for it.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Pushes `changes` to the origin as one commit (rebased on its tip).
pub fn push(origin: &Origin, changes: Vec<Change>) {
    let dir = tempfile::tempdir().unwrap();
    let repo = OrbRepo::open(dir.path(), &origin.url(), "main", RemoteOptions::default()).unwrap();
    let tip = repo.fetch().unwrap();
    let mut e = edit(tip, "x", "");
    e.changes = changes;
    orbdeck::repo::write::write(&repo, &e, &RetryPolicy::default()).unwrap();
}

/// A change writing `text` at `path`.
pub fn put(path: &str, text: &str) -> Change {
    Change {
        path: path.into(),
        content: Some(text.as_bytes().to_vec()),
    }
}

/// A change removing `path`.
pub fn gone(path: &str) -> Change {
    Change {
        path: path.into(),
        content: None,
    }
}

/// An engine with its own elector.
pub struct Candidate {
    leading: tokio::sync::watch::Receiver<bool>,
    engine: Running,
    elector: tokio::task::JoinHandle<()>,
    stop: CancellationToken,
}

impl Candidate {
    /// Starts an engine and its elector on the Lease orbdeck-system/orbdeck-engine as `identity`.
    pub fn start(client: kube::Client, origin: &Origin, identity: &str) -> Candidate {
        let (tx, leading) = tokio::sync::watch::channel(false);
        let stop = CancellationToken::new();
        // A shorter lease than the default 15 s, so a takeover (expiry plus one retry, 7 to
        // 9 s) stays well inside the test's 20 s even on a loaded machine.
        let lease = orbdeck::engine::leader::LeaseConfig {
            namespace: "orbdeck-system".into(),
            name: "orbdeck-engine".into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(8),
            renew_deadline: Duration::from_secs(5),
            retry_period: Duration::from_secs(1),
        };
        let elector = tokio::spawn(orbdeck::engine::leader::run(
            client.clone(),
            lease,
            tx,
            stop.clone(),
        ));
        let engine = Running::start_with(client, origin, leading.clone());
        Candidate {
            leading,
            engine,
            elector,
            stop,
        }
    }

    /// Whether it leads now.
    pub fn leads(&self) -> bool {
        *self.leading.borrow()
    }

    /// Syncs completed.
    pub fn syncs(&self) -> u64 {
        self.engine.handle.state.borrow().syncs
    }

    /// Dies without releasing anything.
    pub async fn kill(self) {
        self.elector.abort();
        self.engine.task.abort();
        let _ = self.elector.await;
        let _ = self.engine.task.await;
        self.stop.cancel();
        self.engine.stop.cancel();
    }
}
