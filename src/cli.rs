//! The command tree of `orbdeck` (clap derive) and the dispatch to each part of the library.
//! Exit codes: 0 success, 1 failure, 2 usage error or a command that is not available yet.

use crate::sim;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// orbdeck: watch and steer many Kubernetes clusters, each paired with a Git repository (an ORB).
#[derive(Debug, Parser)]
#[command(name = "orbdeck", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do; without a command, the control room opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the control room on the fleet from the config (the default).
    Ui,
    /// Start embedded clusters with local ORB repositories and open the control room on them.
    Demo(DemoArgs),
    /// Run the headless engine that applies an ORB repository to its cluster.
    Engine,
    /// Run the node agent (upgrades, node users).
    Agent,
    /// Run the embedded Kubernetes API server.
    Sim(SimArgs),
    /// Manage the fleet: add, list and remove ORBs; list drafts.
    Orb,
    /// Check the desired state of an ORB repository or directory.
    Validate,
    /// Show what applying desired state would change in the cluster.
    Plan,
    /// Print generated manifests (CRDs, engine deployment).
    Manifests,
    /// Edit encrypted secrets in an ORB repository.
    Secret,
}

/// Options of `orbdeck sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address of the first cluster; more clusters use the following ports (port 0 picks free ports).
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub listen: SocketAddr,
    /// Where to write the kubeconfig (one context per cluster).
    #[arg(long, default_value = "orbdeck-sim.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// Number of clusters (contexts sim-1, sim-2, ...).
    #[arg(long, default_value_t = 1)]
    pub clusters: usize,
    /// Number of simulated nodes per cluster.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Keep state across restarts in this directory (snapshot on shutdown and every 10 s).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

/// Options of `orbdeck demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's clusters' state and kubeconfig in this directory instead of a temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Ui);
    let name = match &command {
        Command::Ui => "ui",
        Command::Demo(_) => "demo",
        Command::Engine => "engine",
        Command::Agent => "agent",
        Command::Sim(_) => "sim",
        Command::Orb => "orb",
        Command::Validate => "validate",
        Command::Plan => "plan",
        Command::Manifests => "manifests",
        Command::Secret => "secret",
    };
    match command {
        Command::Sim(args) => with_runtime(run_sim(args)),
        Command::Demo(args) => with_runtime(run_demo(args)),
        _ => {
            eprintln!(
                "orbdeck {name}: not available yet in this build (see the open issues); nothing was done"
            );
            ExitCode::from(2)
        }
    }
}

fn with_runtime(fut: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ORBDECK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("orbdeck: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("orbdeck: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_sim(args: SimArgs) -> Result<(), String> {
    let options = sim::Options {
        listen: args.listen,
        clusters: args.clusters,
        state_dir: args.state_dir,
        cluster: sim::ClusterOptions {
            nodes: args.nodes,
            ..Default::default()
        },
        ..Default::default()
    };
    let server = sim::Server::start(options)
        .await
        .map_err(|e| e.to_string())?;
    server
        .write_kubeconfig(&args.kubeconfig)
        .map_err(|e| e.to_string())?;
    for c in server.clusters() {
        println!("cluster {} listening on {}", c.name, c.url);
    }
    println!("kubeconfig written to {}", args.kubeconfig.display());
    wait_for_signal().await;
    server.shutdown().await.map_err(|e| e.to_string())
}

async fn run_demo(args: DemoArgs) -> Result<(), String> {
    let (dir, _temp) = match args.keep {
        Some(dir) => (dir, None),
        None => {
            let t = std::env::temp_dir().join(format!("orbdeck-demo-{}", std::process::id()));
            (t.clone(), Some(TempDir(t)))
        }
    };
    let options = sim::Options {
        names: vec!["orb-alpha".into(), "orb-beta".into(), "orb-gamma".into()],
        state_dir: Some(dir.join("state")),
        cluster: sim::ClusterOptions {
            nodes: 3,
            ..Default::default()
        },
        ..Default::default()
    };
    let server = sim::Server::start(options)
        .await
        .map_err(|e| e.to_string())?;
    let kubeconfig = dir.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig)
        .map_err(|e| e.to_string())?;
    println!(
        "orbdeck demo: {} embedded clusters are running.",
        server.clusters().len()
    );
    for c in server.clusters() {
        println!("  {:<10} {}", c.name, c.url);
    }
    println!("Reach them with kubectl:");
    println!("  export KUBECONFIG={}", kubeconfig.display());
    println!("  kubectl get nodes --context orb-alpha");
    println!("The control room opens here once its issue lands. Press Ctrl-C to stop.");
    wait_for_signal().await;
    server.shutdown().await.map_err(|e| e.to_string())
}

/// Removes a temporary directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
