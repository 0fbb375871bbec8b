//! Serves the OpenAPI documents (/openapi/v2, /openapi/v3) from the registry's current kinds,
//! so kubectl explain, apply's field validation check and diff work for built-ins and CRDs.

use super::api::json_response;
use super::cluster::Cluster;
use super::openapi::{self, OpenApiKind};
use super::resources::Registry;
use super::status::ApiError;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

fn kinds(reg: &Registry, gv: Option<(&str, &str)>) -> Vec<OpenApiKind> {
    reg.all()
        .filter(|rt| gv.is_none_or(|(g, v)| rt.group == g && rt.version == v))
        .map(|rt| OpenApiKind {
            group: rt.group.clone(),
            version: rt.version.clone(),
            kind: rt.kind.clone(),
            plural: rt.plural.clone(),
            namespaced: rt.namespaced,
            has_status: rt.status,
            schema: rt.crd.as_ref().and_then(|c| c.schema.clone()),
        })
        .collect()
}

/// `/openapi/v3`: the index of group-version documents.
pub fn v3_root(c: &Cluster) -> Response {
    let reg = c.store.read().registry.clone();
    let gvs: Vec<(String, String)> = reg
        .groups()
        .into_iter()
        .flat_map(|(g, versions)| versions.into_iter().map(move |v| (g.clone(), v)))
        .collect();
    json_response(&openapi::v3_root(&gvs))
}

/// `/openapi/v3/api/v1`, `/openapi/v3/apis/GROUP/VERSION`.
pub fn v3(c: &Cluster, group: &str, version: &str) -> Result<Response, ApiError> {
    let reg = c.store.read().registry.clone();
    let kinds = kinds(&reg, Some((group, version)));
    if kinds.is_empty() {
        return Err(ApiError::no_route(&openapi::v3_path(group, version)));
    }
    Ok(json_response(&openapi::v3_document(group, version, &kinds)))
}

/// `/openapi/v2`: JSON, or (for kubectl, which only asks for protobuf) a minimal protobuf
/// document that makes it fall back to JSON merge patches and server-side validation.
pub fn v2(c: &Cluster, headers: &HeaderMap) -> Result<Response, ApiError> {
    let wants_protobuf = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("protobuf"));
    if wants_protobuf {
        return Ok((
            [(header::CONTENT_TYPE, openapi::V2_PROTOBUF_CONTENT_TYPE)],
            openapi::V2_PROTOBUF_STUB,
        )
            .into_response());
    }
    let reg = c.store.read().registry.clone();
    Ok(json_response(&openapi::v2_document(&kinds(&reg, None))))
}
