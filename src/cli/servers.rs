//! `orbdeck sim`: the embedded clusters, in the foreground until a signal.

use super::SimArgs;
use kube_sim as sim;

pub async fn run_sim(args: SimArgs) -> Result<(), String> {
    let options = sim::Options {
        listen: args.listen,
        clusters: args.clusters,
        state_dir: args.state_dir,
        cluster: sim::ClusterOptions {
            nodes: args.nodes,
            users: args.users,
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

/// Waits for SIGINT or SIGTERM.
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
