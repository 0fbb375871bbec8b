//! The engine of an ORB as its Lease tells it (`orbdeck-system/orbdeck-engine`): the holder, its
//! last renewal, and the last sync its renewals publish. Shown in the Overview's Engine row.

use k8s_openapi::api::coordination::v1::Lease;

use super::text;
use crate::engine::leader::{LAST_RUN_ANNOTATION, LastRun};
use crate::ui::data::EngineInfo;

/// Unix seconds of an RFC 3339 time, if it reads as one.
fn unix(time: &str) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(time).ok()?;
    u64::try_from(t.timestamp()).ok()
}

/// What the Lease says about the engine.
pub(crate) fn info(lease: &Lease) -> EngineInfo {
    let spec = lease.spec.clone().unwrap_or_default();
    let run: Option<LastRun> = lease
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(LAST_RUN_ANNOTATION))
        .and_then(|json| serde_json::from_str(json).ok());
    let renewed = spec
        .renew_time
        .and_then(|t| u64::try_from(t.0.as_second()).ok());
    EngineInfo {
        holder: text(spec.holder_identity.as_deref().unwrap_or_default()),
        renewed,
        lease_seconds: spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .unwrap_or(15),
        ran: run.as_ref().and_then(|r| unix(&r.time)),
        took_ms: run.as_ref().map_or(0, |r| (r.seconds * 1000.0) as u64),
        result: run.as_ref().map_or_else(String::new, |r| text(&r.result)),
        commit: run.as_ref().map_or_else(String::new, |r| text(&r.commit)),
    }
}
