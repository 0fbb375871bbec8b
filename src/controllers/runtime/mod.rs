//! What every controller family shares at run time: one [`Context`] (client, the converging
//! caches, metrics, events, settings), the slim watch caches of what the controllers made and the
//! one routine that converges them ([`converge`]), watched caches of the families' sources and
//! the pass loop of the fan-out families ([`watch`]), Warning Events and status written by
//! server-side apply ([`events`], [`status`]), and the families of one leadership term, started
//! and stopped together ([`running`]).

pub mod converge;
pub mod events;
pub mod running;
pub mod status;
pub mod watch;

use crate::metrics::Metrics;
use crate::model::ProfileSettings;
use converge::Derived;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often a family whose kinds the cluster does not serve asks again.
pub const SERVED_RETRY: Duration = Duration::from_secs(15);

/// What every family's reconcile gets: one per leadership term, shared by all families.
pub struct Context {
    /// The cluster.
    pub client: kube::Client,
    /// Slim caches of what the controllers made, and the routine that converges it.
    pub converge: Arc<Derived>,
    /// Where reconciles are counted.
    pub metrics: Arc<Metrics>,
    /// Warning Events on the objects the families read, once per distinct set of warnings.
    pub recorder: events::Recorder,
    /// The ORB's profile settings (orb.yaml), replaced when orb.yaml changes.
    pub settings: tokio::sync::watch::Receiver<Arc<ProfileSettings>>,
    /// How often a converged object is looked at again.
    pub resync: Duration,
    /// Ends every watch and loop of the term.
    pub shutdown: CancellationToken,
    /// Every Namespace, watched once for all the families that read them.
    namespaces: tokio::sync::OnceCell<watch::Source<Namespace>>,
}

impl Context {
    /// A context for one leadership term.
    pub fn new(
        client: kube::Client,
        metrics: Arc<Metrics>,
        settings: tokio::sync::watch::Receiver<Arc<ProfileSettings>>,
        resync: Duration,
        shutdown: CancellationToken,
    ) -> Context {
        Context {
            converge: Derived::new(client.clone(), shutdown.clone()),
            recorder: events::Recorder::new(client.clone()),
            client,
            metrics,
            settings,
            resync,
            shutdown,
            namespaces: tokio::sync::OnceCell::new(),
        }
    }

    /// Waits until the cluster serves every kind in `kinds` (apiVersion, kind) of `family`,
    /// asking discovery every [`SERVED_RETRY`]: a CRD installed after the engine started starts
    /// the family then. Says once, at INFO, what it waits for. False when the term ends first.
    pub async fn served(&self, family: &str, kinds: &[(&str, &str)]) -> bool {
        let mut said = false;
        loop {
            let mut missing = Vec::new();
            for (api_version, kind) in kinds {
                let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
                let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
                if kube::discovery::pinned_kind(&self.client, &gvk)
                    .await
                    .is_err()
                {
                    missing.push(format!("{api_version} {kind}"));
                }
            }
            if missing.is_empty() {
                if said {
                    tracing::info!(family, "its kinds are served now; started");
                }
                return true;
            }
            if !said {
                tracing::info!(
                    family,
                    missing = %missing.join(", "),
                    "waiting for the cluster to serve its kinds; the family starts then (orbdeck manifests crds)"
                );
                said = true;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return false,
                _ = tokio::time::sleep(SERVED_RETRY) => {}
            }
        }
    }

    /// The shared cache of Namespaces, its watch started on first use; its changes wake `wake`.
    pub async fn namespaces(&self, wake: &Arc<tokio::sync::Notify>) -> Store<Namespace> {
        let source = self
            .namespaces
            .get_or_init(|| async {
                watch::source(kube::Api::all(self.client.clone()), &self.shutdown)
            })
            .await;
        source.wakes(wake, &self.shutdown);
        source.store()
    }
}
