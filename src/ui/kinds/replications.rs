//! ImageReplications (`orbdeck.io/v1alpha1`), one per copied image: the Replications tab's
//! columns with their sort keys and cells, what its filter searches, the object a row stands
//! for, and how a row is built from the object.

use super::Width::{Fixed, Flex};
use super::{ApiKind, Key, Table, api, field, num, object, phase_style, text};
use crate::model::ImageReplication;
use crate::ui::data::ReplicationRow;
use crate::ui::render::cell::line;

/// The Kubernetes kind of the rows.
pub(crate) const API: ApiKind = api("orbdeck.io/v1alpha1", "ImageReplication");

/// The Replications tab.
pub(crate) static TABLE: Table<ReplicationRow> = Table {
    title: "Replications",
    short_title: "Repl",
    command: "replications",
    empty_hint: "No ImageReplications: they are shown as the cluster reports them (this engine has no image replicator yet; ImageReplicationPolicies under desired/ are applied, not acted on).",
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
            Fixed(10),
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
                let style = if x.attempts >= 3 { t.error } else { t.text };
                line(&format!("{}/3", x.attempts), at.w, style)
            },
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

/// An ImageReplication's row.
pub(crate) fn row(r: &ImageReplication) -> ReplicationRow {
    let status = r.status.clone().unwrap_or_default();
    ReplicationRow {
        namespace: text(r.metadata.namespace.as_deref().unwrap_or_default()),
        name: text(r.metadata.name.as_deref().unwrap_or_default()),
        source: text(&r.spec.source),
        destination: text(&r.spec.destination),
        phase: format!("{:?}", status.phase),
        attempts: u8::try_from(status.attempts).unwrap_or(u8::MAX),
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
    fn api_is_the_models() {
        use kube::Resource;
        assert_eq!(API.api_version, ImageReplication::api_version(&()));
        assert_eq!(API.kind, ImageReplication::kind(&()));
    }
}
