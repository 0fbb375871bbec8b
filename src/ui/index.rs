//! The visible-row index of the current tab: rows of the ORBs in scope, sorted by the chosen
//! column, then narrowed by the filter. Built by `update` when data, sort, filter or tab change.

use std::cmp::Reverse;

use memchr::memmem;

use super::data::{EventRow, OrbView, ProfileRow, QuotaRow, ReplicationRow, UpgradeRow, Usage};
use super::state::{RowRef, Scope, State};
use super::tab::{Field, Tab};

/// What a row sorts by in one column: a number (order-preserving) or text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Num(u64),
    Text(&'a str),
}

/// An `f64` as an order-preserving `u64` (same order as `f64::total_cmp`).
fn float(x: f64) -> Key<'static> {
    let bits = x.to_bits();
    Key::Num(if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    })
}

fn usage(u: &Option<Usage>) -> Key<'static> {
    float(u.as_ref().map_or(f64::NEG_INFINITY, |u| u.used))
}

fn num(n: impl Into<u64>) -> Key<'static> {
    Key::Num(n.into())
}

/// A row kind: its sort key per field shown and the texts the filter searches.
trait Indexed {
    /// Sort key of the column showing `field`; None when this kind has no such column.
    fn key(&self, field: Field) -> Option<Key<'_>>;
    /// Calls `push` with each field the filter searches.
    fn fields(&self, push: &mut impl FnMut(&str));
}

impl Indexed for ProfileRow {
    fn key(&self, field: Field) -> Option<Key<'_>> {
        Some(match field {
            Field::Name => Key::Text(&self.name),
            Field::Owner => Key::Text(&self.owner),
            Field::Namespace => Key::Text(&self.namespace),
            Field::Cpu => usage(&self.cpu),
            Field::Memory => usage(&self.memory),
            Field::Gpu => usage(&self.gpu),
            Field::Pods => usage(&self.pods),
            Field::Policies => num(self.policies),
            Field::Conditions => Key::Text(&self.conditions),
            _ => return None,
        })
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.name);
        push(&self.owner);
        push(&self.namespace);
        push(&self.conditions);
    }
}

impl Indexed for QuotaRow {
    fn key(&self, field: Field) -> Option<Key<'_>> {
        Some(match field {
            Field::Namespace => Key::Text(&self.namespace),
            Field::Resource => Key::Text(&self.resource),
            Field::Used => float(self.used),
            Field::Hard => float(self.hard),
            Field::Percent => float(self.percent().unwrap_or(f64::NEG_INFINITY)),
            Field::Source => Key::Text(&self.source),
            _ => return None,
        })
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.namespace);
        push(&self.resource);
        push(&self.source);
    }
}

impl Indexed for ReplicationRow {
    fn key(&self, field: Field) -> Option<Key<'_>> {
        Some(match field {
            Field::Namespace => Key::Text(&self.namespace),
            Field::Name => Key::Text(&self.name),
            Field::Source => Key::Text(&self.source),
            Field::Destination => Key::Text(&self.destination),
            Field::Phase => Key::Text(&self.phase),
            Field::Tries => num(self.attempts),
            Field::Message => Key::Text(&self.message),
            _ => return None,
        })
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.namespace);
        push(&self.name);
        push(&self.source);
        push(&self.destination);
        push(&self.phase);
        push(&self.message);
    }
}

impl Indexed for UpgradeRow {
    fn key(&self, field: Field) -> Option<Key<'_>> {
        Some(match field {
            Field::Name => Key::Text(&self.name),
            Field::Version => Key::Text(&self.version),
            Field::Strategy => Key::Text(&self.strategy),
            Field::Phase => Key::Text(&self.phase),
            Field::Paused => num(self.paused),
            Field::Nodes => num(self.nodes.len() as u64),
            _ => return None,
        })
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.name);
        push(&self.version);
        push(&self.phase);
        self.nodes.iter().for_each(|node| push(&node.name));
    }
}

impl Indexed for EventRow {
    fn key(&self, field: Field) -> Option<Key<'_>> {
        Some(match field {
            // Age: youngest first.
            Field::Age => num(u64::MAX - self.time),
            Field::Namespace => Key::Text(&self.namespace),
            Field::Object => Key::Text(&self.object),
            Field::Type => Key::Text(&self.type_),
            Field::Reason => Key::Text(&self.reason),
            Field::Message => Key::Text(&self.message),
            _ => return None,
        })
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.namespace);
        push(&self.object);
        push(&self.type_);
        push(&self.reason);
        push(&self.message);
    }
}

/// Desired files: their path.
impl Indexed for String {
    fn key(&self, field: Field) -> Option<Key<'_>> {
        (field == Field::Path).then_some(Key::Text(self))
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(self);
    }
}

/// Fleet overview rows: one per ORB.
impl Indexed for OrbView {
    fn key(&self, field: Field) -> Option<Key<'_>> {
        let sync = self.sync.as_ref();
        Some(match field {
            Field::Health => num(health_rank(self)),
            Field::Commit => Key::Text(sync.map_or("", |s| s.commit.as_str())),
            // Synced: most recent first.
            Field::Synced => num(u64::MAX - sync.and_then(|s| s.time).unwrap_or(0)),
            Field::Result => Key::Text(sync.map_or("", |s| s.result.as_str())),
            Field::Drift => num(self.drift.map_or(0, |d| d as u64 + 1)),
            Field::Errors => {
                num(sync.map_or(0, |s| s.errors.len() as u64)
                    + u64::from(self.repo.error.is_some()))
            }
            Field::Profiles => num(self.profiles.len() as u64),
            Field::Drafts => num(self.drafts.len() as u64),
            _ => return None,
        })
    }
    fn fields(&self, _push: &mut impl FnMut(&str)) {
        // The ORB name is searched for every kind in fleet-wide tables.
    }
}

fn health_rank(v: &OrbView) -> u8 {
    use super::data::Health::*;
    match v.health {
        AuthError { .. } => 0,
        Unreachable { .. } => 1,
        Connecting => 2,
        Connected { .. } => 3,
    }
}

/// Rows of `rows_of` for the ORBs in `orbs`, sorted by the column showing `field` (`None`: the
/// ORB column, then `first`, the tab's first column). Stable; each key is read once, so sorting
/// touches little memory.
fn sorted<T: Indexed>(
    fleet: &[OrbView],
    orbs: std::ops::Range<usize>,
    rows_of: fn(&OrbView) -> &[T],
    (field, first): (Option<Field>, Field),
    descending: bool,
) -> Vec<RowRef> {
    let mut refs: Vec<RowRef> = orbs
        .flat_map(|o| (0..rows_of(&fleet[o]).len()).map(move |r| (o as u32, r as u32)))
        .collect();
    let key = |&(o, r): &RowRef| {
        let row = &rows_of(&fleet[o as usize])[r as usize];
        let none = Key::Text("");
        match field {
            None => (o, row.key(first).unwrap_or(none)),
            Some(f) => (0, row.key(f).unwrap_or(none)),
        }
    };
    if descending {
        refs.sort_by_cached_key(|r| Reverse(key(r)));
    } else {
        refs.sort_by_cached_key(key);
    }
    refs
}

/// Lowercased searchable text of the rows, each row's fields `\n`-terminated, in one
/// contiguous string. Built in storage order (fast: memory is read in sequence), searched
/// in one pass, and mapped to sorted positions through `rank`.
#[derive(Debug, Default)]
pub(crate) struct SearchText {
    text: String,
    /// End of row `k`'s text in storage order (its start is the previous end).
    ends: Vec<u32>,
    /// Storage index of each ORB's first row.
    base: Vec<u32>,
    /// Sorted position of the row at each storage index.
    rank: Vec<u32>,
}

impl SearchText {
    fn build<T: Indexed>(
        fleet: &[OrbView],
        orbs: std::ops::Range<usize>,
        sorted: &[RowRef],
        rows_of: fn(&OrbView) -> &[T],
        with_orb: bool,
    ) -> SearchText {
        let mut text = String::with_capacity(sorted.len() * 48);
        let mut ends = Vec::with_capacity(sorted.len());
        let mut base = vec![0; fleet.len()];
        let push = |text: &mut String, field: &str| {
            let start = text.len();
            text.push_str(field);
            text[start..].make_ascii_lowercase();
            text.push('\n');
        };
        for o in orbs {
            let orb = &fleet[o];
            base[o] = ends.len() as u32;
            for row in rows_of(orb) {
                if with_orb {
                    push(&mut text, &orb.name);
                }
                row.fields(&mut |f| push(&mut text, f));
                ends.push(text.len() as u32);
            }
        }
        let mut rank = vec![0; ends.len()];
        for (pos, &(o, r)) in sorted.iter().enumerate() {
            rank[(base[o as usize] + r) as usize] = pos as u32;
        }
        SearchText {
            text,
            ends,
            base,
            rank,
        }
    }

    /// Text of the row at sorted position `pos`.
    fn row(&self, sorted: &[RowRef], pos: u32) -> &str {
        let (o, r) = sorted[pos as usize];
        let k = (self.base[o as usize] + r) as usize;
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }

    /// Sorted positions of the rows containing `needle` (lowercase, without `\n`), in one
    /// pass: after a hit the rest of that row is skipped.
    fn find(&self, needle: &str) -> Vec<u32> {
        let finder = memmem::Finder::new(needle.as_bytes());
        let bytes = self.text.as_bytes();
        let mut hits = vec![false; self.rank.len()];
        let (mut k, mut at) = (0, 0);
        while let Some(hit) = finder.find(&bytes[at..]) {
            while self.ends[k] as usize <= at + hit {
                k += 1;
            }
            hits[self.rank[k] as usize] = true;
            at = self.ends[k] as usize;
        }
        (0..hits.len() as u32)
            .filter(|&p| hits[p as usize])
            .collect()
    }
}

/// The filter's work so far, reused while the filter only grows.
#[derive(Debug, Default)]
pub(crate) struct FilterCache {
    /// Search text of the sorted rows, built on the first filter keystroke.
    search: Option<SearchText>,
    /// The lowercased filter that `positions` answers.
    needle: String,
    /// Positions (in the sorted rows) of the visible rows.
    positions: Vec<u32>,
}

fn own(v: &OrbView) -> &[OrbView] {
    std::slice::from_ref(v)
}

/// Calls `$body` with `rows_of` bound to the current tab's row accessor.
macro_rules! with_rows {
    ($tab:expr, $rows_of:ident => $body:expr) => {
        match $tab {
            Tab::Overview => {
                let $rows_of: fn(&OrbView) -> &[OrbView] = own;
                $body
            }
            Tab::Profiles => {
                let $rows_of: fn(&OrbView) -> &[ProfileRow] = |v| &v.profiles;
                $body
            }
            Tab::Quotas => {
                let $rows_of: fn(&OrbView) -> &[QuotaRow] = |v| &v.quotas;
                $body
            }
            Tab::Replications => {
                let $rows_of: fn(&OrbView) -> &[ReplicationRow] = |v| &v.replications;
                $body
            }
            Tab::Upgrades => {
                let $rows_of: fn(&OrbView) -> &[UpgradeRow] = |v| &v.upgrades;
                $body
            }
            Tab::Desired => {
                let $rows_of: fn(&OrbView) -> &[String] = |v| &v.desired_files;
                $body
            }
            Tab::Events => {
                let $rows_of: fn(&OrbView) -> &[EventRow] = |v| &v.events;
                $body
            }
        }
    };
}

impl State {
    /// Whether the current table has a leading ORB column (fleet-wide tables).
    pub fn has_orb_column(&self) -> bool {
        self.scope == Scope::Fleet
    }

    fn orb_range(&self) -> std::ops::Range<usize> {
        match self.scope {
            Scope::Fleet => 0..self.fleet.len(),
            Scope::Orb if self.tab == Tab::Overview => 0..0,
            Scope::Orb => {
                self.selected_orb.min(self.fleet.len())
                    ..(self.selected_orb + 1).min(self.fleet.len())
            }
        }
    }

    /// Rebuilds sorted and visible rows of the current tab (data, scope, tab or sort changed).
    pub(crate) fn reindex(&mut self) {
        let view = self.view();
        let with_orb = self.has_orb_column();
        // With an ORB column, column 0 is the ORB and the tab's columns shift by one.
        let columns = self.tab.columns();
        let field = match (with_orb, view.sort_column) {
            (true, 0) => None,
            (true, c) => columns.get(c - 1).map(|c| c.field),
            (false, c) => columns.get(c).map(|c| c.field),
        };
        let by = (field, columns[0].field);
        let range = self.orb_range();
        let desc = view.descending;
        self.sorted =
            with_rows!(self.tab, rows_of => sorted(&self.fleet, range, rows_of, by, desc));
        self.filter_cache = FilterCache::default();
        self.apply_filter();
    }

    /// Builds the filter's search text if needed (done when `/` is pressed, so typing the
    /// first character does not pay for it).
    pub(crate) fn prepare_search(&mut self) {
        if self.filter_cache.search.is_none() {
            let with_orb = self.has_orb_column();
            let (fleet, sorted, orbs) = (&self.fleet, &self.sorted, self.orb_range());
            let search = with_rows!(self.tab, rows_of => SearchText::build(fleet, orbs, sorted, rows_of, with_orb));
            self.filter_cache.search = Some(search);
        }
    }

    /// Recomputes the visible rows from the sorted ones and the filter. While the filter
    /// only grows and few rows are left, only those are searched again.
    pub(crate) fn apply_filter(&mut self) {
        let needle = self.view().filter.to_ascii_lowercase();
        if needle.is_empty() {
            self.rows.clone_from(&self.sorted);
            self.filter_cache.needle.clear();
        } else {
            self.prepare_search();
            let cache = &mut self.filter_cache;
            let Some(search) = &cache.search else { return };
            if needle.contains('\n') {
                cache.positions.clear();
            } else if !cache.needle.is_empty()
                && needle.contains(cache.needle.as_str())
                // Few rows left: check just those; many: one sequential pass is faster.
                && cache.positions.len() < search.rank.len() / 8
            {
                let finder = memmem::Finder::new(needle.as_bytes());
                let sorted = &self.sorted;
                let hit = |p: &u32| finder.find(search.row(sorted, *p).as_bytes()).is_some();
                cache.positions.retain(hit);
            } else {
                cache.positions = search.find(&needle);
            }
            cache.needle = needle;
            let sorted = &self.sorted;
            self.rows = cache
                .positions
                .iter()
                .map(|&p| sorted[p as usize])
                .collect();
        }
        let len = self.rows.len();
        let view = self.view_mut();
        view.selected = view.selected.min(len.saturating_sub(1));
        view.offset = view.offset.min(view.selected);
        self.keep_selection_visible();
    }

    /// Number of sortable columns of the current table (ORB column included when shown).
    pub fn sort_columns(&self) -> usize {
        self.tab.columns().len() + usize::from(self.has_orb_column())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sortable<T: Indexed>(tab: Tab, row: &T) -> Tab {
        for c in tab.columns() {
            assert!(
                row.key(c.field).is_some(),
                "{tab:?}: {} has no sort key",
                c.title
            );
        }
        tab
    }

    #[test]
    fn every_column_of_every_tab_sorts_by_what_it_shows() {
        let checked = [
            sortable(Tab::Overview, &OrbView::default()),
            sortable(Tab::Profiles, &ProfileRow::default()),
            sortable(Tab::Quotas, &QuotaRow::default()),
            sortable(Tab::Replications, &ReplicationRow::default()),
            sortable(Tab::Upgrades, &UpgradeRow::default()),
            sortable(Tab::Desired, &String::new()),
            sortable(Tab::Events, &EventRow::default()),
        ];
        assert_eq!(checked, Tab::ALL);
    }

    #[test]
    fn search_is_case_insensitive_and_never_spans_fields() {
        let fleet = vec![OrbView {
            name: "alpha".into(),
            desired_files: vec!["desired/A.yaml".into(), "desired/b.yaml".into(), "x".into()],
            ..Default::default()
        }];
        let rows_of: fn(&OrbView) -> &[String] = |v| &v.desired_files;
        // Sorted in reverse storage order: positions are reported in sorted order.
        let sorted = [(0, 2), (0, 1), (0, 0)];
        let search = SearchText::build(&fleet, 0..1, &sorted, rows_of, true);
        assert_eq!(search.find("a.yaml"), [2]);
        assert_eq!(search.find("desired"), [1, 2]);
        assert_eq!(
            search.find("alpha"),
            [0, 1, 2],
            "fleet-wide: the ORB name matches"
        );
        assert_eq!(search.find("alphax"), Vec::<u32>::new());
        assert_eq!(search.row(&sorted, 0), "alpha\nx\n");
    }
}
