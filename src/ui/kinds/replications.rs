//! ImageReplications (`orbdeck.io/v1alpha1`), one per copied image: the Replications tab's
//! columns with their sort keys and cells, what its filter searches, the object a row stands
//! for, and how a row is built from the object.

use super::Width::{Fixed, Flex};
use super::{ApiKind, Key, Table, api, field, float, num, object, phase_style, text};
use crate::model::ImageReplication;
use crate::ui::data::ReplicationRow;
use crate::ui::render::cell::{fit, line};
use crate::ui::theme::Theme;
use ratatui::text::{Line, Span};

/// The Kubernetes kind of the rows.
pub(crate) const API: ApiKind = api("orbdeck.io/v1alpha1", "ImageReplication");

/// The Replications tab.
pub(crate) static TABLE: Table<ReplicationRow> = Table {
    title: "Replications",
    short_title: "Repl",
    command: "replications",
    empty_hint: "No ImageReplications: the engine makes one per image a pod uses that an ImageReplicationPolicy (desired/) covers, and copies it; `a` retries one that gave up.",
    rows: |v| &v.replications,
    fields: &[
        field(
            "NAMESPACE",
            Flex(8, 1),
            3,
            |x| Key::Text(&x.namespace),
            |at, x| line(&x.namespace, at.w, at.theme().text),
        ),
        field(
            "NAME",
            Flex(14, 1),
            0,
            |x| Key::Text(&x.name),
            |at, x| line(&x.name, at.w, at.theme().text),
        ),
        field(
            "SOURCE",
            Flex(12, 1),
            2,
            |x| Key::Text(&x.source),
            |at, x| line(&x.source, at.w, at.theme().text),
        ),
        field(
            "DESTINATION",
            Flex(12, 1),
            4,
            |x| Key::Text(&x.destination),
            |at, x| line(&x.destination, at.w, at.theme().text),
        ),
        field(
            "PHASE",
            Fixed(19),
            0,
            |x| Key::Text(&x.phase),
            |at, x| line(&x.phase, at.w, phase_style(at.theme(), &x.phase)),
        ),
        field(
            "TRIES",
            Fixed(5),
            1,
            |x| num(x.attempts),
            |at, x| {
                let t = at.theme();
                let style = if x.failed() { t.error } else { t.text };
                let max = if x.max_attempts == 0 {
                    "-".to_owned()
                } else {
                    x.max_attempts.to_string()
                };
                line(&format!("{}/{max}", x.attempts), at.w, style)
            },
        ),
        field(
            "BYTES",
            Fixed(18),
            2,
            |x| float(x.percent().unwrap_or(f64::NEG_INFINITY)),
            |at, x| bytes(x, at.w, at.theme()),
        ),
        field(
            "MESSAGE",
            Flex(10, 3),
            1,
            |x| Key::Text(&x.message),
            |at, x| line(&x.message, at.w, at.theme().dim),
        ),
    ],
    search: |x, push| {
        push(&x.namespace);
        push(&x.name);
        push(&x.source);
        push(&x.destination);
        push(&x.phase);
        push(&x.message);
    },
    namespace: Some(|r| &r.namespace),
    object: Some(|x| Some(object(API.kind, Some(&x.namespace), &x.name))),
};

/// `copied/total` with a 4-cell gauge of the share copied, when the total is known.
fn bytes(x: &ReplicationRow, width: usize, theme: &Theme) -> Line<'static> {
    let Some(pct) = x.percent() else {
        return line("-", width, theme.dim);
    };
    let text = format!("{}/{}", size(x.bytes_copied), size(x.bytes_total));
    if width < 9 {
        return line(&text, width, theme.text);
    }
    let filled = ((pct / 25.0).floor() as usize).min(4);
    let style = if x.failed() { theme.error } else { theme.ok };
    Line::from(vec![
        Span::styled("■".repeat(filled), style),
        Span::styled("□".repeat(4 - filled), theme.dim),
        Span::raw(" "),
        Span::styled(fit(&text, width - 5), theme.text),
    ])
}

/// Bytes as `12.3M`, `900K`, `1.2G`.
fn size(b: u64) -> String {
    const K: f64 = 1024.0;
    let b = b as f64;
    if b < K {
        format!("{b}B")
    } else if b < K * K {
        format!("{:.0}K", b / K)
    } else if b < K * K * K {
        format!("{:.1}M", b / K / K)
    } else {
        format!("{:.1}G", b / K / K / K)
    }
}

/// An ImageReplication's row.
pub(crate) fn row(r: &ImageReplication) -> ReplicationRow {
    let status = r.status.clone().unwrap_or_default();
    ReplicationRow {
        namespace: text(r.metadata.namespace.as_deref().unwrap_or_default()),
        name: text(r.metadata.name.as_deref().unwrap_or_default()),
        source: text(&r.spec.source),
        destination: text(&r.spec.destination),
        phase: status.phase.as_str().to_owned(),
        attempts: u8::try_from(status.attempts).unwrap_or(u8::MAX),
        max_attempts: u8::try_from(status.max_attempts).unwrap_or(u8::MAX),
        bytes_copied: status.bytes_copied,
        bytes_total: status.bytes_total,
        message: text(status.message.as_deref().unwrap_or_default()),
    }
}

/// The rows shown, by namespace and name.
pub(crate) fn rows(rows: impl Iterator<Item = ReplicationRow>) -> Vec<ReplicationRow> {
    let mut rows: Vec<ReplicationRow> = rows.collect();
    rows.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_progress_and_attempts_of_the_policy() {
        let mut r: ImageReplication = serde_json::from_value(serde_json::json!({
            "apiVersion": "orbdeck.io/v1alpha1", "kind": "ImageReplication",
            "metadata": {"name": "app-1", "namespace": "orbdeck-system"},
            "spec": {"source": "docker.io/library/app:1", "destination": "m/docker.io/library/app:1", "policy": "p"},
        }))
        .unwrap();
        let row0 = row(&r);
        assert_eq!((row0.phase.as_str(), row0.percent()), ("Pending", None));
        r.status = Some(crate::model::ImageReplicationStatus {
            phase: crate::model::ReplicationPhase::Replicating,
            attempts: 1,
            max_attempts: 3,
            bytes_copied: 50 * 1024 * 1024,
            bytes_total: 200 * 1024 * 1024,
            ..Default::default()
        });
        let row1 = row(&r);
        assert_eq!(row1.percent(), Some(25.0));
        let theme = Theme::dark();
        let cell: String = bytes(&row1, 22, &theme)
            .spans
            .iter()
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(cell, "■□□□ 50.0M/200.0M");
        assert!(!row1.failed());
    }

    #[test]
    fn api_is_the_models() {
        use kube::Resource;
        assert_eq!(API.api_version, ImageReplication::api_version(&()));
        assert_eq!(API.kind, ImageReplication::kind(&()));
    }
}
