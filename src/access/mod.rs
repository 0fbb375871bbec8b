//! Who can do what, where: RBAC (Roles, ClusterRoles with their aggregation, RoleBindings and
//! ClusterRoleBindings) resolved into grants per subject, from a cluster's live objects or from
//! an ORB's desired/ alone; the questions `orbdeck access` and the UI's Access tab ask of them;
//! and what deserves a second look (cluster-admin-equivalent subjects, bindings to subjects or
//! roles that do not exist). Pure: loading is the caller's.

pub mod live;
pub mod rule;

pub use rule::{Request, Rule, parse_resource};

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::core::{Selector, SelectorExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

/// Who a binding names: a user, a group or a service account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// A user, by name.
    User(String),
    /// A group, by name.
    Group(String),
    /// A service account of a namespace.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

impl Subject {
    /// A subject as typed: `User:alice`, `Group:devs`, `ServiceAccount:NS:NAME` (or `sa:NS/NAME`),
    /// `system:serviceaccount:NS:NAME` as the API server names it, or a bare name (a user).
    pub fn parse(typed: &str) -> Result<Subject, String> {
        let bad = || {
            format!(
                "subject {typed:?}: expected User:NAME, Group:NAME, ServiceAccount:NAMESPACE:NAME \
                 or system:serviceaccount:NAMESPACE:NAME"
            )
        };
        if let Some(rest) = typed.strip_prefix("system:serviceaccount:") {
            let (namespace, name) = rest.split_once(':').ok_or_else(bad)?;
            return Ok(Subject::ServiceAccount {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            });
        }
        let Some((kind, name)) = typed.split_once(':') else {
            return if typed.is_empty() {
                Err(bad())
            } else {
                Ok(Subject::User(typed.to_owned()))
            };
        };
        match kind.to_ascii_lowercase().as_str() {
            "user" => Ok(Subject::User(name.to_owned())),
            "group" => Ok(Subject::Group(name.to_owned())),
            "serviceaccount" | "sa" => {
                let (namespace, name) = name
                    .split_once(':')
                    .or_else(|| name.split_once('/'))
                    .ok_or_else(bad)?;
                Ok(Subject::ServiceAccount {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                })
            }
            // `system:...` user names (system:kube-scheduler) are users too.
            "system" => Ok(Subject::User(typed.to_owned())),
            _ => Err(bad()),
        }
    }

    /// The subject of one entry of a binding's `subjects` (a service account without a
    /// namespace is in the binding's own).
    fn of_binding(s: &k8s_openapi::api::rbac::v1::Subject, namespace: Option<&str>) -> Subject {
        match s.kind.as_str() {
            "Group" => Subject::Group(s.name.clone()),
            "ServiceAccount" => Subject::ServiceAccount {
                namespace: s
                    .namespace
                    .clone()
                    .or_else(|| namespace.map(str::to_owned))
                    .unwrap_or_default(),
                name: s.name.clone(),
            },
            _ => Subject::User(s.name.clone()),
        }
    }

    /// The kind as a binding writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::User(_) => "User",
            Subject::Group(_) => "Group",
            Subject::ServiceAccount { .. } => "ServiceAccount",
        }
    }

    /// Its name (`NAMESPACE/NAME` for a service account).
    pub fn name(&self) -> String {
        match self {
            Subject::User(n) | Subject::Group(n) => n.clone(),
            Subject::ServiceAccount { namespace, name } => format!("{namespace}/{name}"),
        }
    }

    /// The groups every request of this subject carries (what the API server adds after
    /// authentication): `system:authenticated`, and a service account's
    /// `system:serviceaccounts` and `system:serviceaccounts:NAMESPACE`. A group has none.
    pub fn implicit_groups(&self) -> Vec<String> {
        match self {
            Subject::Group(_) => Vec::new(),
            Subject::User(n) if n == "system:anonymous" => vec!["system:unauthenticated".into()],
            Subject::User(_) => vec!["system:authenticated".into()],
            Subject::ServiceAccount { namespace, .. } => vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.name())
    }
}

/// What one binding gives one of its subjects.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// Who.
    pub subject: Subject,
    /// Where: the RoleBinding's namespace, or None for a ClusterRoleBinding (everywhere).
    pub namespace: Option<String>,
    /// The binding, `RoleBinding NS/NAME` or `ClusterRoleBinding NAME`.
    pub binding: String,
    /// The role it refers to, `Role NAME` or `ClusterRole NAME`.
    pub role: String,
    /// The role's rules (its aggregated rules for an aggregated ClusterRole); empty when the
    /// role does not exist.
    pub rules: Arc<[Rule]>,
    /// Whether the role exists.
    pub role_found: bool,
}

impl Grant {
    /// Whether the grant covers a request in `namespace` (None: a cluster-scoped request or one
    /// across every namespace, which only a ClusterRoleBinding covers).
    pub fn covers(&self, namespace: Option<&str>, r: &Request) -> bool {
        let place = match &self.namespace {
            None => true,
            Some(own) => namespace == Some(own.as_str()),
        };
        place && self.rules.iter().any(|rule| rule.allows(r))
    }

    /// Whether the grant is cluster-admin-equivalent: every verb on every resource, everywhere.
    pub fn is_cluster_admin(&self) -> bool {
        self.namespace.is_none() && self.rules.iter().any(Rule::is_everything)
    }
}

/// Something about the bindings worth a second look.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// A subject that may do anything anywhere, and the binding that lets it.
    ClusterAdmin {
        /// Who.
        subject: Subject,
        /// The binding.
        binding: String,
    },
    /// A binding to a service account that does not exist (known only from a live cluster).
    NoSuchSubject {
        /// The missing service account.
        subject: Subject,
        /// The binding.
        binding: String,
    },
    /// A binding to a role that does not exist: it grants nothing.
    NoSuchRole {
        /// The missing role.
        role: String,
        /// The binding.
        binding: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::ClusterAdmin { subject, binding } => {
                write!(f, "cluster-admin equivalent: {subject} (through {binding})")
            }
            Finding::NoSuchSubject { subject, binding } => {
                write!(f, "no such subject: {subject} is bound by {binding}")
            }
            Finding::NoSuchRole { role, binding } => {
                write!(
                    f,
                    "no such role: {binding} refers to {role}, which grants nothing"
                )
            }
        }
    }
}

/// The RBAC objects a policy is resolved from.
#[derive(Clone, Debug, Default)]
pub struct Objects {
    /// Roles.
    pub roles: Vec<Role>,
    /// ClusterRoles.
    pub cluster_roles: Vec<ClusterRole>,
    /// RoleBindings.
    pub role_bindings: Vec<RoleBinding>,
    /// ClusterRoleBindings.
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// The service accounts (namespace, name), when they are known (a live cluster): then a
    /// binding to another one is reported.
    pub service_accounts: Option<BTreeSet<(String, String)>>,
}

impl Objects {
    /// The RBAC objects among `values` (manifests as JSON, e.g. an ORB's desired/); other kinds
    /// and objects that do not parse are left out. Service accounts stay unknown: desired/
    /// rarely lists every one (controllers and the API server make most).
    pub fn from_manifests<'a>(values: impl IntoIterator<Item = &'a Value>) -> Objects {
        fn parse<T: serde::de::DeserializeOwned>(v: &Value, into: &mut Vec<T>) {
            if let Ok(t) = serde_json::from_value(v.clone()) {
                into.push(t);
            }
        }
        let mut out = Objects::default();
        for v in values {
            let group = v
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|a| a.starts_with("rbac.authorization.k8s.io/"));
            if !group {
                continue;
            }
            match v.get("kind").and_then(Value::as_str) {
                Some("Role") => parse(v, &mut out.roles),
                Some("ClusterRole") => parse(v, &mut out.cluster_roles),
                Some("RoleBinding") => parse(v, &mut out.role_bindings),
                Some("ClusterRoleBinding") => parse(v, &mut out.cluster_role_bindings),
                _ => {}
            }
        }
        out
    }
}

/// Every grant of a set of RBAC objects, and the findings about them.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    grants: Vec<Grant>,
    findings: Vec<Finding>,
}

/// How deep aggregated ClusterRoles may nest (the API server's controller aggregates again each
/// time an aggregated role changes, so chains settle; this bounds a cycle).
const AGGREGATION_DEPTH: usize = 8;

impl Policy {
    /// Resolves `objects`: each binding's role (aggregated ClusterRoles get the rules of every
    /// ClusterRole their selectors match, as the API server's aggregation controller fills
    /// them), one grant per subject of each binding.
    pub fn resolve(objects: &Objects) -> Policy {
        let cluster_roles = aggregated(&objects.cluster_roles);
        let roles: HashMap<(&str, &str), Arc<[Rule]>> = objects
            .roles
            .iter()
            .map(|r| {
                let ns = r.metadata.namespace.as_deref().unwrap_or_default();
                let name = r.metadata.name.as_deref().unwrap_or_default();
                let rules: Vec<Rule> = r.rules.iter().flatten().map(Rule::of).collect();
                ((ns, name), Arc::from(rules))
            })
            .collect();
        let mut grants = Vec::new();
        let mut findings = BTreeSet::new();
        let none: Arc<[Rule]> = Arc::from(Vec::new());
        let mut bind = |binding: String,
                        namespace: Option<&str>,
                        role_ref: &k8s_openapi::api::rbac::v1::RoleRef,
                        subjects: &[k8s_openapi::api::rbac::v1::Subject]| {
            let found = match (role_ref.kind.as_str(), namespace) {
                ("Role", Some(ns)) => roles.get(&(ns, role_ref.name.as_str())).cloned(),
                ("ClusterRole", _) => cluster_roles.get(role_ref.name.as_str()).cloned(),
                _ => None,
            };
            let role = format!("{} {}", role_ref.kind, role_ref.name);
            if found.is_none() {
                findings.insert(Finding::NoSuchRole {
                    role: role.clone(),
                    binding: binding.clone(),
                });
            }
            for s in subjects {
                let subject = Subject::of_binding(s, namespace);
                if let (Some(known), Subject::ServiceAccount { namespace, name }) =
                    (&objects.service_accounts, &subject)
                    && !known.contains(&(namespace.clone(), name.clone()))
                {
                    findings.insert(Finding::NoSuchSubject {
                        subject: subject.clone(),
                        binding: binding.clone(),
                    });
                }
                grants.push(Grant {
                    subject,
                    namespace: namespace.map(str::to_owned),
                    binding: binding.clone(),
                    role: role.clone(),
                    rules: found.clone().unwrap_or_else(|| none.clone()),
                    role_found: found.is_some(),
                });
            }
        };
        for b in &objects.role_bindings {
            let ns = b.metadata.namespace.as_deref().unwrap_or_default();
            let name = b.metadata.name.as_deref().unwrap_or_default();
            let subjects = b.subjects.as_deref().unwrap_or_default();
            bind(
                format!("RoleBinding {ns}/{name}"),
                Some(ns),
                &b.role_ref,
                subjects,
            );
        }
        for b in &objects.cluster_role_bindings {
            let name = b.metadata.name.as_deref().unwrap_or_default();
            let subjects = b.subjects.as_deref().unwrap_or_default();
            bind(
                format!("ClusterRoleBinding {name}"),
                None,
                &b.role_ref,
                subjects,
            );
        }
        for g in grants.iter().filter(|g| g.is_cluster_admin()) {
            findings.insert(Finding::ClusterAdmin {
                subject: g.subject.clone(),
                binding: g.binding.clone(),
            });
        }
        grants.sort_by(|a, b| {
            (&a.subject, &a.namespace, &a.binding).cmp(&(&b.subject, &b.namespace, &b.binding))
        });
        Policy {
            grants,
            findings: findings.into_iter().collect(),
        }
    }

    /// Every grant, by subject, then namespace (cluster-wide first), then binding.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// What deserves a second look: cluster-admin equivalents first, then missing subjects and
    /// roles.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The grants that apply to `who`: its own, and for a user or a service account those of
    /// its implicit groups and of `groups` (the groups a user is known to be in).
    pub fn of<'a>(&'a self, who: &Subject, groups: &[String]) -> Vec<&'a Grant> {
        let mut all: Vec<String> = who.implicit_groups();
        all.extend(groups.iter().cloned());
        self.grants
            .iter()
            .filter(|g| {
                g.subject == *who || matches!(&g.subject, Subject::Group(n) if all.contains(n))
            })
            .collect()
    }

    /// The first grant that lets `who` (with `groups`) make request `r` in `namespace`, if any:
    /// what a SubjectAccessReview answers, with the reason.
    pub fn allows<'a>(
        &'a self,
        who: &Subject,
        groups: &[String],
        namespace: Option<&str>,
        r: &Request,
    ) -> Option<&'a Grant> {
        self.of(who, groups)
            .into_iter()
            .find(|g| g.covers(namespace, r))
    }

    /// Every grant that allows request `r` in `namespace`: who can, and through what.
    pub fn who_can(&self, namespace: Option<&str>, r: &Request) -> Vec<&Grant> {
        self.grants
            .iter()
            .filter(|g| g.covers(namespace, r))
            .collect()
    }
}

/// Every ClusterRole's rules by name, an aggregated one's with the rules of the roles its
/// selectors match.
fn aggregated(roles: &[ClusterRole]) -> HashMap<&str, Arc<[Rule]>> {
    let own: Vec<(&str, BTreeMap<String, String>, Vec<Rule>)> = roles
        .iter()
        .map(|r| {
            (
                r.metadata.name.as_deref().unwrap_or_default(),
                r.metadata.labels.clone().unwrap_or_default(),
                r.rules.iter().flatten().map(Rule::of).collect(),
            )
        })
        .collect();
    let mut rules: Vec<BTreeSet<Rule>> = own
        .iter()
        .map(|(_, _, r)| r.iter().cloned().collect())
        .collect();
    let selectors: Vec<Vec<Selector>> = roles
        .iter()
        .map(|r| {
            r.aggregation_rule
                .iter()
                .flat_map(|a| a.cluster_role_selectors.iter().flatten())
                .filter_map(|s| Selector::try_from(s.clone()).ok())
                .collect()
        })
        .collect();
    for _ in 0..AGGREGATION_DEPTH {
        let mut changed = false;
        for (i, sel) in selectors.iter().enumerate() {
            for (j, (_, labels, _)) in own.iter().enumerate() {
                if i == j || !sel.iter().any(|s| s.matches(labels)) {
                    continue;
                }
                let add: Vec<Rule> = rules[j].difference(&rules[i]).cloned().collect();
                changed |= !add.is_empty();
                rules[i].extend(add);
            }
        }
        if !changed {
            break;
        }
    }
    own.iter()
        .zip(rules)
        .map(|((name, _, _), r)| (*name, Arc::from(r.into_iter().collect::<Vec<_>>())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn objects() -> Objects {
        let values = [
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "cluster-admin"},
                "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "view"},
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg/view": "true"}}]}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "view-pods", "labels": {"agg/view": "true"}},
                "rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "root"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "User", "name": "carol"}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "viewers", "namespace": "team"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "Group", "name": "devs"},
                             {"kind": "ServiceAccount", "name": "robot"}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "dangling", "namespace": "team"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "gone"},
                "subjects": [{"kind": "User", "name": "dave"}]}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        ];
        Objects::from_manifests(&values)
    }

    fn get_pods() -> Request {
        Request {
            verb: "list".into(),
            resource: "pods".into(),
            ..Request::default()
        }
    }

    #[test]
    fn aggregated_roles_grant_what_their_selected_roles_hold_in_the_binding_namespace() {
        let p = Policy::resolve(&objects());
        let devs = Subject::Group("devs".into());
        assert!(p.allows(&devs, &[], Some("team"), &get_pods()).is_some());
        assert!(p.allows(&devs, &[], Some("other"), &get_pods()).is_none());
        assert!(p.allows(&devs, &[], None, &get_pods()).is_none());
        // A user in the group, told so, can too; without the group, not.
        let erin = Subject::User("erin".into());
        assert!(
            p.allows(&erin, &["devs".into()], Some("team"), &get_pods())
                .is_some()
        );
        assert!(p.allows(&erin, &[], Some("team"), &get_pods()).is_none());
    }

    #[test]
    fn a_service_account_without_a_namespace_is_in_the_binding_one() {
        let p = Policy::resolve(&objects());
        let robot = Subject::parse("system:serviceaccount:team:robot").unwrap();
        let g = p.allows(&robot, &[], Some("team"), &get_pods()).unwrap();
        assert_eq!(g.binding, "RoleBinding team/viewers");
        assert_eq!(g.role, "ClusterRole view");
    }

    #[test]
    fn findings_name_cluster_admins_and_bindings_to_nothing() {
        let mut o = objects();
        let p = Policy::resolve(&o);
        let found: Vec<String> = p.findings().iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "cluster-admin equivalent: User carol (through ClusterRoleBinding root)",
                "no such role: RoleBinding team/dangling refers to Role gone, which grants nothing",
            ]
        );
        // Known service accounts make a binding to an unknown one a finding.
        o.service_accounts = Some(BTreeSet::from([("team".into(), "default".into())]));
        let p = Policy::resolve(&o);
        assert!(
            p.findings()
                .iter()
                .any(|f| matches!(f, Finding::NoSuchSubject { subject, .. }
            if subject.name() == "team/robot"))
        );
    }

    #[test]
    fn who_can_lists_every_grant_allowing_a_request() {
        let p = Policy::resolve(&objects());
        let who: Vec<String> = p
            .who_can(Some("team"), &get_pods())
            .iter()
            .map(|g| g.subject.to_string())
            .collect();
        assert_eq!(
            who,
            ["User carol", "Group devs", "ServiceAccount team/robot"]
        );
    }

    #[test]
    fn subjects_parse_as_typed() {
        let sa = |n: &str, a: &str| Subject::ServiceAccount {
            namespace: n.into(),
            name: a.into(),
        };
        assert_eq!(Subject::parse("alice"), Ok(Subject::User("alice".into())));
        assert_eq!(
            Subject::parse("Group:devs"),
            Ok(Subject::Group("devs".into()))
        );
        assert_eq!(Subject::parse("sa:kf/editor"), Ok(sa("kf", "editor")));
        assert_eq!(
            Subject::parse("ServiceAccount:kf:editor"),
            Ok(sa("kf", "editor"))
        );
        assert_eq!(
            Subject::parse("system:kube-scheduler"),
            Ok(Subject::User("system:kube-scheduler".into()))
        );
        assert!(Subject::parse("robot:x").is_err());
        assert!(Subject::parse("").is_err());
    }
}
