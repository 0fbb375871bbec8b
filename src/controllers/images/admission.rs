//! The image admission of pods (seed 000's pod-image-updater), called by the engine's webhook
//! server for every Pod CREATE: the pod rewritten per policy ([`desired::rewrite`]) from
//! watch-fed caches, answered with a JSONPatch at once; the ImageReplications it asks for and the
//! HEAD probes of the presence cache happen on a background task, never awaited by an admission.
//! Runs on every engine replica.

use super::desired::{self, Wanted};
use super::presence::Presence;
use super::registry;
use crate::controllers::runtime::watch;
use crate::model::{ImageReplication, ImageReplicationPolicy, ReplicationPhase};
use crate::wellknown::ENGINE_NAMESPACE;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use kube::runtime::reflector::{ObjectRef, Store};
use std::collections::{BTreeMap, HashSet};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Work an admission leaves to the background.
enum Job {
    /// Create this ImageReplication (unless it exists).
    Create(Wanted),
    /// Ask the target whether it holds this destination, with the credentials of this policy.
    Probe { destination: String, policy: String },
}

/// A cloneable handle: watch-fed caches of policies, namespaces and ImageReplications, the
/// presence cache, and the queue of the background task.
#[derive(Clone)]
pub struct ImageAdmission {
    policies: Store<ImageReplicationPolicy>,
    namespaces: Store<Namespace>,
    replications: Store<ImageReplication>,
    presence: Presence,
    jobs: mpsc::UnboundedSender<Job>,
}

impl ImageAdmission {
    /// Starts the caches (watches) for one engine; runs on every replica, not only the leader.
    pub fn start(client: kube::Client, shutdown: CancellationToken) -> ImageAdmission {
        registry::install_tls_provider();
        let policies = watch::source(Api::all(client.clone()), &shutdown).store();
        let namespaces = watch::source(Api::all(client.clone()), &shutdown).store();
        let replications =
            watch::source(Api::namespaced(client.clone(), ENGINE_NAMESPACE), &shutdown).store();
        let (jobs, queue) = mpsc::unbounded_channel();
        let admission = ImageAdmission {
            policies,
            namespaces,
            replications,
            presence: Presence::default(),
            jobs,
        };
        tokio::spawn(background(admission.clone(), client, queue, shutdown));
        admission
    }

    /// The answer to one Pod CREATE admission: never waits on a registry or the API.
    pub fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        let response = AdmissionResponse::from(request);
        let is_pod = request.kind.group.is_empty() && request.kind.kind == "Pod";
        let (true, Operation::Create, Some(object)) = (is_pod, &request.operation, &request.object)
        else {
            return response;
        };
        let Ok(pod) = serde_json::to_value(object) else {
            return response;
        };
        let namespace = request
            .namespace
            .clone()
            .or_else(|| object.metadata.namespace.clone())
            .unwrap_or_default();
        let labels: BTreeMap<String, String> = self
            .namespaces
            .get(&ObjectRef::new(&namespace))
            .and_then(|ns| ns.metadata.labels.clone())
            .unwrap_or_default();
        let policies = self.policies.state();
        let present = |d: &str| self.presence.has(d) || self.succeeded(d);
        let rewrite = desired::rewrite(&pod, &policies, &labels, &present);
        for w in &rewrite.wanted {
            if self.presence.get(&w.destination).is_none() && !self.succeeded(&w.destination) {
                self.send(Job::Probe {
                    destination: w.destination.clone(),
                    policy: w.policy.clone(),
                });
            }
            let known = self
                .replications
                .get(&ObjectRef::new(&w.name).within(ENGINE_NAMESPACE))
                .is_some();
            if !request.dry_run && !known {
                self.send(Job::Create(w.clone()));
            }
        }
        let name = &request.name;
        for p in &rewrite.problems {
            tracing::warn!(namespace, pod = %name, "image admission: {p}");
        }
        let mut response = response;
        if !rewrite.problems.is_empty() {
            response.warnings = Some(rewrite.problems.clone());
        }
        if rewrite.pod == pod {
            return response;
        }
        let patch = json_patch::diff(&pod, &rewrite.pod);
        // kube's admission types take the json-patch of its own version: the same JSON.
        let converted = serde_json::to_value(&patch).and_then(serde_json::from_value);
        match converted.map(|p| response.clone().with_patch(p)) {
            Ok(Ok(patched)) => patched,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "image admission: patch not serialisable; pod admitted unchanged");
                response
            }
            Err(e) => {
                tracing::warn!(error = %e, "image admission: patch not serialisable; pod admitted unchanged");
                response
            }
        }
    }

    /// Whether an ImageReplication to `destination` succeeded.
    fn succeeded(&self, destination: &str) -> bool {
        self.replications.state().iter().any(|r| {
            r.spec.destination == destination
                && r.status
                    .as_ref()
                    .is_some_and(|s| s.phase == ReplicationPhase::Succeeded)
        })
    }

    fn send(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            tracing::warn!("image admission: its background task has stopped; nothing created");
        }
    }
}

/// Creates the ImageReplications asked for and answers the probes, until `shutdown`.
async fn background(
    admission: ImageAdmission,
    client: kube::Client,
    mut queue: mpsc::UnboundedReceiver<Job>,
    shutdown: CancellationToken,
) {
    let api: Api<ImageReplication> = Api::namespaced(client.clone(), ENGINE_NAMESPACE);
    let mut created: HashSet<String> = HashSet::new();
    let mut probing: HashSet<String> = HashSet::new();
    let (done_tx, mut done) = mpsc::unbounded_channel::<String>();
    loop {
        let job = tokio::select! {
            _ = shutdown.cancelled() => return,
            Some(finished) = done.recv() => {
                probing.remove(&finished);
                continue;
            }
            job = queue.recv() => match job {
                Some(job) => job,
                None => return,
            },
        };
        match job {
            Job::Create(wanted) => {
                if !created.insert(wanted.name.clone()) {
                    continue;
                }
                let body: ImageReplication = match serde_json::from_value(wanted.object()) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(error = %e, "image admission: ImageReplication body");
                        continue;
                    }
                };
                match api.create(&PostParams::default(), &body).await {
                    Ok(_) => tracing::info!(
                        name = %wanted.name,
                        source = %wanted.source,
                        destination = %wanted.destination,
                        "image admission: ImageReplication created"
                    ),
                    Err(kube::Error::Api(s)) if s.code == 409 => {}
                    Err(e) => {
                        created.remove(&wanted.name);
                        tracing::warn!(
                            name = %wanted.name,
                            error = %e,
                            "image admission: creating the ImageReplication failed; the next pod using the image asks again"
                        );
                    }
                }
            }
            Job::Probe {
                destination,
                policy,
            } => {
                if !probing.insert(destination.clone()) {
                    continue;
                }
                let policy = admission
                    .policies
                    .get(&ObjectRef::new(&policy))
                    .map(|p| p.spec.clone());
                let (presence, client, done_tx) =
                    (admission.presence.clone(), client.clone(), done_tx.clone());
                tokio::spawn(async move {
                    if let Some(spec) = policy {
                        probe(&client, &spec, &destination, &presence).await;
                    }
                    let _ = done_tx.send(destination);
                });
            }
        }
    }
}

/// One HEAD of `destination`'s manifest, its answer recorded in `presence` (an error is
/// recorded as absent, so the pod keeps its source image).
async fn probe(
    client: &kube::Client,
    spec: &crate::model::ImageReplicationPolicySpec,
    destination: &str,
    presence: &Presence,
) {
    let Ok(reference) = destination.parse::<oci_client::Reference>() else {
        return;
    };
    let credentials = match registry::credentials(client, spec).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "image admission: probing {destination}");
            presence.set(destination, false);
            return;
        }
    };
    let oci = registry::client(spec);
    let auth = credentials.for_reference(&reference);
    let found = oci.fetch_manifest_digest(&reference, &auth).await;
    presence.set(destination, found.is_ok());
}
