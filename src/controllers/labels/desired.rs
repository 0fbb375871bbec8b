//! What the labels family wants, computed without an API call (seed 002's cluster and node-pool
//! label controllers): for each node, the labels of every ClusterLabel and of the NodePoolLabels
//! of its pool, minus the keys someone else owns with another value (conflicts, reported, never
//! overwritten), and whether the node's labels under the family's field manager already say so.
//!
//! Ownership comes from the node's `managedFields`: the keys under `f:metadata.f:labels` of the
//! family's own Apply entry are its labels; those of other entries are others'. The applied
//! configuration holds exactly the family's wanted labels, so a label it no longer wants is
//! removed by the API server, unless another manager also set it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::controllers::Warning;
use crate::model::{ClusterLabel, NodePoolLabel};

/// Where a wanted label comes from: `ClusterLabel/<name>` or `NodePoolLabel/<name>`.
pub type Source = String;

/// A label someone else owns with another value than one of the family's objects wants.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    /// The node.
    pub node: String,
    /// The label key.
    pub key: String,
    /// The value the family's object wants.
    pub wanted: String,
    /// The value the node has (unknown when only the API server's 409 told of it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Who set it (field managers), when known.
    pub managers: Vec<String>,
    /// The object that wants it.
    pub source: Source,
}

impl Conflict {
    /// One line saying what conflicts, for Events and logs.
    pub fn message(&self) -> String {
        let by = if self.managers.is_empty() {
            String::new()
        } else {
            format!(", set by {}", self.managers.join(", "))
        };
        let is = if self.value.is_empty() {
            "has another value".to_owned()
        } else {
            format!("is {:?}", self.value)
        };
        format!(
            "node {}: label {} {is}{by}; {} wants {:?} and leaves it as it is",
            self.node, self.key, self.source, self.wanted
        )
    }
}

/// What the family does to one node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodePlan {
    /// The node's name.
    pub name: String,
    /// The labels to apply (all the family's labels on the node), with their sources.
    pub labels: BTreeMap<String, (String, Source)>,
    /// The applied configuration, when the node does not have it yet.
    pub write: Option<Value>,
    /// Keys left out because someone else owns them.
    pub conflicts: Vec<Conflict>,
}

/// Everything wanted in one pass.
#[derive(Debug, Default)]
pub struct Desired {
    /// One plan per node, sorted by name.
    pub nodes: Vec<NodePlan>,
    /// Warnings per source object (two of the family's objects wanting one key differently).
    pub warnings: BTreeMap<Source, Vec<Warning>>,
}

/// The label keys a field manager's entries own on `node` (Apply entries only when `apply`).
fn owned_keys(node: &Node, manager: &str, mine: bool) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in node.metadata.managed_fields.iter().flatten() {
        let who = entry.manager.as_deref().unwrap_or_default();
        let is_mine = who == manager && entry.operation.as_deref() == Some("Apply");
        if is_mine != mine || entry.subresource.as_deref().is_some_and(|s| !s.is_empty()) {
            continue;
        }
        let labels = entry
            .fields_v1
            .as_ref()
            .and_then(|f| f.0.pointer("/f:metadata/f:labels"))
            .and_then(Value::as_object);
        for key in labels
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("f:"))
        {
            out.entry(key.to_owned()).or_default().push(who.to_owned());
        }
    }
    out
}

/// The labels the family's objects want on `node`: ClusterLabels first, then the NodePoolLabels
/// of its pool, which win over a ClusterLabel for the same key (they are the more specific);
/// between two objects of one kind the first by name wins and the other gets a warning.
fn wanted_on(
    node: &Node,
    cluster: &[&Arc<ClusterLabel>],
    pools: &[&Arc<NodePoolLabel>],
    warnings: &mut BTreeMap<Source, Vec<Warning>>,
) -> BTreeMap<String, (String, Source)> {
    let node_labels = node.metadata.labels.clone().unwrap_or_default();
    let mut wanted: BTreeMap<String, (String, Source)> = BTreeMap::new();
    let mut put = |labels: &BTreeMap<String, String>, source: Source, wins: bool| {
        for (k, v) in labels {
            match wanted.get(k) {
                Some((value, other)) if !wins || other.starts_with("NodePoolLabel/") => {
                    if value != v {
                        let w = Warning::new(
                            "LabelClaimedTwice",
                            format!("label {k}: {other} wants {value:?}, which wins over {v:?}"),
                        );
                        let list = warnings.entry(source.clone()).or_default();
                        if !list.contains(&w) {
                            list.push(w);
                        }
                    }
                }
                _ => {
                    wanted.insert(k.clone(), (v.clone(), source.clone()));
                }
            }
        }
    };
    for c in cluster {
        let name = c.metadata.name.clone().unwrap_or_default();
        put(&c.spec.labels, format!("ClusterLabel/{name}"), false);
    }
    for p in pools {
        if node_labels.get(&p.spec.pool_label) != Some(&p.spec.pool) {
            continue;
        }
        let name = p.metadata.name.clone().unwrap_or_default();
        put(&p.spec.labels, format!("NodePoolLabel/{name}"), true);
    }
    wanted
}

/// The plan of every node for the family's field manager `manager`.
pub fn desired(
    manager: &str,
    nodes: &[Arc<Node>],
    cluster: &[Arc<ClusterLabel>],
    pools: &[Arc<NodePoolLabel>],
) -> Desired {
    let mut cluster: Vec<&Arc<ClusterLabel>> = cluster.iter().collect();
    cluster.sort_by_key(|c| c.metadata.name.clone());
    let mut pools: Vec<&Arc<NodePoolLabel>> = pools.iter().collect();
    pools.sort_by_key(|p| p.metadata.name.clone());
    let mut out = Desired::default();
    let mut nodes: Vec<&Arc<Node>> = nodes.iter().collect();
    nodes.sort_by_key(|n| n.metadata.name.clone());
    for node in nodes {
        let name = node.metadata.name.clone().unwrap_or_default();
        let live = node.metadata.labels.clone().unwrap_or_default();
        let mine = owned_keys(node, manager, true);
        let theirs = owned_keys(node, manager, false);
        let mut plan = NodePlan {
            name: name.clone(),
            ..Default::default()
        };
        for (key, (value, source)) in wanted_on(node, &cluster, &pools, &mut out.warnings) {
            // Another value the family does not own is someone's (an object's existing fields
            // always have an owner, `before-first-apply` at least): an apply would conflict.
            let foreign = live
                .get(&key)
                .filter(|v| **v != value && !mine.contains_key(&key));
            if let Some(v) = foreign {
                plan.conflicts.push(Conflict {
                    node: name.clone(),
                    key: key.clone(),
                    wanted: value,
                    value: v.clone(),
                    managers: theirs.get(&key).cloned().unwrap_or_default(),
                    source,
                });
                continue;
            }
            plan.labels.insert(key, (value, source));
        }
        let converged = mine.keys().eq(plan.labels.keys())
            && plan.labels.iter().all(|(k, (v, _))| live.get(k) == Some(v));
        if !converged {
            plan.write = Some(body(&name, &plan.labels));
        }
        out.nodes.push(plan);
    }
    out
}

/// The applied configuration of a node's labels: exactly the family's (none at all when it has
/// none, so the API server removes those it owned alone).
pub fn body(node: &str, labels: &BTreeMap<String, (String, Source)>) -> Value {
    let mut metadata = json!({"name": node});
    if !labels.is_empty() {
        let labels: BTreeMap<&String, &String> = labels.iter().map(|(k, (v, _))| (k, v)).collect();
        metadata["labels"] = json!(labels);
    }
    json!({"apiVersion": "v1", "kind": "Node", "metadata": metadata})
}

/// The keys of `labels` an API server's apply conflict message names
/// (`... conflict with "kubectl-label" using v1: .metadata.labels.team`).
pub fn conflicting_keys(message: &str, labels: &BTreeSet<String>) -> Vec<String> {
    labels
        .iter()
        .filter(|k| {
            let path = format!(".metadata.labels.{k}");
            message.match_indices(&path).any(|(i, _)| {
                message[i + path.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace())
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClusterLabelSpec, NodePoolLabelSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        FieldsV1, ManagedFieldsEntry, ObjectMeta,
    };

    const ME: &str = "orbdeck-labels";

    fn node(name: &str, labels: &[(&str, &str)], owners: &[(&str, &str, &[&str])]) -> Arc<Node> {
        let managed = owners
            .iter()
            .map(|(manager, op, keys)| {
                let labels: serde_json::Map<String, Value> =
                    keys.iter().map(|k| (format!("f:{k}"), json!({}))).collect();
                ManagedFieldsEntry {
                    manager: Some((*manager).into()),
                    operation: Some((*op).into()),
                    fields_v1: Some(FieldsV1(json!({"f:metadata": {"f:labels": labels}}))),
                    ..Default::default()
                }
            })
            .collect();
        Arc::new(Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).into(), (*v).into()))
                        .collect(),
                ),
                managed_fields: Some(managed),
                ..Default::default()
            },
            ..Default::default()
        })
    }

    fn cluster(name: &str, labels: &[(&str, &str)]) -> Arc<ClusterLabel> {
        Arc::new(ClusterLabel::new(
            name,
            ClusterLabelSpec {
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            },
        ))
    }

    fn pool(name: &str, pool: &str, labels: &[(&str, &str)]) -> Arc<NodePoolLabel> {
        Arc::new(NodePoolLabel::new(
            name,
            NodePoolLabelSpec {
                pool: pool.into(),
                pool_label: crate::model::NODE_POOL_LABEL.into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).into(), (*v).into()))
                    .collect(),
            },
        ))
    }

    fn written(plan: &NodePlan) -> Option<Value> {
        plan.write.as_ref().map(|b| b["metadata"]["labels"].clone())
    }

    #[test]
    fn every_node_gets_the_cluster_labels_and_a_pools_nodes_get_the_pools() {
        let nodes = [
            node("n1", &[("orbdeck.io/node-pool", "gpu")], &[]),
            node("n2", &[("orbdeck.io/node-pool", "cpu")], &[]),
        ];
        let d = desired(
            ME,
            &nodes,
            &[cluster("env", &[("env", "prod"), ("tier", "a")])],
            &[pool(
                "gpu",
                "gpu",
                &[("accelerator", "nvidia"), ("tier", "gpu")],
            )],
        );
        assert_eq!(
            written(&d.nodes[0]),
            Some(json!({"env": "prod", "tier": "gpu", "accelerator": "nvidia"}))
        );
        assert_eq!(
            written(&d.nodes[1]),
            Some(json!({"env": "prod", "tier": "a"}))
        );
        assert!(
            d.warnings.is_empty(),
            "a pool's label wins quietly: {:?}",
            d.warnings
        );
    }

    #[test]
    fn a_converged_node_needs_no_write_and_a_dropped_label_does() {
        let n = node(
            "n1",
            &[("env", "prod"), ("mine", "x")],
            &[(ME, "Apply", &["env"])],
        );
        let d = desired(
            ME,
            std::slice::from_ref(&n),
            &[cluster("env", &[("env", "prod")])],
            &[],
        );
        assert_eq!(d.nodes[0].write, None);
        // The ClusterLabel gone: the node is applied with no labels, so the server drops `env`.
        let d = desired(ME, &[n], &[], &[]);
        assert_eq!(
            d.nodes[0].write,
            Some(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}))
        );
    }

    #[test]
    fn a_key_someone_else_set_to_another_value_is_a_conflict_not_a_write() {
        let n = node(
            "n1",
            &[("team", "red"), ("env", "prod")],
            &[("kubectl-label", "Update", &["team", "env"])],
        );
        let d = desired(
            ME,
            &[n],
            &[cluster(
                "c",
                &[("team", "blue"), ("env", "prod"), ("zone", "z1")],
            )],
            &[],
        );
        let plan = &d.nodes[0];
        assert_eq!(plan.conflicts.len(), 1);
        let c = &plan.conflicts[0];
        assert_eq!(
            (c.key.as_str(), c.value.as_str(), c.wanted.as_str()),
            ("team", "red", "blue")
        );
        assert_eq!(c.managers, ["kubectl-label"]);
        assert!(
            c.message().contains("set by kubectl-label"),
            "{}",
            c.message()
        );
        // The same value someone else set is shared, not a conflict.
        assert_eq!(written(plan), Some(json!({"env": "prod", "zone": "z1"})));
    }

    #[test]
    fn a_value_set_before_any_manager_was_recorded_is_not_taken_over() {
        // A node created with the label, no managedFields (the API server's before-first-apply).
        let n = node("n1", &[("team", "red")], &[]);
        let d = desired(ME, &[n], &[cluster("c", &[("team", "blue")])], &[]);
        assert_eq!(d.nodes[0].conflicts.len(), 1);
        assert!(d.nodes[0].conflicts[0].managers.is_empty());
        assert_eq!(d.nodes[0].write, None, "nothing of the family's to apply");
    }

    #[test]
    fn two_objects_wanting_one_key_differently_warn_the_loser() {
        let d = desired(
            ME,
            &[node("n1", &[], &[])],
            &[
                cluster("a", &[("env", "prod")]),
                cluster("b", &[("env", "dev")]),
            ],
            &[],
        );
        assert_eq!(written(&d.nodes[0]), Some(json!({"env": "prod"})));
        assert_eq!(d.warnings["ClusterLabel/b"][0].reason, "LabelClaimedTwice");
        assert!(!d.warnings.contains_key("ClusterLabel/a"));
    }

    #[test]
    fn the_keys_of_a_conflict_message_are_found() {
        let keys: BTreeSet<String> = ["team", "example.com/team", "env"].map(String::from).into();
        let message = "Apply failed with 2 conflicts: conflicts with \"kubectl-label\" using v1:\n- .metadata.labels.example.com/team\n- .metadata.labels.team";
        assert_eq!(
            conflicting_keys(message, &keys),
            ["example.com/team", "team"]
        );
        let one = "Apply failed with 1 conflict: conflict with \"kubectl-label\" using v1: .metadata.labels.env";
        assert_eq!(conflicting_keys(one, &keys), ["env"]);
    }
}
