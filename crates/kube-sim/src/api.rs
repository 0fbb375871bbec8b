//! The HTTP face of a simulated cluster: authentication, request counting, and the verbs
//! (get, list, watch, create, update, patch, delete) dispatched from parsed routes.
#![deny(clippy::indexing_slicing)]

use super::cluster::Cluster;
use super::resources::ResourceType;
use super::routes::{self, ObjectPath, Route};
use super::selector::{self, FieldSelector, LabelSelector};
use super::status::ApiError;
use super::write::{self, Attempt, Propagation, WriteOpts};
use super::{
    apply, auth, discovery, eviction, logs_api, object, openapi_glue, strategic, table, watch,
};
use axum::body::to_bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest request body accepted, as the real API server (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Query parameters of a request.
pub type Query = HashMap<String, String>;

/// The single entry point for every request to a simulated cluster.
pub async fn handle(State(c): State<Arc<Cluster>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let query: Query = parts.uri.query().map(url_decode_pairs).unwrap_or_default();
    let path = parts.uri.path().to_string();
    let route = routes::parse(&path);
    let user = match auth::authenticate(&c, &parts.headers) {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    let attributes = match &route {
        Some(Route::Object(p)) => {
            let mut a = auth::Attributes::resource(
                verb_of(&parts.method, p, &query),
                &p.group,
                &p.plural,
                p.namespace.as_deref(),
            );
            a.subresource = p.sub.clone();
            a.name = p.name.clone();
            // A list or watch of one name (fieldSelector=metadata.name=N) is a request for N,
            // as Kubernetes' RequestInfo has it, so resourceNames rules allow it.
            if a.name.is_none() && matches!(a.verb.as_str(), "list" | "watch") {
                a.name = query
                    .get("fieldSelector")
                    .and_then(|f| f.strip_prefix("metadata.name="))
                    .map(|n| n.trim_start_matches('=').to_string())
                    .filter(|n| !n.contains(','));
            }
            // A Namespace is in itself, as Kubernetes' RequestInfo has it.
            if p.plural == "namespaces" && p.group.is_empty() {
                a.namespace = p.name.clone();
            }
            a
        }
        _ => auth::Attributes::path(&parts.method.as_str().to_lowercase(), &path),
    };
    if let Err(e) = auth::authorize(&c, &user, &attributes) {
        return e.into_response();
    }
    // Read past the limit (bounded) so the client can finish sending before it gets the 413.
    let body = match to_bytes(body, MAX_BODY * 8).await {
        Ok(b) if b.len() <= MAX_BODY => b,
        _ => {
            return ApiError::new(
                413,
                "RequestEntityTooLarge",
                format!("Request entity too large: limit is {MAX_BODY}"),
            )
            .into_response();
        }
    };
    let Some(route) = route else {
        return ApiError::no_route(&path).into_response();
    };
    let agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown")
        .to_string();
    let result = match route {
        Route::Version => Ok(json_response(&discovery::version())),
        Route::Health => Ok((StatusCode::OK, "ok").into_response()),
        Route::CoreVersions => {
            let url = c.url.lock().map(|u| u.clone()).unwrap_or_default();
            let addr = url.trim_start_matches("https://").to_string();
            Ok(json_response(&discovery::core_versions(&addr)))
        }
        Route::Groups => Ok(json_response(&discovery::groups(&c.store.read().registry))),
        Route::Group(g) => discovery::group(&c.store.read().registry, &g)
            .map(|v| json_response(&v))
            .ok_or_else(|| ApiError::no_route(&path)),
        Route::Resources(g, v) => discovery::resources(&c.store.read().registry, &g, &v)
            .map(|v| json_response(&v))
            .ok_or_else(|| ApiError::no_route(&path)),
        Route::OpenApiV2 => openapi_glue::v2(&c, &parts.headers),
        Route::OpenApiV3Root => Ok(openapi_glue::v3_root(&c)),
        Route::OpenApiV3(g, v) => openapi_glue::v3(&c, &g, &v),
        Route::SimRequests => {
            let counts = c.counts.lock().map(|m| m.clone()).unwrap_or_default();
            Ok(json_response(&json!(counts)))
        }
        Route::SimCompact => {
            c.store.compact();
            Ok(json_response(&json!({"compactedTo": c.store.read().rv})))
        }
        Route::SimLog { namespace, pod } if parts.method == Method::POST => {
            logs_api::append_request(&c, &namespace, &pod, &query, &body)
        }
        Route::SimLog { .. } => Err(ApiError::method_not_allowed(parts.method.as_str())),
        Route::Object(p) => {
            let request = Request {
                method: &parts.method,
                headers: &parts.headers,
                query: &query,
                agent: &agent,
                user: &user,
            };
            if p.group == crate::events_api::GROUP && parts.method != Method::GET {
                events_api_write(&c, &request, p, body).await
            } else {
                object_request(&c, &request, p, body).await
            }
        }
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

/// A write through `events.k8s.io/v1`: the body in the core form, written as a core Event, and
/// the answer in the newer form again (reads are served by [`ResourceType::serve`]).
async fn events_api_write(
    c: &Arc<Cluster>,
    r: &Request<'_>,
    mut p: ObjectPath,
    body: bytes::Bytes,
) -> Result<Response, ApiError> {
    let headers = r.headers;
    let body = if body.is_empty() {
        body
    } else {
        let event = crate::events_api::to_core(parse_body(&body, headers)?);
        bytes::Bytes::from(event.to_string())
    };
    let mut headers = headers.clone();
    if headers.get(header::CONTENT_TYPE).is_some_and(|t| {
        t.to_str()
            .is_ok_and(|t| t.contains("yaml") || t.contains("protobuf"))
    }) {
        headers.insert(
            header::CONTENT_TYPE,
            "application/json".parse().expect("a header value"),
        );
    }
    p.group = String::new();
    let core = Request {
        headers: &headers,
        ..*r
    };
    let answer = object_request(c, &core, p, body).await?;
    let status = answer.status();
    let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the answer: {e}")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if object::at(&v, &["kind"]) == "Event" => {
            Ok(json_with(status, &crate::events_api::to_events(v)))
        }
        _ => Ok((status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()),
    }
}

fn url_decode_pairs(q: &str) -> Query {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a resource request's handlers need to know of it.
struct Request<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    query: &'a Query,
    agent: &'a str,
    user: &'a auth::User,
}

/// A JSON response with status 200.
pub fn json_response(v: &Value) -> Response {
    json_with(StatusCode::OK, v)
}

/// A JSON response with the given status.
pub fn json_with(code: StatusCode, v: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(v).unwrap_or_default(),
    )
        .into_response()
}

fn verb_of(method: &Method, p: &ObjectPath, query: &Query) -> &'static str {
    match (method.as_str(), p.name.is_some()) {
        ("GET", false) if is_true(query.get("watch")) => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "other",
    }
}

fn is_true(v: Option<&String>) -> bool {
    matches!(v.map(String::as_str), Some("1" | "true"))
}

async fn object_request(
    c: &Arc<Cluster>,
    r: &Request<'_>,
    p: ObjectPath,
    body: bytes::Bytes,
) -> Result<Response, ApiError> {
    let Request {
        method,
        headers,
        query,
        agent,
        user,
    } = *r;
    let verb = verb_of(method, &p, query);
    let resource = match &p.sub {
        Some(sub) => format!("{}/{}", p.plural, sub),
        None => p.plural.clone(),
    };
    c.count(verb, &resource, agent);
    if *method == Method::POST && auth::reviews::is_review(&p.group, &p.plural) {
        let body = parse_body(&body, headers)?;
        let answer = auth::reviews::review(c, &p.plural, p.namespace.as_deref(), user, body)?;
        return Ok(json_with(StatusCode::CREATED, &answer));
    }
    let rt = c
        .store
        .read()
        .registry
        .get(&p.group, &p.version, &p.plural)
        .ok_or_else(|| ApiError::no_route(&format!("{} {}", p.group, p.plural)))?;
    let ns = if rt.namespaced {
        match (&p.namespace, p.name.is_some() || method != Method::GET) {
            (Some(ns), _) => ns.clone(),
            (None, true) if method == Method::POST || p.name.is_some() => {
                return Err(ApiError::no_route(&format!(
                    "{} requires a namespace",
                    p.plural
                )));
            }
            (None, _) => String::new(),
        }
    } else {
        if p.namespace.is_some() {
            return Err(ApiError::no_route(&p.plural));
        }
        String::new()
    };
    let opts = WriteOpts {
        manager: query
            .get("fieldManager")
            .cloned()
            .unwrap_or_else(|| agent.split('/').next().unwrap_or("unknown").to_string()),
        user: user.name.clone(),
        groups: user.groups.clone(),
        dry_run: query.get("dryRun").is_some_and(|v| v == "All"),
        internal: false,
        strict: query.get("fieldValidation").is_some_and(|v| v == "Strict"),
    };
    let wants_table = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    match (method.as_str(), p.name.as_deref(), p.sub.as_deref()) {
        ("GET", None, _) => {
            let selectors = Selectors::from_query(query)?;
            let ns_filter = p.namespace.clone();
            if verb == "watch" {
                return watch::respond(c.clone(), rt, ns_filter, selectors, query, wants_table);
            }
            list(c, &rt, ns_filter.as_deref(), &selectors, query, wants_table)
        }
        ("GET", Some(name), None | Some("status")) => {
            let obj = get(c, &rt, &ns, name)?;
            if wants_table {
                return Ok(json_response(&table::table(&rt, &[obj], query)));
            }
            Ok(json_response(&obj))
        }
        ("GET", Some(name), Some("log")) if rt.plural == "pods" => {
            logs_api::serve(c, &ns, name, query)
        }
        ("GET", Some(name), Some("scale")) if rt.scale => {
            Ok(json_response(&scale_of(&get(c, &rt, &ns, name)?)))
        }
        ("POST", None, None) => {
            let obj = parse_body(&body, headers)?;
            let created = write::create(c, &rt, &ns, obj, &opts, None).await?;
            Ok(json_with(StatusCode::CREATED, &created))
        }
        ("POST", Some(name), Some("eviction")) if rt.plural == "pods" => {
            let body = parse_body(&body, headers)?;
            eviction::evict(c, &ns, name, &body, opts.dry_run)
        }
        ("POST", Some(name), Some("token")) if rt.plural == "serviceaccounts" => {
            let body = parse_body(&body, headers)?;
            let answer = auth::reviews::token_request(c, &ns, name, body)?;
            Ok(json_with(StatusCode::CREATED, &answer))
        }
        ("POST", Some(name), Some("binding")) if rt.plural == "pods" => {
            let body = parse_body(&body, headers)?;
            eviction::bind(c, &ns, name, &body)
        }
        ("PUT", Some(name), sub @ (None | Some("status") | Some("finalize"))) => {
            let new = parse_body(&body, headers)?;
            let done = update(c, &rt, &ns, name, sub, new, &opts).await?;
            Ok(json_response(&done))
        }
        ("PUT", Some(name), Some("scale")) if rt.scale => {
            let scale = parse_body(&body, headers)?;
            set_replicas(c, &rt, &ns, name, &scale, &opts).await
        }
        ("PATCH", Some(name), sub @ (None | Some("status") | Some("scale"))) => {
            let ctype = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let kind = PatchKind::from_content_type(&ctype, &rt)?;
            let patch = match kind {
                PatchKind::Apply => parse_yaml_or_json(&body)?,
                _ => serde_json::from_slice(&body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?,
            };
            let force = is_true(query.get("force"));
            if sub == Some("scale") {
                return set_replicas(c, &rt, &ns, name, &patch, &opts).await;
            }
            if kind == PatchKind::Apply && opts.manager.is_empty() {
                return Err(ApiError::bad_request(
                    "PATCH with apply requires fieldManager",
                ));
            }
            let (done, created) =
                match patch_object(c, &rt, &ns, name, sub, kind, patch.clone(), &opts, force).await
                {
                    Err(e) if e.code == 404 && kind == PatchKind::Apply && sub.is_none() => {
                        // An apply that creates needs `create` too, as in Kubernetes.
                        let mut create = auth::Attributes::resource(
                            "create",
                            &rt.group,
                            &rt.plural,
                            Some(ns.as_str()),
                        );
                        create.name = Some(name.to_string());
                        auth::authorize(c, user, &create)?;
                        let mut obj = patch;
                        write::check_type(&rt, &mut obj)?;
                        object::set(&mut obj, &["metadata", "name"], json!(name));
                        let managed = apply::server_side_apply(
                            None,
                            &obj,
                            &opts.manager,
                            &rt.api_version(),
                            force,
                            &object::now(),
                            None,
                        )
                        .map_err(conflict_error)?;
                        (
                            write::create(
                                c,
                                &rt,
                                &ns,
                                managed.object,
                                &opts,
                                Some(managed.managed_fields),
                            )
                            .await?,
                            true,
                        )
                    }
                    other => (other?, false),
                };
            Ok(json_with(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &done,
            ))
        }
        ("DELETE", Some(name), None) => {
            let options: Value = if body.is_empty() {
                json!({})
            } else {
                parse_body(&body, headers).unwrap_or(json!({}))
            };
            let policy = object::at(&options, &["propagationPolicy"])
                .as_str()
                .or(query.get("propagationPolicy").map(String::as_str))
                .unwrap_or("Background");
            let propagation = match policy {
                "Foreground" => Propagation::Foreground,
                "Orphan" => Propagation::Orphan,
                "Background" => Propagation::Background,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown propagationPolicy {other}"
                    )));
                }
            };
            let pre = object::at(&options, &["preconditions"]);
            let precondition = (
                object::at(pre, &["uid"]).as_str().map(String::from),
                object::at(pre, &["resourceVersion"])
                    .as_str()
                    .map(String::from),
            );
            let dry_run = opts.dry_run
                || object::at(&options, &["dryRun"])
                    .as_array()
                    .is_some_and(|d| d.iter().any(|x| x == "All"));
            // The object's last state: still there (finalizers pending) or just removed.
            let gone = write::delete(c, &rt, &ns, name, propagation, precondition, dry_run)?;
            Ok(json_response(&gone))
        }
        ("DELETE", None, None) => {
            let selectors = Selectors::from_query(query)?;
            let items = matching(c, &rt, p.namespace.as_deref(), &selectors);
            let mut gone = Vec::new();
            for obj in items {
                let (n, nm) = (
                    object::namespace(&obj).to_string(),
                    object::name(&obj).to_string(),
                );
                if let Ok(v) = write::delete(
                    c,
                    &rt,
                    &n,
                    &nm,
                    Propagation::Background,
                    (None, None),
                    opts.dry_run,
                ) {
                    gone.push(v);
                }
            }
            Ok(json_response(&list_object(
                &rt,
                gone,
                c.store.read().rv,
                None,
            )))
        }
        _ => Err(ApiError::method_not_allowed(method.as_str())),
    }
}

/// Turns an SSA conflict into the 409 Status Kubernetes sends.
pub fn conflict_error(conflict: apply::Conflict) -> ApiError {
    ApiError::new(409, "Conflict", conflict.message())
        .with_details(json!({"causes": conflict.causes()}))
}

/// Label and field selectors of a request.
#[derive(Debug, Default)]
pub struct Selectors {
    /// labelSelector
    pub label: Option<LabelSelector>,
    /// fieldSelector
    pub field: Option<FieldSelector>,
}

impl Selectors {
    /// Parses the selectors of a query; a bad one is a 400 naming it.
    pub fn from_query(query: &Query) -> Result<Self, ApiError> {
        let label =
            match query.get("labelSelector").filter(|s| !s.is_empty()) {
                Some(s) => Some(selector::parse_label_selector(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse requirement: {e}"))
                })?),
                None => None,
            };
        let field = match query.get("fieldSelector").filter(|s| !s.is_empty()) {
            Some(s) => Some(
                selector::parse_field_selector(s)
                    .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?,
            ),
            None => None,
        };
        Ok(Selectors { label, field })
    }

    /// Whether any selector is set.
    pub fn is_empty(&self) -> bool {
        self.label.is_none() && self.field.is_none()
    }

    /// Whether an object matches both selectors.
    pub fn matches(&self, obj: &Value) -> bool {
        self.label.as_ref().is_none_or(|l| l.matches_object(obj))
            && self.field.as_ref().is_none_or(|f| f.matches(obj))
    }
}

fn get(c: &Cluster, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
    let s = c.store.read();
    let obj = s
        .get_value(&rt.key(), ns, name)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    Ok(rt.serve(obj))
}

fn matching(c: &Cluster, rt: &ResourceType, ns: Option<&str>, sel: &Selectors) -> Vec<Value> {
    let s = c.store.read();
    s.list_values(&rt.key(), ns)
        .into_iter()
        .filter(|o| sel.matches(o))
        .collect()
}

/// A `KindList` object.
pub fn list_object(
    rt: &ResourceType,
    items: Vec<Value>,
    rv: u64,
    cont: Option<(String, usize)>,
) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some((token, remaining)) = cont {
        object::set(&mut meta, &["continue"], json!(token));
        object::set(&mut meta, &["remainingItemCount"], json!(remaining));
    }
    json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(), "metadata": meta, "items": items})
}

fn list(
    c: &Cluster,
    rt: &ResourceType,
    ns: Option<&str>,
    sel: &Selectors,
    query: &Query,
    wants_table: bool,
) -> Result<Response, ApiError> {
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(0);
    let after = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => Some(decode_continue(token)?),
        None => None,
    };
    let s = c.store.read();
    let rv = s.rv;
    // Fast path: no selectors, no paging, no version rewrite: splice the stored bytes.
    if sel.is_empty() && limit == 0 && after.is_none() && !wants_table && !rt.rewrites() {
        let items = s.list(&rt.key(), ns);
        let mut out = Vec::with_capacity(items.iter().map(|b| b.len() + 1).sum::<usize>() + 256);
        out.extend_from_slice(
            format!(
                "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{rv}\"}},\"items\":[",
                rt.kind,
                rt.api_version()
            )
            .as_bytes(),
        );
        for (i, b) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b);
        }
        out.extend_from_slice(b"]}");
        drop(s);
        return Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response());
    }
    let mut items = Vec::new();
    let mut remaining = 0usize;
    let mut last_key = None;
    for b in s.list(&rt.key(), ns) {
        let Ok(obj) = serde_json::from_slice::<Value>(b) else {
            continue;
        };
        let key = format!("{}/{}", object::namespace(&obj), object::name(&obj));
        if after.as_ref().is_some_and(|a| key.as_str() <= a.as_str()) {
            continue;
        }
        if !sel.matches(&obj) {
            continue;
        }
        if limit > 0 && items.len() >= limit {
            remaining += 1;
            continue;
        }
        last_key = Some(key);
        items.push(rt.serve(obj));
    }
    drop(s);
    let cont = (remaining > 0)
        .then(|| last_key.map(|k| (encode_continue(&k), remaining)))
        .flatten();
    if wants_table {
        let mut t = table::table(rt, &items, query);
        object::set(
            &mut t,
            &["metadata", "resourceVersion"],
            json!(rv.to_string()),
        );
        if let Some((token, rem)) = &cont {
            object::set(&mut t, &["metadata", "continue"], json!(token));
            object::set(&mut t, &["metadata", "remainingItemCount"], json!(rem));
        }
        return Ok(json_response(&t));
    }
    Ok(json_response(&list_object(rt, items, rv, cont)))
}

fn encode_continue(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_continue(token: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::bad_request("continue key is not valid"))
}

/// Parses a request body as JSON, or YAML when the content type says so.
pub fn parse_body(body: &[u8], headers: &HeaderMap) -> Result<Value, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ctype.contains("yaml") {
        return parse_yaml_or_json(body);
    }
    if ctype.contains("protobuf") {
        return crate::protobuf::decode(body);
    }
    if ctype.contains("cbor") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({ctype}) - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
            ),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

/// Parses YAML (a superset of JSON) into a JSON value.
pub fn parse_yaml_or_json(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

/// Writes `spec.replicas` from a Scale (PUT) or a patch of one, answering with the new Scale.
async fn set_replicas(
    c: &Cluster,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    scale: &Value,
    opts: &WriteOpts,
) -> Result<Response, ApiError> {
    let patch = json!({"spec": {"replicas": object::at(scale, &["spec", "replicas"]).clone()}});
    let done = patch_object(c, rt, ns, name, None, PatchKind::Merge, patch, opts, false).await?;
    Ok(json_response(&scale_of(&done)))
}

fn scale_of(obj: &Value) -> Value {
    let meta = |k: &str| object::at(obj, &["metadata", k]).clone();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta("name"), "namespace": meta("namespace"),
                     "uid": meta("uid"), "resourceVersion": meta("resourceVersion"),
                     "creationTimestamp": meta("creationTimestamp")},
        "spec": {"replicas": object::at(obj, &["spec", "replicas"])},
        "status": {"replicas": object::at(obj, &["status", "replicas"]).as_i64().unwrap_or(0),
                   "selector": selector_string(object::at(obj, &["spec", "selector"]))}
    })
}

fn selector_string(sel: &Value) -> String {
    let mut parts: Vec<String> = object::at(sel, &["matchLabels"])
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    parts.sort();
    parts.join(",")
}

/// PUT: replace an object (or its status/finalizers), honouring a resourceVersion precondition.
pub async fn update(
    c: &Cluster,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    new: Value,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    for _ in 0..16 {
        let old = get(c, rt, ns, name)?;
        match write::update_attempt(c, rt, ns, sub, &old, new.clone(), true, opts, None).await? {
            Attempt::Done(v) => return Ok(v),
            Attempt::Retry => continue,
        }
    }
    Err(ApiError::conflict(&rt.group, &rt.plural, name))
}

/// The patch formats the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// application/merge-patch+json
    Merge,
    /// application/json-patch+json
    Json,
    /// application/strategic-merge-patch+json (built-in kinds only)
    Strategic,
    /// application/apply-patch+yaml (server-side apply)
    Apply,
}

impl PatchKind {
    fn from_content_type(ctype: &str, rt: &ResourceType) -> Result<Self, ApiError> {
        let unsupported = || {
            ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{}",
                    if rt.crd.is_none() {
                        ", application/strategic-merge-patch+json"
                    } else {
                        ""
                    }
                ),
            )
        };
        Ok(match ctype.split(';').next().unwrap_or("").trim() {
            "application/merge-patch+json" => PatchKind::Merge,
            "application/json-patch+json" => PatchKind::Json,
            "application/strategic-merge-patch+json" if rt.crd.is_none() => PatchKind::Strategic,
            "application/apply-patch+yaml" | "application/apply-patch+json" => PatchKind::Apply,
            _ => return Err(unsupported()),
        })
    }
}

/// PATCH: apply a patch to the current object, retrying when it changes underneath.
#[allow(clippy::too_many_arguments)]
pub async fn patch_object(
    c: &Cluster,
    rt: &Arc<ResourceType>,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    kind: PatchKind,
    patch: Value,
    opts: &WriteOpts,
    force: bool,
) -> Result<Value, ApiError> {
    for _ in 0..16 {
        let old = get(c, rt, ns, name)?;
        let mut managed = None;
        let mut new = match kind {
            PatchKind::Merge => {
                let mut v = old.clone();
                json_patch::merge(&mut v, &patch);
                v
            }
            PatchKind::Json => {
                let ops: json_patch::Patch = serde_json::from_value(patch.clone())
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                let mut v = old.clone();
                json_patch_like_kubernetes(&mut v, ops).map_err(|e| {
                    ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "the server rejected our request due to an error in our request: {e}"
                        ),
                    )
                })?;
                v
            }
            PatchKind::Strategic => strategic::strategic_merge(&old, &patch).map_err(|e| {
                ApiError::bad_request(format!("invalid strategic merge patch: {e}"))
            })?,
            PatchKind::Apply => {
                let mut applied = patch.clone();
                write::check_type(rt, &mut applied)?;
                let outcome = apply::server_side_apply(
                    Some(&old),
                    &applied,
                    &opts.manager,
                    &rt.api_version(),
                    force,
                    &object::now(),
                    sub,
                )
                .map_err(conflict_error)?;
                managed = Some(outcome.managed_fields);
                outcome.object
            }
        };
        // Whatever the patch made of it, the result must still be an object with object metadata.
        write::check_shape(&new, "the patched object")?;
        // A patch cannot move the object's resourceVersion precondition unless it sets one.
        let precondition = object::at(&patch, &["metadata", "resourceVersion"]).is_string();
        if !precondition {
            let rv = object::at(&old, &["metadata", "resourceVersion"]).clone();
            object::set(&mut new, &["metadata", "resourceVersion"], rv);
        }
        match write::update_attempt(c, rt, ns, sub, &old, new, precondition, opts, managed).await? {
            Attempt::Done(v) => return Ok(v),
            Attempt::Retry => continue,
        }
    }
    Err(ApiError::conflict(&rt.group, &rt.plural, name))
}

/// Applies a JSON patch as Kubernetes does (evanphx/json-patch): a `test` that the value at a
/// missing path is `null` succeeds (kube-runtime's finalizer helper relies on it).
fn json_patch_like_kubernetes(
    doc: &mut Value,
    ops: json_patch::Patch,
) -> Result<(), json_patch::PatchError> {
    for op in ops.0 {
        if let json_patch::PatchOperation::Test(t) = &op
            && t.value.is_null()
            && doc.pointer(t.path.as_str()).is_none()
        {
            continue;
        }
        json_patch::patch(doc, &[op])?;
    }
    Ok(())
}
