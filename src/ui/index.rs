//! The visible-row index of the current tab: rows of the ORBs in scope, sorted by the chosen
//! column, then narrowed by the filter. Built by `update` when data, sort, filter or tab change.

use std::cmp::Reverse;

use memchr::memmem;

use super::data::{EventRow, OrbView, ProfileRow, QuotaRow, ReplicationRow, UpgradeRow, Usage};
use super::state::{RowRef, Scope, State};
use super::tab::Tab;

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

/// A row kind: its sort key per column and the fields the filter searches.
trait Indexed {
    /// Sort key of column `column` of the tab.
    fn key(&self, column: usize) -> Key<'_>;
    /// Calls `push` with each field the filter searches.
    fn fields(&self, push: &mut impl FnMut(&str));
}

impl Indexed for ProfileRow {
    fn key(&self, column: usize) -> Key<'_> {
        match column {
            1 => Key::Text(&self.owner),
            2 => Key::Text(&self.namespace),
            3 => usage(&self.cpu),
            4 => usage(&self.memory),
            5 => usage(&self.gpu),
            6 => usage(&self.pods),
            7 => num(self.policies),
            8 => Key::Text(&self.conditions),
            _ => Key::Text(&self.name),
        }
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.name);
        push(&self.owner);
        push(&self.namespace);
        push(&self.conditions);
    }
}

impl Indexed for QuotaRow {
    fn key(&self, column: usize) -> Key<'_> {
        match column {
            1 => Key::Text(&self.resource),
            2 => float(self.used),
            3 => float(self.hard),
            4 => float(self.percent().unwrap_or(f64::NEG_INFINITY)),
            5 => Key::Text(&self.source),
            _ => Key::Text(&self.namespace),
        }
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.namespace);
        push(&self.resource);
        push(&self.source);
    }
}

impl Indexed for ReplicationRow {
    fn key(&self, column: usize) -> Key<'_> {
        match column {
            1 => Key::Text(&self.name),
            2 => Key::Text(&self.source),
            3 => Key::Text(&self.destination),
            4 => Key::Text(&self.phase),
            5 => num(self.attempts),
            6 => Key::Text(&self.message),
            _ => Key::Text(&self.namespace),
        }
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
    fn key(&self, column: usize) -> Key<'_> {
        match column {
            1 => Key::Text(&self.version),
            2 => Key::Text(&self.strategy),
            3 => Key::Text(&self.phase),
            4 => num(self.paused),
            5 => num(self.nodes.len() as u64),
            _ => Key::Text(&self.name),
        }
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.name);
        push(&self.version);
        push(&self.phase);
        self.nodes.iter().for_each(|node| push(&node.name));
    }
}

impl Indexed for EventRow {
    fn key(&self, column: usize) -> Key<'_> {
        match column {
            1 => Key::Text(&self.namespace),
            2 => Key::Text(&self.object),
            3 => Key::Text(&self.type_),
            4 => Key::Text(&self.reason),
            5 => Key::Text(&self.message),
            // Age: youngest first.
            _ => num(u64::MAX - self.time),
        }
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(&self.namespace);
        push(&self.object);
        push(&self.type_);
        push(&self.reason);
        push(&self.message);
    }
}

impl Indexed for String {
    fn key(&self, _column: usize) -> Key<'_> {
        Key::Text(self)
    }
    fn fields(&self, push: &mut impl FnMut(&str)) {
        push(self);
    }
}

/// Fleet overview rows: one per ORB.
impl Indexed for OrbView {
    fn key(&self, column: usize) -> Key<'_> {
        let sync = self.sync.as_ref();
        match column {
            0 => num(health_rank(self)),
            1 => Key::Text(sync.map_or("", |s| s.commit.as_str())),
            // Synced: most recent first.
            2 => num(u64::MAX - sync.and_then(|s| s.time).unwrap_or(0)),
            3 => Key::Text(sync.map_or("", |s| s.result.as_str())),
            4 => num(self.drift.map_or(0, |d| d as u64 + 1)),
            5 => {
                num(sync.map_or(0, |s| s.errors.len() as u64)
                    + u64::from(self.repo.error.is_some()))
            }
            6 => num(self.profiles.len() as u64),
            _ => num(self.drafts.len() as u64),
        }
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

/// Rows of `rows_of` for the ORBs in `orbs`, sorted by `column` (`None`: the ORB column,
/// then the tab's first). Stable; each key is read once, so sorting touches little memory.
fn sorted<T: Indexed>(
    fleet: &[OrbView],
    orbs: std::ops::Range<usize>,
    rows_of: fn(&OrbView) -> &[T],
    column: Option<usize>,
    descending: bool,
) -> Vec<RowRef> {
    let mut refs: Vec<RowRef> = orbs
        .flat_map(|o| (0..rows_of(&fleet[o]).len()).map(move |r| (o as u32, r as u32)))
        .collect();
    let key = |&(o, r): &RowRef| {
        let row = &rows_of(&fleet[o as usize])[r as usize];
        match column {
            None => (o, row.key(0)),
            Some(c) => (0, row.key(c)),
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
        let column = match (with_orb, view.sort_column) {
            (true, 0) => None,
            (true, c) => Some(c - 1),
            (false, c) => Some(c),
        };
        let range = self.orb_range();
        let desc = view.descending;
        self.sorted =
            with_rows!(self.tab, rows_of => sorted(&self.fleet, range, rows_of, column, desc));
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
    use super::SearchText;
    use crate::ui::data::OrbView;

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
