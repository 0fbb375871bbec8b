//! One RBAC PolicyRule: whether it allows a request, whether it allows everything, and how it
//! reads in one line.

use k8s_openapi::api::rbac::v1::PolicyRule;

/// A request as RBAC sees it: a verb on a resource (of an API group, maybe a subresource and a
/// name), or on a non-resource URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// `get`, `list`, `create`, `*`...
    pub verb: String,
    /// API group (`""` for the core group).
    pub group: String,
    /// Plural resource, e.g. `pods`; empty for a non-resource URL.
    pub resource: String,
    /// Subresource, e.g. `log`.
    pub subresource: Option<String>,
    /// Object name, when the request names one.
    pub name: Option<String>,
    /// Non-resource URL path (`/healthz`), when `resource` is empty.
    pub path: Option<String>,
}

/// One rule of a Role or ClusterRole.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    /// Verbs it allows.
    pub verbs: Vec<String>,
    /// API groups of its resources.
    pub groups: Vec<String>,
    /// Resources (with `res/sub` for subresources).
    pub resources: Vec<String>,
    /// Object names it is limited to (empty: every name).
    pub names: Vec<String>,
    /// Non-resource URLs (`/metrics`, `/api/*`).
    pub urls: Vec<String>,
}

fn any(list: &[String], wanted: &str) -> bool {
    list.iter().any(|x| x == "*" || x == wanted)
}

impl Rule {
    /// The rule of a PolicyRule (missing lists are empty).
    pub fn of(p: &PolicyRule) -> Rule {
        let list = |l: &Option<Vec<String>>| l.clone().unwrap_or_default();
        Rule {
            verbs: p.verbs.clone(),
            groups: list(&p.api_groups),
            resources: list(&p.resources),
            names: list(&p.resource_names),
            urls: list(&p.non_resource_urls),
        }
    }

    /// Whether the rule allows `r`, by Kubernetes' RBAC rules (`*` matches anything; a
    /// `resourceNames` list allows only requests naming one of them).
    pub fn allows(&self, r: &Request) -> bool {
        if !any(&self.verbs, &r.verb) {
            return false;
        }
        if r.resource.is_empty() {
            let path = r.path.as_deref().unwrap_or_default();
            return self.urls.iter().any(|u| {
                u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
            });
        }
        if !any(&self.groups, &r.group) {
            return false;
        }
        let resource = match &r.subresource {
            None => self.resources.iter().any(|x| x == "*" || *x == r.resource),
            Some(sub) => self.resources.iter().any(|x| {
                x == "*"
                    || x.split_once('/').is_some_and(|(res, s)| {
                        (res == r.resource || res == "*") && (s == sub || s == "*")
                    })
            }),
        };
        resource
            && (self.names.is_empty() || r.name.as_ref().is_some_and(|n| self.names.contains(n)))
    }

    /// Whether the rule allows every verb on every resource of every group (what
    /// `cluster-admin` holds).
    pub fn is_everything(&self) -> bool {
        let star = |l: &[String]| l.iter().any(|x| x == "*");
        star(&self.verbs) && star(&self.groups) && star(&self.resources) && self.names.is_empty()
    }

    /// The rule in one line: `get,list pods,services.apps [web]` or `get /healthz`.
    pub fn summary(&self) -> String {
        let verbs = self.verbs.join(",");
        if !self.urls.is_empty() {
            return format!("{verbs} {}", self.urls.join(","));
        }
        let resources: Vec<String> = self
            .resources
            .iter()
            .flat_map(|res| {
                self.groups
                    .iter()
                    .map(move |g| match (res.as_str(), g.as_str()) {
                        (_, "") | ("*", "*") => res.clone(),
                        (_, g) => format!("{res}.{g}"),
                    })
            })
            .collect();
        let mut out = format!("{verbs} {}", resources.join(","));
        if !self.names.is_empty() {
            out.push_str(&format!(" [{}]", self.names.join(",")));
        }
        out
    }
}

/// A resource as typed on the command line, kubectl style: `pods`, `deployments.apps`,
/// `pods/log`, `deployments.apps/scale`. A plural without a group is looked up among the
/// well-known resources (`deployments` is in `apps`), else taken as the core group's.
pub fn parse_resource(typed: &str) -> (String, String, Option<String>) {
    let (resource, sub) = match typed.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (typed, None),
    };
    let (plural, group) = match resource.split_once('.') {
        Some((p, g)) => (p.to_owned(), g.to_owned()),
        None => (resource.to_owned(), well_known_group(resource).to_owned()),
    };
    (group, plural, sub)
}

/// The API group of a well-known plural resource (`""`, the core group, for any other).
fn well_known_group(plural: &str) -> &'static str {
    match plural {
        "deployments" | "statefulsets" | "daemonsets" | "replicasets" | "controllerrevisions" => {
            "apps"
        }
        "jobs" | "cronjobs" => "batch",
        "ingresses" | "networkpolicies" | "ingressclasses" => "networking.k8s.io",
        "roles" | "rolebindings" | "clusterroles" | "clusterrolebindings" => {
            "rbac.authorization.k8s.io"
        }
        "leases" => "coordination.k8s.io",
        "customresourcedefinitions" => "apiextensions.k8s.io",
        "horizontalpodautoscalers" => "autoscaling",
        "poddisruptionbudgets" => "policy",
        "storageclasses" => "storage.k8s.io",
        "profiles" | "poddefaults" | "notebooks" => "kubeflow.org",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(v: Value) -> Rule {
        Rule::of(&serde_json::from_value(v).unwrap())
    }

    fn req(verb: &str, group: &str, resource: &str) -> Request {
        Request {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            ..Request::default()
        }
    }

    #[test]
    fn a_rule_allows_what_it_lists_and_stars_match_anything() {
        let r = parse(json!({"verbs": ["get", "list"], "apiGroups": [""],
            "resources": ["pods", "pods/log"]}));
        assert!(r.allows(&req("get", "", "pods")));
        assert!(!r.allows(&req("delete", "", "pods")));
        assert!(!r.allows(&req("get", "apps", "pods")));
        let log = Request {
            subresource: Some("log".into()),
            ..req("get", "", "pods")
        };
        assert!(r.allows(&log));
        let exec = Request {
            subresource: Some("exec".into()),
            ..req("get", "", "pods")
        };
        assert!(!r.allows(&exec));
        let all = parse(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
        assert!(all.allows(&exec) && all.is_everything() && !r.is_everything());
        assert_eq!(all.summary(), "* *");
        assert_eq!(r.summary(), "get,list pods,pods/log");
    }

    #[test]
    fn resource_names_limit_a_rule_to_requests_naming_them() {
        let r = parse(json!({"verbs": ["get"], "apiGroups": [""],
            "resources": ["secrets"], "resourceNames": ["token"]}));
        assert!(!r.allows(&req("get", "", "secrets")));
        let named = Request {
            name: Some("token".into()),
            ..req("get", "", "secrets")
        };
        assert!(r.allows(&named));
        assert_eq!(r.summary(), "get secrets [token]");
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_a_trailing_star() {
        let r = parse(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/api/*"]}));
        let at = |p: &str| Request {
            verb: "get".into(),
            path: Some(p.into()),
            ..Request::default()
        };
        assert!(r.allows(&at("/healthz")) && r.allows(&at("/api/v1")));
        assert!(!r.allows(&at("/metrics")));
    }

    #[test]
    fn typed_resources_resolve_like_kubectl() {
        assert_eq!(parse_resource("pods"), ("".into(), "pods".into(), None));
        assert_eq!(
            parse_resource("deployments"),
            ("apps".into(), "deployments".into(), None)
        );
        assert_eq!(
            parse_resource("widgets.example.com/status"),
            (
                "example.com".into(),
                "widgets".into(),
                Some("status".into())
            )
        );
    }
}
