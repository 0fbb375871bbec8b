//! One sync of an ORB: validate desired/ (if invalid, apply nothing and say why), decrypt
//! encrypted Secrets, apply wave by wave (`orbdeck.io/sync-wave`) and within a wave in stages,
//! prune what left desired/ behind fences once every wave is applied, and report every object's
//! outcome as the engine's [`OrbStatus`].

use super::EngineError;
use super::waves::{self, Held, WaveClock};
use crate::apply::{Applied, Applier, stage};
use crate::health::{self, Health};
use crate::model::PrunePolicy;
use crate::repo::status::{ObjectOutcome, OrbStatus};
use crate::validate::{self, Object};
use crate::wellknown::{ObjectId, prune_disabled, sync_wave};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// What a sync reads: the desired files at a commit and the settings that govern applying them.
pub struct SyncInput<'a> {
    /// The commit the desired state was read from (hex).
    pub commit: String,
    /// Files under desired/ (path, bytes).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Prune fences from orb.yaml.
    pub prune: &'a PrunePolicy,
    /// The previous status (its objects name kinds to look for leftovers in).
    pub previous: Option<&'a OrbStatus>,
    /// age identities for encrypted Secrets.
    pub identities: &'a [age::x25519::Identity],
    /// When the sync waves of this commit began to wait (the engine keeps it across syncs).
    pub waves: &'a mut WaveClock,
    /// How long a sync wave may take to become healthy (orb.yaml's `engine.syncWaveTimeout`).
    pub wave_timeout: Duration,
}

/// What one sync did to the cluster (kept out of the status, which records steady state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Created.
    Created,
    /// Changed.
    Configured,
    /// Put back to its desired state after a change in the cluster (a self-heal).
    Healed,
    /// Deleted because it left desired/.
    Pruned,
}

/// The status after a sync, and the writes it made.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    /// The steady-state status: every desired object `applied` or `failed` (with why), errors.
    pub status: OrbStatus,
    /// The writes this sync made.
    pub actions: Vec<(ObjectId, Action)>,
}

/// Runs one sync and reports it (the status's time is left empty: the caller stamps it).
pub async fn sync(applier: &mut Applier, input: SyncInput<'_>) -> SyncReport {
    let mut report_out = SyncReport::default();
    let status = &mut report_out.status;
    status.commit = input.commit.clone();
    let report = validate::validate_files(&input.files, &validate::ModelSchemas);
    if report.has_errors() {
        status.result = "Invalid".into();
        status.errors = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == validate::Severity::Error)
            .map(|d| d.to_string())
            .collect();
        status.objects = input
            .previous
            .map(|p| p.objects.clone())
            .unwrap_or_default();
        return report_out;
    }
    applier.forget_live();
    let mut objects: Vec<Planned> = Vec::new();
    for object in &report.objects {
        let id = object.id();
        let value = match decrypted(object, input.identities) {
            Ok(v) => v,
            Err(e) => {
                status
                    .objects
                    .push(outcome(&id, "failed", Some(e.to_string())));
                continue;
            }
        };
        let namespaced = match applier.resolve(&id.api_version, &id.kind).await {
            Some((_, caps)) => caps.scope == kube::discovery::Scope::Namespaced,
            // Not served yet: a CRD in this sync may bring it; custom kinds go last.
            None => crate::model::is_namespaced(&id.api_version, &id.kind).unwrap_or(true),
        };
        let id = ObjectId {
            namespace: if namespaced {
                Some(id.namespace.clone().unwrap_or_else(|| "default".into()))
            } else {
                None
            },
            ..id
        };
        objects.push(Planned {
            wave: sync_wave(&value),
            stage: stage(&id.api_version, &id.kind, namespaced),
            id,
            value,
        });
    }
    objects.sort_by(|a, b| (a.wave, a.stage, &a.id).cmp(&(b.wave, b.stage, &b.id)));
    input.waves.retain_commit(&input.commit);
    let last_wave = objects.last().map(|o| o.wave);
    let mut held: Option<Held> = None;
    for group in objects.chunk_by(|a, b| a.wave == b.wave) {
        let Some(wave) = group.first().map(|o| o.wave) else {
            continue;
        };
        if let Some(held) = &held {
            let (what, message) = held.outcome(wave);
            for o in group {
                let o = outcome(&o.id, what, Some(message.clone()));
                report_out.status.objects.push(o);
            }
            continue;
        }
        let applied = apply_wave(applier, group, &mut report_out).await;
        if Some(wave) != last_wave {
            let (clock, commit, timeout) = (&mut *input.waves, &input.commit, input.wave_timeout);
            held = waves::settle(applier, clock, commit, wave, &applied, timeout).await;
        }
    }
    // Pruning comes last, once every wave is applied (Argo CD prunes at the end of a sync too).
    if held.is_none() {
        prune(applier, &input, &objects, &mut report_out).await;
    }
    assess_health(applier, &mut report_out.status);
    applier.forget_live();
    let status = &mut report_out.status;
    let failed = status.objects.iter().any(|o| o.outcome == "failed") || !status.errors.is_empty();
    let waiting = status.objects.iter().any(|o| o.outcome == "waiting");
    status.result = match (failed, waiting) {
        (true, _) => "Partial",
        (false, true) => "Waiting",
        (false, false) => "Synced",
    }
    .into();
    report_out
}

/// A desired object placed in the apply order: its wave, then its stage.
struct Planned {
    wave: i32,
    stage: u8,
    id: ObjectId,
    value: serde_json::Value,
}

/// Applies one wave's objects in stage order (waiting for its CRDs to be Established before
/// anything after them), the objects of one stage several at once, and says which failed.
async fn apply_wave(
    applier: &mut Applier,
    group: &[Planned],
    report: &mut SyncReport,
) -> Vec<waves::Applied> {
    let status = &mut report.status;
    let mut crds_established = false;
    let mut applied = Vec::with_capacity(group.len());
    for stage in group.chunk_by(|a, b| a.stage == b.stage) {
        if stage[0].stage != 0 && !crds_established {
            crds_established = true;
            for crd in group.iter().filter(|c| c.stage == 0) {
                if let Err(e) = applier
                    .wait_established(&crd.id.name, Duration::from_secs(30))
                    .await
                {
                    status.errors.push(e.to_string());
                }
            }
        }
        let objects: Vec<_> = stage.iter().map(|o| (&o.id, &o.value)).collect();
        let results = applier.apply_all(&objects).await;
        for (o, result) in stage.iter().zip(results) {
            match result {
                Ok(result) => {
                    status.objects.push(outcome(&o.id, "applied", None));
                    let action = match result {
                        Applied::Created => Some(Action::Created),
                        Applied::Configured => Some(Action::Configured),
                        Applied::Healed => Some(Action::Healed),
                        Applied::Unchanged => None,
                    };
                    if let Some(action) = action {
                        report.actions.push((o.id.clone(), action));
                    }
                    applied.push((o.id.clone(), None));
                }
                Err(e) => {
                    status
                        .objects
                        .push(outcome(&o.id, "failed", Some(e.to_string())));
                    applied.push((o.id.clone(), Some(e.to_string())));
                }
            }
        }
    }
    applied
}

fn outcome(id: &ObjectId, what: &str, message: Option<String>) -> ObjectOutcome {
    ObjectOutcome {
        api_version: id.api_version.clone(),
        kind: id.kind.clone(),
        namespace: id.namespace.clone(),
        name: id.name.clone(),
        outcome: what.into(),
        message,
        health: None,
        health_message: None,
    }
}

/// Each applied object's health from its live state (Missing when it is not there), and the
/// ORB's roll-up: the worst of them.
fn assess_health(applier: &Applier, status: &mut OrbStatus) {
    for o in status.objects.iter_mut().filter(|o| o.outcome == "applied") {
        let id = ObjectId {
            api_version: o.api_version.clone(),
            kind: o.kind.clone(),
            namespace: o.namespace.clone(),
            name: o.name.clone(),
        };
        let assessed = match applier.live(&id) {
            Some(live) => health::of(live),
            None => Some((Health::Missing, "not in the cluster".into())),
        };
        if let Some((h, why)) = assessed {
            o.health = Some(h);
            o.health_message = Some(why).filter(|w| !w.is_empty());
        }
    }
    status.health = status.objects.iter().filter_map(|o| o.health).max();
}

fn decrypted(
    object: &Object,
    identities: &[age::x25519::Identity],
) -> Result<serde_json::Value, EngineError> {
    if object.api_version == "v1"
        && object.kind == "Secret"
        && crate::secrets::is_encrypted(&object.value)
    {
        if identities.is_empty() {
            return Err(EngineError::NoIdentity);
        }
        return Ok(crate::secrets::decrypt_secret(&object.value, identities)?);
    }
    Ok(object.value.clone())
}

/// Deletes ORB-labelled objects that left desired/, within the fences.
async fn prune(
    applier: &mut Applier,
    input: &SyncInput<'_>,
    desired: &[Planned],
    report: &mut SyncReport,
) {
    let status = &mut report.status;
    let wanted: BTreeSet<&ObjectId> = desired.iter().map(|o| &o.id).collect();
    let mut kinds: BTreeSet<(String, String)> = desired
        .iter()
        .map(|o| (o.id.api_version.clone(), o.id.kind.clone()))
        .collect();
    if let Some(previous) = input.previous {
        kinds.extend(
            previous
                .objects
                .iter()
                .map(|o| (o.api_version.clone(), o.kind.clone())),
        );
    }
    let mut owned = 0usize;
    let mut candidates = Vec::new();
    for (api_version, kind) in kinds {
        let live = match applier.owned(&api_version, &kind).await {
            Ok(live) => live,
            Err(e) => {
                if applier.resolve(&api_version, &kind).await.is_some() {
                    status.errors.push(e.to_string());
                }
                continue;
            }
        };
        owned += live.len();
        for ((namespace, name), value) in live {
            let id = ObjectId {
                api_version: api_version.clone(),
                kind: kind.clone(),
                namespace: namespace.clone(),
                name: name.clone(),
            };
            if !wanted.contains(&id)
                && !prune_disabled(value)
                && value.pointer("/metadata/deletionTimestamp").is_none()
            {
                candidates.push(id);
            }
        }
    }
    if candidates.is_empty() {
        return;
    }
    if desired.is_empty() {
        status.errors.push(format!(
            "desired/ parsed to zero objects: nothing pruned ({} owned objects kept)",
            candidates.len()
        ));
        return;
    }
    let fraction = candidates.len() as f64 / owned.max(1) as f64;
    let many = candidates.len() > input.prune.min_count as usize;
    if many && fraction > input.prune.max_fraction && !input.prune.allow_large {
        const NAMED: usize = 10;
        let mut held: Vec<String> = candidates
            .iter()
            .take(NAMED)
            .map(|id| id.to_string())
            .collect();
        if candidates.len() > NAMED {
            held.push(format!("and {} more", candidates.len() - NAMED));
        }
        status.errors.push(format!(
            "prune held back: deleting {} of {owned} owned objects exceeds engine.prune.maxFraction {} \
             (and minCount {}); nothing pruned (set engine.prune.allowLarge to allow it): {}",
            candidates.len(),
            input.prune.max_fraction,
            input.prune.min_count,
            held.join(", ")
        ));
        return;
    }
    // Namespaced objects before the namespaces and cluster-scoped kinds that may hold them.
    candidates.sort_by_key(|id| {
        std::cmp::Reverse(stage(&id.api_version, &id.kind, id.namespace.is_some()))
    });
    for id in candidates {
        match applier.delete(&id).await {
            Ok(()) => report.actions.push((id, Action::Pruned)),
            Err(e) => status
                .objects
                .push(outcome(&id, "failed", Some(e.to_string()))),
        }
    }
}
