//! Who is asking and may they: bearer tokens (the admin's, static users', ServiceAccount tokens
//! from the TokenRequest API), impersonation, RBAC authorisation with Kubernetes' 403 messages,
//! and RBAC's escalation check on writes of roles and bindings.

pub mod bootstrap;
pub mod rbac;
pub mod reviews;
pub mod tokens;

use crate::cluster::Cluster;
use crate::resources::ResourceType;
use crate::status::ApiError;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};
use std::sync::Arc;

/// The admin's user name (the kubeconfig's user), in group `system:masters`.
pub const ADMIN: &str = "kubernetes-admin";

/// An authenticated (or anonymous) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User name (`system:serviceaccount:NS:NAME` for a ServiceAccount).
    pub name: String,
    /// uid, when the identity has one (ServiceAccounts).
    pub uid: String,
    /// Groups, `system:authenticated` included.
    pub groups: Vec<String>,
}

impl User {
    /// The admin of the kubeconfig.
    pub fn admin() -> User {
        User {
            name: ADMIN.into(),
            uid: String::new(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    /// Whether the user is in `system:masters`, which kube-apiserver's privileged-group
    /// authorizer allows everything before RBAC is consulted.
    pub fn is_privileged(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }

    fn anonymous() -> User {
        User {
            name: "system:anonymous".into(),
            uid: String::new(),
            groups: vec!["system:unauthenticated".into()],
        }
    }

    /// A ServiceAccount's user with the groups Kubernetes gives it.
    pub fn service_account(namespace: &str, name: &str, uid: &str) -> User {
        User {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            uid: uid.into(),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// The user as `userInfo` in reviews.
    pub fn info(&self) -> Value {
        let mut out = json!({"username": self.name, "groups": self.groups});
        if !self.uid.is_empty() {
            out["uid"] = json!(self.uid);
        }
        out
    }
}

/// What a request does, as the authoriser sees it (Kubernetes' RequestInfo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    /// get, list, watch, create, update, patch, delete, deletecollection, impersonate, …; for a
    /// non-resource request the lower-case HTTP method.
    pub verb: String,
    /// API group ("" for core).
    pub group: String,
    /// Plural resource; None for a non-resource request.
    pub resource: Option<String>,
    /// Subresource (`log`, `status`, `eviction`, `token`, …).
    pub subresource: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Namespace (for a Namespace itself, its name).
    pub namespace: Option<String>,
    /// URL path (non-resource requests).
    pub path: String,
}

impl Attributes {
    /// A resource request's attributes.
    pub fn resource(verb: &str, group: &str, resource: &str, namespace: Option<&str>) -> Self {
        Attributes {
            verb: verb.into(),
            group: group.into(),
            resource: Some(resource.into()),
            namespace: namespace.filter(|n| !n.is_empty()).map(String::from),
            ..Default::default()
        }
    }

    /// A non-resource request's attributes.
    pub fn path(verb: &str, path: &str) -> Self {
        Attributes {
            verb: verb.into(),
            path: path.into(),
            ..Default::default()
        }
    }
}

/// The compiled RBAC rules, rebuilt when a role or binding changed since the last build.
pub fn compiled(c: &Cluster) -> Arc<rbac::Compiled> {
    let s = c.store.read();
    let at = s.changed_at(rbac::KEYS);
    let mut cache = c.rbac.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((built_at, compiled)) = cache.as_ref()
        && *built_at == at
    {
        return compiled.clone();
    }
    let compiled = Arc::new(rbac::Compiled::build(&s));
    *cache = Some((at, compiled.clone()));
    compiled
}

/// Who sent the request: its bearer token's user (anonymous without one), then whom it
/// impersonates when it may. A token that is not valid is a 401.
pub fn authenticate(c: &Cluster, headers: &HeaderMap) -> Result<User, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let user = match token {
        None => User::anonymous(),
        Some(t) => user_of_token(c, t).ok_or_else(unauthorized)?,
    };
    impersonate(c, user, headers)
}

fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}

/// The user a token stands for, if it is one of this cluster's.
pub fn user_of_token(c: &Cluster, token: &str) -> Option<User> {
    if token == c.token {
        return Some(User::admin());
    }
    if let Some(u) = c.options.users.iter().find(|u| u.token == token) {
        let mut groups = u.groups.clone();
        groups.push("system:authenticated".into());
        return Some(User {
            name: u.name.clone(),
            uid: String::new(),
            groups,
        });
    }
    let now = chrono::Utc::now().timestamp();
    let claims = tokens::verify(&c.signing_key, token, now, tokens::ISSUER).ok()?;
    // A token outlives neither its ServiceAccount nor a new one of the same name.
    let sa = c
        .store
        .read()
        .get_value("serviceaccounts", &claims.namespace, &claims.name)?;
    (sa["metadata"]["uid"].as_str() == Some(claims.uid.as_str()))
        .then(|| User::service_account(&claims.namespace, &claims.name, &claims.uid))
}

/// Applies `Impersonate-User`/`-Group`/`-Uid`, each allowed by the `impersonate` verb.
fn impersonate(c: &Cluster, user: User, headers: &HeaderMap) -> Result<User, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    };
    let Some(target) = values("impersonate-user").into_iter().next() else {
        if headers.contains_key("impersonate-group") {
            return Err(ApiError::new(
                500,
                "InternalError",
                "requested [{Group  }] without impersonating a user",
            ));
        }
        return Ok(user);
    };
    let rbac = (!user.is_privileged()).then(|| compiled(c));
    let check = |a: Attributes, what: &str, name: &str| -> Result<(), ApiError> {
        if rbac.as_ref().is_none_or(|r| r.allows(&user, &a).is_some()) {
            return Ok(());
        }
        Err(forbidden_named(&user, &a, what, name))
    };
    let mut groups = values("impersonate-group");
    let impersonated = if let Some(rest) = target.strip_prefix("system:serviceaccount:") {
        let (ns, name) = rest.split_once(':').unwrap_or((rest, ""));
        let mut a = Attributes::resource("impersonate", "", "serviceaccounts", Some(ns));
        a.name = Some(name.into());
        check(a, "serviceaccounts", name)?;
        let mut sa = User::service_account(ns, name, "");
        sa.groups.retain(|g| g != "system:authenticated");
        groups.extend(sa.groups);
        sa.name
    } else {
        let mut a = Attributes::resource("impersonate", "", "users", None);
        a.name = Some(target.clone());
        check(a, "users", &target)?;
        target
    };
    for g in values("impersonate-group") {
        let mut a = Attributes::resource("impersonate", "", "groups", None);
        a.name = Some(g.clone());
        check(a, "groups", &g)?;
    }
    let uid = values("impersonate-uid")
        .into_iter()
        .next()
        .unwrap_or_default();
    if !uid.is_empty() {
        let mut a = Attributes::resource("impersonate", "authentication.k8s.io", "uids", None);
        a.name = Some(uid.clone());
        check(a, "uids.authentication.k8s.io", &uid)?;
    }
    if impersonated != "system:anonymous" && !groups.iter().any(|g| g == "system:authenticated") {
        groups.push("system:authenticated".into());
    }
    Ok(User {
        name: impersonated,
        uid,
        groups,
    })
}

/// Authorises one request; Err is the 403 a real API server gives.
pub fn authorize(c: &Cluster, user: &User, a: &Attributes) -> Result<(), ApiError> {
    // The privileged group needs no RBAC: compiling it again after each role or binding write
    // would cost every request a pass over all bindings.
    if user.is_privileged() || compiled(c).allows(user, a).is_some() {
        if let Some(resource) = &a.resource {
            let resource = match &a.subresource {
                Some(sub) => format!("{resource}/{sub}"),
                None => resource.clone(),
            };
            let used = (user.name.clone(), a.verb.clone(), a.group.clone(), resource);
            c.used
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(used);
        }
        return Ok(());
    }
    let what = match &a.resource {
        Some(r) if a.group.is_empty() => r.clone(),
        Some(r) => format!("{r}.{}", a.group),
        None => String::new(),
    };
    Err(forbidden_named(
        user,
        a,
        &what,
        a.name.as_deref().unwrap_or(""),
    ))
}

/// `pods "p" is forbidden: User "u" cannot get resource "pods" in API group "" in the namespace "x"`.
fn forbidden_named(user: &User, a: &Attributes, what: &str, name: &str) -> ApiError {
    let reason = forbidden_reason(user, a);
    let message = match (what.is_empty(), name.is_empty()) {
        (true, _) => format!("forbidden: {reason}"),
        (false, true) => format!("{what} is forbidden: {reason}"),
        (false, false) => format!("{what} \"{name}\" is forbidden: {reason}"),
    };
    let (resource, group) = what.split_once('.').unwrap_or((what, ""));
    let mut e = ApiError::new(403, "Forbidden", message);
    e.details = Some(json!({"name": name, "group": group, "kind": resource}));
    e
}

/// Kubernetes' forbiddenMessage.
fn forbidden_reason(user: &User, a: &Attributes) -> String {
    let Some(resource) = &a.resource else {
        return format!("User {:?} cannot {} path {:?}", user.name, a.verb, a.path);
    };
    let resource = match &a.subresource {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource.clone(),
    };
    match &a.namespace {
        Some(ns) => format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} in the namespace {ns:?}",
            user.name, a.verb, a.group
        ),
        None => format!(
            "User {:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
            user.name, a.verb, a.group
        ),
    }
}

/// RBAC's escalation check: a Role or ClusterRole may hold only what its writer holds (unless
/// the writer may `escalate`), a binding may grant only what its writer holds (unless `bind`).
pub fn check_escalation(
    c: &Cluster,
    rt: &ResourceType,
    ns: &str,
    obj: &Value,
    user: &User,
) -> Result<(), ApiError> {
    if rt.group != "rbac.authorization.k8s.io" || user.is_privileged() {
        return Ok(());
    }
    let rbac = compiled(c);
    let ns = Some(ns).filter(|n| !n.is_empty());
    let name = crate::object::name(obj);
    let may = |verb: &str, resource: &str, role: &str, in_ns: Option<&str>| {
        let mut a = Attributes::resource(verb, &rt.group, resource, in_ns);
        a.name = Some(role.into());
        rbac.allows(user, &a).is_some()
    };
    let refuse = |what: String| {
        ApiError::forbidden(format!(
            "{}.rbac.authorization.k8s.io \"{name}\" is forbidden: user \"{}\" (groups={:?}) is attempting to grant RBAC permissions not currently held:\n{what}",
            rt.plural, user.name, user.groups
        ))
    };
    match rt.kind.as_str() {
        "Role" | "ClusterRole" => {
            if may("escalate", &rt.plural, name, ns) {
                return Ok(());
            }
            let rules = rbac::rules_of(obj);
            if rbac.covers(user, ns, &rules) {
                return Ok(());
            }
            Err(refuse(missing(&rbac, user, ns, &rules)))
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            let kind = obj["roleRef"]["kind"].as_str().unwrap_or("");
            let role = obj["roleRef"]["name"].as_str().unwrap_or("");
            let (plural, role_ns) = match kind {
                "Role" => ("roles", ns),
                _ => ("clusterroles", None),
            };
            if may("bind", plural, role, ns) {
                return Ok(());
            }
            let s = c.store.read();
            let role_obj = match kind {
                "Role" => s.get_value(rbac::KEYS[0], role_ns.unwrap_or(""), role),
                _ => s.get_value(rbac::KEYS[1], "", role),
            };
            drop(s);
            let rules = match role_obj {
                Some(r) if kind == "ClusterRole" => rbac.rules_for_cluster_role(&r),
                Some(r) => rbac::rules_of(&r),
                None => return Err(refuse(format!("{kind} {role:?} not found"))),
            };
            if rbac.covers(user, ns, &rules) {
                return Ok(());
            }
            Err(refuse(missing(&rbac, user, ns, &rules)))
        }
        _ => Ok(()),
    }
}

/// The rules the user does not hold, one per line.
fn missing(rbac: &rbac::Compiled, user: &User, ns: Option<&str>, rules: &[rbac::Rule]) -> String {
    rules
        .iter()
        .filter(|r| !rbac.covers(user, ns, std::slice::from_ref(*r)))
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
