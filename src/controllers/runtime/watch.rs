//! Watched caches of the objects the families read (their sources, namespaces, what users made
//! beside them; one cache per kind however many families read it), each change waking the
//! families' pass loops; and that loop: a pass on every
//! change (a burst settled into one), on every resync tick, and after a failed pass again with
//! backoff (1 s, 2 s, 4 s ... up to the resync interval).

use crate::controllers::runtime::Context;
use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

/// How long a burst of changes is let settle before a pass.
const SETTLE: Duration = Duration::from_millis(200);

/// A watched cache of one kind that several families may read, each woken by its changes.
#[derive(Clone)]
pub struct Source<K: kube::Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    changes: broadcast::Sender<()>,
}

impl<K: kube::Resource<DynamicType = ()> + Clone + 'static> Source<K> {
    /// The cache.
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// Wakes `wake` on every change from now on, until `shutdown`.
    pub fn wakes(&self, wake: &Arc<Notify>, shutdown: &CancellationToken) {
        let mut changes = self.changes.subscribe();
        let (wake, shutdown) = (wake.clone(), shutdown.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    change = changes.recv() => match change {
                        Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => wake.notify_one(),
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
    }
}

/// Starts the watch of a [`Source`] (it retries with backoff); `managedFields` are dropped
/// from the cached objects.
pub fn source<K>(api: Api<K>, shutdown: &CancellationToken) -> Source<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    source_with(api, watcher::Config::default(), shutdown, false)
}

/// A cache of the objects of one kind that `labels` (a label selector) selects, that only one
/// family reads, its changes waking `wake`.
pub fn labelled_store<K>(
    api: Api<K>,
    labels: &str,
    wake: &Arc<Notify>,
    shutdown: &CancellationToken,
) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let source = source_with(
        api,
        watcher::Config::default().labels(labels),
        shutdown,
        false,
    );
    source.wakes(wake, shutdown);
    source.store()
}

/// A [`Source`] of the objects `config` selects, keeping their `managedFields` when
/// `keep_fields`.
fn source_with<K>(
    api: Api<K>,
    config: watcher::Config,
    shutdown: &CancellationToken,
    keep_fields: bool,
) -> Source<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(
        writer,
        watcher::watcher(api, config)
            .default_backoff()
            .modify(move |o: &mut K| {
                if !keep_fields {
                    o.meta_mut().managed_fields = None;
                }
            }),
    );
    let changes = broadcast::channel(16).0;
    tokio::spawn(drive(stream, changes.clone(), shutdown.clone()));
    Source {
        store: reader,
        changes,
    }
}

/// A cache of one kind that only one family reads, its changes waking `wake`.
pub fn store<K>(api: Api<K>, wake: &Arc<Notify>, shutdown: &CancellationToken) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let source = source(api, shutdown);
    source.wakes(wake, shutdown);
    source.store()
}

/// Like [`store`], its objects keeping their `managedFields` (who owns which field), for a
/// family that must not write over fields others own.
pub fn store_with_managed_fields<K>(
    api: Api<K>,
    wake: &Arc<Notify>,
    shutdown: &CancellationToken,
) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let source = source_with(api, watcher::Config::default(), shutdown, true);
    source.wakes(wake, shutdown);
    source.store()
}

async fn drive<S, T, E>(stream: S, changes: broadcast::Sender<()>, shutdown: CancellationToken)
where
    S: Stream<Item = Result<T, E>> + Send,
    E: std::fmt::Display,
{
    let mut stream = std::pin::pin!(stream);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            event = stream.next() => match event {
                // Nobody listening yet is no error: the first pass reads the store anyway.
                Some(Ok(_)) => {
                    let _ = changes.send(());
                }
                Some(Err(e)) => tracing::debug!(error = %e, "source watch"),
                None => return,
            },
        }
    }
}

/// Runs `pass` until the term ends: on a wake, on every resync tick, and after a failed pass
/// (it returns false) again with backoff. Each pass is counted as a reconcile of `family`.
pub async fn passes<F, Fut>(ctx: Arc<Context>, family: &str, wake: Arc<Notify>, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut failures: u32 = 0;
    loop {
        let wait = if failures == 0 {
            ctx.resync
        } else {
            Duration::from_secs(1 << (failures - 1).min(9)).min(ctx.resync)
        };
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
        tokio::time::sleep(SETTLE).await;
        let started = Instant::now();
        let ok = pass().await;
        ctx.metrics.record_reconcile(family, started.elapsed(), ok);
        failures = if ok { 0 } else { failures.saturating_add(1) };
        if !ok {
            tracing::warn!(
                family,
                attempt = failures,
                "pass failed; retrying with backoff"
            );
        }
    }
}
