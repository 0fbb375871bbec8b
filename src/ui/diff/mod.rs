//! The diff view (`d`): desired against live for one object, or for every object of a desired
//! file, as Argo CD's diff shows it. [`align`] computes each object's rows; this module holds
//! what the view shows (a section per object: verdict, the engine's word from current/, the rows)
//! and lays it out side by side or unified. Pure: no I/O.

pub mod align;

pub use align::{LiveScope, Mark, Numbered, Row};

use serde_json::Value;

/// One object as the diff effect found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// `Profile alice`, or `ConfigMap team-a/settings` (sanitised).
    pub name: String,
    /// Where desired/ has it, `desired/profiles/alice.yaml:1` (sanitised); None: not in desired/.
    pub file: Option<String>,
    /// The desired object as the engine applies it (the ORB label stamped); None: not desired.
    pub desired: Option<Value>,
    /// The live object: `Ok(None)` when the cluster has none, `Err` says why it was not read.
    pub live: Result<Option<Value>, String>,
    /// The engine's own word on the object, from current/status.yaml (sanitised lines).
    pub current: Vec<String>,
    /// Anything else the reader should know, e.g. a prune fence holding it (sanitised).
    pub notes: Vec<String>,
}

/// What a section says about its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Live matches desired.
    InSync,
    /// Both exist and differ.
    Changed,
    /// Desired, not in the cluster: a sync creates it.
    Missing,
    /// In the cluster, not desired: pruned at the next sync unless fenced.
    Extra,
    /// Live could not be read.
    Unknown,
    /// Neither desired nor live has it.
    Absent,
}

impl Verdict {
    /// The word shown in the section's head.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::InSync => "in sync",
            Verdict::Changed => "changed",
            Verdict::Missing => "missing",
            Verdict::Extra => "extra",
            Verdict::Unknown => "unknown",
            Verdict::Absent => "absent",
        }
    }
}

/// One object's part of the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The verdict.
    pub verdict: Verdict,
    /// `Profile alice` (sanitised).
    pub name: String,
    /// Where desired/ has it.
    pub file: Option<String>,
    /// Lines under the head: what the verdict means, current/, notes.
    pub info: Vec<String>,
    /// The aligned rows, live left and desired right.
    pub rows: Vec<Row>,
}

impl Section {
    /// The section of `source`, live compared within `scope`.
    pub fn of(source: &Source, scope: LiveScope) -> Section {
        let live = source.live.as_ref().ok().and_then(Option::as_ref);
        let mut rows = align::compare(source.desired.as_ref(), live, scope);
        if source.live.is_err() {
            // Nothing to compare with: desired is shown as it is, not as added.
            for row in &mut rows {
                row.mark = Mark::Same;
            }
        }
        // What a sync would change is what desired sets: the verdict never counts the fields
        // only the whole live object shows.
        let owned_changes = match scope {
            LiveScope::Owned => rows.iter().any(|r| r.mark != Mark::Same),
            LiveScope::Full => align::compare(source.desired.as_ref(), live, LiveScope::Owned)
                .iter()
                .any(|r| r.mark != Mark::Same),
        };
        let verdict = match (&source.desired, &source.live) {
            (_, Err(_)) => Verdict::Unknown,
            (None, Ok(None)) => Verdict::Absent,
            (Some(_), Ok(None)) => Verdict::Missing,
            (None, Ok(Some(_))) => Verdict::Extra,
            (Some(_), Ok(Some(_))) if !owned_changes => Verdict::InSync,
            (Some(_), Ok(Some(_))) => Verdict::Changed,
        };
        let mut info = vec![match (verdict, &source.live) {
            (Verdict::InSync, _) if scope == LiveScope::Full => {
                "In sync: every field desired sets matches; the lines only live has are set by \
                 the server or others."
                    .to_string()
            }
            (Verdict::InSync, _) => "In sync: live matches desired.".to_string(),
            (Verdict::Changed, _) => {
                "Live differs from desired; a sync makes the fields desired sets match.".to_string()
            }
            (Verdict::Missing, _) => {
                "Not in the cluster: every line is added; a sync creates it.".to_string()
            }
            (Verdict::Extra, _) => "Not in desired/: every line is removed.".to_string(),
            (Verdict::Unknown, Err(why)) => {
                format!("Live state unavailable ({why}); desired is shown alone.")
            }
            _ => "Neither desired/ nor the cluster has it.".to_string(),
        }];
        info.extend(source.current.iter().cloned());
        info.extend(source.notes.iter().cloned());
        Section {
            verdict,
            name: source.name.clone(),
            file: source.file.clone(),
            info,
            rows,
        }
    }
}

/// The diff view's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffView {
    /// What is compared, e.g. `Profile alice @ alpha`.
    pub title: String,
    /// The objects, once arrived.
    pub sources: Option<Vec<Source>>,
    /// Notes on the whole, shown first (sanitised).
    pub notes: Vec<String>,
    /// Their sections, computed from `sources` within `scope`.
    pub sections: Vec<Section>,
    /// How much of live is compared.
    pub scope: LiveScope,
    /// One column with -/+ lines instead of two side by side.
    pub unified: bool,
    /// First visible line.
    pub scroll: usize,
    /// Columns scrolled to the right.
    pub hscroll: usize,
}

impl DiffView {
    /// A view of `title` waiting for its objects.
    pub fn loading(title: String) -> DiffView {
        DiffView {
            title,
            sources: None,
            notes: Vec::new(),
            sections: Vec::new(),
            scope: LiveScope::default(),
            unified: false,
            scroll: 0,
            hscroll: 0,
        }
    }

    /// Takes the objects and notes that arrived and computes the sections.
    pub fn arrived(&mut self, sources: Vec<Source>, notes: Vec<String>) {
        self.sources = Some(sources);
        self.notes = notes;
        self.recompute();
    }

    /// Switches between the fields desired sets and the whole live object.
    pub fn toggle_scope(&mut self) {
        self.scope = match self.scope {
            LiveScope::Owned => LiveScope::Full,
            LiveScope::Full => LiveScope::Owned,
        };
        self.recompute();
    }

    fn recompute(&mut self) {
        self.sections = self
            .sources
            .iter()
            .flatten()
            .map(|s| Section::of(s, self.scope))
            .collect();
    }

    /// The lines shown, in order: the notes, then each section.
    pub fn shown(&self) -> Vec<Shown<'_>> {
        let mut out: Vec<Shown> = self.notes.iter().map(|n| Shown::Info(n)).collect();
        out.extend(shown(&self.sections, self.unified));
        out
    }

    /// How many changed, added or removed rows there are in all.
    pub fn changes(&self) -> usize {
        self.sections
            .iter()
            .flat_map(|s| &s.rows)
            .filter(|r| r.mark != Mark::Same)
            .count()
    }
}

/// One line of the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown<'a> {
    /// A section's head: verdict, name, file.
    Head(&'a Section),
    /// A line under a head.
    Info(&'a str),
    /// The gap between two sections.
    Gap,
    /// A side-by-side row.
    Pair(&'a Row),
    /// A unified line: `Same` shows both line numbers, `Removed` the live one, `Added` desired's.
    Single {
        /// Same, Removed or Added.
        mark: Mark,
        /// Live line number.
        live: Option<usize>,
        /// Desired line number.
        desired: Option<usize>,
        /// The text.
        text: &'a str,
    },
}

impl Shown<'_> {
    /// Whether the line is part of a change.
    pub fn is_change(&self) -> bool {
        match self {
            Shown::Pair(r) => r.mark != Mark::Same,
            Shown::Single { mark, .. } => *mark != Mark::Same,
            _ => false,
        }
    }
}

/// The lines of `sections`: each head, its info and its rows (a changed row becomes a removed
/// and an added line when `unified`).
pub fn shown(sections: &[Section], unified: bool) -> Vec<Shown<'_>> {
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            out.push(Shown::Gap);
        }
        out.push(Shown::Head(s));
        out.extend(s.info.iter().map(|l| Shown::Info(l)));
        for row in &s.rows {
            if !unified {
                out.push(Shown::Pair(row));
                continue;
            }
            let (l, d) = (row.live.as_ref(), row.desired.as_ref());
            fn single(
                mark: Mark,
                n: &Numbered,
                live: Option<usize>,
                desired: Option<usize>,
            ) -> Shown<'_> {
                Shown::Single {
                    mark,
                    live,
                    desired,
                    text: n.text.as_str(),
                }
            }
            match (row.mark, d.or(l)) {
                (Mark::Same, Some(n)) => {
                    out.push(single(Mark::Same, n, l.map(|l| l.n), d.map(|d| d.n)))
                }
                _ => {
                    if let Some(l) = l {
                        out.push(single(Mark::Removed, l, Some(l.n), None));
                    }
                    if let Some(d) = d {
                        out.push(single(Mark::Added, d, None, Some(d.n)));
                    }
                }
            }
        }
    }
    out
}

/// Where each run of change lines starts in `lines`.
pub fn hunks(lines: &[Shown<'_>]) -> Vec<usize> {
    (0..lines.len())
        .filter(|&i| lines[i].is_change() && (i == 0 || !lines[i - 1].is_change()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(desired: Option<Value>, live: Result<Option<Value>, String>) -> Source {
        Source {
            name: "ConfigMap a".into(),
            file: Some("desired/a.yaml:1".into()),
            desired,
            live,
            current: vec!["current/status.yaml: configured".into()],
            notes: Vec::new(),
        }
    }

    fn cm(a: &str) -> Value {
        json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"a": a, "b": "2"}})
    }

    #[test]
    fn verdicts_follow_the_sides() {
        let v = |d, l| Section::of(&source(d, l), LiveScope::Owned).verdict;
        assert_eq!(v(Some(cm("1")), Ok(Some(cm("1")))), Verdict::InSync);
        assert_eq!(v(Some(cm("1")), Ok(Some(cm("2")))), Verdict::Changed);
        assert_eq!(v(Some(cm("1")), Ok(None)), Verdict::Missing);
        assert_eq!(v(None, Ok(Some(cm("1")))), Verdict::Extra);
        assert_eq!(v(Some(cm("1")), Err("refused".into())), Verdict::Unknown);
        assert_eq!(v(None, Ok(None)), Verdict::Absent);
    }

    #[test]
    fn unavailable_live_says_why_and_still_shows_desired() {
        let s = Section::of(
            &source(Some(cm("1")), Err("connection refused".into())),
            LiveScope::Owned,
        );
        assert!(s.info[0].contains("connection refused"), "{:?}", s.info);
        assert!(s.info.iter().any(|l| l.contains("current/status.yaml")));
        assert!(!s.rows.is_empty() && s.rows.iter().all(|r| r.desired.is_some()));
        assert!(
            s.rows.iter().all(|r| r.mark == Mark::Same),
            "not marked as added"
        );
    }

    #[test]
    fn unified_splits_a_changed_row_and_hunks_find_it() {
        let mut view = DiffView::loading("t".into());
        view.arrived(vec![source(Some(cm("1")), Ok(Some(cm("2"))))], Vec::new());
        assert_eq!(view.changes(), 1);
        let side = view.shown().len();
        assert_eq!(hunks(&view.shown()).len(), 1);
        view.unified = true;
        let uni = view.shown();
        assert_eq!(uni.len(), side + 1);
        let h = hunks(&uni);
        assert_eq!(h.len(), 1);
        assert!(matches!(
            uni[h[0]],
            Shown::Single {
                mark: Mark::Removed,
                ..
            }
        ));
        assert!(matches!(
            uni[h[0] + 1],
            Shown::Single {
                mark: Mark::Added,
                ..
            }
        ));
    }

    #[test]
    fn the_scope_toggle_recomputes_the_sections() {
        let mut live = cm("1");
        live["metadata"]["labels"] = json!({"added-by": "someone"});
        let mut view = DiffView::loading("t".into());
        view.arrived(vec![source(Some(cm("1")), Ok(Some(live)))], Vec::new());
        assert_eq!(view.sections[0].verdict, Verdict::InSync);
        assert_eq!(view.changes(), 0);
        view.toggle_scope();
        assert_eq!(view.sections[0].verdict, Verdict::InSync);
        assert!(view.changes() > 0, "the whole object shows the label");
    }
}
