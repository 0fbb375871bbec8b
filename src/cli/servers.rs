//! `orbdeck sim` and `orbdeck demo`: the embedded clusters, in the foreground until a signal.

use super::{DemoArgs, SimArgs};
use crate::sim;
use std::path::PathBuf;

pub async fn run_sim(args: SimArgs) -> Result<(), String> {
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

pub async fn run_demo(args: DemoArgs) -> Result<(), String> {
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

pub async fn wait_for_signal() {
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
