//! An engine under leader election, as it runs in a cluster: the elector on the Lease (its
//! renewals publishing the last sync), the engine syncing while it leads, and the Lease's sync
//! requests waking it. `orbdeck engine` and the demo's engines both start this way.

use super::leader::{self, LastRun, LeaseConfig};
use super::{EngineHandle, EngineOptions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Starts the elector, the engine and the sync-request watch until `shutdown`; the tasks end
/// with it (the elector releasing the Lease if it holds it).
pub fn spawn(
    client: kube::Client,
    options: EngineOptions,
    lease: LeaseConfig,
    shutdown: CancellationToken,
) -> (EngineHandle, Vec<JoinHandle<()>>) {
    let (leading_tx, leading) = tokio::sync::watch::channel(false);
    let (last_run_tx, last_run) = tokio::sync::watch::channel::<Option<LastRun>>(None);
    let elector = tokio::spawn(leader::run_publishing(
        client.clone(),
        lease.clone(),
        leading_tx,
        shutdown.clone(),
        Some(last_run),
    ));
    let (handle, engine) = super::spawn(client.clone(), options, leading, shutdown.clone());
    let (sync_tx, mut sync_rx) = tokio::sync::mpsc::channel(4);
    let requests = tokio::spawn(leader::watch_sync_requests(
        client,
        lease,
        sync_tx,
        shutdown.clone(),
    ));
    let sync_now = handle.sync_now.clone();
    let mut state = handle.state.clone();
    let relay = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                asked = sync_rx.recv() => match asked {
                    Some(()) => sync_now.notify_one(),
                    None => return,
                },
                changed = state.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let run = state.borrow_and_update().last_run.clone();
                    last_run_tx.send_if_modified(|old| {
                        let new = *old != run;
                        *old = run;
                        new
                    });
                }
            }
        }
    });
    (handle, vec![elector, engine, requests, relay])
}
