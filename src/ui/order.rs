//! The sort order of the current tab's rows, per column: each row's key packed into integers
//! that compare without reading the rows (a number, or a text's first 14 bytes and its length)
//! and radix-sorted, and the ascending orders already computed since the rows last changed, so
//! sorting again by a column costs a copy (descending is read off the ascending order).

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

/// A key packed from some byte, with the row's position in storage order.
type Packed = (u128, u32);

/// Below this many rows a comparison sort beats the radix sort's fixed cost.
const RADIX_MIN: usize = 256;

/// Sorts `items` by key, ties in position order: an LSD radix sort over the key's 16 bytes
/// that skips every byte all keys share (a number's high bytes, a short text's tail), so a
/// sort costs a few linear passes instead of n log n comparisons of 16-byte keys.
fn radix_sort(items: &mut Vec<Packed>) {
    let n = items.len();
    if n < RADIX_MIN {
        items.sort_unstable();
        return;
    }
    let mut counts = vec![[0u32; 256]; 16];
    for (k, _) in items.iter() {
        for (d, b) in k.to_le_bytes().iter().enumerate() {
            counts[d][usize::from(*b)] += 1;
        }
    }
    let mut buf = vec![(0u128, 0u32); n];
    for (d, count) in counts.iter().enumerate() {
        if count.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut next = [0u32; 256];
        let mut sum = 0;
        for (slot, c) in next.iter_mut().zip(count) {
            *slot = sum;
            sum += c;
        }
        for item in items.iter() {
            let b = usize::from((item.0 >> (8 * d)) as u8);
            buf[next[b] as usize] = *item;
            next[b] += 1;
        }
        std::mem::swap(items, &mut buf);
    }
}

/// Marks in `tied` the rows of sorted `rows` whose key equals the previous row's, sorting again
/// by the next 14 bytes the runs of texts that their packed keys could not tell apart.
fn mark_ties<'a>(
    rows: &mut [Packed],
    tied: &mut [bool],
    from: usize,
    key: &impl Fn(u32) -> Key<'a>,
) {
    let mut start = 0;
    while start < rows.len() {
        let head = rows[start].0;
        let end = start + rows[start..].partition_point(|p| p.0 == head);
        if end - start > 1 {
            if exact(head) {
                tied[start + 1..end].fill(true);
            } else {
                let run = &mut rows[start..end];
                for p in run.iter_mut() {
                    p.0 = pack(key(p.1), from + 14);
                }
                run.sort_unstable();
                mark_ties(run, &mut tied[start..end], from + 14, key);
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
        let stored: Vec<RowRef> = orbs
            .flat_map(|o| (0..kind.len(&fleet[o])).map(move |r| (o as u32, r as u32)))
            .collect();
        let key = |at: u32| {
            let (o, r) = stored[at as usize];
            kind.key(&fleet[o as usize], r as usize, col)
        };
        let mut rows = Vec::with_capacity(stored.len());
        let mut tied = vec![false; stored.len()];
        let mut start = 0;
        while start < stored.len() {
            // By the ORB column: each ORB's rows (stored together, in ORB order) on their own.
            let end = match column {
                None => start + stored[start..].partition_point(|r| r.0 == stored[start].0),
                Some(_) => stored.len(),
            };
            let mut packed: Vec<Packed> = (start as u32..end as u32)
                .map(|at| (pack(key(at), 0), at))
                .collect();
            radix_sort(&mut packed);
            mark_ties(&mut packed, &mut tied[start..end], 0, &key);
            rows.extend(packed.iter().map(|p| stored[p.1 as usize]));
            start = end;
        }
        Ascending { rows, tied }
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
    fn many_rows_radix_sort_like_a_stable_sort_by_orb_and_by_column() {
        // Enough rows for the radix sort; short and long texts, many ties, in two ORBs.
        let names = |seed: usize| -> Vec<String> {
            (0..1500)
                .map(|i| {
                    let j = (i * 7919 + seed) % 997;
                    match j % 4 {
                        0 => format!("desired/profiles/team-{:03}.yaml", j % 50),
                        1 => format!("p{}", j % 300),
                        2 => String::new(),
                        _ => format!("desired/{}", "x".repeat(j % 40)),
                    }
                })
                .collect()
        };
        let fleet: Vec<OrbView> = (0..2)
            .map(|o| OrbView {
                desired_files: names(o * 13),
                ..Default::default()
            })
            .collect();
        let file = |&(o, r): &RowRef| fleet[o as usize].desired_files[r as usize].clone();
        let stored: Vec<RowRef> = (0..2u32)
            .flat_map(|o| (0..1500u32).map(move |r| (o, r)))
            .collect();
        let by_column = Ascending::build(&fleet, 0..2, Tab::Desired.kind(), Some(0));
        let mut want = stored.clone();
        want.sort_by_key(file);
        assert_eq!(by_column.rows, want);
        want.sort_by_key(|r| std::cmp::Reverse(file(r)));
        assert_eq!(by_column.descending(), want);
        let by_orb = Ascending::build(&fleet, 0..2, Tab::Desired.kind(), None);
        let mut want = stored;
        want.sort_by_key(|r| (r.0, file(r)));
        assert_eq!(by_orb.rows, want);
        assert!(
            !by_orb.tied[1500],
            "another ORB's first row ties with nothing"
        );
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
