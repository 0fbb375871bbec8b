//! The profile family's settings in `orb.yaml` (`profiles.networkPolicies`,
//! `profiles.authorization`): where the network policies let traffic go and how the Istio
//! authorization policies know a user. Every field defaults to Kubeflow's and StatCan's value.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::string_map;

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

/// Identity header, gateway and paths of the authorization policies; defaults are Kubeflow's
/// and StatCan's.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct AuthorizationSettings {
    /// Request header carrying the authenticated user. Default `kubeflow-userid`.
    pub user_header: String,
    /// Prefix the gateway puts before the user in that header. Default empty.
    pub user_prefix: String,
    /// Principals (service accounts) trusted to set the user header: the ingress gateway's.
    /// Without this anyone in the mesh could claim to be the owner; empty trusts every source.
    /// Default `cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account`.
    pub gateway_principals: Vec<String>,
    /// Paths open to every caller, for Knative's probes.
    /// Default `/healthz`, `/metrics`, `/wait-for-drain`.
    pub probe_paths: Vec<String>,
    /// Requests denied on protected-b workloads; `{namespace}` in a path is the profile namespace.
    /// Default: RStudio upload (POST) and export, Jupyter files and nbconvert (GET), under
    /// `/notebook/{namespace}/{*}/`. These use Istio path templates (`{*}` one segment, `{**}` the
    /// rest), which Istio supports from 1.22 on.
    pub blocked_operations: Vec<BlockedOperation>,
}

/// One HTTP operation denied on protected-b workloads.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BlockedOperation {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Istio path pattern; `{namespace}` is replaced by the profile namespace.
    pub path: String,
}

impl Default for AuthorizationSettings {
    fn default() -> Self {
        let op = |method: &str, path: &str| BlockedOperation {
            method: method.into(),
            path: path.into(),
        };
        Self {
            user_header: "kubeflow-userid".into(),
            user_prefix: String::new(),
            gateway_principals: vec![
                "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account".into(),
            ],
            probe_paths: vec![
                "/healthz".into(),
                "/metrics".into(),
                "/wait-for-drain".into(),
            ],
            blocked_operations: vec![
                op("POST", "/notebook/{namespace}/{*}/rstudio/upload"),
                op("GET", "/notebook/{namespace}/{*}/rstudio/export/{**}"),
                op("GET", "/notebook/{namespace}/{*}/files/{**}"),
                op("GET", "/notebook/{namespace}/{*}/nbconvert/{**}"),
            ],
        }
    }
}
