//! The network controller (seed 001): the ten NetworkPolicies of every profile namespace.
//!
//! Names, selectors and ports follow StatCan's `cmd/network.go` at the revision whose policy list
//! matches the seed's README (the ten below; the MinIO, GitLab and daaas-system policies of other
//! revisions are not in the seed). Workloads are told apart by the classification label
//! `data.statcan.gc.ca/classification`: `protected-b` versus anything else (including no label).
//! Namespaces, pod selectors, CIDRs and ports are [`NetworkPolicySettings`], defaulting to StatCan's.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::desired::{Meta, child, profile_name};
use crate::controllers::{CLASSIFICATION_LABEL, PROTECTED_B};
use crate::model::{NetworkPolicySettings, Profile, ServiceEndpoint};

/// Ingress from the ingress gateway (and platform namespaces) to notebooks' `notebook-port`.
pub const INGRESS_GATEWAY: &str = "notebooks-allow-system-to-notebook";
/// Ingress from Knative Serving to unclassified Knative services.
pub const KNATIVE_SERVING: &str = "allow-ingress-from-knative-serving";
/// Egress from unclassified workloads to the cluster-local (KFServing) gateway.
pub const CLUSTER_LOCAL_GATEWAY: &str = "allow-egress-to-cluster-local-gateway";
/// Egress from unclassified notebooks to the internet (not the private ranges).
pub const UNCLASSIFIED_EGRESS: &str = "notebooks-unclassified-allow-egress";
/// Egress from unclassified notebooks to the ingress gateway.
pub const UNCLASSIFIED_TO_INGRESS_GATEWAY: &str =
    "notebooks-unclassified-allow-egress-to-ingress-gateway";
/// Egress from protected-b notebooks to the internet on 443 only (Azure authentication).
pub const PROTECTED_B_HTTPS: &str = "notebooks-protected-b-allow-https-egress";
/// Egress from every workload to Vault.
pub const VAULT: &str = "namespace-vault-egress";
/// Egress from unclassified notebooks to Kubeflow Pipelines.
pub const PIPELINES: &str = "notebooks-unclassified-pipelines-egress";
/// Egress from unclassified workloads to Elasticsearch.
pub const ELASTICSEARCH: &str = "unclassified-elasticsearch-egress";
/// Egress from protected-b workloads to Artifactory.
pub const ARTIFACTORY: &str = "protected-b-jfrog-egress";

const NAMES: [&str; 10] = [
    INGRESS_GATEWAY,
    KNATIVE_SERVING,
    CLUSTER_LOCAL_GATEWAY,
    UNCLASSIFIED_EGRESS,
    UNCLASSIFIED_TO_INGRESS_GATEWAY,
    PROTECTED_B_HTTPS,
    VAULT,
    PIPELINES,
    ELASTICSEARCH,
    ARTIFACTORY,
];

/// Label every Kubeflow notebook pod carries (with the notebook's name).
const NOTEBOOK_NAME_LABEL: &str = "notebook-name";

/// Names of every NetworkPolicy this controller owns, in the order [`policies`] returns them;
/// an owned policy with another name is no longer desired and can be deleted.
pub fn names() -> &'static [&'static str] {
    &NAMES
}

/// The ten NetworkPolicies of the Profile's namespace, in [`names`] order.
pub fn policies(profile: &Profile, settings: &NetworkPolicySettings) -> Vec<Value> {
    let s = settings;
    let services = |endpoint: &ServiceEndpoint| {
        json!([{
            "ports": endpoint.ports.iter().map(|p| tcp(json!(p))).collect::<Vec<_>>(),
            "to": [{
                "namespaceSelector": labels(&s.services_namespace),
                "podSelector": labels(&endpoint.pods),
            }],
        }])
    };
    let internet = json!({"ipBlock": {"cidr": s.internet_cidr, "except": s.private_cidrs}});
    let specs = [
        (
            INGRESS_GATEWAY,
            json!({
                "podSelector": expressions(&[notebook()]),
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "ports": [tcp(port(&s.notebook_port))],
                    "from": s.system_namespaces.iter()
                        .map(|ns| json!({"namespaceSelector": labels(ns)}))
                        .collect::<Vec<_>>(),
                }],
            }),
        ),
        (
            KNATIVE_SERVING,
            json!({
                "podSelector": expressions(&[exists("serving.knative.dev/service"), unclassified()]),
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": labels(&s.knative_serving_namespace)}]}],
            }),
        ),
        (
            CLUSTER_LOCAL_GATEWAY,
            json!({
                "podSelector": expressions(&[unclassified()]),
                "policyTypes": ["Egress"],
                "egress": [{"to": [{
                    "namespaceSelector": labels(&s.gateway_namespace),
                    "podSelector": labels(&s.cluster_local_gateway_pods),
                }]}],
            }),
        ),
        (
            UNCLASSIFIED_EGRESS,
            json!({
                "podSelector": expressions(&[notebook(), unclassified()]),
                "policyTypes": ["Egress"],
                "egress": [{"to": [internet]}],
            }),
        ),
        (
            UNCLASSIFIED_TO_INGRESS_GATEWAY,
            json!({
                "podSelector": expressions(&[notebook(), unclassified()]),
                "policyTypes": ["Egress"],
                "egress": [{"to": [{
                    "namespaceSelector": labels(&s.gateway_namespace),
                    "podSelector": labels(&s.ingress_gateway_pods),
                }]}],
            }),
        ),
        (
            PROTECTED_B_HTTPS,
            json!({
                "podSelector": expressions(&[notebook(), protected_b()]),
                "policyTypes": ["Egress"],
                "egress": [{"ports": [tcp(json!(s.https_port))], "to": [internet]}],
            }),
        ),
        (
            VAULT,
            json!({
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": services(&s.vault),
            }),
        ),
        (
            PIPELINES,
            json!({
                "podSelector": expressions(&[notebook(), unclassified()]),
                "policyTypes": ["Egress"],
                "egress": services(&s.pipelines),
            }),
        ),
        (
            ELASTICSEARCH,
            json!({
                "podSelector": expressions(&[unclassified()]),
                "policyTypes": ["Egress"],
                "egress": services(&s.elasticsearch),
            }),
        ),
        (
            ARTIFACTORY,
            json!({
                "podSelector": expressions(&[protected_b()]),
                "policyTypes": ["Egress"],
                "egress": services(&s.artifactory),
            }),
        ),
    ];
    specs
        .into_iter()
        .map(|(name, spec)| {
            child(
                profile,
                ("networking.k8s.io/v1", "NetworkPolicy"),
                name,
                Some(profile_name(profile)),
                Meta::default(),
                json!({"spec": spec}),
            )
        })
        .collect()
}

/// A label selector matching exactly these labels.
fn labels(map: &BTreeMap<String, String>) -> Value {
    json!({"matchLabels": map})
}

/// A label selector made of these expressions.
fn expressions(requirements: &[Value]) -> Value {
    json!({"matchExpressions": requirements})
}

/// Requirement: the label exists.
fn exists(key: &str) -> Value {
    json!({"key": key, "operator": "Exists"})
}

/// Requirement: the pod is a Kubeflow notebook.
fn notebook() -> Value {
    exists(NOTEBOOK_NAME_LABEL)
}

/// Requirement: the workload is classified protected-b.
fn protected_b() -> Value {
    json!({"key": CLASSIFICATION_LABEL, "operator": "In", "values": [PROTECTED_B]})
}

/// Requirement: the workload is not classified protected-b (unclassified or unlabelled).
fn unclassified() -> Value {
    json!({"key": CLASSIFICATION_LABEL, "operator": "NotIn", "values": [PROTECTED_B]})
}

/// A TCP port entry.
fn tcp(port: Value) -> Value {
    json!({"protocol": "TCP", "port": port})
}

/// A port given by number or by name.
fn port(text: &str) -> Value {
    text.parse::<u16>()
        .map_or_else(|_| json!(text), |n| json!(n))
}
