//! What the diff view compares: the desired objects (one, or every one of a file) as committed,
//! each object's entry in current/status.yaml, and the live objects from the cluster. The
//! comparison itself is pure ([`crate::ui::diff`]) and runs in `update`.

use std::path::PathBuf;

use super::{API_TIMEOUT, EffectError, Env, api_for, client};
use crate::repo::DESIRED;
use crate::repo::status::OrbStatus;
use crate::text::sanitize;
use crate::ui::Action;
use crate::ui::action::DiffTarget;
use crate::ui::diff::Source;
use crate::ui::kinds::api_version;
use crate::validate;
use crate::wellknown::{ORB_LABEL, ObjectId, labelled, prune_disabled};
use serde_json::Value;

/// One object to compare, as desired/ has it (if it does).
struct Wanted {
    id: ObjectId,
    file: Option<String>,
    desired: Option<Value>,
}

/// What the repo says: the objects to compare, the engine's status, notes.
struct FromRepo {
    wanted: Vec<Wanted>,
    status: Option<OrbStatus>,
    notes: Vec<String>,
}

/// Reads desired and current/ from the ORB's repo, then live from its cluster → [`Action::Diff`].
pub(super) async fn diff(env: &Env, orb: String, what: DiffTarget) -> Result<Action, EffectError> {
    let name = orb.clone();
    let repo = env
        .with_repo(&orb, move |repo| from_repo(repo, &name, &what))
        .await?;
    let client = client(env, &orb).await.map_err(|e| e.to_string());
    let mut sources = Vec::new();
    // A cluster that did not answer once is not asked again for the file's other objects.
    let mut silent: Option<String> = None;
    for w in repo.wanted {
        let live = match (&client, &silent) {
            (Err(e), _) | (Ok(_), Some(e)) => Err(e.clone()),
            (Ok(c), None) => live(c, &w.id).await.map_err(|e| {
                let text = e.to_string();
                if matches!(
                    e,
                    EffectError::NoAnswer { .. } | EffectError::DiscoveryTimeout { .. }
                ) {
                    silent = Some(text.clone());
                }
                text
            }),
        };
        let mut notes = Vec::new();
        if w.desired.is_none()
            && let Ok(Some(l)) = &live
        {
            notes.push(prune_note(l, &orb, repo.status.as_ref()));
        }
        sources.push(Source {
            name: sanitize(&name_of(&w.id)).into_owned(),
            file: w.file.map(|f| sanitize(&f).into_owned()),
            desired: w.desired,
            live: live.map_err(|e| sanitize(&e).into_owned()),
            current: vec![sanitize(&current(repo.status.as_ref(), &w.id)).into_owned()],
            notes: notes.iter().map(|n| sanitize(n).into_owned()).collect(),
        });
    }
    let notes = repo
        .notes
        .iter()
        .map(|n| sanitize(n).into_owned())
        .collect();
    Ok(Action::Diff(sources, notes))
}

/// The objects `what` names in desired/ at the tip (the ORB label stamped, as the engine
/// applies them), and the status the engine wrote there.
fn from_repo(
    repo: &crate::repo::OrbRepo,
    orb: &str,
    what: &DiffTarget,
) -> Result<FromRepo, EffectError> {
    let Some(tip) = repo.fetch()? else {
        return Ok(FromRepo {
            wanted: Vec::new(),
            status: None,
            notes: vec!["The repo is empty: nothing is desired yet.".into()],
        });
    };
    let files: Vec<(PathBuf, Vec<u8>)> = repo
        .files(tip, DESIRED)?
        .into_iter()
        .filter(|(p, _)| validate::is_manifest_path(p))
        .map(|(p, b)| (PathBuf::from(p), b))
        .collect();
    let report = validate::validate_files(&files, &validate::ModelSchemas);
    let status = OrbStatus::read(repo, tip);
    let desired = |o: &validate::Object| Wanted {
        id: o.id(),
        file: Some(format!("{}:{}", o.file.display(), o.line)),
        desired: Some(labelled(&o.value, orb)),
    };
    let mut notes = Vec::new();
    let wanted = match what {
        DiffTarget::File(path) => {
            let wanted: Vec<Wanted> = report
                .objects
                .iter()
                .filter(|o| o.file == std::path::Path::new(path))
                .map(desired)
                .collect();
            if wanted.is_empty() {
                notes.push(format!("{path} holds no object that validates."));
                notes.extend(
                    report
                        .diagnostics
                        .iter()
                        .filter(|d| d.file == std::path::Path::new(path))
                        .map(|d| format!("{}:{}: {}", path, d.line, d.message)),
                );
            }
            wanted
        }
        DiffTarget::Object {
            target,
            api_version: known,
        } => {
            let found = report.objects.iter().find(|o| {
                o.kind == target.kind
                    && o.name == target.name
                    && (target.namespace.is_none()
                        || o.namespace.as_deref().unwrap_or("default")
                            == target.namespace.as_deref().unwrap_or_default())
            });
            match found {
                Some(o) => vec![desired(o)],
                None => vec![Wanted {
                    id: ObjectId {
                        api_version: known
                            .clone()
                            .or_else(|| api_version(&target.kind).map(str::to_owned))
                            .unwrap_or_default(),
                        kind: target.kind.clone(),
                        namespace: target.namespace.clone(),
                        name: target.name.clone(),
                    },
                    file: None,
                    desired: None,
                }],
            }
        }
    };
    Ok(FromRepo {
        wanted,
        status,
        notes,
    })
}

/// The live object, `Ok(None)` when the cluster has none; the error says why it was not read.
async fn live(client: &kube::Client, id: &ObjectId) -> Result<Option<Value>, EffectError> {
    if id.api_version.is_empty() {
        return Err(EffectError::UnknownKind {
            kind: id.kind.clone(),
        });
    }
    let namespace = id.namespace.as_deref().unwrap_or("default");
    let api = api_for(client, &id.api_version, &id.kind, Some(namespace)).await?;
    let object = tokio::time::timeout(API_TIMEOUT, api.get_opt(&id.name))
        .await
        .map_err(|_| EffectError::NoAnswer {
            what: format!("{} {}", id.kind, id.name),
        })??;
    Ok(object.map(|o| serde_json::to_value(o).expect("objects serialize")))
}

/// `Profile alice`, or `ConfigMap team-a/settings`.
fn name_of(id: &ObjectId) -> String {
    match &id.namespace {
        Some(ns) => format!("{} {ns}/{}", id.kind, id.name),
        None => format!("{} {}", id.kind, id.name),
    }
}

/// The object's entry in current/status.yaml, in the engine's words.
fn current(status: Option<&OrbStatus>, id: &ObjectId) -> String {
    let Some(s) = status else {
        return "current/status.yaml: the engine has not reported on this ORB yet.".into();
    };
    let sync = format!("last sync {} {}, commit {:.8}", s.time, s.result, s.commit);
    let entry = s.objects.iter().find(|o| {
        o.kind == id.kind
            && o.name == id.name
            && o.api_version == id.api_version
            && (o.namespace == id.namespace
                || id.namespace.is_none() && o.namespace.as_deref() == Some("default"))
    });
    let Some(o) = entry else {
        return format!("current/status.yaml: not among the objects the engine applied ({sync}).");
    };
    let mut text = format!("current/status.yaml: {}", o.outcome);
    if let Some(h) = &o.health {
        text.push_str(&format!(", {}", h.as_str()));
    }
    if let Some(m) = &o.health_message {
        text.push_str(&format!(" ({m})"));
    }
    if let Some(m) = &o.message {
        text.push_str(&format!(": {m}"));
    }
    format!("{text} · {sync}")
}

/// What the engine does with a live object that left desired/.
fn prune_note(live: &Value, orb: &str, status: Option<&OrbStatus>) -> String {
    let label = live
        .pointer("/metadata/labels")
        .and_then(|l| l.get(ORB_LABEL))
        .and_then(Value::as_str);
    if label != Some(orb) {
        return format!(
            "Not labelled {ORB_LABEL}={orb}: the engine does not own it and never prunes it."
        );
    }
    if prune_disabled(live) {
        return "Annotated orbdeck.io/prune: \"false\": the engine keeps it.".into();
    }
    // The fence holds back every prune of a sync or none.
    let held = status
        .into_iter()
        .flat_map(|s| &s.errors)
        .find(|e| e.starts_with("prune held back"));
    match held {
        Some(e) => format!("The last sync's prune fence held it back: {e}"),
        None => "The next sync prunes it.".into(),
    }
}
