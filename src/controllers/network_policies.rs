//! The network controller (seed 001): the ten NetworkPolicies of every profile namespace.
//!
//! Names, selectors and ports follow StatCan's `cmd/network.go` at the revision whose policy list
//! matches the seed's README (the ten below; the MinIO, GitLab and daaas-system policies of other
//! revisions are not in the seed). Workloads are told apart by the classification label
//! `data.statcan.gc.ca/classification`: `protected-b` versus anything else (including no label).
//! Namespaces, pod selectors, CIDRs and ports are [`NetworkPolicySettings`], defaulting to StatCan's.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{CLASSIFICATION_LABEL, Meta, PROTECTED_B, child, profile_name, string_map};
use crate::model::Profile;

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

/// Where the network policies let traffic go; every field defaults to StatCan's value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct NetworkPolicySettings {
    /// Namespaces (each given by its labels) whose pods may reach notebooks, the ingress gateway's
    /// among them. Default: `namespace.statcan.gc.ca/purpose` = `system`, and = `daaas`.
    pub system_namespaces: Vec<BTreeMap<String, String>>,
    /// Notebook container port (a name or a number) they may reach. Default `notebook-port`.
    pub notebook_port: String,
    /// Labels of the Knative Serving namespace.
    /// Default `app.kubernetes.io/component: knative-serving-install`.
    pub knative_serving_namespace: BTreeMap<String, String>,
    /// Labels of the namespace running the Istio gateways. Default
    /// `install.operator.istio.io/owner-name: istio` and `namespace.statcan.gc.ca/purpose: system`.
    pub gateway_namespace: BTreeMap<String, String>,
    /// Labels of the cluster-local gateway pods. Default `istio: ingressgateway-kfserving`.
    pub cluster_local_gateway_pods: BTreeMap<String, String>,
    /// Labels of the ingress gateway pods. Default `istio: ingressgateway`.
    pub ingress_gateway_pods: BTreeMap<String, String>,
    /// The internet, as notebooks may reach it. Default `0.0.0.0/0`.
    pub internet_cidr: String,
    /// Ranges cut out of `internetCidr`. Default the private ranges `10.0.0.0/8`,
    /// `172.16.0.0/12`, `192.168.0.0/16`.
    pub private_cidrs: Vec<String>,
    /// The one internet port protected-b notebooks may reach. Default 443.
    pub https_port: u16,
    /// Labels of the namespace running Vault, Pipelines, Elasticsearch and Artifactory.
    /// Default `namespace.statcan.gc.ca/purpose: daaas`.
    pub services_namespace: BTreeMap<String, String>,
    /// Vault's pods and ports. Default `app.kubernetes.io/instance: vault`, `component: server`;
    /// port 8200.
    pub vault: ServiceEndpoint,
    /// Kubeflow Pipelines' pods and ports. Default `app.kubernetes.io/name: kubeflow-pipelines`,
    /// `app.kubernetes.io/component: ml-pipeline`; ports 8888 and 8887.
    pub pipelines: ServiceEndpoint,
    /// Elasticsearch's pods and ports. Default `common.k8s.elastic.co/type: elasticsearch`;
    /// port 9200.
    pub elasticsearch: ServiceEndpoint,
    /// Artifactory's pods and ports. Default `app: artifactory-ha`; ports 8081 and 8082.
    pub artifactory: ServiceEndpoint,
}

/// Pods (by label) in the services namespace, and the TCP ports they are reached on.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServiceEndpoint {
    /// Labels of the pods.
    pub pods: BTreeMap<String, String>,
    /// TCP ports.
    pub ports: Vec<u16>,
}

impl Default for NetworkPolicySettings {
    fn default() -> Self {
        let endpoint = |pods: &[(&str, &str)], ports: &[u16]| ServiceEndpoint {
            pods: string_map(pods),
            ports: ports.to_vec(),
        };
        Self {
            system_namespaces: vec![
                string_map(&[("namespace.statcan.gc.ca/purpose", "system")]),
                string_map(&[("namespace.statcan.gc.ca/purpose", "daaas")]),
            ],
            notebook_port: "notebook-port".into(),
            knative_serving_namespace: string_map(&[(
                "app.kubernetes.io/component",
                "knative-serving-install",
            )]),
            gateway_namespace: string_map(&[
                ("install.operator.istio.io/owner-name", "istio"),
                ("namespace.statcan.gc.ca/purpose", "system"),
            ]),
            cluster_local_gateway_pods: string_map(&[("istio", "ingressgateway-kfserving")]),
            ingress_gateway_pods: string_map(&[("istio", "ingressgateway")]),
            internet_cidr: "0.0.0.0/0".into(),
            private_cidrs: vec![
                "10.0.0.0/8".into(),
                "172.16.0.0/12".into(),
                "192.168.0.0/16".into(),
            ],
            https_port: 443,
            services_namespace: string_map(&[("namespace.statcan.gc.ca/purpose", "daaas")]),
            vault: endpoint(
                &[
                    ("app.kubernetes.io/instance", "vault"),
                    ("component", "server"),
                ],
                &[8200],
            ),
            pipelines: endpoint(
                &[
                    ("app.kubernetes.io/component", "ml-pipeline"),
                    ("app.kubernetes.io/name", "kubeflow-pipelines"),
                ],
                &[8888, 8887],
            ),
            elasticsearch: endpoint(&[("common.k8s.elastic.co/type", "elasticsearch")], &[9200]),
            artifactory: endpoint(&[("app", "artifactory-ha")], &[8081, 8082]),
        }
    }
}

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
