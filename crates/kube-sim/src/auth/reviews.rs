//! The review APIs and TokenRequest: SelfSubjectAccessReview, SubjectAccessReview,
//! LocalSubjectAccessReview, SelfSubjectRulesReview (`kubectl auth can-i [--list]`),
//! SelfSubjectReview (`kubectl auth whoami`), TokenReview, and `serviceaccounts/token`
//! (`kubectl create token`). Nothing of them is stored.

use super::{Attributes, User, compiled, tokens, user_of_token};
use crate::cluster::Cluster;
use crate::status::ApiError;
use serde_json::{Value, json};

/// The review resources, by (group, plural), all create-only.
pub const REVIEWS: &[(&str, &str)] = &[
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("authorization.k8s.io", "localsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authentication.k8s.io", "tokenreviews"),
];

/// Whether a resource is one of the review APIs.
pub fn is_review(group: &str, plural: &str) -> bool {
    REVIEWS.contains(&(group, plural))
}

/// Answers a review: the request body with its `status` filled in.
pub fn review(
    c: &Cluster,
    plural: &str,
    namespace: Option<&str>,
    user: &User,
    mut body: Value,
) -> Result<Value, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the request body must be an object"));
    }
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let status = match plural {
        "selfsubjectaccessreviews" => access(c, user, &spec, None)?,
        "subjectaccessreviews" | "localsubjectaccessreviews" => {
            let subject = User {
                name: spec["user"].as_str().unwrap_or_default().to_string(),
                uid: spec["uid"].as_str().unwrap_or_default().to_string(),
                groups: strings(&spec["groups"]),
            };
            if subject.name.is_empty() && subject.groups.is_empty() {
                return Err(ApiError::invalid(
                    "SubjectAccessReview",
                    "",
                    "spec.user",
                    "at least one of user or group must be specified",
                ));
            }
            access(c, &subject, &spec, namespace)?
        }
        "selfsubjectrulesreviews" => {
            let ns = spec["namespace"].as_str().filter(|n| !n.is_empty());
            super::rbac::rules_status(&compiled(c).rules_for(user, ns))
        }
        "selfsubjectreviews" => json!({"userInfo": user.info()}),
        "tokenreviews" => {
            let token = spec["token"].as_str().unwrap_or_default();
            match user_of_token(c, token) {
                Some(u) => json!({"authenticated": true, "user": u.info(),
                    "audiences": [tokens::ISSUER]}),
                None => json!({"authenticated": false, "error": "invalid bearer token"}),
            }
        }
        _ => return Err(ApiError::no_route(plural)),
    };
    body["status"] = status;
    if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("creationTimestamp".into(), Value::Null);
    }
    Ok(body)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// An access review's status: allowed, with the reason RBAC gives.
fn access(c: &Cluster, user: &User, spec: &Value, ns: Option<&str>) -> Result<Value, ApiError> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let a = if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
        let namespace = ns.map(String::from).unwrap_or_else(|| text(r, "namespace"));
        Attributes {
            verb: text(r, "verb"),
            group: text(r, "group"),
            resource: Some(text(r, "resource")),
            subresource: Some(text(r, "subresource")).filter(|s| !s.is_empty()),
            name: Some(text(r, "name")).filter(|s| !s.is_empty()),
            namespace: Some(namespace).filter(|s| !s.is_empty()),
            path: String::new(),
        }
    } else if let Some(n) = spec.get("nonResourceAttributes").filter(|r| r.is_object()) {
        Attributes::path(&text(n, "verb"), &text(n, "path"))
    } else {
        return Err(ApiError::invalid(
            "SelfSubjectAccessReview",
            "",
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    };
    Ok(match compiled(c).allows(user, &a) {
        Some(reason) => json!({"allowed": true, "reason": reason}),
        None => json!({"allowed": false}),
    })
}

/// `POST serviceaccounts/NAME/token`: a signed token for the ServiceAccount, for the audiences
/// asked (the API server's by default) and `expirationSeconds` (default 3600, at least 600).
pub fn token_request(
    c: &Cluster,
    ns: &str,
    name: &str,
    mut body: Value,
) -> Result<Value, ApiError> {
    let sa = c
        .store
        .read()
        .get_value("serviceaccounts", ns, name)
        .ok_or_else(|| ApiError::not_found("", "serviceaccounts", name))?;
    if !body.is_object() {
        body = json!({});
    }
    let spec = body.get("spec").cloned().unwrap_or(json!({}));
    let mut audiences = strings(&spec["audiences"]);
    if audiences.is_empty() {
        audiences = vec![tokens::ISSUER.to_string()];
    }
    let seconds = spec["expirationSeconds"].as_i64().unwrap_or(3600);
    if seconds < 600 {
        return Err(ApiError::invalid(
            "TokenRequest",
            name,
            "spec.expirationSeconds",
            "may not specify a duration less than 10 minutes",
        ));
    }
    let now = chrono::Utc::now().timestamp();
    let claims = tokens::Claims {
        namespace: ns.into(),
        name: name.into(),
        uid: sa["metadata"]["uid"].as_str().unwrap_or_default().into(),
        audiences: audiences.clone(),
        expires: now + seconds,
    };
    let token = tokens::issue(&c.signing_key, &claims, now);
    let expires = chrono::DateTime::from_timestamp(claims.expires, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    Ok(json!({
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": null},
        "spec": {"audiences": audiences, "expirationSeconds": seconds,
            "boundObjectRef": spec.get("boundObjectRef").cloned().unwrap_or(Value::Null)},
        "status": {"token": token, "expirationTimestamp": expires},
    }))
}
