//! The fleet overview table, one row per ORB: health, last sync, drift, errors, profiles,
//! drafts and fleet-file labels, with their sort keys and cells.

use super::Width::{Fixed, Flex};
use super::{Field, Key, Table, field, num};
use crate::ui::data::OrbView;
use crate::ui::render::cell::{age, line};

/// The Overview tab (a table of ORBs when fleet-wide).
pub(crate) static TABLE: Table<OrbView> = Table {
    title: "Overview",
    short_title: "Ovw",
    command: "overview",
    empty_hint: "No ORBs: add one to the fleet config (orbdeck orb add NAME --repo URL).",
    rows: std::slice::from_ref,
    fields: FIELDS,
    // The ORB name is searched for every kind in fleet-wide tables; its labels here
    // (`/env=prod` in `:all`).
    search: |o, push| push(&o.labels),
    namespace: None,
    object: None,
};

const FIELDS: &[Field<OrbView>] = &[
    field(
        "HEALTH",
        Flex(12, 1),
        0,
        // Worst first (a sort key has no clock: a stale Lease counts only on screen).
        |o| num(o.overall(0).verdict as u64),
        |at, o| crate::ui::render::orbs::health_line(at.state, o, at.w),
    ),
    field(
        "COMMIT",
        Fixed(8),
        1,
        |o| Key::Text(o.sync.as_ref().map_or("", |s| s.commit.as_str())),
        |at, o| {
            let commit = o.sync.as_ref().map_or("-", |s| s.commit.as_str());
            line(commit, at.w, at.theme().accent)
        },
    ),
    field(
        "SYNCED",
        Fixed(7),
        2,
        // Most recent first.
        |o| num(u64::MAX - o.last_run().unwrap_or(0)),
        |at, o| {
            let synced = o.last_run();
            let text = synced.map_or("-".into(), |x| age(at.state.clock.unix, x));
            line(&text, at.w, at.theme().dim)
        },
    ),
    field(
        "RESULT",
        Flex(8, 1),
        3,
        |o| Key::Text(o.sync.as_ref().map_or("", |s| s.result.as_str())),
        |at, o| {
            let result = o.sync.as_ref().map_or("-", |s| s.result.as_str());
            line(result, at.w, at.theme().text)
        },
    ),
    field(
        "DRIFT",
        Fixed(5),
        0,
        |o| num(o.drift.map_or(0, |d| d as u64 + 1)),
        |at, o| {
            let (t, w) = (at.theme(), at.w);
            match o.drift {
                Some(0) => line("0", w, t.ok),
                Some(d) => line(&d.to_string(), w, t.warn),
                None => line("-", w, t.dim),
            }
        },
    ),
    field(
        "ERRORS",
        Fixed(6),
        0,
        |o| num(errors(o) as u64),
        |at, o| {
            let (t, n) = (at.theme(), errors(o));
            line(&n.to_string(), at.w, if n > 0 { t.error } else { t.dim })
        },
    ),
    field(
        "PROFILES",
        Fixed(8),
        4,
        |o| num(o.profiles.len() as u64),
        |at, o| line(&o.profiles.len().to_string(), at.w, at.theme().text),
    ),
    field(
        "DRAFTS",
        Fixed(6),
        1,
        |o| num(o.drafts.len() as u64),
        |at, o| {
            let t = at.theme();
            let style = if o.drafts.is_empty() { t.dim } else { t.draft };
            line(&o.drafts.len().to_string(), at.w, style)
        },
    ),
    field(
        "LABELS",
        Flex(8, 1),
        5,
        |o| Key::Text(&o.labels),
        |at, o| {
            let text = if o.labels.is_empty() { "-" } else { &o.labels };
            line(text, at.w, at.theme().dim)
        },
    ),
];

/// Errors of the last sync, plus one when the last fetch failed.
fn errors(o: &OrbView) -> usize {
    o.sync.as_ref().map_or(0, |s| s.errors.len()) + usize::from(o.repo_error().is_some())
}
