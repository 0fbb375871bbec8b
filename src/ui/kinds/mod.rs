//! The one registry of the kinds the control room shows: per kind, one file here holds its
//! columns (header, width, sort key, cell), the texts its filter searches, the object a row
//! stands for, and, for a Kubernetes kind, its apiVersion and how a row is built from the
//! object. [`Tab::kind`] is the registry; the index, the tables, the state and the runtime read
//! it, so adding a tab's kind is adding a file and a line there. The lists that are not tabs (a
//! profile's children, the drafts, an upgrade's nodes) keep their columns and cells here too.
//! Everything here is pure: no I/O.

pub(crate) mod access;
pub(crate) mod children;
pub(crate) mod desired;
pub(crate) mod drafts;
pub(crate) mod drift;
pub(crate) mod engine;
pub(crate) mod events;
pub(crate) mod history;
pub(crate) mod live;
pub(crate) mod orbs;
pub(crate) mod profiles;
pub(crate) mod quotas;
pub(crate) mod replications;
pub(crate) mod rollouts;
pub(crate) mod upgrades;

use ratatui::style::Style;
use ratatui::text::Line;

use super::action::ObjectRef;
use super::data::{OrbView, Usage};
use super::state::State;
use super::tab::Tab;
use super::theme::Theme;
use crate::text::sanitize;

/// How a column takes space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Width {
    /// Exactly this many cells.
    Fixed(u16),
    /// At least `.0` cells; what is left is shared among flexible columns by weight `.1`.
    Flex(u16, u16),
}

/// The header of one table column: its title and the space it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Column {
    /// Header text.
    pub title: &'static str,
    /// Space it takes.
    pub width: Width,
    /// 0: always shown; higher numbers are hidden first when the table is too narrow.
    pub drop: u8,
}

/// The ORB column prepended to fleet-wide tables.
pub(crate) const ORB_COLUMN: Column = Column {
    title: "ORB",
    width: Width::Flex(6, 1),
    drop: 0,
};

/// What a row sorts by in one column: a number (order-preserving) or text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Key<'a> {
    /// A number, smaller first.
    Num(u64),
    /// A text, in byte order.
    Text(&'a str),
}

/// An `f64` as an order-preserving `u64` (same order as `f64::total_cmp`).
pub(crate) fn float(x: f64) -> Key<'static> {
    let bits = x.to_bits();
    Key::Num(if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    })
}

/// A quota usage by its used amount (none before any).
pub(crate) fn by_used(u: &Option<Usage>) -> Key<'static> {
    float(u.as_ref().map_or(f64::NEG_INFINITY, |u| u.used))
}

/// A count or flag as a number key.
pub(crate) fn num(n: impl Into<u64>) -> Key<'static> {
    Key::Num(n.into())
}

/// Where a cell is drawn: the state, the row's ORB, its position among the visible rows, and
/// the column's width.
pub(crate) struct At<'a> {
    /// The whole state (theme, clock, the visible rows).
    pub state: &'a State,
    /// The ORB the row belongs to.
    pub orb: &'a OrbView,
    /// Position of the row in its table.
    pub pos: usize,
    /// Width of the column in cells.
    pub w: usize,
}

impl At<'_> {
    /// The theme cells are drawn with.
    pub fn theme(&self) -> &Theme {
        &self.state.theme
    }
}

/// One column of a kind whose rows are `R`: header, sort key and cell.
pub(crate) struct Field<R> {
    /// Title and width.
    pub column: Column,
    /// What the row sorts by in this column.
    pub key: for<'a> fn(&'a R) -> Key<'a>,
    /// The cell of the row in this column.
    pub cell: fn(&At<'_>, &R) -> Line<'static>,
}

/// A column of rows `R` titled `title`.
pub(crate) const fn field<R>(
    title: &'static str,
    width: Width,
    drop: u8,
    key: for<'a> fn(&'a R) -> Key<'a>,
    cell: fn(&At<'_>, &R) -> Line<'static>,
) -> Field<R> {
    Field {
        column: Column { title, width, drop },
        key,
        cell,
    }
}

/// The headers of `fields`, in order.
pub(crate) fn headers<R>(fields: &[Field<R>]) -> Vec<Column> {
    fields.iter().map(|f| f.column).collect()
}

/// Where a row's searched texts go, one call per text.
pub(crate) type Push<'a> = &'a mut dyn FnMut(&str);

/// A shown kind whose rows are `R`: what its tab is called, where its rows are in an ORB's view,
/// its columns, and what its filter searches.
pub(crate) struct Table<R: 'static> {
    /// Title on the tab bar.
    pub title: &'static str,
    /// Title for narrow terminals.
    pub short_title: &'static str,
    /// The `:command` that opens the tab.
    pub command: &'static str,
    /// What fills an empty tab, told to the operator.
    pub empty_hint: &'static str,
    /// The rows of one ORB.
    pub rows: fn(&OrbView) -> &[R],
    /// The columns (without the fleet-wide ORB column), in display order.
    pub fields: &'static [Field<R>],
    /// Calls `push` with each text of the row the filter searches.
    pub search: fn(&R, Push<'_>),
    /// The namespace of a row, for kinds the namespace filter (`:ns NAME`) narrows.
    pub namespace: Option<for<'a> fn(&'a R) -> &'a str>,
    /// The object a row stands for (`y`, and `d`: the diff view), if the kind has one.
    pub object: Option<fn(&R) -> Option<ObjectRef>>,
}

/// A shown kind, whatever its row type: what the tab bar, the index and the tables ask of it.
pub(crate) trait Kind: Sync {
    /// Title on the tab bar.
    fn title(&self) -> &'static str;
    /// Title for narrow terminals.
    fn short_title(&self) -> &'static str;
    /// The `:command` that opens the tab.
    fn command(&self) -> &'static str;
    /// What fills an empty tab.
    fn empty_hint(&self) -> &'static str;
    /// The headers of the columns (without the fleet-wide ORB column).
    fn columns(&self) -> Vec<Column>;
    /// How many columns it has (without the fleet-wide ORB column).
    fn column_count(&self) -> usize;
    /// Rows of `orb`.
    fn len(&self, orb: &OrbView) -> usize;
    /// Sort key of row `row` of `orb` in column `col`.
    fn key<'a>(&self, orb: &'a OrbView, row: usize, col: usize) -> Key<'a>;
    /// Calls `push` with each text of row `row` of `orb` that the filter searches.
    fn search(&self, orb: &OrbView, row: usize, push: Push<'_>);
    /// The cell of row `row` in column `col`, drawn at `at`.
    fn cell(&self, at: &At<'_>, row: usize, col: usize) -> Line<'static>;
    /// The object row `row` of `orb` stands for, if any.
    fn object(&self, orb: &OrbView, row: usize) -> Option<ObjectRef>;
    /// The namespace of row `row` of `orb`; None when the namespace filter does not apply.
    fn namespace<'a>(&self, orb: &'a OrbView, row: usize) -> Option<&'a str>;
}

impl<R> Kind for Table<R> {
    fn title(&self) -> &'static str {
        self.title
    }
    fn short_title(&self) -> &'static str {
        self.short_title
    }
    fn command(&self) -> &'static str {
        self.command
    }
    fn empty_hint(&self) -> &'static str {
        self.empty_hint
    }
    fn columns(&self) -> Vec<Column> {
        headers(self.fields)
    }
    fn column_count(&self) -> usize {
        self.fields.len()
    }
    fn len(&self, orb: &OrbView) -> usize {
        (self.rows)(orb).len()
    }
    fn key<'a>(&self, orb: &'a OrbView, row: usize, col: usize) -> Key<'a> {
        (self.fields[col].key)(&(self.rows)(orb)[row])
    }
    fn search(&self, orb: &OrbView, row: usize, push: Push<'_>) {
        (self.search)(&(self.rows)(orb)[row], push)
    }
    fn cell(&self, at: &At<'_>, row: usize, col: usize) -> Line<'static> {
        match self.fields.get(col) {
            Some(f) => (f.cell)(at, &(self.rows)(at.orb)[row]),
            None => Line::default(),
        }
    }
    fn object(&self, orb: &OrbView, row: usize) -> Option<ObjectRef> {
        (self.object?)((self.rows)(orb).get(row)?)
    }
    fn namespace<'a>(&self, orb: &'a OrbView, row: usize) -> Option<&'a str> {
        Some((self.namespace?)((self.rows)(orb).get(row)?))
    }
}

impl Tab {
    /// The registry: what the control room knows about the kind this tab shows.
    pub(crate) fn kind(self) -> &'static dyn Kind {
        match self {
            Tab::Overview => &orbs::TABLE,
            Tab::Profiles => &profiles::TABLE,
            Tab::Quotas => &quotas::TABLE,
            Tab::Replications => &replications::TABLE,
            Tab::Upgrades => &upgrades::TABLE,
            Tab::Desired => &desired::TABLE,
            Tab::Events => &events::TABLE,
            Tab::Live => &live::TABLE,
            Tab::Access => &access::TABLE,
            Tab::Rollouts => &rollouts::TABLE,
        }
    }
}

/// A Kubernetes kind the control room reads: its apiVersion and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ApiKind {
    /// apiVersion, e.g. `kubeflow.org/v1`.
    pub api_version: &'static str,
    /// Kind, e.g. `Profile`.
    pub kind: &'static str,
}

/// Kinds the views reach only as the object of an event, not as a table of their own.
const EVENT_KINDS: &[ApiKind] = &[
    api("orbdeck.io/v1alpha1", "ImageReplicationPolicy"),
    api("orbdeck.io/v1alpha1", "NodeUpgrade"),
    api("orbdeck.io/v1alpha1", "PodSetting"),
    api("v1", "Pod"),
];

/// A Kubernetes kind of `api_version`.
pub(crate) const fn api(api_version: &'static str, kind: &'static str) -> ApiKind {
    ApiKind { api_version, kind }
}

/// The apiVersion of a kind the views show or lead to (a table's kind, a node, a profile's
/// children, the object of an event); None for any other kind.
pub(crate) fn api_version(kind: &str) -> Option<&'static str> {
    let own = [
        profiles::API,
        quotas::API,
        replications::API,
        upgrades::API,
        upgrades::NODE_API,
        events::API,
        access::CLUSTER_BINDING_API,
    ];
    let children = crate::controllers::profiles::KINDS
        .map(|(api_version, kind)| ApiKind { api_version, kind });
    own.iter()
        .chain(&children)
        .chain(EVENT_KINDS)
        .find(|a| a.kind == kind)
        .map(|a| a.api_version)
}

/// An outside string made safe to show.
pub(crate) fn text(s: &str) -> String {
    sanitize(s).into_owned()
}

/// The style of a phase word (replications, upgrades, nodes).
pub(crate) fn phase_style(t: &Theme, phase: &str) -> Style {
    match phase {
        "Succeeded" | "Completed" | "Ready" | "Upgraded" => t.ok,
        "Failed" | "Aborted" | "Error" => t.error,
        "Pending" | "Paused" => t.warn,
        _ => t.text,
    }
}

/// A reference to the object `name` of `kind`.
pub(crate) fn object(kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::data::{
        AccessRow, AccessTable, DraftRow, EventRow, Health, LiveRow, LiveTable, NodeRow,
        ProfileRow, QuotaRow, ReplicationRow, RolloutRow, SyncInfo, UpgradeRow,
    };

    /// Two ORBs that differ in every overview column; the first has two rows of every other
    /// kind, a default one and one that differs from it in every column.
    fn two_of_each() -> Vec<OrbView> {
        let b = || "b".to_string();
        let used = Some(Usage {
            used: 1.0,
            hard: 2.0,
            used_text: "1".into(),
            hard_text: "2".into(),
        });
        let alpha = OrbView {
            name: "alpha".into(),
            profiles: vec![
                ProfileRow::default(),
                ProfileRow {
                    name: b(),
                    owner: b(),
                    namespace: b(),
                    cpu: used.clone(),
                    memory: used.clone(),
                    gpu: used.clone(),
                    pods: used,
                    policies: 1,
                    conditions: "Ready".into(),
                    ..Default::default()
                },
            ],
            quotas: vec![
                QuotaRow::default(),
                QuotaRow {
                    namespace: b(),
                    resource: b(),
                    used_text: "1".into(),
                    hard_text: "2".into(),
                    used: 1.0,
                    hard: 2.0,
                    source: b(),
                },
            ],
            replications: vec![
                ReplicationRow::default(),
                ReplicationRow {
                    namespace: b(),
                    name: b(),
                    source: b(),
                    destination: b(),
                    phase: "Failed".into(),
                    attempts: 3,
                    max_attempts: 3,
                    bytes_copied: 1 << 20,
                    bytes_total: 4 << 20,
                    message: b(),
                },
            ],
            upgrades: vec![
                UpgradeRow::default(),
                UpgradeRow {
                    name: b(),
                    version: b(),
                    strategy: b(),
                    phase: b(),
                    paused: true,
                    nodes: vec![NodeRow::default()],
                    blocker: Some(b()),
                    message: b(),
                    ..UpgradeRow::default()
                },
            ],
            events: vec![
                EventRow::default(),
                EventRow {
                    time: 1,
                    namespace: b(),
                    object: "Pod/b".into(),
                    type_: "Warning".into(),
                    reason: b(),
                    message: b(),
                    source: b(),
                },
            ],
            desired_files: vec!["desired/a.yaml".into(), "desired/b.yaml".into()],
            rollouts: vec![
                RolloutRow::default(),
                RolloutRow {
                    id: b(),
                    wave: 1,
                    wave_name: b(),
                    state: b(),
                    severity: 1,
                    commit: b(),
                    applied: b(),
                    health: b(),
                    since: 1,
                    message: b(),
                    drift: Some(1),
                },
            ],
            access: AccessTable {
                rows: vec![
                    AccessRow::default(),
                    AccessRow {
                        subject: b(),
                        kind: b(),
                        namespace: b(),
                        role: b(),
                        rules: b(),
                        flag: b(),
                        severity: 2,
                        binding: b(),
                    },
                ],
                ..Default::default()
            },
            live: LiveTable {
                rows: vec![
                    LiveRow::default(),
                    LiveRow {
                        namespace: b(),
                        name: b(),
                        ready: b(),
                        status: b(),
                        restarts: 1,
                        created: 1,
                        health: b(),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            ..Default::default()
        };
        let beta = OrbView {
            name: "beta".into(),
            health: Health::Connected {
                version: "v1.33.2".into(),
            },
            sync: Some(SyncInfo {
                commit: b(),
                time: Some(1),
                result: b(),
                errors: vec![b()],
                ..Default::default()
            }),
            drift: Some(1),
            drafts: vec![DraftRow::default()],
            labels: "env=prod".into(),
            ..Default::default()
        };
        vec![alpha, beta]
    }

    #[test]
    fn every_column_of_every_tab_sorts_by_what_it_shows() {
        let clock = crate::ui::Clock {
            now: std::time::Instant::now(),
            unix: 0,
        };
        let mut state = State::new(two_of_each(), Default::default(), clock);
        // Fleet-wide, so the Overview tab is a table too; column 0 is then the ORB.
        state.scope = crate::ui::Scope::Fleet;
        let fleet = two_of_each();
        for tab in Tab::ALL {
            let kind = tab.kind();
            let titles: Vec<&str> = kind.columns().iter().map(|c| c.title).collect();
            assert_eq!(titles.len(), kind.column_count(), "{tab:?}");
            // The two rows that differ in every column: two ORBs, or two rows of the first.
            let (first, second) = match tab {
                Tab::Overview => ((0, 0), (1, 0)),
                _ => ((0, 0), (0, 1)),
            };
            let key = |(o, r): (usize, usize), col| kind.key(&fleet[o], r, col);
            state.tab = tab;
            for (col, title) in titles.iter().enumerate() {
                assert_ne!(
                    key(first, col),
                    key(second, col),
                    "{tab:?}: {title} tells its rows apart"
                );
                state.view_mut().sort_column = col;
                state.view_mut().sort_orb = false;
                state.view_mut().descending = false;
                state.reindex();
                let keys: Vec<Key> = (state.rows.iter())
                    .map(|&(o, r)| key((o as usize, r as usize), col))
                    .collect();
                assert_eq!(
                    keys.len(),
                    kind.len(&state.fleet[0]) + kind.len(&state.fleet[1])
                );
                assert!(keys.is_sorted(), "{tab:?}: {title} sorts by its key");
                for pos in 0..state.rows.len() {
                    let (o, r) = state.rows[pos];
                    let at = At {
                        state: &state,
                        orb: &state.fleet[o as usize],
                        pos,
                        w: 12,
                    };
                    let cell = kind.cell(&at, r as usize, col);
                    assert!(cell.width() <= 12, "{tab:?}: {title} keeps to its width");
                }
            }
        }
    }

    #[test]
    fn tabs_have_their_own_commands() {
        let mut commands: Vec<&str> = Tab::ALL.iter().map(|t| t.kind().command()).collect();
        commands.sort_unstable();
        commands.dedup();
        assert_eq!(commands.len(), Tab::ALL.len());
    }

    #[test]
    fn api_versions_of_the_kinds_shown_and_reached() {
        let expected = [
            ("Profile", "kubeflow.org/v1"),
            ("PodDefault", "kubeflow.org/v1alpha1"),
            ("ImageReplication", "orbdeck.io/v1alpha1"),
            ("ImageReplicationPolicy", "orbdeck.io/v1alpha1"),
            ("ClusterUpgrade", "orbdeck.io/v1alpha1"),
            ("NodeUpgrade", "orbdeck.io/v1alpha1"),
            ("PodSetting", "orbdeck.io/v1alpha1"),
            ("NetworkPolicy", "networking.k8s.io/v1"),
            ("RoleBinding", "rbac.authorization.k8s.io/v1"),
            ("AuthorizationPolicy", "security.istio.io/v1beta1"),
            ("Namespace", "v1"),
            ("ResourceQuota", "v1"),
            ("LimitRange", "v1"),
            ("ServiceAccount", "v1"),
            ("Event", "v1"),
            ("Node", "v1"),
            ("Pod", "v1"),
        ];
        for (kind, api_version) in expected {
            assert_eq!(super::api_version(kind), Some(api_version), "{kind}");
        }
        assert_eq!(super::api_version("Secret"), None);
    }
}
