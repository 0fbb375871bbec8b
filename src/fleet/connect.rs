//! Reaching an ORB's cluster and repo: a kube client from the ORB's kubeconfig/context, and
//! quick reachability probes (bounded in time) for `orb list` and the control room.

use super::config::{FleetConfig, OrbEntry, Paths};
use crate::repo::{OrbRepo, RepoError};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use std::path::PathBuf;
use std::time::Duration;

/// Why no kube client could be made for an ORB's cluster.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The ORB's kubeconfig file cannot be read or its context used.
    #[error("{}: {source}", .path.display())]
    Kubeconfig {
        /// The kubeconfig file.
        path: PathBuf,
        /// Why it does not serve.
        source: KubeconfigError,
    },
    /// The default kubeconfig (`KUBECONFIG` or ~/.kube/config) cannot be read or used.
    #[error("kubeconfig: {0}")]
    DefaultKubeconfig(#[source] KubeconfigError),
    /// The client could not be built from the config.
    #[error(transparent)]
    Client(#[from] kube::Error),
}

/// A kube client for the ORB's cluster (its kubeconfig and context, or the defaults), with the
/// connect and read timeouts of `timeout`.
pub async fn client(orb: &OrbEntry, timeout: Duration) -> Result<kube::Client, ConnectError> {
    let mut config = kube_config(orb, timeout).await?;
    config.read_timeout = Some(timeout);
    Ok(kube::Client::try_from(config)?)
}

/// A client for long watches: connecting is bounded by `timeout`, reading is not (a watch
/// stays quiet for minutes); callers bound single requests themselves.
pub async fn watch_client(orb: &OrbEntry, timeout: Duration) -> Result<kube::Client, ConnectError> {
    let mut config = kube_config(orb, timeout).await?;
    config.read_timeout = None;
    Ok(kube::Client::try_from(config)?)
}

/// The ORB's kube config (its kubeconfig file and context), connecting within `timeout`.
async fn kube_config(orb: &OrbEntry, timeout: Duration) -> Result<kube::Config, ConnectError> {
    let options = KubeConfigOptions {
        context: orb.context.clone(),
        ..Default::default()
    };
    let mut config = match &orb.kubeconfig {
        Some(path) => {
            let in_file = |source| ConnectError::Kubeconfig {
                path: path.clone(),
                source,
            };
            let kc = Kubeconfig::read_from(path).map_err(in_file)?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(in_file)?
        }
        None => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(ConnectError::DefaultKubeconfig)?,
    };
    config.connect_timeout = Some(timeout);
    Ok(config)
}

/// The contexts of the default kubeconfig, in its order: `$KUBECONFIG` (several files separated
/// as in `PATH`, merged as kubectl merges them), else ~/.kube/config.
pub fn kubeconfig_contexts() -> Result<Vec<String>, ConnectError> {
    let kc = Kubeconfig::read().map_err(ConnectError::DefaultKubeconfig)?;
    Ok(kc.contexts.into_iter().map(|c| c.name).collect())
}

/// What a probe of the cluster found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterHealth {
    /// The API answered; its version.
    Reachable(String),
    /// The API refused our credentials.
    AuthError(String),
    /// No answer, or the config is unusable.
    Unreachable(String),
}

/// Asks the cluster for its version within `timeout`.
pub async fn probe_cluster(orb: &OrbEntry, timeout: Duration) -> ClusterHealth {
    let client = match client(orb, timeout).await {
        Ok(c) => c,
        Err(e) => return ClusterHealth::Unreachable(e.to_string()),
    };
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(v)) => ClusterHealth::Reachable(v.git_version),
        Ok(Err(kube::Error::Api(s))) if s.code == 401 || s.code == 403 => {
            ClusterHealth::AuthError(s.message)
        }
        Ok(Err(e)) => ClusterHealth::Unreachable(e.to_string()),
        Err(_) => ClusterHealth::Unreachable(format!("no answer within {} s", timeout.as_secs())),
    }
}

/// Opens the ORB's cached clone (creating it) with the fleet's remote settings and author; a
/// live-only ORB has none ([`RepoError::NotPaired`]).
pub fn open_repo(
    config: &FleetConfig,
    paths: &Paths,
    orb: &OrbEntry,
) -> Result<OrbRepo, RepoError> {
    let url = orb.repo.as_deref().ok_or_else(|| RepoError::NotPaired {
        orb: orb.name.clone(),
    })?;
    let mut repo = OrbRepo::open(
        &paths.clone_dir(&orb.name),
        url,
        &orb.branch,
        config.remote_options(orb),
    )?;
    repo.author = config.author();
    Ok(repo)
}
