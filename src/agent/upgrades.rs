//! The agent's node upgrades: its node's NodeUpgrades (label `orbdeck.io/node`) watched, each
//! Pending one marked Running and then executed once; the result, with the output's tails, in
//! its status. Idempotent across restarts: a finished one is never run again, and a Running one
//! this process did not start (the agent restarted mid-command) is reported, not run twice.

use super::executor::Executor;
use crate::model::{AgentRunPhase, NodeUpgrade, NodeUpgradeStatus};
use crate::wellknown::NODE_LABEL;
use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Watches and executes `node`'s NodeUpgrades until `shutdown`.
pub async fn run(
    client: kube::Client,
    node: String,
    executor: Executor,
    shutdown: CancellationToken,
) {
    let api: Api<NodeUpgrade> = Api::all(client.clone());
    let config = watcher::Config::default().labels(&format!("{NODE_LABEL}={node}"));
    let mut stream = std::pin::pin!(watcher(api, config).default_backoff().applied_objects());
    // The runs this process started (by uid), so its own Running status is not taken for a
    // run interrupted by a restart.
    let mine: Arc<Mutex<HashSet<String>>> = Arc::default();
    tracing::info!(node, "agent: watching this node's NodeUpgrades");
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => return,
            next = stream.next() => next,
        };
        match next {
            // Stopping drops a command under way, which kills it.
            Some(Ok(nu)) => tokio::select! {
                _ = shutdown.cancelled() => return,
                () = take_up(&client, &node, &executor, &mine, nu) => {}
            },
            Some(Err(e)) => {
                tracing::warn!(node, error = %e, "agent: watching NodeUpgrades; retrying")
            }
            None => return,
        }
    }
}

async fn take_up(
    client: &kube::Client,
    node: &str,
    executor: &Executor,
    mine: &Arc<Mutex<HashSet<String>>>,
    nu: NodeUpgrade,
) {
    if nu.spec.node_name != node {
        return;
    }
    let name = nu.metadata.name.clone().unwrap_or_default();
    let uid = nu.metadata.uid.clone().unwrap_or_default();
    let status = nu.status.clone().unwrap_or_default();
    let api: Api<NodeUpgrade> = Api::all(client.clone());
    match status.phase {
        AgentRunPhase::Succeeded | AgentRunPhase::Failed => {}
        AgentRunPhase::Running => {
            if mine
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(&uid)
            {
                return;
            }
            // Found Running after a restart: the command's fate is unknown, so it is not run
            // again; the node's kubelet says whether it got there.
            let at = kubelet_version(client, node).await;
            let done = at.as_deref().map(|v| v.trim_start_matches('v'))
                == Some(nu.spec.version.trim_start_matches('v'));
            let final_status = NodeUpgradeStatus {
                phase: if done {
                    AgentRunPhase::Succeeded
                } else {
                    AgentRunPhase::Failed
                },
                message: Some(if done {
                    "the agent restarted during the upgrade; the node runs the target version, so it is not run again".into()
                } else {
                    format!(
                        "the agent restarted while the upgrade command ran; not run twice (the node reports {}): look at the node",
                        at.unwrap_or_else(|| "no version".into())
                    )
                }),
                finished_at: Some(Time(Timestamp::now())),
                ..status
            };
            tracing::warn!(node, upgrade = %name, "agent: found a run interrupted by a restart; {}", final_status.message.as_deref().unwrap_or_default());
            write(&api, &name, &final_status).await;
        }
        AgentRunPhase::Pending => {
            mine.lock().unwrap_or_else(|e| e.into_inner()).insert(uid);
            let running = NodeUpgradeStatus {
                phase: AgentRunPhase::Running,
                started_at: Some(Time(Timestamp::now())),
                message: Some(format!("upgrading to {}", nu.spec.version)),
                ..Default::default()
            };
            if !write(&api, &name, &running).await {
                return;
            }
            tracing::info!(node, upgrade = %name, version = %nu.spec.version, "agent: upgrading");
            let outcome = executor.run(client, node, &nu.spec.version).await;
            let done = NodeUpgradeStatus {
                phase: if outcome.ok {
                    AgentRunPhase::Succeeded
                } else {
                    AgentRunPhase::Failed
                },
                message: Some(outcome.message.clone()),
                finished_at: Some(Time(Timestamp::now())),
                exit_code: outcome.exit_code,
                stdout_tail: outcome.stdout_tail,
                stderr_tail: outcome.stderr_tail,
                ..running
            };
            if outcome.ok {
                tracing::info!(node, upgrade = %name, "agent: upgrade done: {}", outcome.message);
            } else {
                tracing::warn!(node, upgrade = %name, "agent: upgrade failed: {}", outcome.message);
            }
            // Retried until it is written: the result must not be lost.
            while !write(&api, &name, &done).await {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

async fn kubelet_version(client: &kube::Client, node: &str) -> Option<String> {
    let nodes: Api<Node> = Api::all(client.clone());
    let n = nodes.get(node).await.ok()?;
    Some(n.status?.node_info?.kubelet_version)
}

/// Writes a NodeUpgrade's whole status; whether it went through (a vanished one counts).
async fn write(api: &Api<NodeUpgrade>, name: &str, status: &NodeUpgradeStatus) -> bool {
    let patch = serde_json::json!({ "status": status });
    match api
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => true,
        Err(kube::Error::Api(s)) if s.code == 404 => true,
        Err(e) => {
            tracing::warn!(upgrade = %name, error = %e, "agent: writing the NodeUpgrade's status");
            false
        }
    }
}
