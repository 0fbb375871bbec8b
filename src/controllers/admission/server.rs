//! The HTTPS server of the webhooks: AdmissionReview v1 in, a JSONPatch (or a denial) out,
//! answered from watch-fed caches only, never an API request or a registry on the request
//! path. A webhook that fails (its caches not filled yet, a PodSetting it cannot use, a panic)
//! admits the pod unchanged and records the problem: a pod is never lost to orbdeck.

use super::report::Problems;
use super::{pod, pod_defaults, pod_settings};
use crate::controllers::images::admission::ImageAdmission;
use crate::controllers::pod_settings::desired::TEAM_LABEL;
use crate::model::{PodDefault, PodSetting};
use axum::Json;
use axum::extract::State;
use axum::routing::post;
use futures::FutureExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use k8s_openapi::api::core::v1::Namespace;
use kube::core::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::Value;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Path of the PodSettings webhook.
pub const PODSETTINGS_PATH: &str = "/mutate/podsettings";
/// Path of the PodDefaults webhook.
pub const PODDEFAULTS_PATH: &str = "/mutate/poddefaults";
/// Path of the image webhook (seed 000's pod-image-updater).
pub const IMAGES_PATH: &str = "/mutate/images";

/// What the handlers read: the caches, and where problems go.
#[derive(Clone)]
pub struct Caches {
    /// Every PodSetting.
    pub settings: Store<PodSetting>,
    /// Every PodDefault.
    pub defaults: Store<PodDefault>,
    /// Every namespace (for its team label).
    pub namespaces: Store<Namespace>,
    /// Problems met while answering, for current/ and Events.
    pub problems: Arc<Problems>,
    /// The image webhook's caches and its queue of ImageReplications to create.
    pub images: ImageAdmission,
}

/// Serves the webhooks on `listener` with TLS from `tls` until `stop`.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    caches: Caches,
    stop: CancellationToken,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let app = axum::Router::new()
        .route(PODSETTINGS_PATH, post(podsettings))
        .route(PODDEFAULTS_PATH, post(poddefaults))
        .route(IMAGES_PATH, post(images))
        .with_state(caches);
    loop {
        let (tcp, _) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("webhook server: accept failed: {e}");
                    continue;
                }
            },
        };
        let (acceptor, app, stop) = (acceptor.clone(), app.clone(), stop.clone());
        tokio::spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!("webhook server: TLS handshake failed: {e}");
                    return;
                }
            };
            let service = TowerToHyperService::new(app);
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

type Review = Json<AdmissionReview<DynamicObject>>;

async fn podsettings(State(caches): State<Caches>, Json(review): Review) -> Json<Value> {
    settle_caches(&caches).await;
    let answered = answer(review, |request| {
        let ns = request.namespace.clone().unwrap_or_default();
        let Some(team) = team_of(&caches.namespaces, &ns) else {
            return Ok(None);
        };
        let settings: Vec<Arc<PodSetting>> = ready(&caches.settings, "PodSettings")?
            .into_iter()
            .filter(|s| s.metadata.namespace.as_deref() == Some(team.as_str()))
            .collect();
        let refs: Vec<&PodSetting> = settings.iter().map(AsRef::as_ref).collect();
        let before = object(request);
        let (after, applied, errors) = pod_settings::apply(before.clone(), &refs);
        for e in errors {
            caches
                .problems
                .record(PODSETTINGS_PATH, &ns, pod_name(request), &e);
        }
        Ok((!applied.is_empty()).then(|| Verdict::Patch(pod::patch(&before, &after))))
    });
    Json(caches.problems.settle(PODSETTINGS_PATH, answered))
}

async fn poddefaults(State(caches): State<Caches>, Json(review): Review) -> Json<Value> {
    settle_caches(&caches).await;
    let answered = answer(review, |request| {
        let ns = request.namespace.clone().unwrap_or_default();
        let defaults: Vec<Arc<PodDefault>> = ready(&caches.defaults, "PodDefaults")?
            .into_iter()
            .filter(|d| d.metadata.namespace.as_deref() == Some(ns.as_str()) && !mirrors(d))
            .collect();
        let refs: Vec<&PodDefault> = defaults.iter().map(AsRef::as_ref).collect();
        let before = object(request);
        Ok(match pod_defaults::apply(&before, &refs) {
            pod_defaults::Outcome::Unchanged => None,
            pod_defaults::Outcome::Applied(after, _) => {
                Some(Verdict::Patch(pod::patch(&before, &after)))
            }
            pod_defaults::Outcome::Conflict(message) => Some(Verdict::Deny(message)),
        })
    });
    Json(caches.problems.settle(PODDEFAULTS_PATH, answered))
}

async fn images(State(caches): State<Caches>, Json(review): Review) -> Json<Value> {
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(r) => r,
        Err(e) => return Json(to_json(AdmissionResponse::invalid(e).into_review())),
    };
    let reviewed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        caches.images.review(&request)
    }));
    let response = match reviewed {
        Ok(r) => r,
        Err(_) => {
            caches.problems.record(
                IMAGES_PATH,
                request.namespace.as_deref().unwrap_or_default(),
                pod_name(&request),
                "the webhook panicked; the pod was admitted unchanged",
            );
            AdmissionResponse::from(&request)
        }
    };
    Json(to_json(response.into_review()))
}

/// Right after the engine starts, the caches may not be filled yet: a request waits for them
/// for at most [`CACHE_WAIT`] (well within the API server's 5 s), then is answered either way.
async fn settle_caches(caches: &Caches) {
    let _ = tokio::time::timeout(CACHE_WAIT, async {
        let _ = caches.settings.wait_until_ready().await;
        let _ = caches.defaults.wait_until_ready().await;
        let _ = caches.namespaces.wait_until_ready().await;
    })
    .await;
}

/// How long a request waits for caches that are not filled yet.
const CACHE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What a webhook decided for one pod.
enum Verdict {
    Patch(json_patch::Patch),
    Deny(String),
}

/// The outcome of answering one review: the response, and the problem met (if any) with the
/// pod it was met on.
pub struct Answered {
    /// The AdmissionReview to send back.
    pub review: Value,
    /// What went wrong, with the pod's namespace and name: the pod was admitted unchanged.
    pub problem: Option<(String, String, String)>,
}

/// Runs `decide` on a Pod CREATE (anything else is admitted unchanged); an error or a panic in
/// it admits the pod unchanged too, and is returned as the problem.
fn answer(
    review: AdmissionReview<DynamicObject>,
    decide: impl FnOnce(&AdmissionRequest<DynamicObject>) -> Result<Option<Verdict>, String>,
) -> Answered {
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(r) => r,
        Err(e) => {
            return Answered {
                review: to_json(AdmissionResponse::invalid(e).into_review()),
                problem: None,
            };
        }
    };
    let allowed = AdmissionResponse::from(&request);
    if request.operation != Operation::Create || request.kind.kind != "Pod" {
        return Answered {
            review: to_json(allowed.into_review()),
            problem: None,
        };
    }
    let decided = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide(&request)))
        .unwrap_or_else(|_| Err("the webhook panicked; the pod was admitted unchanged".into()));
    let (response, problem) = match decided {
        Ok(None) => (allowed, None),
        Ok(Some(Verdict::Deny(message))) => (allowed.deny(message), None),
        Ok(Some(Verdict::Patch(patch))) if patch.0.is_empty() => (allowed, None),
        Ok(Some(Verdict::Patch(patch))) => match allowed.clone().with_patch(patch) {
            Ok(r) => (r, None),
            Err(e) => (allowed, Some(e.to_string())),
        },
        Err(e) => (allowed, Some(e)),
    };
    Answered {
        review: to_json(response.into_review()),
        problem: problem.map(|p| {
            (
                request.namespace.clone().unwrap_or_default(),
                pod_name(&request).to_owned(),
                p,
            )
        }),
    }
}

fn to_json(review: AdmissionReview<DynamicObject>) -> Value {
    serde_json::to_value(review).unwrap_or(Value::Null)
}

/// The pod of the request as JSON, as it came.
fn object(request: &AdmissionRequest<DynamicObject>) -> Value {
    request
        .object
        .as_ref()
        .and_then(|o| serde_json::to_value(o).ok())
        .unwrap_or(Value::Null)
}

/// The pod's name, or its generateName prefix when the API server has not named it yet.
fn pod_name(request: &AdmissionRequest<DynamicObject>) -> &str {
    let meta = request.object.as_ref().map(|o| &o.metadata);
    meta.and_then(|m| m.name.as_deref())
        .or_else(|| meta.and_then(|m| m.generate_name.as_deref()))
        .unwrap_or(request.name.as_str())
}

/// Whether a PodDefault is the pod-settings family's mirror of a PodSetting: the PodSettings
/// webhook applies the PodSetting itself (with its container selector), so the mirror, there
/// for Kubeflow's notebook form, is not applied a second time.
fn mirrors(d: &PodDefault) -> bool {
    d.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(crate::controllers::FAMILY_LABEL))
        .is_some_and(|f| f == crate::controllers::pod_settings::FAMILY)
}

/// The team of namespace `ns` (its `orbdeck.io/team` label), if any.
fn team_of(namespaces: &Store<Namespace>, ns: &str) -> Option<String> {
    let namespace = namespaces.get(&ObjectRef::new(ns))?;
    namespace.metadata.labels.as_ref()?.get(TEAM_LABEL).cloned()
}

/// The cached objects, or why the cache cannot answer yet.
fn ready<K>(store: &Store<K>, what: &str) -> Result<Vec<Arc<K>>, String>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
{
    match store.wait_until_ready().now_or_never() {
        Some(Ok(())) => Ok(store.state()),
        _ => Err(format!(
            "{what} are not cached yet (is the CRD installed?); the pod was admitted unchanged"
        )),
    }
}
