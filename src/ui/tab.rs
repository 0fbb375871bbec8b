//! The tabs of the main pane and, per tab, its columns and empty-state hint. Each column names
//! the [`Field`] it shows; sorting (`ui/index.rs`) and cells (`ui/render/tables.rs`) dispatch on
//! that, never on a column's position, so columns are reordered here alone.

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

/// What a column shows: sort keys and cells are chosen by this, never by a column's position,
/// so columns can be reordered, added or dropped in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Field {
    Orb,
    Health,
    Commit,
    Synced,
    Result,
    Drift,
    Errors,
    Profiles,
    Drafts,
    Name,
    Owner,
    Namespace,
    Cpu,
    Memory,
    Gpu,
    Pods,
    Policies,
    Conditions,
    Resource,
    Used,
    Hard,
    Percent,
    Source,
    Destination,
    Phase,
    Tries,
    Message,
    Version,
    Strategy,
    Paused,
    Nodes,
    Path,
    Age,
    Object,
    Type,
    Reason,
    Kubelet,
    Kind,
    Status,
    Base,
    Upstream,
    LastError,
}

/// One column of a tab's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// What it shows (and sorts by).
    pub field: Field,
    /// Header text.
    pub title: &'static str,
    /// Space it takes.
    pub width: Width,
    /// 0: always shown; higher numbers are hidden first when the table is too narrow.
    pub drop: u8,
}

const fn col(field: Field, title: &'static str, width: Width, drop: u8) -> Column {
    Column {
        field,
        title,
        width,
        drop,
    }
}

use Field as F;
use Width::{Fixed, Flex};

/// The ORB column prepended to fleet-wide tables.
pub const ORB_COLUMN: Column = col(F::Orb, "ORB", Flex(6, 1), 0);

const OVERVIEW: &[Column] = &[
    col(F::Health, "HEALTH", Flex(12, 1), 0),
    col(F::Commit, "COMMIT", Fixed(8), 1),
    col(F::Synced, "SYNCED", Fixed(7), 2),
    col(F::Result, "RESULT", Flex(8, 1), 3),
    col(F::Drift, "DRIFT", Fixed(5), 0),
    col(F::Errors, "ERRORS", Fixed(6), 0),
    col(F::Profiles, "PROFILES", Fixed(8), 4),
    col(F::Drafts, "DRAFTS", Fixed(6), 1),
];
const PROFILES: &[Column] = &[
    col(F::Name, "NAME", Flex(14, 3), 0),
    col(F::Owner, "OWNER", Flex(10, 2), 3),
    col(F::Namespace, "NAMESPACE", Flex(10, 2), 4),
    col(F::Cpu, "CPU", Fixed(14), 0),
    col(F::Memory, "MEMORY", Fixed(14), 2),
    col(F::Gpu, "GPU", Fixed(14), 2),
    col(F::Pods, "PODS", Fixed(14), 5),
    col(F::Policies, "POL", Fixed(3), 6),
    col(F::Conditions, "CONDITIONS", Flex(10, 3), 1),
];
const QUOTAS: &[Column] = &[
    col(F::Namespace, "NAMESPACE", Flex(10, 1), 0),
    col(F::Resource, "RESOURCE", Flex(15, 1), 0),
    col(F::Used, "USED", Fixed(7), 1),
    col(F::Hard, "HARD", Fixed(7), 1),
    col(F::Percent, "%", Fixed(4), 0),
    col(F::Source, "SOURCE", Flex(8, 2), 2),
];
const REPLICATIONS: &[Column] = &[
    col(F::Namespace, "NAMESPACE", Flex(8, 1), 3),
    col(F::Name, "NAME", Flex(14, 1), 0),
    col(F::Source, "SOURCE", Flex(12, 1), 2),
    col(F::Destination, "DESTINATION", Flex(12, 1), 4),
    col(F::Phase, "PHASE", Fixed(10), 0),
    col(F::Tries, "TRIES", Fixed(5), 1),
    col(F::Message, "MESSAGE", Flex(10, 3), 1),
];
const UPGRADES: &[Column] = &[
    col(F::Name, "NAME", Flex(10, 1), 0),
    col(F::Version, "VERSION", Fixed(9), 0),
    col(F::Strategy, "STRATEGY", Flex(10, 1), 2),
    col(F::Phase, "PHASE", Fixed(12), 0),
    col(F::Paused, "PAUSED", Fixed(6), 1),
    col(F::Nodes, "NODES", Fixed(7), 1),
];
const DESIRED: &[Column] = &[col(F::Path, "PATH", Flex(10, 1), 0)];
const EVENTS: &[Column] = &[
    col(F::Age, "AGE", Fixed(5), 0),
    col(F::Namespace, "NAMESPACE", Flex(8, 1), 3),
    col(F::Object, "OBJECT", Flex(12, 1), 1),
    col(F::Type, "TYPE", Fixed(7), 2),
    col(F::Reason, "REASON", Flex(10, 1), 0),
    col(F::Message, "MESSAGE", Flex(16, 4), 0),
];
/// Columns of the node list under the Upgrades table.
pub const NODE_COLUMNS: &[Column] = &[
    col(F::Name, "NODE", Flex(10, 1), 0),
    col(F::Kubelet, "KUBELET", Fixed(9), 0),
    col(F::Phase, "PHASE", Flex(10, 1), 0),
];
/// Columns of the children list opened with enter on a profile.
pub const CHILD_COLUMNS: &[Column] = &[
    col(F::Kind, "KIND", Flex(10, 1), 0),
    col(F::Name, "NAME", Flex(10, 1), 0),
    col(F::Namespace, "NAMESPACE", Flex(8, 1), 1),
    col(F::Status, "STATUS", Flex(8, 1), 0),
];

/// Columns of the Drafts view (`:drafts`).
pub const DRAFT_COLUMNS: &[Column] = &[
    col(F::Orb, "ORB", Flex(8, 1), 0),
    col(F::Path, "PATH", Flex(20, 3), 0),
    col(F::Kind, "KIND", Flex(6, 0), 1),
    col(F::Age, "AGE", Flex(5, 0), 2),
    col(F::Base, "BASE", Flex(8, 0), 3),
    col(F::Upstream, "UPSTREAM", Flex(24, 2), 0),
    col(F::LastError, "LAST ERROR", Flex(10, 1), 1),
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
