//! Kubernetes Events (`v1`): the Events tab's columns with their sort keys and cells, what its
//! filter searches, the object a row is about, and how a row is built from an Event.

use k8s_openapi::Resource as _;
use k8s_openapi::api::core::v1::Event;

use super::Width::{Fixed, Flex};
use super::{ApiKind, Key, Table, api, field, num, object, text};
use crate::ui::data::EventRow;
use crate::ui::render::cell::{age, line};

/// The Kubernetes kind of the rows.
pub(crate) const API: ApiKind = api(Event::API_VERSION, Event::KIND);

/// Events kept per ORB.
const MAX_EVENTS: usize = 500;

/// The Events tab.
pub(crate) static TABLE: Table<EventRow> = Table {
    title: "Events",
    short_title: "Evts",
    command: "events",
    empty_hint: "No events: the cluster has reported none recently.",
    rows: |v| &v.events,
    fields: &[
        field(
            "AGE",
            Fixed(5),
            0,
            // Youngest first.
            |e| num(u64::MAX - e.time),
            |at, e| line(&age(at.state.clock.unix, e.time), at.w, at.theme().dim),
        ),
        field(
            "NAMESPACE",
            Flex(8, 1),
            3,
            |e| Key::Text(&e.namespace),
            |at, e| line(&e.namespace, at.w, at.theme().text),
        ),
        field(
            "OBJECT",
            Flex(12, 1),
            1,
            |e| Key::Text(&e.object),
            |at, e| line(&e.object, at.w, at.theme().text),
        ),
        field(
            "TYPE",
            Fixed(7),
            2,
            |e| Key::Text(&e.type_),
            |at, e| line(&e.type_, at.w, warn_style(at, e)),
        ),
        field(
            "REASON",
            Flex(10, 1),
            0,
            |e| Key::Text(&e.reason),
            |at, e| line(&e.reason, at.w, warn_style(at, e)),
        ),
        field(
            "MESSAGE",
            Flex(16, 4),
            0,
            |e| Key::Text(&e.message),
            |at, e| line(&e.message, at.w, at.theme().text),
        ),
    ],
    search: |e, push| {
        push(&e.namespace);
        push(&e.object);
        push(&e.type_);
        push(&e.reason);
        push(&e.message);
    },
    namespace: Some(|e| &e.namespace),
    object: Some(|e| {
        let (kind, name) = e.object.split_once('/')?;
        let ns = (!e.namespace.is_empty()).then_some(e.namespace.as_str());
        Some(object(kind, ns, name))
    }),
};

/// Warnings stand out.
fn warn_style(at: &super::At<'_>, e: &EventRow) -> ratatui::style::Style {
    let t = at.theme();
    if e.type_ == "Warning" { t.warn } else { t.text }
}

/// An Event's row. Its time is when it was last seen: `lastTimestamp`, else the series' last
/// observation or `eventTime` (what `events.k8s.io/v1` writers such as kube-runtime's Recorder
/// set), else `firstTimestamp` or when it was created.
pub(crate) fn row(e: &Event) -> EventRow {
    let seconds =
        |t: &k8s_openapi::jiff::Timestamp| u64::try_from(t.as_second()).unwrap_or_default();
    let time = e
        .last_timestamp
        .as_ref()
        .map(|t| seconds(&t.0))
        .or_else(|| {
            e.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| seconds(&t.0))
        })
        .or_else(|| e.event_time.as_ref().map(|t| seconds(&t.0)))
        .or_else(|| e.first_timestamp.as_ref().map(|t| seconds(&t.0)))
        .or_else(|| {
            e.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| seconds(&t.0))
        })
        .unwrap_or_default();
    EventRow {
        time,
        namespace: text(e.metadata.namespace.as_deref().unwrap_or_default()),
        object: text(&format!(
            "{}/{}",
            e.involved_object.kind.as_deref().unwrap_or_default(),
            e.involved_object.name.as_deref().unwrap_or_default()
        )),
        type_: text(e.type_.as_deref().unwrap_or_default()),
        reason: text(e.reason.as_deref().unwrap_or_default()),
        message: text(e.message.as_deref().unwrap_or_default()),
        source: text(
            e.reporting_component
                .as_deref()
                .filter(|c| !c.is_empty())
                .or_else(|| e.source.as_ref().and_then(|s| s.component.as_deref()))
                .unwrap_or_default(),
        ),
    }
}

/// The rows shown: the latest events, youngest first.
pub(crate) fn rows(events: impl Iterator<Item = EventRow>) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = events.collect();
    rows.sort_by_key(|e| std::cmp::Reverse(e.time));
    rows.truncate(MAX_EVENTS);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_from_the_newer_api_is_aged_by_its_event_time() {
        let event: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "alice.1", "namespace": "default",
                "creationTimestamp": "2026-12-01T09:00:00Z"},
            "involvedObject": {"kind": "Profile", "name": "alice"},
            "eventTime": "2026-12-01T10:00:00.000000Z",
            "type": "Warning", "reason": "InvalidQuotaLabel", "message": "bad label"
        }))
        .unwrap();
        let ten = k8s_openapi::jiff::Timestamp::from_second(1_796_119_200).unwrap();
        assert_eq!(ten.to_string(), "2026-12-01T10:00:00Z");
        assert_eq!(row(&event).time, 1_796_119_200);
    }
}
