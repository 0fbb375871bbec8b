//! URL paths of the Kubernetes API, parsed into [`Route`]s.
//! The HTTP layer matches on the route; nothing else looks at raw paths.

/// What a request path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`
    Version,
    /// `/healthz`, `/livez`, `/readyz`
    Health,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/GROUP`
    Group(String),
    /// `/api/v1` or `/apis/GROUP/VERSION`
    Resources(String, String),
    /// `/openapi/v2`
    OpenApiV2,
    /// `/openapi/v3`
    OpenApiV3Root,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/GROUP/VERSION`
    OpenApiV3(String, String),
    /// Sim-only: request counters.
    SimRequests,
    /// Sim-only: compact the watch window.
    SimCompact,
    /// Sim-only: `/sim/v1/namespaces/NS/pods/NAME/log`, a container log to append to.
    SimLog {
        /// Namespace of the pod.
        namespace: String,
        /// Name of the pod.
        pod: String,
    },
    /// A resource collection, object or subresource.
    Object(ObjectPath),
}

/// The parts of a resource URL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectPath {
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name, absent for collections.
    pub name: Option<String>,
    /// Subresource (status, scale, eviction, binding, finalize).
    pub sub: Option<String>,
}

/// Parses a request path (without query).
pub fn parse(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let route = match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", g] => Route::Group(g.to_string()),
        ["api", v] => Route::Resources(String::new(), v.to_string()),
        ["apis", g, v] => Route::Resources(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] => Route::Object(object_path("", v, rest)?),
        ["apis", g, v, rest @ ..] => Route::Object(object_path(g, v, rest)?),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiV3Root,
        ["openapi", "v3", "api", v] => Route::OpenApiV3(String::new(), v.to_string()),
        ["openapi", "v3", "apis", g, v] => Route::OpenApiV3(g.to_string(), v.to_string()),
        ["sim", "requests"] => Route::SimRequests,
        ["sim", "compact"] => Route::SimCompact,
        ["sim", "v1", "namespaces", ns, "pods", pod, "log"] => Route::SimLog {
            namespace: ns.to_string(),
            pod: pod.to_string(),
        },
        _ => return None,
    };
    Some(route)
}

fn object_path(group: &str, version: &str, rest: &[&str]) -> Option<ObjectPath> {
    let base = ObjectPath {
        group: group.into(),
        version: version.into(),
        ..Default::default()
    };
    let owned = |s: &&str| s.to_string();
    match rest {
        ["namespaces", ns, plural, tail @ ..] if !matches!(*plural, "status" | "finalize") => {
            if tail.len() > 2 {
                return None;
            }
            Some(ObjectPath {
                namespace: Some(ns.to_string()),
                plural: plural.to_string(),
                name: tail.first().map(owned),
                sub: tail.get(1).map(owned),
                ..base
            })
        }
        [plural, tail @ ..] if tail.len() <= 2 => Some(ObjectPath {
            plural: plural.to_string(),
            name: tail.first().map(owned),
            sub: tail.get(1).map(owned),
            ..base
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(route: Route) -> ObjectPath {
        match route {
            Route::Object(o) => o,
            other => panic!("not an object route: {other:?}"),
        }
    }

    #[test]
    fn parses_namespaced_and_cluster_paths() {
        let p = obj(parse("/api/v1/namespaces/default/pods/web/status").unwrap());
        assert_eq!(p.namespace.as_deref(), Some("default"));
        assert_eq!(
            (p.plural.as_str(), p.name.as_deref(), p.sub.as_deref()),
            ("pods", Some("web"), Some("status"))
        );
        let p = obj(parse("/api/v1/namespaces/default").unwrap());
        assert_eq!(
            (p.plural.as_str(), p.name.as_deref(), p.namespace),
            ("namespaces", Some("default"), None)
        );
        let p = obj(parse("/api/v1/namespaces/x/finalize").unwrap());
        assert_eq!(
            (p.name.as_deref(), p.sub.as_deref()),
            (Some("x"), Some("finalize"))
        );
        let p = obj(parse("/apis/apps/v1/deployments").unwrap());
        assert_eq!(
            (p.group.as_str(), p.plural.as_str(), p.name),
            ("apps", "deployments", None)
        );
        assert_eq!(
            parse("/apis/apps/v1"),
            Some(Route::Resources("apps".into(), "v1".into()))
        );
        assert_eq!(
            parse("/sim/v1/namespaces/default/pods/web/log"),
            Some(Route::SimLog {
                namespace: "default".into(),
                pod: "web".into()
            })
        );
        assert_eq!(parse("/nope"), None);
    }
}
