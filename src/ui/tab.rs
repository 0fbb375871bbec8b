//! The tabs of the main pane and, per tab, its columns and empty-state hint: the one registry
//! that indexing, sorting, rendering and the command line read, so adding a kind is one entry.

/// A tab of the main pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tab {
    /// Health, repo, sync and counts of the ORB (a table of ORBs when fleet-wide).
    #[default]
    Overview,
    /// Kubeflow profiles with quota usage.
    Profiles,
    /// ResourceQuota lines.
    Quotas,
    /// ImageReplications.
    Replications,
    /// ClusterUpgrades and their nodes.
    Upgrades,
    /// Files under `desired/` and the editor.
    Desired,
    /// Cluster events.
    Events,
}

/// How a column takes space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// Exactly this many cells.
    Fixed(u16),
    /// At least `.0` cells; what is left is shared among flexible columns by weight `.1`.
    Flex(u16, u16),
}

/// One column of a tab's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Header text.
    pub title: &'static str,
    /// Space it takes.
    pub width: Width,
    /// 0: always shown; higher numbers are hidden first when the table is too narrow.
    pub drop: u8,
}

const fn col(title: &'static str, width: Width, drop: u8) -> Column {
    Column { title, width, drop }
}

use Width::{Fixed, Flex};

/// The ORB column prepended to fleet-wide tables.
pub const ORB_COLUMN: Column = col("ORB", Flex(6, 1), 0);

const OVERVIEW: &[Column] = &[
    col("HEALTH", Flex(12, 1), 0),
    col("COMMIT", Fixed(8), 1),
    col("SYNCED", Fixed(7), 2),
    col("RESULT", Flex(8, 1), 3),
    col("DRIFT", Fixed(5), 0),
    col("ERRORS", Fixed(6), 0),
    col("PROFILES", Fixed(8), 4),
    col("DRAFTS", Fixed(6), 1),
];
const PROFILES: &[Column] = &[
    col("NAME", Flex(14, 3), 0),
    col("OWNER", Flex(10, 2), 3),
    col("NAMESPACE", Flex(10, 2), 4),
    col("CPU", Fixed(14), 0),
    col("MEMORY", Fixed(14), 2),
    col("GPU", Fixed(14), 2),
    col("PODS", Fixed(14), 5),
    col("POL", Fixed(3), 6),
    col("CONDITIONS", Flex(10, 3), 1),
];
const QUOTAS: &[Column] = &[
    col("NAMESPACE", Flex(10, 1), 0),
    col("RESOURCE", Flex(15, 1), 0),
    col("USED", Fixed(7), 1),
    col("HARD", Fixed(7), 1),
    col("%", Fixed(4), 0),
    col("SOURCE", Flex(8, 2), 2),
];
const REPLICATIONS: &[Column] = &[
    col("NAMESPACE", Flex(8, 1), 3),
    col("NAME", Flex(14, 1), 0),
    col("SOURCE", Flex(12, 1), 2),
    col("DESTINATION", Flex(12, 1), 4),
    col("PHASE", Fixed(10), 0),
    col("TRIES", Fixed(5), 1),
    col("MESSAGE", Flex(10, 3), 1),
];
const UPGRADES: &[Column] = &[
    col("NAME", Flex(10, 1), 0),
    col("VERSION", Fixed(9), 0),
    col("STRATEGY", Flex(10, 1), 2),
    col("PHASE", Fixed(12), 0),
    col("PAUSED", Fixed(6), 1),
    col("NODES", Fixed(7), 1),
];
const DESIRED: &[Column] = &[col("PATH", Flex(10, 1), 0)];
const EVENTS: &[Column] = &[
    col("AGE", Fixed(5), 0),
    col("NAMESPACE", Flex(8, 1), 3),
    col("OBJECT", Flex(12, 1), 1),
    col("TYPE", Fixed(7), 2),
    col("REASON", Flex(10, 1), 0),
    col("MESSAGE", Flex(16, 4), 0),
];
/// Columns of the node list under the Upgrades table.
pub const NODE_COLUMNS: &[Column] = &[
    col("NODE", Flex(10, 1), 0),
    col("KUBELET", Fixed(9), 0),
    col("PHASE", Flex(10, 1), 0),
];
/// Columns of the children list opened with enter on a profile.
pub const CHILD_COLUMNS: &[Column] = &[
    col("KIND", Flex(10, 1), 0),
    col("NAME", Flex(10, 1), 0),
    col("NAMESPACE", Flex(8, 1), 1),
    col("STATUS", Flex(8, 1), 0),
];

/// Columns of the Drafts view (`:drafts`).
pub const DRAFT_COLUMNS: &[Column] = &[
    col("ORB", Flex(8, 1), 0),
    col("PATH", Flex(20, 3), 0),
    col("KIND", Flex(6, 0), 1),
    col("AGE", Flex(5, 0), 2),
    col("BASE", Flex(8, 0), 3),
    col("UPSTREAM", Flex(24, 2), 0),
    col("LAST ERROR", Flex(10, 1), 1),
];

impl Tab {
    /// Every tab, in display order (number keys 1..7).
    pub const ALL: [Tab; 7] = [
        Tab::Overview,
        Tab::Profiles,
        Tab::Quotas,
        Tab::Replications,
        Tab::Upgrades,
        Tab::Desired,
        Tab::Events,
    ];

    /// Position in [`Tab::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Title shown on the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Profiles => "Profiles",
            Tab::Quotas => "Quotas",
            Tab::Replications => "Replications",
            Tab::Upgrades => "Upgrades",
            Tab::Desired => "Desired",
            Tab::Events => "Events",
        }
    }

    /// Short title for narrow terminals.
    pub fn short_title(self) -> &'static str {
        match self {
            Tab::Overview => "Ovw",
            Tab::Profiles => "Prof",
            Tab::Quotas => "Quota",
            Tab::Replications => "Repl",
            Tab::Upgrades => "Upgr",
            Tab::Desired => "Desired",
            Tab::Events => "Events",
        }
    }

    /// The `:command` that opens the tab.
    pub fn command(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Profiles => "profiles",
            Tab::Quotas => "quotas",
            Tab::Replications => "replications",
            Tab::Upgrades => "upgrades",
            Tab::Desired => "desired",
            Tab::Events => "events",
        }
    }

    /// The table's columns (without the fleet-wide ORB column). Sorting uses the same order.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Tab::Overview => OVERVIEW,
            Tab::Profiles => PROFILES,
            Tab::Quotas => QUOTAS,
            Tab::Replications => REPLICATIONS,
            Tab::Upgrades => UPGRADES,
            Tab::Desired => DESIRED,
            Tab::Events => EVENTS,
        }
    }

    /// What fills an empty tab, told to the operator.
    pub fn empty_hint(self) -> &'static str {
        match self {
            Tab::Overview => {
                "No ORBs: add one to the fleet config (orbdeck orb add NAME --repo URL)."
            }
            Tab::Profiles => {
                "No Profiles: add a kubeflow.org/v1 Profile under desired/ (n in the Desired tab) and the engine creates its namespace, quota and policies."
            }
            Tab::Quotas => {
                "No ResourceQuotas: Profiles get one from spec.resourceQuotaSpec, defaults, or quotas.statcan.gc.ca/* labels."
            }
            Tab::Replications => {
                "No ImageReplications: add an ImageReplicationPolicy under desired/ and the engine's replication controller creates them."
            }
            Tab::Upgrades => {
                "No ClusterUpgrades: add a ClusterUpgrade under desired/ (n in the Desired tab) to roll nodes to a new version."
            }
            Tab::Desired => {
                "No files under desired/: press n to create one from a template, then ctrl-s to validate, plan and commit."
            }
            Tab::Events => "No events: the cluster has reported none recently.",
        }
    }
}
