//! Kubeflow Profiles (`kubeflow.org/v1`): the Profiles tab's columns with their sort keys and
//! cells, what its filter searches, and how a row is built from a Profile and joined with its
//! namespace's quota usage and what the repo says about it.

use std::collections::{BTreeMap, HashMap};

use ratatui::text::Line;

use super::Width::{Fixed, Flex};
use super::quotas::{Figures, usage};
use super::{ApiKind, At, Key, Table, api, by_used, field, num, object, text};
use crate::controllers::profiles::quotas::{GPU_KEY, Source, quota_sources};
use crate::model::{Profile, ProfileSettings};
use crate::ui::data::{OwnerKind, ProfileRow, Usage};
use crate::ui::render::cell::line;

/// The Kubernetes kind of the rows.
pub(crate) const API: ApiKind = api("kubeflow.org/v1", "Profile");

/// The Profiles tab.
pub(crate) static TABLE: Table<ProfileRow> = Table {
    title: "Profiles",
    short_title: "Prof",
    command: "profiles",
    empty_hint: "No Profiles: add a kubeflow.org/v1 Profile under desired/ (n in the Desired tab) and the engine creates its namespace, quota and policies.",
    rows: |v| &v.profiles,
    fields: &[
        field(
            "NAME",
            Flex(14, 3),
            0,
            |p| Key::Text(&p.name),
            |at, p| line(&p.name, at.w, at.theme().text),
        ),
        field(
            "OWNER",
            Flex(10, 2),
            3,
            |p| Key::Text(&p.owner),
            |at, p| {
                let owner = format!("{} ({})", p.owner, p.owner_kind.as_str());
                line(&owner, at.w, at.theme().text)
            },
        ),
        field(
            "NAMESPACE",
            Flex(10, 2),
            4,
            |p| Key::Text(&p.namespace),
            |at, p| line(&p.namespace, at.w, at.theme().text),
        ),
        field(
            "CPU",
            Fixed(14),
            0,
            |p| by_used(&p.cpu),
            |at, p| bar(at, p.cpu.as_ref()),
        ),
        field(
            "MEMORY",
            Fixed(14),
            2,
            |p| by_used(&p.memory),
            |at, p| bar(at, p.memory.as_ref()),
        ),
        field(
            "GPU",
            Fixed(14),
            2,
            |p| by_used(&p.gpu),
            |at, p| bar(at, p.gpu.as_ref()),
        ),
        field(
            "PODS",
            Fixed(14),
            5,
            |p| by_used(&p.pods),
            |at, p| bar(at, p.pods.as_ref()),
        ),
        field(
            "POL",
            Fixed(3),
            6,
            |p| num(p.policies),
            |at, p| {
                let t = at.theme();
                let style = if p.policies == 0 { t.warn } else { t.text };
                line(&p.policies.to_string(), at.w, style)
            },
        ),
        field(
            "CONDITIONS",
            Flex(10, 3),
            1,
            |p| Key::Text(&p.conditions),
            |at, p| {
                let t = at.theme();
                let style = if p.conditions == "Ready" {
                    t.ok
                } else {
                    t.error
                };
                line(&p.conditions, at.w, style)
            },
        ),
    ],
    search: |p, push| {
        push(&p.name);
        push(&p.owner);
        push(&p.namespace);
        push(&p.conditions);
    },
    namespace: Some(|p| &p.namespace),
    object: Some(|p| Some(object(API.kind, None, &p.name))),
};

/// A quota usage as a bar with `used/hard`.
fn bar(at: &At<'_>, u: Option<&Usage>) -> Line<'static> {
    crate::ui::render::cell::usage(u, at.w, at.theme())
}

/// A Profile's row and, per quota key, what set its value.
pub(crate) fn row(
    p: &Profile,
    settings: &ProfileSettings,
) -> (ProfileRow, BTreeMap<String, String>) {
    let name = text(p.metadata.name.as_deref().unwrap_or_default());
    let conditions = p
        .status
        .iter()
        .flat_map(|s| &s.conditions)
        .filter(|c| c.status == "True")
        .map(|c| match &c.message {
            Some(m) if c.type_ != "Ready" => format!("{}: {}", c.type_, m),
            _ => c.type_.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sources = quota_sources(p, settings)
        .into_iter()
        .map(|(k, s)| {
            let s = match s {
                Source::Default => "default".to_owned(),
                Source::ProfileSpec => "spec.resourceQuotaSpec".to_owned(),
                Source::Label(l) => format!("label {l}"),
            };
            (k, text(&s))
        })
        .collect();
    let row = ProfileRow {
        namespace: name.clone(),
        name,
        owner: text(&p.spec.owner.name),
        owner_kind: match p.spec.owner.kind {
            crate::model::OwnerKind::User => OwnerKind::User,
            crate::model::OwnerKind::Group => OwnerKind::Group,
        },
        policies: 0,
        conditions: text(&conditions),
        ..Default::default()
    };
    (row, sources)
}

/// The rows shown, sorted by name: each profile with its namespace's quota usage (`quotas` by
/// object key), where the repo defines it (`sources`) and how many policies it has (`policies`),
/// both by profile name.
pub(crate) fn rows<'a>(
    profiles: impl Iterator<Item = &'a ProfileRow>,
    quotas: &HashMap<String, Figures>,
    sources: &HashMap<String, (String, u32)>,
    policies: &HashMap<String, u16>,
) -> Vec<ProfileRow> {
    let mut rows: Vec<ProfileRow> = profiles
        .map(|row| {
            let mut row = row.clone();
            if let Some((_, hard, used)) = quotas.get(&format!("{}/quotas", row.namespace)) {
                let usage = |key: &str| usage(hard, used, key);
                row.cpu = usage("requests.cpu");
                row.memory = usage("requests.memory");
                row.gpu = usage(GPU_KEY);
                row.pods = usage("pods");
            }
            row.source = sources.get(&row.name).cloned();
            row.policies = policies.get(&row.name).copied().unwrap_or_default();
            row
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_is_the_models() {
        use kube::Resource;
        assert_eq!(API.api_version, Profile::api_version(&()));
        assert_eq!(API.kind, Profile::kind(&()));
    }
}
