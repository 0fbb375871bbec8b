//! The embedded Kubernetes API server (`orbdeck sim`): HTTPS with a throw-away CA and bearer
//! tokens, one listener per simulated cluster, and a kubeconfig that kubectl and kube-rs use unchanged.

mod admission;
mod api;
mod apply;
mod auth;
pub mod bench;
mod cluster;
mod controllers;
mod crd;
mod credentials;
mod defaults;
mod discovery;
mod events_api;
mod eviction;
mod limitrange;
mod logs;
mod logs_api;
mod object;
mod openapi;
mod openapi_glue;
mod prepare;
mod protobuf;
mod quota;
mod quota_glue;
mod resources;
mod routes;
mod selector;
mod services;
mod status;
mod store;
mod strategic;
mod table;
pub mod testing;
mod tls;
mod validation;
mod watch;
mod write;

pub use cluster::{ClusterOptions, StaticUser};
pub use requests::Requests;
pub use tls::{TlsBundle, TlsError};

mod requests;

use cluster::Cluster;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Errors starting or running the sim.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Could not listen or read/write files.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Certificates could not be made.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The kube client could not be built.
    #[error("kube client: {0}")]
    Kube(String),
    /// A log line could not be appended: no such pod or container (Kubernetes' message).
    #[error("{0}")]
    Log(String),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> SimError {
    let context = context.into();
    move |source| SimError::Io { context, source }
}

/// How to start the sim.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address of the first cluster; further clusters listen on the following ports (or free ports when 0).
    pub listen: SocketAddr,
    /// Number of clusters (contexts `sim-1`, `sim-2`, ...) unless `names` is given.
    pub clusters: usize,
    /// Explicit cluster names.
    pub names: Vec<String>,
    /// Where to keep state across restarts (one snapshot file per cluster).
    pub state_dir: Option<PathBuf>,
    /// How often state is snapshotted while running.
    pub snapshot_interval: Duration,
    /// Per-cluster settings (nodes, timings, watch window).
    pub cluster: ClusterOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            clusters: 1,
            names: vec![],
            state_dir: None,
            snapshot_interval: Duration::from_secs(10),
            cluster: ClusterOptions::default(),
        }
    }
}

/// A running simulated cluster.
pub struct ClusterHandle {
    /// Context name.
    pub name: String,
    /// `https://127.0.0.1:PORT`
    pub url: String,
    cluster: Arc<Cluster>,
}

impl ClusterHandle {
    /// The bearer token clients present (the kubeconfig's user).
    pub fn token(&self) -> &str {
        &self.cluster.token
    }

    /// The requests served so far, by verb, resource and client.
    pub fn requests(&self) -> Requests {
        Requests::from(
            self.cluster
                .counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }

    /// The permissions `user` has used so far: (verb, API group, resource or resource/subresource),
    /// each once: what a least-privilege role for that user must grant.
    pub fn permissions_used(&self, user: &str) -> Vec<(String, String, String)> {
        self.cluster
            .used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(u, ..)| u == user)
            .map(|(_, verb, group, resource)| (verb.clone(), group.clone(), resource.clone()))
            .collect()
    }

    /// How many objects of `plural` (in any API group) are stored, and their size as stored JSON.
    pub fn stored(&self, plural: &str) -> (usize, usize) {
        let store = self.cluster.store.read();
        store
            .keys()
            .iter()
            .filter(|k| k.split('.').next() == Some(plural))
            .fold((0, 0), |(n, bytes), key| {
                let objects = store.list(key, None);
                (
                    n + objects.len(),
                    bytes + objects.iter().map(|b| b.len()).sum::<usize>(),
                )
            })
    }

    /// Appends `line` (several when it holds newlines) to the log of `container` in pod `pod`
    /// of namespace `ns`, as if the container had written it; `kubectl logs` then shows it.
    pub fn append_log(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        line: &str,
    ) -> Result<(), SimError> {
        let line = if line.is_empty() { "\n" } else { line };
        logs_api::append(&self.cluster, ns, pod, Some(container), line)
            .map(drop)
            .map_err(|e| SimError::Log(e.message))
    }

    /// Forgets the watch history, as an API server does after compaction: a watch from an older
    /// resourceVersion then gets 410 Gone.
    pub fn compact(&self) {
        self.cluster.store.compact();
    }
}

/// A running sim: one or more clusters sharing a CA.
pub struct Server {
    clusters: Vec<ClusterHandle>,
    ca_pem: String,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    state_dir: Option<PathBuf>,
}

impl Server {
    /// Starts the clusters and their controllers; returns once every listener is bound.
    pub async fn start(options: Options) -> Result<Server, SimError> {
        if let Some(dir) = &options.state_dir {
            std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        }
        let bundle = match &options.state_dir {
            Some(dir) => credentials::tls(dir)
                .map_err(io_err(format!("the TLS material in {}", dir.display())))?,
            None => tls::TlsBundle::generate(&[])?,
        };
        let tls_config = bundle.server_config()?;
        let shutdown = CancellationToken::new();
        let names: Vec<String> = if options.names.is_empty() {
            (1..=options.clusters.max(1))
                .map(|i| format!("sim-{i}"))
                .collect()
        } else {
            options.names.clone()
        };
        let mut clusters = Vec::new();
        let mut tasks = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let secrets = match &options.state_dir {
                Some(dir) => credentials::cluster(dir, name)
                    .map_err(io_err(format!("the credentials in {}", dir.display())))?,
                None => credentials::fresh(),
            };
            let mut cluster = Cluster::new(name, &secrets.token, options.cluster.clone());
            cluster.signing_key = secrets.signing_key;
            let cluster = Arc::new(cluster);
            if let Some(dir) = &options.state_dir {
                let path = snapshot_path(dir, name);
                if path.exists() {
                    cluster
                        .store
                        .load(&path)
                        .map_err(io_err(format!("loading {}", path.display())))?;
                }
            }
            let mut addr = options.listen;
            if addr.port() != 0 {
                addr.set_port(addr.port() + i as u16);
            }
            let listener = TcpListener::bind(addr)
                .await
                .map_err(io_err(format!("listening on {addr}")))?;
            let local = listener.local_addr().map_err(io_err("local address"))?;
            let url = format!("https://{local}");
            *cluster.url.lock().unwrap_or_else(|e| e.into_inner()) = url.clone();
            *cluster.ca_pem.lock().unwrap_or_else(|e| e.into_inner()) = bundle.ca_pem.clone();
            controllers::ensure_defaults(&cluster);
            tasks.push(tokio::spawn(serve(
                listener,
                tls_config.clone(),
                cluster.clone(),
                shutdown.clone(),
            )));
            tasks.extend(controllers::spawn(cluster.clone(), shutdown.clone()));
            if let Some(dir) = &options.state_dir {
                tasks.push(tokio::spawn(snapshot_loop(
                    cluster.clone(),
                    snapshot_path(dir, name),
                    options.snapshot_interval,
                    shutdown.clone(),
                )));
            }
            clusters.push(ClusterHandle {
                name: name.clone(),
                url,
                cluster,
            });
        }
        Ok(Server {
            clusters,
            ca_pem: bundle.ca_pem,
            shutdown,
            tasks,
            state_dir: options.state_dir,
        })
    }

    /// The clusters, in context order.
    pub fn clusters(&self) -> &[ClusterHandle] {
        &self.clusters
    }

    /// URL of the first cluster.
    pub fn url(&self) -> &str {
        &self.clusters[0].url
    }

    /// The first cluster.
    pub fn cluster(&self) -> &ClusterHandle {
        &self.clusters[0]
    }

    /// PEM of the CA clients must trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The kubeconfig (YAML) with one context per cluster; the first is current.
    pub fn kubeconfig_yaml(&self) -> String {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(&self.ca_pem);
        let mut clusters = Vec::new();
        let mut users = Vec::new();
        let mut contexts = Vec::new();
        for c in &self.clusters {
            clusters.push(json!({"name": c.name, "cluster": {"server": c.url, "certificate-authority-data": ca}}));
            users.push(json!({"name": c.name, "user": {"token": c.cluster.token}}));
            contexts.push(json!({"name": c.name, "context": {"cluster": c.name, "user": c.name}}));
        }
        let doc = json!({
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": clusters, "users": users, "contexts": contexts,
            "current-context": self.clusters[0].name,
        });
        serde_saphyr::to_string(&doc).unwrap_or_else(|_| doc.to_string())
    }

    /// Writes the kubeconfig to `path` (mode 0600).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SimError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(io_err(format!("creating {}", parent.display())))?;
        }
        std::fs::write(path, self.kubeconfig_yaml())
            .map_err(io_err(format!("writing {}", path.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(())
    }

    /// A kube client for the cluster at `index`, as any other client would build it from the kubeconfig.
    pub async fn client_for(&self, index: usize) -> Result<kube::Client, SimError> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml())
            .map_err(|e| SimError::Kube(e.to_string()))?;
        let options = kube::config::KubeConfigOptions {
            context: Some(self.clusters[index].name.clone()),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| SimError::Kube(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| SimError::Kube(e.to_string()))
    }

    /// A kube client for the cluster at `index` that authenticates with `token` instead of the
    /// admin's (a ServiceAccount token from the TokenRequest API, or a static user's).
    pub async fn client_with_token(
        &self,
        index: usize,
        token: &str,
    ) -> Result<kube::Client, SimError> {
        let mut kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml())
            .map_err(|e| SimError::Kube(e.to_string()))?;
        let context = self.clusters[index].name.clone();
        let user = kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context)
            .and_then(|c| c.context.as_ref())
            .map(|c| c.user.clone())
            .unwrap_or_default();
        for auth in &mut kubeconfig.auth_infos {
            if Some(&auth.name) == user.as_ref()
                && let Some(info) = auth.auth_info.as_mut()
            {
                info.token = Some(token.to_string().into());
            }
        }
        let options = kube::config::KubeConfigOptions {
            context: Some(context),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| SimError::Kube(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| SimError::Kube(e.to_string()))
    }

    /// A kube client for the first cluster.
    pub async fn client(&self) -> Result<kube::Client, SimError> {
        self.client_for(0).await
    }

    /// Stops listening and the controllers; writes final snapshots when a state dir is set.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        self.shutdown.cancel();
        // Waited for, so that the listeners are closed (and the port free) on return.
        for t in std::mem::take(&mut self.tasks) {
            t.abort();
            let _ = t.await;
        }
        if let Some(dir) = &self.state_dir {
            for c in &self.clusters {
                let path = snapshot_path(dir, &c.name);
                c.cluster
                    .store
                    .save(&path)
                    .map_err(io_err(format!("writing {}", path.display())))?;
            }
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn snapshot_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

async fn snapshot_loop(c: Arc<Cluster>, path: PathBuf, every: Duration, stop: CancellationToken) {
    let mut saved = 0;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let rv = c.store.read().rv;
        if rv != saved {
            match c.store.save(&path) {
                Ok(()) => saved = rv,
                Err(e) => tracing::warn!("snapshot {} failed: {e}", path.display()),
            }
        }
    }
}

async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    cluster: Arc<Cluster>,
    stop: CancellationToken,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let app = axum::Router::new()
        .fallback(api::handle)
        .with_state(cluster);
    loop {
        let (tcp, _) = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = TowerToHyperService::new(app);
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}
