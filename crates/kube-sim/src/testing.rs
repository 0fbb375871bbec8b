//! A sim for tests: one cluster with fast timings, its kubeconfig in a temporary directory, a
//! `kubectl` runner pointed at it (with its own discovery cache), the write counts, and a polling
//! helper. Used by this crate's tests and by the product's.

use crate::{ClusterOptions, Options, Server};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// A sim started for one test, with a kubeconfig file and a private kubectl cache.
pub struct Sim {
    /// The running server.
    pub server: Server,
    /// Temporary directory holding the kubeconfig and cache.
    pub dir: tempfile::TempDir,
    /// Path of the kubeconfig.
    pub kubeconfig: PathBuf,
}

impl Sim {
    /// Starts a one-cluster sim with `nodes` nodes and fast timings.
    pub async fn start(nodes: usize) -> Sim {
        Self::start_with(ClusterOptions {
            nodes,
            pod_start_delay: Duration::from_millis(100),
            job_run_time: Duration::from_millis(300),
            bookmark_interval: Duration::from_millis(500),
            ..Default::default()
        })
        .await
    }

    /// Starts a one-cluster sim with the given options.
    pub async fn start_with(cluster: ClusterOptions) -> Sim {
        Self::start_many(1, cluster).await
    }

    /// Starts `clusters` clusters (contexts `sim-1`, `sim-2`, ...) of `nodes` nodes each with
    /// fast timings, in one server with one kubeconfig.
    pub async fn start_clusters(clusters: usize, nodes: usize) -> Sim {
        Self::start_many(
            clusters,
            ClusterOptions {
                nodes,
                pod_start_delay: Duration::from_millis(100),
                job_run_time: Duration::from_millis(300),
                bookmark_interval: Duration::from_millis(500),
                ..Default::default()
            },
        )
        .await
    }

    async fn start_many(clusters: usize, cluster: ClusterOptions) -> Sim {
        let server = Server::start(Options {
            clusters,
            cluster,
            ..Default::default()
        })
        .await
        .expect("sim starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        server
            .write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        Sim {
            server,
            dir,
            kubeconfig,
        }
    }

    /// API writes (create, update, patch, delete) the sim has served so far.
    pub fn writes(&self) -> u64 {
        self.writes_except(&[])
    }

    /// API writes the sim has served so far, except to resources whose name starts with one of
    /// `resources` (e.g. `leases`).
    pub fn writes_except(&self, resources: &[&str]) -> u64 {
        self.server.cluster().requests().writes_except(resources)
    }

    /// Runs kubectl with `args` (blocking, off the async runtime) and returns its output.
    pub async fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_with(args, None, &[]).await
    }

    /// Runs kubectl with optional stdin and extra environment variables.
    pub async fn kubectl_with(
        &self,
        args: &[&str],
        stdin: Option<&str>,
        env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = Command::new("kubectl");
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let stdin = stdin.map(String::from);
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            use std::process::Stdio;
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().expect("kubectl runs");
            if let Some(input) = stdin {
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
            } else {
                drop(child.stdin.take());
            }
            child.wait_with_output().expect("kubectl finishes")
        })
        .await
        .expect("join")
    }

    /// Runs kubectl, asserts success and returns stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        succeeded(args, self.kubectl(args).await)
    }

    /// Runs kubectl with stdin, asserts success and returns stdout.
    pub async fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        succeeded(args, self.kubectl_with(args, Some(stdin), &[]).await)
    }

    /// A kube-rs client for the cluster.
    pub async fn client(&self) -> kube::Client {
        self.server.client().await.expect("client")
    }
}

/// Asserts a kubectl run succeeded (showing its output when not) and returns its stdout.
fn succeeded(args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` every 50 ms until it returns true or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
