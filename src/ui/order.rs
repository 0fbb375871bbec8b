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
/// text as a tag byte, its first 14 bytes and its length capped at 15. Two texts of which one
/// is at most 14 bytes long compare like their packed keys; see [`exact`].
fn pack(key: Key<'_>) -> u128 {
    match key {
        Key::Num(n) => u128::from(n),
        Key::Text(t) => {
            let mut b = [0u8; 16];
            b[0] = 1;
            let n = t.len().min(14);
            b[1..1 + n].copy_from_slice(&t.as_bytes()[..n]);
            b[15] = t.len().min(15) as u8;
            u128::from_be_bytes(b)
        }
    }
}

/// Whether keys packed to `p` are all equal (false: texts longer than 14 bytes sharing their
/// first 14, which need the whole texts compared).
fn exact(p: u128) -> bool {
    p >> 120 != 1 || p & 0xff != 15
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
        let mut packed: Vec<(u32, u128, RowRef)> = orbs
            .flat_map(|o| (0..kind.len(&fleet[o])).map(move |r| (o as u32, r as u32)))
            .map(|row| {
                (
                    if column.is_none() { row.0 } else { 0 },
                    pack(key(row)),
                    row,
                )
            })
            .collect();
        // Unique by the row, so unstable is deterministic: ties stay in storage order.
        packed.sort_unstable();
        let mut tied = vec![false; packed.len()];
        let mut start = 0;
        while start < packed.len() {
            let head = (packed[start].0, packed[start].1);
            let run = packed[start..].partition_point(|p| (p.0, p.1) == head);
            let end = start + run;
            if run > 1 && !exact(head.1) {
                // Stable: rows with the same whole text stay in storage order.
                packed[start..end].sort_by(|a, b| key(a.2).cmp(&key(b.2)));
                for i in start + 1..end {
                    tied[i] = key(packed[i].2) == key(packed[i - 1].2);
                }
            } else {
                tied[start + 1..end].fill(true);
            }
            start = end;
        }
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
    /// the kind's first column), stably. Computed once per column until [`SortCache::clear`].
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
                let (pa, pb) = (pack(*a), pack(*b));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), a.cmp(b), "{a:?} {b:?}");
                } else if exact(pa) {
                    assert_eq!(a, b);
                }
            }
        }
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
