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
use crate::ui::render::cell::{age, line};

/// The Kubernetes kind of the rows.
pub(crate) const API: ApiKind = api("orbdeck.io/v1alpha1", "ClusterUpgrade");
/// The Kubernetes kind of the nodes, whose kubelet versions the node list shows.
pub(crate) const NODE_API: ApiKind = api(Node::API_VERSION, Node::KIND);

/// The Upgrades tab.
pub(crate) static TABLE: Table<UpgradeRow> = Table {
    title: "Upgrades",
    short_title: "Upgr",
    command: "upgrades",
    empty_hint: "No ClusterUpgrades: commit one under desired/ (n on the Desired tab) and the engine's coordinator rolls it node by node.",
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
            // The longest phase, `UpgradingControlPlane`, whole.
            Fixed(21),
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
        title: "ROLE",
        width: Fixed(13),
        drop: 1,
    },
    Column {
        title: "PHASE",
        width: Flex(10, 1),
        drop: 0,
    },
    Column {
        title: "TIME",
        width: Fixed(5),
        drop: 2,
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
        2 => {
            let role = if node.control_plane {
                "control-plane"
            } else {
                "worker"
            };
            line(role, w, t.dim)
        }
        3 => line(&node.phase, w, phase_style(t, &node.phase)),
        _ => {
            let now = at.state.clock.unix;
            let time = node
                .started
                .map(|s| age(node.finished.unwrap_or(now), s))
                .unwrap_or_default();
            line(&time, w, t.dim)
        }
    }
}

/// The line over the node list: a gauge of the nodes done and the time taken so far.
pub(crate) fn progress(upgrade: &UpgradeRow, now: u64) -> String {
    const CELLS: usize = 10;
    let total = upgrade.nodes.len();
    let done = upgrade
        .nodes
        .iter()
        .filter(|n| n.phase == "Succeeded")
        .count();
    let full = (done * CELLS).checked_div(total).unwrap_or(0);
    let gauge = format!("{}{}", "▰".repeat(full), "▱".repeat(CELLS - full));
    let elapsed = upgrade
        .started
        .map(|s| format!(", {} elapsed", age(upgrade.finished.unwrap_or(now), s)))
        .unwrap_or_default();
    format!("{gauge} {done}/{total} nodes{elapsed}")
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
                control_plane: n.control_plane,
                started: unix(n.started_at.as_ref()),
                finished: unix(n.finished_at.as_ref()),
            })
            .collect(),
        started: unix(status.start_time.as_ref()),
        finished: unix(status.finish_time.as_ref()),
        blocker: status.blocker.as_ref().map(|b| text(&b.message)),
        message: text(status.message.as_deref().unwrap_or_default()),
    }
}

fn unix(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<u64> {
    t.and_then(|t| u64::try_from(t.0.as_second()).ok())
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
        ..NodeRow::default()
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
