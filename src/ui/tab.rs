//! The tabs of the main pane. What each tab shows (its columns, sort keys, cells, empty-state
//! hint) is its kind's, in the registry under `ui/kinds/` (`Tab::kind`).

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
    /// Any kind the cluster serves, watched while shown (`:pods`, `:deploy`, `:ns`, `:KIND`).
    Live,
    /// Who can do what, where: RBAC bindings resolved per subject.
    Access,
    /// This machine's rollouts, one row per ORB of each.
    Rollouts,
}

impl Tab {
    /// Every tab, in display order (number keys 1..9, then 0).
    pub const ALL: [Tab; 10] = [
        Tab::Overview,
        Tab::Profiles,
        Tab::Quotas,
        Tab::Replications,
        Tab::Upgrades,
        Tab::Desired,
        Tab::Events,
        Tab::Live,
        Tab::Access,
        Tab::Rollouts,
    ];

    /// Position in [`Tab::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Title shown on the tab bar.
    pub fn title(self) -> &'static str {
        self.kind().title()
    }

    /// Short title for narrow terminals.
    pub fn short_title(self) -> &'static str {
        self.kind().short_title()
    }

    /// The `:command` that opens the tab.
    pub fn command(self) -> &'static str {
        self.kind().command()
    }

    /// What fills an empty tab, told to the operator.
    pub fn empty_hint(self) -> &'static str {
        self.kind().empty_hint()
    }
}
