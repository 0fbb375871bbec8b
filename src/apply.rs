//! The applier shared by the engine, plan and controllers: server-side apply (field manager `orbdeck`, forced, as the owner of
//! desired state) of objects labelled with their ORB, in stages (CRDs, then Namespaces, then other
//! cluster-scoped kinds, then namespaced ones). Each object carries the hash of what was applied,
//! so an object whose live state still holds it and still matches is not written again: a sync of
//! an unchanged repo makes no API writes.

use crate::wellknown::{FIELD_MANAGER, HASH_ANNOTATION, ORB_LABEL, ObjectId, labelled};
use futures::StreamExt;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Why the applier could not list, apply, delete or wait for objects.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Discovery does not find the kind (its CRD may not be applied or served yet).
    #[error("{api_version} {kind}: not served by the cluster")]
    KindNotServed {
        /// The kind's apiVersion.
        api_version: String,
        /// The kind.
        kind: String,
    },
    /// Discovery does not find the kind of an object to apply or delete.
    #[error("{id}: kind not served by the cluster")]
    ObjectKindNotServed {
        /// The object.
        id: Box<ObjectId>,
    },
    /// Listing the ORB's objects of a kind failed.
    #[error("list {api_version} {kind}: {source}")]
    List {
        /// The kind's apiVersion.
        api_version: String,
        /// The kind.
        kind: String,
        /// The API error.
        source: kube::Error,
    },
    /// A desired object does not read as a Kubernetes object.
    #[error("{id}: {source}")]
    Object {
        /// The object.
        id: Box<ObjectId>,
        /// Why it does not deserialize.
        source: serde_json::Error,
    },
    /// The API server refused to apply or delete an object (its message is shown).
    #[error("{id}: {}", api_error(.source))]
    Write {
        /// The object.
        id: Box<ObjectId>,
        /// The API error.
        source: kube::Error,
    },
    /// An applied object could not be read back.
    #[error("read {id}: {}", api_error(.source))]
    Read {
        /// The object.
        id: Box<ObjectId>,
        /// The API error.
        source: kube::Error,
    },
    /// A CRD could not be read.
    #[error("CRD {name}: {source}")]
    Crd {
        /// The CRD's name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// A CRD did not report Established in time.
    #[error("CRD {name}: not Established within {} s", .timeout.as_secs())]
    NotEstablished {
        /// The CRD's name.
        name: String,
        /// How long it was given.
        timeout: Duration,
    },
}

/// What applying one object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It did not exist.
    Created,
    /// It existed and was changed.
    Configured,
    /// It held this desired state (its hash) but had been changed in the cluster since, and was
    /// put back: a self-heal.
    Healed,
    /// It already matched; nothing was written.
    Unchanged,
}

impl Applied {
    /// The word used in current/status.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            Applied::Created => "created",
            Applied::Configured => "configured",
            Applied::Healed => "healed",
            Applied::Unchanged => "unchanged",
        }
    }
}

/// Apply order: CRDs, Namespaces, other cluster-scoped kinds, namespaced kinds.
pub fn stage(api_version: &str, kind: &str, namespaced: bool) -> u8 {
    match (api_version, kind) {
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => 0,
        ("v1", "Namespace") => 1,
        _ if !namespaced => 2,
        _ => 3,
    }
}

/// The ORB's live objects of one kind, by (namespace, name).
pub type Owned = BTreeMap<(Option<String>, String), Value>;

/// Kinds resolved through discovery and the ORB's live objects listed once per sync.
pub struct Applier {
    client: kube::Client,
    orb: String,
    kinds: HashMap<(String, String), (ApiResource, ApiCapabilities)>,
    live: HashMap<(String, String), Owned>,
}

impl Applier {
    /// An applier for the ORB `orb` on `client`'s cluster.
    pub fn new(client: kube::Client, orb: &str) -> Applier {
        Applier {
            client,
            orb: orb.to_string(),
            kinds: HashMap::new(),
            live: HashMap::new(),
        }
    }

    /// Sets the ORB name (from orb.yaml) that labels what is applied.
    pub fn set_orb(&mut self, orb: &str) {
        self.orb = orb.to_string();
    }

    /// Forgets listed objects: at the start of a sync, and at its end, so that the ORB's live
    /// objects are not held between syncs (nothing reads them before the next sync lists again).
    pub fn forget_live(&mut self) {
        self.live.clear();
    }

    /// The resource of a kind, through discovery (misses are retried on each call, since a CRD
    /// applied a moment ago serves its kinds right after).
    pub async fn resolve(
        &mut self,
        api_version: &str,
        kind: &str,
    ) -> Option<(ApiResource, ApiCapabilities)> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.get(&key) {
            return Some(found.clone());
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .ok()?;
        self.kinds.insert(key, found.clone());
        Some(found)
    }

    /// The API of a resolved kind in `ns` (ignored for cluster-scoped kinds).
    pub fn api(
        &self,
        ar: &ApiResource,
        caps: &ApiCapabilities,
        ns: Option<&str>,
    ) -> Api<DynamicObject> {
        match (&caps.scope, ns) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, ar),
            (Scope::Namespaced, None) => Api::default_namespaced_with(self.client.clone(), ar),
            (Scope::Cluster, _) => Api::all_with(self.client.clone(), ar),
        }
    }

    /// The ORB's live objects of a kind (listed once per sync, by the ORB label).
    pub async fn owned(&mut self, api_version: &str, kind: &str) -> Result<&Owned, ApplyError> {
        let key = (api_version.to_string(), kind.to_string());
        if !self.live.contains_key(&key) {
            let (ar, _) =
                self.resolve(api_version, kind)
                    .await
                    .ok_or_else(|| ApplyError::KindNotServed {
                        api_version: api_version.to_string(),
                        kind: kind.to_string(),
                    })?;
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &ar);
            let params = ListParams::default().labels(&format!("{}={}", ORB_LABEL, self.orb));
            let list = api.list(&params).await.map_err(|source| ApplyError::List {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                source,
            })?;
            let objects = list
                .items
                .into_iter()
                .map(|o| {
                    let id = (
                        o.metadata.namespace.clone(),
                        o.metadata.name.clone().unwrap_or_default(),
                    );
                    (id, kept(o))
                })
                .collect();
            self.live.insert(key.clone(), objects);
        }
        Ok(&self.live[&key])
    }

    /// The live state of an object of the ORB as this sync saw it (listed, or as its apply
    /// answered), if any.
    pub fn live(&self, id: &ObjectId) -> Option<&Value> {
        self.live
            .get(&(id.api_version.clone(), id.kind.clone()))?
            .get(&(id.namespace.clone(), id.name.clone()))
    }

    /// Applies one desired object (labelled and hashed here) unless its live state already
    /// holds exactly this desired state.
    pub async fn apply(&mut self, id: &ObjectId, desired: &Value) -> Result<Applied, ApplyError> {
        self.apply_all(&[(id, desired)])
            .await
            .pop()
            .expect("one result per object")
    }

    /// Applies desired objects as [`Applier::apply`] does, up to [`IN_FLIGHT`] writes at once,
    /// with one result per object, in order. The objects must not need each other (one stage).
    pub async fn apply_all(
        &mut self,
        objects: &[(&ObjectId, &Value)],
    ) -> Vec<Result<Applied, ApplyError>> {
        let mut results: Vec<Option<Result<Applied, ApplyError>>> = Vec::new();
        let mut writes = Vec::new();
        for (at, (id, desired)) in objects.iter().enumerate() {
            results.push(match self.prepare(id, desired).await {
                Ok(Prepared::Unchanged) => Some(Ok(Applied::Unchanged)),
                Ok(Prepared::Write(write)) => {
                    writes.push((at, write));
                    None
                }
                Err(e) => Some(Err(e)),
            });
        }
        let patches: Vec<_> = writes
            .into_iter()
            .map(|(at, w)| async move {
                let after = w
                    .api
                    .patch(
                        &w.name,
                        &PatchParams::apply(FIELD_MANAGER).force(),
                        &Patch::Apply(&w.object),
                    )
                    .await;
                (at, w, after)
            })
            .collect();
        let mut done = futures::stream::iter(patches).buffer_unordered(IN_FLIGHT);
        while let Some((at, w, after)) = done.next().await {
            let id = objects[at].0;
            results[at] = Some(match after {
                Ok(after) => {
                    // The answer is the object as it is now: what its health is read from.
                    if let Some(objects) = self
                        .live
                        .get_mut(&(id.api_version.clone(), id.kind.clone()))
                    {
                        objects.insert((w.namespace, id.name.clone()), kept(after));
                    }
                    Ok(match (w.existed, w.same_desired) {
                        (true, true) => Applied::Healed,
                        (true, false) => Applied::Configured,
                        (false, _) => Applied::Created,
                    })
                }
                Err(source) => Err(ApplyError::Write {
                    id: Box::new(id.clone()),
                    source,
                }),
            });
        }
        results
            .into_iter()
            .map(|r| r.expect("every object has a result"))
            .collect()
    }

    /// What applying one object takes: nothing when its live state holds this desired state,
    /// else the write.
    async fn prepare(&mut self, id: &ObjectId, desired: &Value) -> Result<Prepared, ApplyError> {
        let (ar, caps) = self.resolved(id).await?;
        let namespace = match caps.scope {
            Scope::Namespaced => Some(id.namespace.clone().unwrap_or_else(|| "default".into())),
            Scope::Cluster => None,
        };
        let object = stamped(desired, &self.orb);
        let pointer = format!(
            "/metadata/annotations/{}",
            HASH_ANNOTATION.replace('/', "~1")
        );
        let live = self
            .owned(&id.api_version, &id.kind)
            .await?
            .get(&(namespace.clone(), id.name.clone()));
        let mut same_desired = false;
        if let Some(live) = live {
            same_desired = live.pointer(&pointer) == object.pointer(&pointer);
            if same_desired && contains(live, &object) {
                return Ok(Prepared::Unchanged);
            }
        }
        let existed = live.is_some();
        let object: DynamicObject =
            serde_json::from_value(object).map_err(|source| ApplyError::Object {
                id: Box::new(id.clone()),
                source,
            })?;
        Ok(Prepared::Write(Box::new(Write {
            api: self.api(&ar, &caps, namespace.as_deref()),
            name: id.name.clone(),
            namespace,
            object,
            existed,
            same_desired,
        })))
    }

    /// Reads an object of a kind this sync listed again (its health moves after it is
    /// applied); gone, it is forgotten.
    pub async fn refresh(&mut self, id: &ObjectId) -> Result<(), ApplyError> {
        let (ar, caps) = self.resolved(id).await?;
        let api = self.api(&ar, &caps, id.namespace.as_deref());
        let got = api
            .get_opt(&id.name)
            .await
            .map_err(|source| ApplyError::Read {
                id: Box::new(id.clone()),
                source,
            })?;
        // Only a kind already listed this sync: a partial list would hide objects from prune.
        let Some(objects) = self
            .live
            .get_mut(&(id.api_version.clone(), id.kind.clone()))
        else {
            return Ok(());
        };
        let key = (id.namespace.clone(), id.name.clone());
        match got.map(serde_json::to_value) {
            Some(Ok(value)) => {
                objects.insert(key, value);
            }
            _ => {
                objects.remove(&key);
            }
        }
        Ok(())
    }

    /// Deletes an object the ORB owns (background propagation).
    pub async fn delete(&mut self, id: &ObjectId) -> Result<(), ApplyError> {
        let (ar, caps) = self.resolved(id).await?;
        let api = self.api(&ar, &caps, id.namespace.as_deref());
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match api.delete(&id.name, &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(source) => Err(ApplyError::Write {
                id: Box::new(id.clone()),
                source,
            }),
        }
    }

    /// The resource of an object's kind, or why there is none.
    async fn resolved(
        &mut self,
        id: &ObjectId,
    ) -> Result<(ApiResource, ApiCapabilities), ApplyError> {
        self.resolve(&id.api_version, &id.kind)
            .await
            .ok_or_else(|| ApplyError::ObjectKindNotServed {
                id: Box::new(id.clone()),
            })
    }

    /// Waits until the CRD named `name` reports Established (or `timeout` passes).
    pub async fn wait_established(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<(), ApplyError> {
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let crd = api.get_opt(name).await.map_err(|source| ApplyError::Crd {
                name: name.to_string(),
                source,
            })?;
            let established = crd
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApplyError::NotEstablished {
                    name: name.to_string(),
                    timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Writes one sync has in flight at once.
const IN_FLIGHT: usize = 16;

/// What applying one object takes.
enum Prepared {
    /// Its live state holds the desired state.
    Unchanged,
    /// It must be written.
    Write(Box<Write>),
}

/// One server-side apply of a sync.
struct Write {
    api: Api<DynamicObject>,
    name: String,
    /// Its namespace (none for cluster-scoped kinds).
    namespace: Option<String>,
    object: DynamicObject,
    /// It was in the cluster before.
    existed: bool,
    /// Its live state carries this desired state's hash.
    same_desired: bool,
}

/// A live object as a sync keeps it: without its managedFields, which nothing reads and which
/// are most of its size.
fn kept(mut object: DynamicObject) -> Value {
    object.metadata.managed_fields = None;
    serde_json::to_value(object).expect("objects serialize")
}

/// The object with the ORB label and the hash annotation of its desired content.
pub fn stamped(desired: &Value, orb: &str) -> Value {
    hashed(labelled(desired, orb))
}

/// The object with [`HASH_ANNOTATION`] set to a hash of its content (as given).
pub fn hashed(mut object: Value) -> Value {
    let hash = hash_of(&object);
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(HASH_ANNOTATION.into(), hash.into());
        }
    }
    object
}

/// A short hex hash of an object's JSON.
fn hash_of(object: &Value) -> String {
    let digest = Sha256::digest(serde_json::to_vec(object).expect("values serialize"));
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether every field of `want` is present in `have` with the same value (lists element-wise).
pub fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w.iter().all(|(k, wv)| {
            h.get(k).is_some_and(|hv| contains(hv, wv)) || (wv.is_null() && !h.contains_key(k))
        }),
        (Value::Array(h), Value::Array(w)) => {
            h.len() == w.len() && h.iter().zip(w).all(|(a, b)| contains(a, b))
        }
        (Value::Number(h), Value::Number(w)) => h.as_f64() == w.as_f64(),
        _ => have == want,
    }
}

/// Server-side applies `patch` to the object `name` of `api` (to its `subresource`, e.g.
/// `status`, when given) and reads the answer only for its status: for writers that need to
/// know that the write went through, not what the object became (the answer, managedFields and
/// all, is not decoded).
pub async fn apply_unread<K, P>(
    api: &Api<K>,
    subresource: Option<&str>,
    name: &str,
    params: &PatchParams,
    patch: &P,
) -> Result<(), kube::Error>
where
    K: kube::Resource + Clone,
    P: serde::Serialize + std::fmt::Debug,
{
    let request = kube::core::Request::new(api.resource_url());
    let patch = Patch::Apply(patch);
    let mut req = match subresource {
        Some(sub) => request.patch_subresource(sub, name, params, &patch),
        None => request.patch(name, params, &patch),
    }
    .map_err(kube::Error::BuildRequest)?;
    req.extensions_mut().insert(match subresource {
        Some(_) => "patch_subresource",
        None => "patch",
    });
    api.clone().into_client().request_text(req).await.map(drop)
}

/// The API server's message for an API error, else the error itself.
pub fn api_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containment_ignores_server_added_fields() {
        let live = json!({"metadata": {"name": "a", "uid": "u"}, "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}});
        assert!(contains(
            &live,
            &json!({"metadata": {"name": "a"}, "spec": {"ports": [{"port": 80}]}})
        ));
        assert!(!contains(
            &live,
            &json!({"spec": {"ports": [{"port": 81}]}})
        ));
        assert!(!contains(
            &live,
            &json!({"spec": {"ports": [{"port": 80}, {"port": 81}]}})
        ));
        assert!(!contains(&live, &json!({"spec": {"missing": 1}})));
    }

    #[test]
    fn stamping_labels_and_hashes_deterministically() {
        let d = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
        let a = stamped(&d, "alpha");
        assert_eq!(a["metadata"]["labels"]["orbdeck.io/orb"], "alpha");
        assert_eq!(a, stamped(&d, "alpha"));
        let changed = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "w"}});
        assert_ne!(
            a["metadata"]["annotations"][HASH_ANNOTATION],
            stamped(&changed, "alpha")["metadata"]["annotations"][HASH_ANNOTATION]
        );
        assert_eq!(stage("v1", "Namespace", false), 1);
        assert_eq!(
            stage("apiextensions.k8s.io/v1", "CustomResourceDefinition", false),
            0
        );
        assert_eq!(
            stage("rbac.authorization.k8s.io/v1", "ClusterRole", false),
            2
        );
        assert_eq!(stage("v1", "ConfigMap", true), 3);
    }
}
