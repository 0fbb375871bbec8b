//! RBAC authorisation with Kubernetes' semantics: Roles and ClusterRoles (aggregated ones
//! included), RoleBindings and ClusterRoleBindings, compiled into an index by subject that is
//! rebuilt only when one of those four kinds changes.

use super::{Attributes, User};
use crate::selector;
use crate::store::Inner;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// The storage keys whose changes invalidate the compiled rules.
pub const KEYS: &[&str] = &[
    "roles.rbac.authorization.k8s.io",
    "clusterroles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
    "clusterrolebindings.rbac.authorization.k8s.io",
];

/// One PolicyRule.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    verbs: Vec<String>,
    groups: Vec<String>,
    resources: Vec<String>,
    names: Vec<String>,
    urls: Vec<String>,
}

impl Rule {
    /// A rule from its JSON form (missing lists are empty).
    pub fn from_json(v: &Value) -> Rule {
        let list = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        Rule {
            verbs: list("verbs"),
            groups: list("apiGroups"),
            resources: list("resources"),
            names: list("resourceNames"),
            urls: list("nonResourceURLs"),
        }
    }

    /// The rule as a SelfSubjectRulesReview lists it.
    fn to_json(&self) -> Value {
        if !self.urls.is_empty() {
            return json!({"verbs": self.verbs, "nonResourceURLs": self.urls});
        }
        let mut out = json!({"verbs": self.verbs, "apiGroups": self.groups,
            "resources": self.resources});
        if !self.names.is_empty() {
            out["resourceNames"] = json!(self.names);
        }
        out
    }

    /// Whether this rule allows the request.
    fn allows(&self, a: &Attributes) -> bool {
        let has = |list: &[String], v: &str| list.iter().any(|x| x == "*" || x == v);
        if !has(&self.verbs, &a.verb) {
            return false;
        }
        let Some(resource) = &a.resource else {
            return self.urls.iter().any(|u| {
                u == "*"
                    || *u == a.path
                    || u.strip_suffix('*').is_some_and(|p| a.path.starts_with(p))
            });
        };
        if !has(&self.groups, &a.group) {
            return false;
        }
        let resource_ok = self.resources.iter().any(|r| match &a.subresource {
            None => r == "*" || r == resource,
            Some(sub) => {
                r == "*"
                    || *r == format!("{resource}/{sub}")
                    || *r == format!("*/{sub}")
                    || *r == format!("{resource}/*")
            }
        });
        resource_ok
            && (self.names.is_empty() || a.name.as_ref().is_some_and(|n| self.names.contains(n)))
    }

    /// Whether every permission of `other` is also one of this rule's (Kubernetes' ruleCovers:
    /// a `*` in `other` is covered only by a `*` here).
    fn covers(&self, other: &Rule) -> bool {
        let sub = |mine: &[String], theirs: &[String]| {
            mine.iter().any(|m| m == "*") || theirs.iter().all(|t| mine.contains(t))
        };
        let names_ok =
            self.names.is_empty() || (!other.names.is_empty() && sub(&self.names, &other.names));
        let urls_ok = other.urls.iter().all(|u| {
            self.urls.iter().any(|m| {
                m == "*" || m == u || m.strip_suffix('*').is_some_and(|p| u.starts_with(p))
            })
        });
        sub(&self.verbs, &other.verbs)
            && (other.resources.is_empty() || sub(&self.groups, &other.groups))
            && other.resources.iter().all(|r| {
                self.resources.iter().any(|m| {
                    m == "*"
                        || m == r
                        || r.split_once('/').is_some_and(|(res, s)| {
                            *m == format!("*/{s}") || *m == format!("{res}/*")
                        })
                })
            })
            && (other.resources.is_empty() || names_ok)
            && urls_ok
    }
}

impl std::fmt::Display for Rule {
    /// As Kubernetes prints a PolicyRule in an escalation error.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = vec![];
        for (label, list) in [
            ("APIGroups", &self.groups),
            ("Resources", &self.resources),
            ("ResourceNames", &self.names),
            ("NonResourceURLs", &self.urls),
            ("Verbs", &self.verbs),
        ] {
            if !list.is_empty() {
                parts.push(format!("{label}:{list:?}"));
            }
        }
        write!(f, "{{{}}}", parts.join(", "))
    }
}

/// Rules granted to a subject, where they apply and through what.
#[derive(Debug, Clone)]
struct Grant {
    /// The namespace of a RoleBinding; None for a ClusterRoleBinding (everywhere).
    namespace: Option<String>,
    rules: Arc<Vec<Rule>>,
    /// `RoleBinding "ns/b" of Role "r"`, for the review's reason.
    via: Arc<str>,
}

/// The compiled bindings: grants by subject key (`User:NAME` or `Group:NAME`).
#[derive(Debug, Default)]
pub struct Compiled {
    by_subject: HashMap<String, Vec<Grant>>,
    cluster_roles: HashMap<String, Arc<Vec<Rule>>>,
}

impl Compiled {
    /// Compiles the RBAC objects of a store.
    pub fn build(s: &Inner) -> Compiled {
        let cluster_roles: HashMap<String, Value> = s
            .list_values(KEYS[1], None)
            .into_iter()
            .map(|r| (crate::object::name(&r).to_string(), r))
            .collect();
        let mut effective: HashMap<String, Arc<Vec<Rule>>> = HashMap::new();
        for name in cluster_roles.keys() {
            let rules = aggregated(name, &cluster_roles, &mut BTreeSet::new());
            effective.insert(name.clone(), Arc::new(rules));
        }
        let roles: HashMap<(String, String), Arc<Vec<Rule>>> = s
            .list_values(KEYS[0], None)
            .into_iter()
            .map(|r| {
                let key = (
                    crate::object::namespace(&r).to_string(),
                    crate::object::name(&r).to_string(),
                );
                (key, Arc::new(rules_of(&r)))
            })
            .collect();
        let mut out = Compiled {
            cluster_roles: effective.clone(),
            ..Compiled::default()
        };
        let mut bind = |binding: &Value, namespace: Option<&str>| {
            let role_kind = binding["roleRef"]["kind"].as_str().unwrap_or("");
            let role_name = binding["roleRef"]["name"].as_str().unwrap_or("");
            let rules = match (role_kind, namespace) {
                ("ClusterRole", _) => effective.get(role_name).cloned(),
                ("Role", Some(ns)) => roles.get(&(ns.to_string(), role_name.to_string())).cloned(),
                _ => None,
            };
            let Some(rules) = rules else { return };
            let name = crate::object::name(binding);
            let via = match namespace {
                Some(ns) => format!("RoleBinding \"{name}/{ns}\" of {role_kind} \"{role_name}\""),
                None => format!("ClusterRoleBinding \"{name}\" of ClusterRole \"{role_name}\""),
            };
            for subject in binding["subjects"].as_array().into_iter().flatten() {
                let Some(key) = subject_key(subject, namespace) else {
                    continue;
                };
                let (kind, who) = key.split_once(':').unwrap_or(("User", &key));
                let via = format!("{via} to {kind} \"{who}\"").into();
                out.by_subject.entry(key).or_default().push(Grant {
                    namespace: namespace.map(String::from),
                    rules: rules.clone(),
                    via,
                });
            }
        };
        for b in s.list_values(KEYS[3], None) {
            bind(&b, None);
        }
        for b in s.list_values(KEYS[2], None) {
            let ns = crate::object::namespace(&b).to_string();
            bind(&b, Some(&ns));
        }
        out
    }

    fn grants<'a>(&'a self, user: &'a User) -> impl Iterator<Item = &'a Grant> + 'a {
        std::iter::once(format!("User:{}", user.name))
            .chain(user.groups.iter().map(|g| format!("Group:{g}")))
            .filter_map(|k| self.by_subject.get(&k))
            .flatten()
    }

    /// A ClusterRole's rules, aggregated ones included.
    pub fn rules_for_cluster_role(&self, role: &Value) -> Vec<Rule> {
        self.cluster_roles
            .get(crate::object::name(role))
            .map(|r| r.to_vec())
            .unwrap_or_else(|| rules_of(role))
    }

    /// Whether RBAC allows the request; `Some(reason)` names the binding that allows it.
    pub fn allows(&self, user: &User, a: &Attributes) -> Option<String> {
        if user.is_privileged() {
            return Some("RBAC: allowed by the system:masters group".into());
        }
        self.grants(user)
            .filter(|g| g.namespace.is_none() || g.namespace.as_deref() == a.namespace.as_deref())
            .find(|g| g.rules.iter().any(|r| r.allows(a)))
            .map(|g| format!("RBAC: allowed by {}", g.via))
    }

    /// The rules that apply to `user` in `namespace` (cluster-wide ones included).
    pub fn rules_for(&self, user: &User, namespace: Option<&str>) -> Vec<Rule> {
        if user.is_privileged() {
            return vec![
                Rule::from_json(&json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})),
                Rule::from_json(&json!({"verbs": ["*"], "nonResourceURLs": ["*"]})),
            ];
        }
        let mut out: Vec<Rule> = self
            .grants(user)
            .filter(|g| g.namespace.is_none() || g.namespace.as_deref() == namespace)
            .flat_map(|g| g.rules.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether `user` holds every permission of `rules` in `namespace` (RBAC's escalation check).
    pub fn covers(&self, user: &User, namespace: Option<&str>, rules: &[Rule]) -> bool {
        let mine = self.rules_for(user, namespace);
        rules.iter().all(|r| {
            // Broken down into one rule per verb, group, resource and name, as Kubernetes does.
            atoms(r)
                .iter()
                .all(|atom| mine.iter().any(|m| m.covers(atom)))
        })
    }
}

/// A rule split into single-permission rules.
fn atoms(r: &Rule) -> Vec<Rule> {
    let one = |v: &[String]| -> Vec<Vec<String>> {
        if v.is_empty() {
            vec![vec![]]
        } else {
            v.iter().map(|x| vec![x.clone()]).collect()
        }
    };
    let mut out = vec![];
    for verb in one(&r.verbs) {
        if !r.urls.is_empty() {
            for url in one(&r.urls) {
                out.push(Rule {
                    verbs: verb.clone(),
                    urls: url,
                    ..Rule::default()
                });
            }
            continue;
        }
        for group in one(&r.groups) {
            for resource in one(&r.resources) {
                for name in one(&r.names) {
                    out.push(Rule {
                        verbs: verb.clone(),
                        groups: group.clone(),
                        resources: resource.clone(),
                        names: name,
                        urls: vec![],
                    });
                }
            }
        }
    }
    out
}

/// The rules of a Role or ClusterRole object.
pub fn rules_of(role: &Value) -> Vec<Rule> {
    role["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(Rule::from_json)
        .collect()
}

/// A ClusterRole's rules: its own, or with an aggregationRule those of every ClusterRole its
/// selectors match (followed through chains of aggregated roles, each role once).
fn aggregated(name: &str, all: &HashMap<String, Value>, seen: &mut BTreeSet<String>) -> Vec<Rule> {
    if !seen.insert(name.to_string()) {
        return vec![];
    }
    let Some(role) = all.get(name) else {
        return vec![];
    };
    let Some(selectors) = role["aggregationRule"]["clusterRoleSelectors"].as_array() else {
        return rules_of(role);
    };
    let selectors: Vec<_> = selectors
        .iter()
        .filter_map(|s| selector::label_selector_from_object(s).ok())
        .collect();
    let mut names: Vec<&String> = all
        .iter()
        .filter(|(n, r)| {
            *n != name
                && selectors
                    .iter()
                    .any(|s| s.matches(crate::object::labels(r)))
        })
        .map(|(n, _)| n)
        .collect();
    names.sort();
    let mut out = vec![];
    for n in names {
        for r in aggregated(n, all, seen) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// A binding subject's key; a ServiceAccount is the user `system:serviceaccount:NS:NAME`.
fn subject_key(subject: &Value, binding_ns: Option<&str>) -> Option<String> {
    let name = subject["name"].as_str()?;
    match subject["kind"].as_str()? {
        "User" => Some(format!("User:{name}")),
        "Group" => Some(format!("Group:{name}")),
        "ServiceAccount" => {
            let ns = subject["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .or(binding_ns)?;
            Some(format!("User:system:serviceaccount:{ns}:{name}"))
        }
        _ => None,
    }
}

/// The rules as a SelfSubjectRulesReview's status lists them.
pub fn rules_status(rules: &[Rule]) -> Value {
    let (urls, resources): (Vec<&Rule>, Vec<&Rule>) =
        rules.iter().partition(|r| !r.urls.is_empty());
    json!({
        "resourceRules": resources.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
        "nonResourceRules": urls.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
        "incomplete": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: Value) -> Rule {
        Rule::from_json(&v)
    }

    fn attrs(
        verb: &str,
        group: &str,
        resource: &str,
        sub: Option<&str>,
        name: Option<&str>,
    ) -> Attributes {
        Attributes {
            verb: verb.into(),
            group: group.into(),
            resource: Some(resource.into()),
            subresource: sub.map(String::from),
            name: name.map(String::from),
            namespace: Some("x".into()),
            path: String::new(),
        }
    }

    #[test]
    fn subresources_and_names_match_as_kubernetes_does() {
        let logs = rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}));
        assert!(logs.allows(&attrs("get", "", "pods", Some("log"), Some("p"))));
        assert!(!logs.allows(&attrs("get", "", "pods", None, Some("p"))));
        let any_status =
            rule(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*/status"]}));
        assert!(any_status.allows(&attrs(
            "patch",
            "apps",
            "deployments",
            Some("status"),
            Some("d")
        )));
        let named = rule(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"],
            "resourceNames": ["a"]}),
        );
        assert!(named.allows(&attrs("get", "", "configmaps", None, Some("a"))));
        assert!(!named.allows(&attrs("list", "", "configmaps", None, None)));
        assert!(!named.allows(&attrs("get", "", "configmaps", None, Some("b"))));
    }

    #[test]
    fn a_star_is_covered_only_by_a_star() {
        let mine =
            rule(json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}));
        let star = rule(json!({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}));
        assert!(mine.covers(&rule(
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})
        )));
        assert!(!mine.covers(&star));
        assert!(star.covers(&mine));
    }
}
