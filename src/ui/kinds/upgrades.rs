//! ClusterUpgrades (`orbdeck.io/v1alpha1`) and their nodes: the Upgrades tab's columns with
//! their sort keys and cells, what its filter searches, the object a row stands for, the node
//! list under the table, and how rows are built from ClusterUpgrades and Nodes.

use std::collections::HashMap;

use k8s_openapi::Resource as _;
use k8s_openapi::api::core::v1::Node;
use ratatui::text::Line;

use super::Width::{Fixed, Flex};
use super::{ApiKind, At, Column, Key, Table, api, field, num, object, phase_style, text};
use crate::model::ClusterUpgrade;
use crate::ui::data::{NodeRow, UpgradeRow};
use crate::ui::render::cell::line;

/// The Kubernetes kind of the rows.
pub(crate) const API: ApiKind = api("orbdeck.io/v1alpha1", "ClusterUpgrade");
/// The Kubernetes kind of the nodes, whose kubelet versions the node list shows.
pub(crate) const NODE_API: ApiKind = api(Node::API_VERSION, Node::KIND);

/// The Upgrades tab.
pub(crate) static TABLE: Table<UpgradeRow> = Table {
    title: "Upgrades",
    short_title: "Upgr",
    command: "upgrades",
    empty_hint: "No ClusterUpgrades: they are shown as the cluster reports them (this engine has no upgrade coordinator yet; a ClusterUpgrade under desired/ is applied, not acted on).",
    rows: |v| &v.upgrades,
    fields: &[
        field(
            "NAME",
            Flex(10, 1),
            0,
            |u| Key::Text(&u.name),
            |at, u| line(&u.name, at.w, at.theme().text),
        ),
        field(
            "VERSION",
            Fixed(9),
            0,
            |u| Key::Text(&u.version),
            |at, u| line(&u.version, at.w, at.theme().accent),
        ),
        field(
            "STRATEGY",
            Flex(10, 1),
            2,
            |u| Key::Text(&u.strategy),
            |at, u| line(&u.strategy, at.w, at.theme().text),
        ),
        field(
            "PHASE",
            Fixed(12),
            0,
            |u| Key::Text(&u.phase),
            |at, u| line(&u.phase, at.w, phase_style(at.theme(), &u.phase)),
        ),
        field(
            "PAUSED",
            Fixed(6),
            1,
            |u| num(u.paused),
            |at, u| {
                let t = at.theme();
                let (text, style) = if u.paused {
                    ("yes", t.warn)
                } else {
                    ("no", t.dim)
                };
                line(text, at.w, style)
            },
        ),
        field(
            "NODES",
            Fixed(7),
            1,
            |u| num(u.nodes.len() as u64),
            |at, u| {
                let done = u.nodes.iter().filter(|n| upgraded(u, n)).count();
                line(&format!("{done}/{}", u.nodes.len()), at.w, at.theme().text)
            },
        ),
    ],
    search: |u, push| {
        push(&u.name);
        push(&u.version);
        push(&u.phase);
        u.nodes.iter().for_each(|node| push(&node.name));
    },
    namespace: None,
    object: Some(|u| Some(object(API.kind, None, &u.name))),
};

/// Whether `node`'s kubelet runs the version `upgrade` rolls to.
fn upgraded(upgrade: &UpgradeRow, node: &NodeRow) -> bool {
    node.kubelet_version.trim_start_matches('v') == upgrade.version.trim_start_matches('v')
}

/// Columns of the node list under the Upgrades table.
pub(crate) const NODE_COLUMNS: &[Column] = &[
    Column {
        title: "NODE",
        width: Flex(10, 1),
        drop: 0,
    },
    Column {
        title: "KUBELET",
        width: Fixed(9),
        drop: 0,
    },
    Column {
        title: "PHASE",
        width: Flex(10, 1),
        drop: 0,
    },
];

/// The cell of `node` of `upgrade` in column `col` of [`NODE_COLUMNS`].
pub(crate) fn node_cell(
    at: &At<'_>,
    upgrade: &UpgradeRow,
    node: &NodeRow,
    col: usize,
) -> Line<'static> {
    let (t, w) = (at.theme(), at.w);
    match col {
        0 => line(&node.name, w, t.text),
        1 => {
            let style = if upgraded(upgrade, node) {
                t.ok
            } else {
                t.text
            };
            line(&node.kubelet_version, w, style)
        }
        _ => line(&node.phase, w, phase_style(t, &node.phase)),
    }
}

/// A ClusterUpgrade's row, its nodes at the version they started from. One that no
/// coordinator has written a status for says so instead of looking Pending for ever.
pub(crate) fn row(u: &ClusterUpgrade) -> UpgradeRow {
    let reported = u.status.is_some();
    let status = u.status.clone().unwrap_or_default();
    UpgradeRow {
        name: text(u.metadata.name.as_deref().unwrap_or_default()),
        version: text(&u.spec.target_version),
        strategy: format!("max {} unavailable", u.spec.strategy.max_unavailable),
        phase: if u.spec.abort {
            "Aborting".into()
        } else if !reported {
            "Not started: no coordinator has taken it up".into()
        } else {
            format!("{:?}", status.phase)
        },
        paused: u.spec.paused,
        nodes: status
            .nodes
            .iter()
            .map(|n| NodeRow {
                name: text(&n.name),
                kubelet_version: text(&n.from_version),
                phase: format!("{:?}", n.phase),
            })
            .collect(),
    }
}

/// A Node's kubelet version and readiness.
pub(crate) fn node_row(n: &Node) -> NodeRow {
    NodeRow {
        name: text(n.metadata.name.as_deref().unwrap_or_default()),
        kubelet_version: text(
            n.status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.kubelet_version.as_str())
                .unwrap_or_default(),
        ),
        phase: n
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| {
                if c.status == "True" {
                    "Ready"
                } else {
                    "NotReady"
                }
            })
            .unwrap_or("Unknown")
            .into(),
    }
}

/// The rows shown, by name, each node with the kubelet version it reports now (`nodes` by
/// node name).
pub(crate) fn rows(
    upgrades: impl Iterator<Item = UpgradeRow>,
    nodes: &HashMap<String, NodeRow>,
) -> Vec<UpgradeRow> {
    let mut rows: Vec<UpgradeRow> = upgrades
        .map(|mut u| {
            for n in &mut u.nodes {
                if let Some(live) = nodes.get(&n.name) {
                    n.kubelet_version = live.kubelet_version.clone();
                }
            }
            u
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_is_the_models() {
        use kube::Resource;
        assert_eq!(API.api_version, ClusterUpgrade::api_version(&()));
        assert_eq!(API.kind, ClusterUpgrade::kind(&()));
    }

    #[test]
    fn an_upgrade_without_a_status_says_nobody_took_it_up() {
        let mut u: ClusterUpgrade = serde_json::from_value(serde_json::json!({
            "apiVersion": "orbdeck.io/v1alpha1", "kind": "ClusterUpgrade",
            "metadata": {"name": "to-1-34"}, "spec": {"targetVersion": "v1.34.1"}
        }))
        .unwrap();
        assert_eq!(row(&u).phase, "Not started: no coordinator has taken it up");
        u.status = Some(Default::default());
        assert_eq!(
            row(&u).phase,
            "Pending",
            "a reported status is shown as it is"
        );
    }
}
