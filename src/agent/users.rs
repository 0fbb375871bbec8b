//! The agent's node users (seed 002's user controller): the NodeUsers selecting this node
//! written into each user's authorized_keys (see [`keys_file`](super::keys_file)), invalid keys
//! left out and reported in the NodeUser's status; a file watcher (notify) puts a file changed
//! behind the agent's back (a key appended, the file deleted, its mode changed) back at once.

use super::keys_file;
use crate::model::{InvalidKey, NodeUser, NodeUserStatus, check_ssh_key, selects};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use notify::{EventKind, RecursiveMode, Watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The placeholder for the user name in the path template.
pub const USER_PLACEHOLDER: &str = "{user}";
/// How often the files are checked without a change seen.
const RESYNC: Duration = Duration::from_secs(30);

/// A NodeUser's keys split into the valid ones and the reasons for the others.
pub fn checked(user: &NodeUser) -> (Vec<String>, NodeUserStatus) {
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for (i, key) in user.spec.ssh_keys.iter().enumerate() {
        match check_ssh_key(key) {
            Ok(()) => valid.push(key.trim().to_owned()),
            Err(message) => invalid.push(InvalidKey {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                message,
            }),
        }
    }
    let status = NodeUserStatus {
        valid_keys: u32::try_from(valid.len()).unwrap_or(u32::MAX),
        invalid_keys: invalid,
    };
    (valid, status)
}

/// Whether `name` is a plain Unix user name (`[a-z_][a-z0-9_-]*`, 32 at most), so it cannot
/// lead the path template elsewhere.
pub fn is_username(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.len() <= 32
}

/// Keeps the node users' authorized_keys (at `template`, `{user}` replaced) until `shutdown`.
pub async fn run(
    client: kube::Client,
    node: String,
    template: String,
    shutdown: CancellationToken,
) {
    let (reader, writer) = reflector::store();
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let stream = reflector::reflector(
        writer,
        watcher(
            Api::<NodeUser>::all(client.clone()),
            watcher::Config::default(),
        )
        .default_backoff(),
    );
    let wake = tx.clone();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                e = stream.next() => match e {
                    Some(Ok(_)) => { let _ = wake.send(()); }
                    Some(Err(e)) => tracing::warn!(error = %e, "agent: watching NodeUsers; retrying"),
                    None => return,
                },
            }
        }
    });
    let file_events = tx.clone();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(e) = event
            && !matches!(e.kind, EventKind::Access(_))
        {
            let _ = file_events.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "agent: no file watcher; authorized_keys are checked every 30 s only");
            None
        }
    };
    let _ = reader.wait_until_ready().await;
    let mut users = Users {
        client,
        node,
        template,
        managed: BTreeSet::new(),
        watched: BTreeSet::new(),
        reported: BTreeMap::new(),
    };
    tracing::info!(node = %users.node, template = %users.template, "agent: keeping node users' authorized_keys");
    loop {
        users.reconcile(&reader, watcher.as_mut()).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = rx.recv() => {}
            _ = tokio::time::sleep(RESYNC) => {}
        }
        // A burst of file events (a rename is several) is one look.
        tokio::time::sleep(Duration::from_millis(20)).await;
        while rx.try_recv().is_ok() {}
    }
}

struct Users {
    client: kube::Client,
    node: String,
    template: String,
    /// Files written so far (a user no longer wanted gets an empty section).
    managed: BTreeSet<PathBuf>,
    /// Directories the watcher follows.
    watched: BTreeSet<PathBuf>,
    /// The status last written per NodeUser.
    reported: BTreeMap<String, NodeUserStatus>,
}

impl Users {
    async fn reconcile(
        &mut self,
        store: &Store<NodeUser>,
        mut watcher: Option<&mut notify::RecommendedWatcher>,
    ) {
        let labels = match Api::<Node>::all(self.client.clone()).get(&self.node).await {
            Ok(n) => n.metadata.labels.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(node = %self.node, error = %e, "agent: reading its node; node users wait");
                return;
            }
        };
        let mut wanted: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for user in store.state() {
            let name = user.metadata.name.clone().unwrap_or_default();
            let (valid, status) = checked(&user);
            if user.status.as_ref() != Some(&status) && self.reported.get(&name) != Some(&status) {
                self.report(&name, &status).await;
            }
            let on_this_node = user
                .spec
                .node_selector
                .as_ref()
                .is_none_or(|s| selects(s, &labels));
            if on_this_node && is_username(&user.spec.username) {
                let path =
                    PathBuf::from(self.template.replace(USER_PLACEHOLDER, &user.spec.username));
                wanted.entry(path).or_default().extend(valid);
            }
        }
        for gone in &self.managed {
            wanted.entry(gone.clone()).or_default();
        }
        for (path, keys) in &wanted {
            match keys_file::sync(path, keys) {
                Ok(true) => {
                    tracing::info!(path = %path.display(), keys = keys.len(), "agent: authorized_keys written")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "agent: writing authorized_keys")
                }
            }
            self.managed.insert(path.clone());
            if let (Some(w), Some(dir)) = (watcher.as_deref_mut(), path.parent())
                && !self.watched.contains(dir)
            {
                match w.watch(dir, RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        self.watched.insert(dir.to_owned());
                    }
                    Err(e) => {
                        tracing::warn!(dir = %dir.display(), error = %e, "agent: watching a directory")
                    }
                }
            }
        }
    }

    async fn report(&mut self, name: &str, status: &NodeUserStatus) {
        let api: Api<NodeUser> = Api::all(self.client.clone());
        let patch = serde_json::json!({"status": {"validKeys": status.valid_keys, "invalidKeys": status.invalid_keys}});
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                self.reported.insert(name.to_owned(), status.clone());
                if !status.invalid_keys.is_empty() {
                    tracing::warn!(user = %name, invalid = status.invalid_keys.len(), "agent: NodeUser has invalid keys, left out");
                }
            }
            Err(e) => {
                tracing::warn!(user = %name, error = %e, "agent: writing the NodeUser's status")
            }
        }
    }
}
