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
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
}
