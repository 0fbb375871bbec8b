//! The files under `desired/`: the Desired tab's one column (a tree of paths, drafts marked),
//! its sort key, and what its filter searches.

use ratatui::text::{Line, Span};

use super::Width::Flex;
use super::{At, Key, Table, field};
use crate::ui::render::cell::fit;

/// The Desired tab.
pub(crate) static TABLE: Table<String> = Table {
    title: "Desired",
    short_title: "Desr",
    command: "desired",
    empty_hint: "No files under desired/: press n to create one from a template, then ctrl-s to validate, plan and commit.",
    rows: |v| &v.desired_files,
    fields: &[field(
        "PATH",
        Flex(10, 1),
        0,
        |p| Key::Text(p),
        |at, p| tree_line(at, p),
    )],
    search: |p, push| push(p),
    namespace: None,
    object: None,
};

/// A desired file as a tree line: folders shared with the previous row are left blank.
fn tree_line(at: &At<'_>, path: &str) -> Line<'static> {
    let (state, orb, w) = (at.state, at.orb, at.w);
    let t = at.theme();
    let prev = at
        .pos
        .checked_sub(1)
        .map(|p| state.rows[p])
        .filter(|(o, _)| state.fleet[*o as usize].name == orb.name)
        .map(|(o, r)| state.fleet[o as usize].desired_files[r as usize].as_str());
    let dirs: Vec<&str> = path.split('/').collect();
    let shared = prev.map_or(0, |p| {
        p.split('/')
            .zip(&dirs[..dirs.len() - 1])
            .take_while(|(a, b)| a == *b)
            .count()
    });
    let indent: usize = dirs[..shared].iter().map(|d| d.len() + 1).sum();
    let folder = dirs[shared..dirs.len() - 1]
        .iter()
        .map(|d| format!("{d}/"))
        .collect::<String>();
    let file = dirs[dirs.len() - 1];
    let draft = orb.drafts.iter().any(|d| d.path == path);
    let mut spans = vec![
        Span::raw(" ".repeat(indent.min(w))),
        Span::styled(fit(&folder, w.saturating_sub(indent)), t.dim),
    ];
    let used = indent.min(w) + spans[1].width();
    spans.push(Span::styled(
        fit(file, w.saturating_sub(used + if draft { 2 } else { 0 })),
        t.text,
    ));
    if draft {
        spans.push(Span::styled(" ✎", t.draft));
    }
    Line::from(spans)
}
