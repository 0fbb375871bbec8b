//! `orbdeck engine`: the headless engine of one ORB, with leader election, health endpoints and
//! SIGHUP for an immediate sync.

use crate::controllers::admission::{Webhook, WebhookOptions};
use crate::controllers::environments::{self, api::ApiOptions};
use crate::engine::health::{self, Health};
use crate::engine::leader::LeaseConfig;
use crate::engine::{self, EngineOptions};
use crate::metrics::Metrics;
use crate::repo::{OrbRepo, RemoteOptions};
use clap::Args;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Options of `orbdeck engine`.
#[derive(Debug, Args)]
pub struct EngineArgs {
    /// The ORB repo (path, file://, ssh://).
    #[arg(long, env = "ORB_REPO")]
    pub repo: String,
    /// Branch holding the ORB's state.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// How often to fetch and apply (orb.yaml's engine.interval wins), e.g. 30s.
    #[arg(long, default_value = "30s")]
    pub interval: String,
    /// ssh private key for the repo.
    #[arg(long)]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts for ssh remotes.
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// kubeconfig (default: in-cluster config, else $KUBECONFIG / ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
    /// Where the bare clone lives.
    #[arg(long, default_value = "/tmp/orbdeck-engine")]
    pub data: PathBuf,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Address of the admission webhooks (HTTPS, every replica serves them), or `off`.
    #[arg(long, default_value = "0.0.0.0:9443")]
    pub webhook_listen: String,
    /// URL the API server calls the webhooks at (`https://host:port`), for an engine running
    /// outside its cluster; port 0 means the port bound. In a cluster: the Service
    /// orbdeck-webhook of `orbdeck manifests deploy`.
    #[arg(long)]
    pub webhook_advertise_url: Option<String>,
    /// Namespace of the engine's Lease and identity Secret.
    #[arg(long, default_value = "orbdeck-system", env = "POD_NAMESPACE")]
    pub namespace: String,
    /// Secret (in the engine's namespace) whose key `identity.txt` holds the age identity.
    #[arg(long, default_value = "orbdeck-age-identity")]
    pub identity_secret: String,
    /// Address of the orchestrator API (HTTP: POST /start, POST /stop, GET /environments,
    /// /healthz), or `off`.
    #[arg(long, default_value = "off")]
    pub orchestrator_listen: String,
    /// Namespace of the Environments the orchestrator API creates and deletes.
    #[arg(long, default_value = "default")]
    pub orchestrator_namespace: String,
    /// Secret (in the engine's namespace) whose key `token` is the orchestrator API's bearer
    /// token.
    #[arg(long, default_value = "orbdeck-orchestrator-token")]
    pub orchestrator_token_secret: String,
    /// How log lines are written: `text` for a terminal, `json` (one object per line) in a
    /// cluster.
    #[arg(long, value_enum, default_value_t, env = "ORBDECK_LOG_FORMAT")]
    pub log_format: super::LogFormat,
}

/// Runs the engine until SIGINT/SIGTERM.
pub async fn run(args: EngineArgs) -> Result<(), String> {
    let client = client(&args).await?;
    let interval = engine::parse_duration(&args.interval).ok_or_else(|| {
        format!(
            "--interval {:?}: not a duration (e.g. 30s, 5m)",
            args.interval
        )
    })?;
    let remote = RemoteOptions {
        ssh_key: args.ssh_key.clone(),
        known_hosts: args.known_hosts.clone(),
        ..Default::default()
    };
    let repo = OrbRepo::open(
        &args.data.join("repo.git"),
        &args.repo,
        &args.branch,
        remote,
    )
    .map_err(|e| e.to_string())?;
    let identities = identities(&client, &args).await?;
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(Metrics::default());
    let health = Arc::new(Health::default());
    let bound = health::serve(
        args.listen,
        metrics.clone(),
        health.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(|e| format!("{}: {e}", args.listen))?;
    tracing::info!(%bound, "health endpoints listening");
    let identity = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("orbdeck-engine-{}", std::process::id()));
    let lease = LeaseConfig {
        namespace: args.namespace.clone(),
        name: crate::engine::leader::LEASE_NAME.into(),
        identity,
        ..Default::default()
    };
    crate::engine::preflight::check(&client, &lease.namespace, &lease.name).await;
    let webhook = webhook(&client, &args, &shutdown).await?;
    orchestrator(&client, &args, &shutdown).await?;
    let (handle, tasks) = engine::elected::spawn(
        client,
        EngineOptions {
            repo,
            interval,
            identities,
            metrics: metrics.clone(),
            webhook,
        },
        lease,
        shutdown.clone(),
    );
    // Each finished sync feeds /metrics; a repo that cannot be fetched or pushed makes /readyz 503
    // until it can again.
    let mut state = handle.state.clone();
    health.set_ready();
    let ready = health.clone();
    let recorder = tokio::spawn(async move {
        let mut seen = 0;
        while state.changed().await.is_ok() {
            let s = state.borrow_and_update().clone();
            match s.readiness() {
                Ok(()) => ready.set_ready(),
                Err(why) => ready.set_not_ready(why),
            }
            if s.syncs == seen {
                continue;
            }
            seen = s.syncs;
            if let Some(status) = &s.status {
                metrics.record_sync(&status.commit, status.result == "Synced");
                crate::engine::preflight::log_sync(status, &s.actions);
            }
            metrics.record_api_writes(s.actions.len() as u64);
        }
    });
    wait_for_stop(&handle).await;
    shutdown.cancel();
    futures::future::join_all(tasks).await;
    recorder.abort();
    Ok(())
}

/// The webhook server of `--webhook-listen` (none with `off`).
async fn webhook(
    client: &kube::Client,
    args: &EngineArgs,
    shutdown: &CancellationToken,
) -> Result<Option<Arc<Webhook>>, String> {
    if args.webhook_listen == "off" {
        tracing::info!("admission webhooks off (--webhook-listen off)");
        return Ok(None);
    }
    let listen: SocketAddr = args.webhook_listen.parse().map_err(|e| {
        format!(
            "--webhook-listen {:?}: {e} (an address such as 0.0.0.0:9443, or off)",
            args.webhook_listen
        )
    })?;
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    if args.webhook_advertise_url.is_none() && !in_cluster {
        tracing::warn!(
            "the admission webhooks are configured at the Service orbdeck-webhook, which does \
             not lead to an engine outside its cluster: pass --webhook-advertise-url"
        );
    }
    let options = WebhookOptions::new(listen, args.webhook_advertise_url.clone(), &args.namespace);
    let webhook = Webhook::start(client.clone(), options, shutdown.clone())
        .await
        .map_err(|e| format!("--webhook-listen {listen}: {e}"))?;
    Ok(Some(Arc::new(webhook)))
}

/// The orchestrator API of `--orchestrator-listen` (none with `off`, the default).
async fn orchestrator(
    client: &kube::Client,
    args: &EngineArgs,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    if args.orchestrator_listen == "off" {
        return Ok(());
    }
    let listen: SocketAddr = args.orchestrator_listen.parse().map_err(|e| {
        format!(
            "--orchestrator-listen {:?}: {e} (an address such as 0.0.0.0:3002, or off)",
            args.orchestrator_listen
        )
    })?;
    let options = ApiOptions {
        listen,
        namespace: args.orchestrator_namespace.clone(),
        token_namespace: args.namespace.clone(),
        token_secret: args.orchestrator_token_secret.clone(),
        read_timeout: environments::api::READ_TIMEOUT,
    };
    environments::api::start(client.clone(), options, shutdown.clone())
        .await
        .map_err(|e| format!("--orchestrator-listen {e}"))?;
    Ok(())
}

async fn client(args: &EngineArgs) -> Result<kube::Client, String> {
    if args.kubeconfig.is_none() && args.context.is_none() {
        return kube::Client::try_default().await.map_err(|e| e.to_string());
    }
    let entry = crate::fleet::config::OrbEntry {
        name: "engine".into(),
        repo: Some(args.repo.clone()),
        branch: args.branch.clone(),
        context: args.context.clone(),
        kubeconfig: args.kubeconfig.clone(),
        write: true,
        ssh_key: None,
        labels: Default::default(),
    };
    crate::fleet::connect::client(&entry, std::time::Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())
}

/// The age identities from the engine's Secret (none when it does not exist).
async fn identities(
    client: &kube::Client,
    args: &EngineArgs,
) -> Result<Vec<age::x25519::Identity>, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &args.namespace);
    let Ok(Some(secret)) = secrets.get_opt(&args.identity_secret).await else {
        return Ok(Vec::new());
    };
    let Some(bytes) = secret.data.and_then(|d| d.get("identity.txt").cloned()) else {
        return Ok(Vec::new());
    };
    let text = String::from_utf8(bytes.0)
        .map_err(|_| format!("Secret {}: identity.txt is not UTF-8", args.identity_secret))?;
    crate::secrets::parse_identities(&text)
        .map_err(|e| format!("Secret {}: {e}", args.identity_secret))
}

/// Returns on SIGINT/SIGTERM; SIGHUP asks for a sync.
async fn wait_for_stop(handle: &engine::EngineHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => handle.sync_now.notify_one(),
        }
    }
}
