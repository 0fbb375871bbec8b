//! The node agent (`orbdeck agent`, a DaemonSet on every node): its node's NodeUpgrades executed
//! ([`upgrades`], with an [`executor::Executor`]: a command, or the simulated node's kubelet
//! version for the demo and tests) and the node users' authorized_keys kept ([`users`],
//! [`keys_file`]). Called by the CLI and by the demo.

pub mod executor;
pub mod keys_file;
pub mod upgrades;
pub mod users;

use executor::Executor;
use tokio_util::sync::CancellationToken;

/// What one agent does.
#[derive(Clone, Debug)]
pub struct Options {
    /// The node it runs on.
    pub node: String,
    /// How it upgrades the node.
    pub executor: Executor,
    /// The authorized_keys path template (`{user}` replaced); `None` keeps no node users.
    pub authorized_keys: Option<String>,
}

/// Runs the agent's parts until `shutdown`.
pub async fn run(client: kube::Client, options: Options, shutdown: CancellationToken) {
    let upgrades = upgrades::run(
        client.clone(),
        options.node.clone(),
        options.executor.clone(),
        shutdown.clone(),
    );
    match options.authorized_keys {
        Some(template) => {
            let users = users::run(client, options.node, template, shutdown);
            tokio::join!(upgrades, users);
        }
        None => upgrades.await,
    }
}
