//! The orchestrator API of seed 003, served by `orbdeck engine --orchestrator-listen`: `POST
//! /start` and `POST /stop` create and delete Environments (the environments family renders
//! them), `GET /environments` lists them, `/healthz` answers without a token. Every other
//! request needs the bearer token of a Secret (compared in constant time). Bodies are JSON of at
//! most 64 KB read within 10 s, headers within 10 s, each connection on its own task, so no
//! client (malformed, huge or slow) keeps the server from answering the others.

use super::desired::{REPL_ID_LABEL, languages, repl_id_problem, serves_namespace};
use super::from_git;
use crate::controllers::runtime::watch;
use crate::model::{AddonTemplate, Environment, EnvironmentSpec};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::{BodyExt, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams, Preconditions};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// How long a client may take to send a request's headers, and then its body (by default).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the token Secret is read again (a rotated token is taken within this).
const TOKEN_REFRESH: Duration = Duration::from_secs(5);
/// The key of the token in its Secret.
pub const TOKEN_KEY: &str = "token";
/// Field manager of the Environments the API creates.
pub const API_MANAGER: &str = "orbdeck-orchestrator";
/// How many connections are served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 1024;
/// How long a request waits for the caches right after start.
const CACHE_WAIT: Duration = Duration::from_secs(5);

/// Where and how the API is served.
#[derive(Clone, Debug)]
pub struct ApiOptions {
    /// The address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The namespace of the Environments `/start` creates and `/stop` deletes.
    pub namespace: String,
    /// The namespace of the token Secret (the engine's).
    pub token_namespace: String,
    /// The name of the Secret whose key `token` is the bearer token.
    pub token_secret: String,
    /// How long a client may take to send a request's headers, and then its body.
    pub read_timeout: Duration,
}

/// What the handlers share.
#[derive(Clone)]
struct App {
    client: kube::Client,
    namespace: String,
    read_timeout: Duration,
    token: Arc<RwLock<Token>>,
    templates: Store<AddonTemplate>,
    environments: Store<Environment>,
    namespaces: Store<Namespace>,
}

/// The token as the last read of its Secret found it.
enum Token {
    /// Its SHA-256.
    Present([u8; 32]),
    /// Why there is none (every request is refused).
    Missing(String),
}

/// Starts the API; returns the address it listens on. It runs until `stop`.
pub async fn start(
    client: kube::Client,
    options: ApiOptions,
    stop: CancellationToken,
) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("{}: {e}", options.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &options.token_namespace);
    let what = format!(
        "Secret {}/{} (key {TOKEN_KEY})",
        options.token_namespace, options.token_secret
    );
    let token = Arc::new(RwLock::new(
        read_token(&secrets, &options.token_secret, &what).await,
    ));
    if let Token::Missing(why) = &*lock_read(&token) {
        tracing::warn!("orchestrator API: {why}; every request is refused (401) until it is there");
    }
    tokio::spawn(refresh_token(
        secrets,
        options.token_secret.clone(),
        what,
        token.clone(),
        stop.clone(),
    ));
    let app = App {
        templates: watch::source(Api::all(client.clone()), &stop).store(),
        environments: watch::source(Api::all(client.clone()), &stop).store(),
        namespaces: watch::source(Api::all(client.clone()), &stop).store(),
        client,
        namespace: options.namespace.clone(),
        read_timeout: options.read_timeout,
        token,
    };
    let router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/start", post(start_environment))
        .route("/stop", post(stop_environment))
        .route("/environments", get(list_environments))
        .fallback(|| async { Refusal::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(app);
    tracing::info!(%bound, namespace = %options.namespace, "orchestrator API listening");
    tokio::spawn(serve(listener, router, options.read_timeout, stop));
    Ok(bound)
}

/// Accepts connections until `stop`, each served on its own task with the read timeouts.
async fn serve(listener: TcpListener, router: Router, timeout: Duration, stop: CancellationToken) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let tcp = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!("orchestrator API: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (router, stop) = (router.clone(), stop.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(timeout);
            let conn =
                builder.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(router));
            tokio::select! {
                _ = conn => {}
                _ = stop.cancelled() => {}
            }
        });
    }
}

async fn read_token(secrets: &Api<Secret>, name: &str, what: &str) -> Token {
    match secrets.get_opt(name).await {
        Ok(Some(secret)) => match secret.data.and_then(|d| d.get(TOKEN_KEY).cloned()) {
            Some(bytes) if !bytes.0.trim_ascii().is_empty() => {
                Token::Present(Sha256::digest(bytes.0.trim_ascii()).into())
            }
            _ => Token::Missing(format!("{what} holds no token")),
        },
        Ok(None) => Token::Missing(format!("{what} does not exist")),
        Err(e) => Token::Missing(format!(
            "{what} cannot be read: {}",
            crate::apply::api_error(&e)
        )),
    }
}

/// Reads the token Secret again every [`TOKEN_REFRESH`], saying when it appears or goes.
async fn refresh_token(
    secrets: Api<Secret>,
    name: String,
    what: String,
    token: Arc<RwLock<Token>>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TOKEN_REFRESH) => {}
        }
        let fresh = read_token(&secrets, &name, &what).await;
        let mut held = token.write().unwrap_or_else(|e| e.into_inner());
        match (&*held, &fresh) {
            (Token::Missing(_), Token::Present(_)) => {
                tracing::info!("orchestrator API: {what} found; requests are served");
            }
            (Token::Present(_), Token::Missing(why)) => {
                tracing::warn!("orchestrator API: {why}; every request is refused (401)");
            }
            _ => {}
        }
        *held = fresh;
    }
}

/// A refused request: its status code, what is wrong, and the body field at fault.
#[derive(Debug)]
struct Refusal {
    code: StatusCode,
    error: String,
    field: Option<&'static str>,
}

impl Refusal {
    fn new(code: StatusCode, error: impl Into<String>) -> Refusal {
        Refusal {
            code,
            error: error.into(),
            field: None,
        }
    }

    /// A 400 naming `field`.
    fn field(field: &'static str, error: impl Into<String>) -> Refusal {
        Refusal {
            field: Some(field),
            ..Refusal::new(StatusCode::BAD_REQUEST, error)
        }
    }

    /// A 500 with the Kubernetes API's message.
    fn kubernetes(e: &kube::Error) -> Refusal {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::apply::api_error(e),
        )
    }
}

/// `{"success": false, "error": ..., "field": ...}`, with the Bearer challenge on a 401.
impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut body = json!({"success": false, "error": self.error});
        if let Some(field) = self.field {
            body["field"] = json!(field);
        }
        let mut r = (self.code, axum::Json(body)).into_response();
        if self.code == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Bearer".parse().expect("a header"),
            );
        }
        r
    }
}

/// The token check: 401 without an `Authorization: Bearer` header or with a wrong token.
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Refusal> {
    let refuse = |why: String| Err(Refusal::new(StatusCode::UNAUTHORIZED, why));
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(given) = given else {
        return refuse("an Authorization: Bearer token is required".into());
    };
    let given: [u8; 32] = Sha256::digest(given.trim().as_bytes()).into();
    match &*lock_read(&app.token) {
        Token::Missing(why) => refuse(format!("no token is configured: {why}")),
        Token::Present(want) if bool::from(want.ct_eq(&given)) => Ok(()),
        Token::Present(_) => refuse("the bearer token is wrong".into()),
    }
}

/// The request's JSON object, after the token, Content-Type and size checks.
async fn json_body(
    app: &App,
    headers: &HeaderMap,
    body: Body,
) -> Result<Map<String, Value>, Refusal> {
    authorize(app, headers)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type must be application/json, not {:?}",
                crate::text::sanitize(content_type)
            ),
        ));
    }
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {} KB", MAX_BODY / 1024),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(app.read_timeout, Limited::new(body, MAX_BODY).collect()).await;
    let bytes = match read {
        Err(_) => {
            return Err(Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("the body was not sent within {:?}", app.read_timeout),
            ));
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Ok(Err(e)) => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("the body could not be read: {e}"),
            ));
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
        Err(e) => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {e}"),
        )),
    }
}

/// The string field `name` of the body, or the 400 naming it.
fn text_field<'a>(body: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, Refusal> {
    match body.get(name) {
        None | Some(Value::Null) => Err(Refusal::field(name, format!("{name} is required"))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Refusal::field(name, format!("{name} must be a string"))),
    }
}

/// The body's valid replId, or the 400 naming it.
fn repl_id(body: &Map<String, Value>) -> Result<String, Refusal> {
    let repl_id = text_field(body, "replId")?;
    match repl_id_problem(repl_id) {
        Some(p) => Err(Refusal::field(
            "replId",
            format!("replId {:?}: {p}", crate::text::sanitize(repl_id)),
        )),
        None => Ok(repl_id.to_owned()),
    }
}

/// Waits (briefly, right after start) until the caches have listed their kinds.
async fn settle(app: &App) {
    let _ = tokio::time::timeout(CACHE_WAIT, async {
        let _ = app.templates.wait_until_ready().await;
        let _ = app.environments.wait_until_ready().await;
        let _ = app.namespaces.wait_until_ready().await;
    })
    .await;
}

/// The languages the environment templates serve in the API's namespace, sorted.
fn served_languages(app: &App) -> Vec<String> {
    let ns = app.namespaces.get(&ObjectRef::new(&app.namespace));
    let mut all: Vec<String> = app
        .templates
        .state()
        .iter()
        .filter(|t| serves_namespace(t, ns.as_deref()))
        .flat_map(|t| languages(t).to_vec())
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The cached Environment of the API's namespace whose replId is `repl_id`.
fn cached(app: &App, repl_id: &str) -> Option<Arc<Environment>> {
    app.environments.state().into_iter().find(|e| {
        e.metadata.namespace.as_deref() == Some(&app.namespace) && e.spec.repl_id == repl_id
    })
}

/// `{"success": true, "podCreated": ...}`.
fn created(pod_created: bool) -> Response {
    axum::Json(json!({"success": true, "podCreated": pod_created})).into_response()
}

/// `POST /start {"replId", "language"}`: creates the Environment named by the replId, or keeps
/// the one there is (a create that meets 409 AlreadyExists lost a race, and keeps it too).
async fn start_environment(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let body = json_body(&app, &headers, body).await?;
    let repl_id = repl_id(&body)?;
    let language = text_field(&body, "language")?.to_owned();
    settle(&app).await;
    let served = served_languages(&app);
    if !served.contains(&language) {
        let served = if served.is_empty() {
            "none".to_owned()
        } else {
            served.join(", ")
        };
        return Err(Refusal::field(
            "language",
            format!(
                "language {:?} is not served by any AddonTemplate in namespace {} (served: \
                 {served})",
                crate::text::sanitize(&language),
                app.namespace,
            ),
        ));
    }
    if cached(&app, &repl_id).is_some() {
        return Ok(created(false));
    }
    let env = Environment {
        metadata: ObjectMeta {
            name: Some(repl_id.clone()),
            namespace: Some(app.namespace.clone()),
            labels: Some([(REPL_ID_LABEL.to_owned(), repl_id.clone())].into()),
            ..Default::default()
        },
        spec: EnvironmentSpec {
            repl_id: repl_id.clone(),
            language: language.clone(),
            template: None,
            env: Vec::new(),
        },
        status: None,
    };
    let api: Api<Environment> = Api::namespaced(app.client.clone(), &app.namespace);
    let params = PostParams {
        field_manager: Some(API_MANAGER.into()),
        ..Default::default()
    };
    match api.create(&params, &env).await {
        Ok(_) => {
            tracing::info!(%repl_id, %language, namespace = %app.namespace, "orchestrator: environment created");
            Ok(created(true))
        }
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(created(false)),
        Err(e) => {
            let refusal = Refusal::kubernetes(&e);
            tracing::warn!(%repl_id, error = %refusal.error, "orchestrator: creating an environment failed");
            Err(refusal)
        }
    }
}

/// `POST /stop {"replId"}`: deletes the Environment (the garbage collector its objects), unless
/// it comes from desired/ (409).
async fn stop_environment(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let body = json_body(&app, &headers, body).await?;
    let repl_id = repl_id(&body)?;
    let api: Api<Environment> = Api::namespaced(app.client.clone(), &app.namespace);
    let failed = |e: &kube::Error| {
        let refusal = Refusal::kubernetes(e);
        tracing::warn!(%repl_id, error = %refusal.error, "orchestrator: deleting an environment failed");
        refusal
    };
    let found = match api.get_opt(&repl_id).await {
        Ok(Some(env)) => Some(env),
        Ok(None) => {
            settle(&app).await;
            cached(&app, &repl_id).map(|e| (*e).clone())
        }
        Err(e) => return Err(failed(&e)),
    };
    let unknown = || axum::Json(json!({"success": true, "existed": false})).into_response();
    let Some(env) = found else {
        return Ok(unknown());
    };
    let name = env.metadata.name.clone().unwrap_or_default();
    if from_git(&env) {
        return Err(Refusal {
            field: Some("replId"),
            ..Refusal::new(
                StatusCode::CONFLICT,
                format!(
                    "Environment {}/{name} comes from desired/ in the ORB repo: remove it there",
                    app.namespace
                ),
            )
        });
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: env.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match api.delete(&name, &params).await {
        Ok(_) => {
            tracing::info!(%repl_id, namespace = %app.namespace, "orchestrator: environment deleted");
            Ok(axum::Json(json!({"success": true})).into_response())
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(unknown()),
        Err(e) => Err(failed(&e)),
    }
}

/// `GET /environments`: every Environment with its runner pod's phase and host.
async fn list_environments(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    authorize(&app, &headers)?;
    settle(&app).await;
    let mut envs = app.environments.state();
    envs.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    let listed: Vec<Value> = envs
        .iter()
        .map(|e| {
            let status = e.status.clone().unwrap_or_default();
            json!({
                "namespace": e.metadata.namespace,
                "name": e.metadata.name,
                "replId": e.spec.repl_id,
                "language": e.spec.language,
                "source": if from_git(e) { "desired" } else { "api" },
                "phase": status.phase,
                "pod": status.pod,
                "host": status.host,
            })
        })
        .collect();
    Ok(axum::Json(json!({"success": true, "environments": listed})).into_response())
}

fn lock_read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}
