//! The sort order of the current tab's rows, per column: each row's key packed into integers
//! that compare without reading the rows (a number, or a text's first 14 bytes and its length),
//! and the ascending orders already computed since the rows last changed, so sorting again by a
//! column costs a copy (descending is read off the ascending order).

use std::ops::Range;

use super::data::OrbView;
use super::kinds::{Key, Kind};
use super::state::RowRef;
use super::tab::Tab;

/// `key` as an integer in the same order: a number as itself (numbers sort before texts), a
/// text from byte `from` on as a tag byte, its next 14 bytes and how many bytes are left capped
/// at 15. Texts equal before `from` compare like their packed keys unless both have more than 14
/// bytes left; see [`exact`].
fn pack(key: Key<'_>, from: usize) -> u128 {
    match key {
        Key::Num(n) => u128::from(n),
        Key::Text(t) => {
            let rest = t.as_bytes().get(from..).unwrap_or_default();
            let mut b = [0u8; 16];
            b[0] = 1;
            let n = rest.len().min(14);
            b[1..1 + n].copy_from_slice(&rest[..n]);
            b[15] = rest.len().min(15) as u8;
            u128::from_be_bytes(b)
        }
    }
}

/// Whether keys packed to `p` are all equal (false: texts with more than 14 bytes left that
/// share the next 14, told apart by the bytes after them).
fn exact(p: u128) -> bool {
    p >> 120 != 1 || p & 0xff != 15
}

/// A row with its ORB (when sorted by the ORB column, else 0) and its key packed from some byte.
type Packed = (u32, u128, RowRef);

/// Sorts `rows`, packed from byte `from` (0) or tied on their texts before it (packed again
/// here), and marks in `tied` the rows whose key equals the previous row's. Unique by the row,
/// so the unstable sort is deterministic: ties stay in storage order.
fn sort_runs<'a>(
    rows: &mut [Packed],
    tied: &mut [bool],
    from: usize,
    key: &impl Fn(RowRef) -> Key<'a>,
) {
    if from > 0 {
        for p in rows.iter_mut() {
            p.1 = pack(key(p.2), from);
        }
    }
    rows.sort_unstable();
    let mut start = 0;
    while start < rows.len() {
        let head = (rows[start].0, rows[start].1);
        let end = start + rows[start..].partition_point(|p| (p.0, p.1) == head);
        if end - start > 1 {
            if exact(head.1) {
                tied[start + 1..end].fill(true);
            } else {
                sort_runs(&mut rows[start..end], &mut tied[start..end], from + 14, key);
            }
        }
        start = end;
    }
}

/// The rows in ascending key order (ties in storage order), and which ones tie with the row
/// before them.
#[derive(Debug)]
struct Ascending {
    rows: Vec<RowRef>,
    tied: Vec<bool>,
}

impl Ascending {
    /// Rows of `kind` for the ORBs in `orbs` by column `column` (`None`: the ORB, then the
    /// kind's first column).
    fn build(
        fleet: &[OrbView],
        orbs: Range<usize>,
        kind: &dyn Kind,
        column: Option<usize>,
    ) -> Ascending {
        let col = column.unwrap_or(0);
        let key = |(o, r): RowRef| kind.key(&fleet[o as usize], r as usize, col);
        let mut packed: Vec<Packed> = orbs
            .flat_map(|o| (0..kind.len(&fleet[o])).map(move |r| (o as u32, r as u32)))
            .map(|row| {
                (
                    if column.is_none() { row.0 } else { 0 },
                    pack(key(row), 0),
                    row,
                )
            })
            .collect();
        let mut tied = vec![false; packed.len()];
        sort_runs(&mut packed, &mut tied, 0, &key);
        Ascending {
            rows: packed.into_iter().map(|p| p.2).collect(),
            tied,
        }
    }

    /// The rows in descending key order, ties in storage order (as a stable sort by the
    /// reversed key leaves them).
    fn descending(&self) -> Vec<RowRef> {
        let mut out = Vec::with_capacity(self.rows.len());
        let mut end = self.rows.len();
        while end > 0 {
            let mut start = end - 1;
            while self.tied[start] {
                start -= 1;
            }
            out.extend_from_slice(&self.rows[start..end]);
            end = start;
        }
        out
    }
}

/// The orders computed for one tab's rows since they last changed.
#[derive(Debug, Default)]
pub(crate) struct SortCache {
    /// The tab and the ORBs whose rows the orders are of.
    of: Option<(Tab, Range<usize>)>,
    /// Ascending order per column computed so far (`None`: the ORB column).
    orders: Vec<(Option<usize>, Ascending)>,
}

impl SortCache {
    /// Rows of `tab` for the ORBs in `orbs`, sorted by `column` (`None`: the ORB column, then
    /// the kind's first column), stably. Computed once per column until [`SortCache::clear`]
    /// or until asked for another tab or other ORBs.
    pub(crate) fn sorted(
        &mut self,
        fleet: &[OrbView],
        tab: Tab,
        orbs: Range<usize>,
        column: Option<usize>,
        descending: bool,
    ) -> Vec<RowRef> {
        if self.of.as_ref() != Some(&(tab, orbs.clone())) {
            self.orders.clear();
            self.of = Some((tab, orbs.clone()));
        }
        let at = match self.orders.iter().position(|(c, _)| *c == column) {
            Some(at) => at,
            None => {
                let order = Ascending::build(fleet, orbs, tab.kind(), column);
                self.orders.push((column, order));
                self.orders.len() - 1
            }
        };
        let order = &self.orders[at].1;
        if descending {
            order.descending()
        } else {
            order.rows.clone()
        }
    }

    /// Forgets every order (the rows changed).
    pub(crate) fn clear(&mut self) {
        *self = SortCache::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_keys_order_like_the_keys() {
        let texts = [
            "",
            "\0",
            "a",
            "a\0",
            "ab",
            "abcdefghijklmn",
            "abcdefghijklmn\0",
            "abcdefghijklmno",
            "abcdefghijklmnp",
            "abcdefghijklmnpq",
            "b",
            "é",
        ];
        let mut keys: Vec<Key> = texts.iter().map(|t| Key::Text(t)).collect();
        keys.extend([Key::Num(0), Key::Num(7), Key::Num(u64::MAX)]);
        for a in &keys {
            for b in &keys {
                let (pa, pb) = (pack(*a, 0), pack(*b, 0));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), a.cmp(b), "{a:?} {b:?}");
                } else if exact(pa) {
                    assert_eq!(a, b);
                }
            }
        }
    }

    #[test]
    fn long_texts_sort_like_a_stable_sort_both_ways() {
        let long = "desired/profiles/team-";
        let files: Vec<String> = ["b", "a", "b", "", "a\0", "ab", "b", "a"]
            .iter()
            .enumerate()
            .map(|(i, t)| match i % 3 {
                0 => format!("{long}{long}{t}"),
                1 => format!("{long}{t}"),
                _ => t.to_string(),
            })
            .collect();
        let fleet = vec![OrbView {
            desired_files: files.clone(),
            ..Default::default()
        }];
        let order = Ascending::build(&fleet, 0..1, Tab::Desired.kind(), Some(0));
        let mut want: Vec<RowRef> = (0..files.len() as u32).map(|r| (0, r)).collect();
        want.sort_by_key(|&(_, r)| &files[r as usize]);
        assert_eq!(order.rows, want);
        want.sort_by_key(|&(_, r)| std::cmp::Reverse(&files[r as usize]));
        assert_eq!(order.descending(), want);
    }

    #[test]
    fn descending_keeps_ties_in_storage_order() {
        // Keys 1, 0, 1, 0 at rows 0..4: ascending 1, 3, 0, 2; descending 0, 2, 1, 3.
        let order = Ascending {
            rows: vec![(0, 1), (0, 3), (0, 0), (0, 2)],
            tied: vec![false, true, false, true],
        };
        assert_eq!(order.descending(), [(0, 0), (0, 2), (0, 1), (0, 3)]);
    }
}
