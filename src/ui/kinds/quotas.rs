//! ResourceQuotas (`v1`), one row per namespace and resource: the Quotas tab's columns with
//! their sort keys and cells, what its filter searches, and how the rows are built from the
//! quota objects (and the amounts read as numbers).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::Resource as _;
use k8s_openapi::api::core::v1::ResourceQuota;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Width::{Fixed, Flex};
use super::{ApiKind, Key, Table, api, field, float, text};
use crate::ui::data::{QuotaRow, Usage};
use crate::ui::render::cell::line;

/// The Kubernetes kind of the rows.
pub(crate) const API: ApiKind = api(ResourceQuota::API_VERSION, ResourceQuota::KIND);

/// The Quotas tab.
pub(crate) static TABLE: Table<QuotaRow> = Table {
    title: "Quotas",
    short_title: "Quota",
    command: "quotas",
    empty_hint: "No ResourceQuotas: Profiles get one from spec.resourceQuotaSpec, defaults, or quotas.statcan.gc.ca/* labels.",
    rows: |v| &v.quotas,
    fields: &[
        field(
            "NAMESPACE",
            Flex(10, 1),
            0,
            |q| Key::Text(&q.namespace),
            |at, q| line(&q.namespace, at.w, at.theme().text),
        ),
        field(
            "RESOURCE",
            Flex(15, 1),
            0,
            |q| Key::Text(&q.resource),
            |at, q| line(&q.resource, at.w, at.theme().text),
        ),
        field(
            "USED",
            Fixed(7),
            1,
            |q| float(q.used),
            |at, q| line(&q.used_text, at.w, at.theme().text),
        ),
        field(
            "HARD",
            Fixed(7),
            1,
            |q| float(q.hard),
            |at, q| line(&q.hard_text, at.w, at.theme().text),
        ),
        field(
            "%",
            Fixed(4),
            0,
            |q| float(q.percent().unwrap_or(f64::NEG_INFINITY)),
            |at, q| {
                let t = at.theme();
                match q.percent() {
                    Some(p) => line(&format!("{p:.0}"), at.w, t.percent(p)),
                    None => line("-", at.w, t.dim),
                }
            },
        ),
        field(
            "SOURCE",
            Flex(8, 2),
            2,
            |q| Key::Text(&q.source),
            |at, q| line(&q.source, at.w, at.theme().dim),
        ),
    ],
    search: |q, push| {
        push(&q.namespace);
        push(&q.resource);
        push(&q.source);
    },
    namespace: Some(|q| &q.namespace),
    object: None,
};

/// A ResourceQuota as the views need it: (namespace, hard, used).
pub(crate) type Figures = (String, BTreeMap<String, String>, BTreeMap<String, String>);

/// The figures of a ResourceQuota: its hard limits (the status's, else the spec's) and usage.
pub(crate) fn figures(q: &ResourceQuota) -> Figures {
    let figures = |m: Option<&BTreeMap<String, Quantity>>| {
        m.into_iter()
            .flatten()
            .map(|(k, v)| (text(k), text(&v.0)))
            .collect::<BTreeMap<_, _>>()
    };
    let status = q.status.as_ref();
    let mut hard = figures(status.and_then(|s| s.hard.as_ref()));
    if hard.is_empty() {
        hard = figures(q.spec.as_ref().and_then(|s| s.hard.as_ref()));
    }
    (
        text(q.metadata.namespace.as_deref().unwrap_or_default()),
        hard,
        figures(status.and_then(|s| s.used.as_ref())),
    )
}

/// The rows shown, by quota key then resource: one per hard limit of each quota (`quotas` by
/// object key), with where the limit came from (`sources`: by namespace, then resource).
pub(crate) fn rows(
    quotas: &HashMap<String, Figures>,
    sources: &HashMap<String, BTreeMap<String, String>>,
) -> Vec<QuotaRow> {
    let mut quota_rows = Vec::new();
    let mut keys: Vec<&String> = quotas.keys().collect();
    keys.sort();
    for key in keys {
        let (ns, hard, used) = &quotas[key];
        for (resource, hard_text) in hard {
            let used_text = used.get(resource).cloned().unwrap_or_else(|| "0".into());
            let source = sources
                .get(ns)
                .and_then(|s| s.get(resource).cloned())
                .unwrap_or_else(|| "namespace quota".into());
            quota_rows.push(QuotaRow {
                namespace: ns.clone(),
                resource: resource.clone(),
                used: amount(&used_text),
                hard: amount(hard_text),
                used_text,
                hard_text: hard_text.clone(),
                source,
            });
        }
    }
    quota_rows
}

/// The usage of quota key `key`, when the quota limits it.
pub(crate) fn usage(
    hard: &BTreeMap<String, String>,
    used: &BTreeMap<String, String>,
    key: &str,
) -> Option<Usage> {
    let hard_text = hard.get(key)?.clone();
    let used_text = used.get(key).cloned().unwrap_or_else(|| "0".into());
    Some(Usage {
        used: amount(&used_text),
        hard: amount(&hard_text),
        used_text,
        hard_text,
    })
}

/// A quantity as a number (0 when it does not parse).
fn amount(text: &str) -> f64 {
    quantity::Quantity::parse(text)
        .map(|q| q.nanos() as f64 / 1e9)
        .unwrap_or(0.0)
}
