//! `orbdeck agent`: the node agent on one node (node upgrades, node users), until SIGTERM.

use crate::agent::executor::{Executor, VERSION_PLACEHOLDER};
use crate::agent::{self, Options};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// How the agent upgrades its node.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExecutorKind {
    /// Run the upgrade command (after `--`; default `/etc/orbdeck/upgrade.sh {version}`).
    Command,
    /// Set the simulated node's kubelet version through the API after `--sim-delay` (demo, tests).
    Sim,
}

/// Options of `orbdeck agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The node this agent runs on (the DaemonSet sets NODE_NAME from the downward API).
    #[arg(long, env = "NODE_NAME")]
    pub node: String,
    /// How the node is upgraded.
    #[arg(long, value_enum, default_value = "command")]
    pub executor: ExecutorKind,
    /// How long the upgrade command may run before it is killed and the node fails.
    #[arg(long, default_value = "30m")]
    pub timeout: String,
    /// How long a simulated upgrade takes (`--executor sim`).
    #[arg(long, default_value = "5s")]
    pub sim_delay: String,
    /// Where each node user's authorized_keys is (`{user}` is the user name).
    #[arg(long, default_value = "/home/{user}/.ssh/authorized_keys")]
    pub authorized_keys: String,
    /// Keep no node users' authorized_keys (upgrades only).
    #[arg(long)]
    pub no_users: bool,
    /// Where `/healthz`, `/readyz` and `/metrics` listen.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: std::net::SocketAddr,
    /// kubeconfig (default: in-cluster config, else $KUBECONFIG / ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// The upgrade command and its arguments, `{version}` replaced by the target version.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Runs the agent until SIGTERM or ctrl-c.
pub async fn run(args: AgentArgs) -> Result<(), String> {
    let duration = |what: &str, v: &str| {
        humantime::parse_duration(v).map_err(|e| format!("--{what} {v:?}: {e} (e.g. 30m, 90s)"))
    };
    let executor = match args.executor {
        ExecutorKind::Command => Executor::Command {
            argv: if args.command.is_empty() {
                vec!["/etc/orbdeck/upgrade.sh".into(), VERSION_PLACEHOLDER.into()]
            } else {
                args.command.clone()
            },
            timeout: duration("timeout", &args.timeout)?,
        },
        ExecutorKind::Sim => Executor::Sim {
            delay: duration("sim-delay", &args.sim_delay)?,
        },
    };
    if !args
        .authorized_keys
        .contains(crate::agent::users::USER_PLACEHOLDER)
        && !args.no_users
    {
        return Err(format!(
            "--authorized-keys {:?} has no {{user}}: every user would share one file",
            args.authorized_keys
        ));
    }
    let client = client(&args).await?;
    let shutdown = CancellationToken::new();
    let health = std::sync::Arc::new(crate::engine::health::Health::new());
    health.set_ready();
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    crate::engine::health::serve(args.listen, metrics, health, shutdown.clone())
        .await
        .map_err(|e| format!("--listen {}: {e}", args.listen))?;
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        stop.cancel();
    });
    let options = Options {
        node: args.node.clone(),
        executor,
        authorized_keys: (!args.no_users).then(|| args.authorized_keys.clone()),
    };
    agent::run(client, options, shutdown).await;
    Ok(())
}

async fn client(args: &AgentArgs) -> Result<kube::Client, String> {
    if args.kubeconfig.is_none() && args.context.is_none() {
        return kube::Client::try_default()
            .await
            .map_err(|e| format!("connecting to the cluster: {e}"));
    }
    let entry = crate::fleet::config::OrbEntry {
        name: "agent".into(),
        repo: None,
        branch: "main".into(),
        context: args.context.clone(),
        kubeconfig: args.kubeconfig.clone(),
        write: false,
        ssh_key: None,
        labels: Default::default(),
    };
    crate::fleet::connect::client(&entry, std::time::Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())
}
