//! The visible-row index of the current tab: rows of the ORBs in scope, sorted by the chosen
//! column, then narrowed by the filter. Built by `update` when data, sort, filter or tab change.

use memchr::memmem;

use super::data::OrbView;
use super::kinds::Kind;
use super::state::{RowRef, Scope, State};
use super::tab::Tab;

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
    fn build(
        fleet: &[OrbView],
        orbs: std::ops::Range<usize>,
        sorted: &[RowRef],
        kind: &dyn Kind,
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
            for row in 0..kind.len(orb) {
                if with_orb {
                    push(&mut text, &orb.name);
                }
                kind.search(orb, row, &mut |f| push(&mut text, f));
                ends.push(text.len() as u32);
            }
        }
        let mut search = SearchText {
            rank: vec![0; ends.len()],
            text,
            ends,
            base,
        };
        search.rerank(sorted);
        search
    }

    /// Points the text at another order of the same rows.
    fn rerank(&mut self, sorted: &[RowRef]) {
        for (pos, &(o, r)) in sorted.iter().enumerate() {
            self.rank[(self.base[o as usize] + r) as usize] = pos as u32;
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

    /// Rebuilds sorted and visible rows of the current tab (data, scope or tab changed).
    pub(crate) fn reindex(&mut self) {
        self.sort_cache.clear();
        self.filter_cache = FilterCache::default();
        self.resort();
    }

    /// Rebuilds sorted and visible rows of the current tab after its sort changed, reusing the
    /// orders computed since the last [`State::reindex`].
    pub(crate) fn resort(&mut self) {
        let view = self.view();
        let with_orb = self.has_orb_column();
        // With an ORB column, column 0 is the ORB and the tab's columns shift by one.
        let column = match (with_orb, view.sort_orb) {
            (true, true) => None,
            _ => Some(view.sort_column),
        }
        .filter(|&c| c < self.tab.kind().column_count());
        let (descending, range) = (view.descending, self.orb_range());
        let cache = &mut self.sort_cache;
        self.sorted = cache.sorted(&self.fleet, self.tab, range, column, descending);
        // The same rows in another order: the search text stays, its positions are redone.
        let filter = &mut self.filter_cache;
        if let Some(search) = filter.search.as_mut() {
            search.rerank(&self.sorted);
        }
        filter.needle.clear();
        filter.positions.clear();
        self.apply_filter();
    }

    /// Builds the filter's search text if needed (done when `/` is pressed, so typing the
    /// first character does not pay for it).
    pub(crate) fn prepare_search(&mut self) {
        if self.filter_cache.search.is_none() {
            let with_orb = self.has_orb_column();
            let (fleet, sorted, orbs) = (&self.fleet, &self.sorted, self.orb_range());
            let search = SearchText::build(fleet, orbs, sorted, self.tab.kind(), with_orb);
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
        self.keep_namespace();
        let len = self.rows.len();
        let view = self.view_mut();
        view.selected = view.selected.min(len.saturating_sub(1));
        view.offset = view.offset.min(view.selected);
        self.keep_selection_visible();
    }

    /// Narrows the visible rows to each ORB's namespace filter (`:ns NAME`), for kinds with a
    /// namespace.
    fn keep_namespace(&mut self) {
        if self.namespaces.is_empty() {
            return;
        }
        let kind = self.tab.kind();
        let (fleet, namespaces) = (&self.fleet, &self.namespaces);
        self.rows.retain(|&(o, r)| {
            let orb = &fleet[o as usize];
            match (namespaces.get(&orb.name), kind.namespace(orb, r as usize)) {
                (Some(want), Some(ns)) => ns == want,
                _ => true,
            }
        });
    }

    /// Number of sortable columns of the current table (ORB column included when shown).
    pub fn sort_columns(&self) -> usize {
        self.tab.kind().column_count() + usize::from(self.has_orb_column())
    }

    /// The sort column's position in the table as drawn (the ORB column first when shown).
    pub fn sort_position(&self) -> usize {
        let view = self.view();
        match (self.has_orb_column(), view.sort_orb) {
            (true, true) => 0,
            (true, false) => view.sort_column + 1,
            (false, _) => view.sort_column,
        }
    }

    /// Sorts by the column at `pos` in the table as drawn.
    pub fn set_sort_position(&mut self, pos: usize) {
        let with_orb = self.has_orb_column();
        let view = self.view_mut();
        match (with_orb, pos) {
            (true, 0) => view.sort_orb = true,
            (true, p) => (view.sort_orb, view.sort_column) = (false, p - 1),
            (false, p) => (view.sort_orb, view.sort_column) = (false, p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_case_insensitive_and_never_spans_fields() {
        let fleet = vec![OrbView {
            name: "alpha".into(),
            desired_files: vec!["desired/A.yaml".into(), "desired/b.yaml".into(), "x".into()],
            ..Default::default()
        }];
        // Sorted in reverse storage order: positions are reported in sorted order.
        let sorted = [(0, 2), (0, 1), (0, 0)];
        let search = SearchText::build(&fleet, 0..1, &sorted, Tab::Desired.kind(), true);
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
