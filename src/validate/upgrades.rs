//! The checks of upgrades and node users that a schema cannot say: a ClusterUpgrade's target
//! version (semver) and maintenance window, and each NodeUser key (ssh-key).

use super::path::Seg;
use super::{Ctx, Severity};
use crate::model::{MaintenanceWindow, check_ssh_key, parse_version};
use serde_json::Value;

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// Checks a ClusterUpgrade or NodeUser document (`value`) beyond its schema.
pub(crate) fn check(ctx: &mut Ctx, kind: &str, value: &Value) {
    match kind {
        "ClusterUpgrade" => cluster_upgrade(ctx, value),
        "NodeUser" => node_user(ctx, value),
        _ => {}
    }
}

fn cluster_upgrade(ctx: &mut Ctx, value: &Value) {
    if let Some(Value::String(v)) = value.pointer("/spec/targetVersion")
        && let Err(e) = parse_version(v)
    {
        let path = [key("spec"), key("targetVersion")];
        ctx.report_at(&path, false, Severity::Error, e);
    }
    let Some(window) = value.pointer("/spec/window") else {
        return;
    };
    // A window of the wrong shape is the schema check's to report.
    let Ok(window) = serde_json::from_value::<MaintenanceWindow>(window.clone()) else {
        return;
    };
    for (field, message) in window.problems() {
        let mut path = vec![key("spec"), key("window")];
        match field.split_once('[') {
            Some((name, index)) => {
                path.push(key(name));
                let i = index.trim_end_matches(']').parse().unwrap_or_default();
                path.push(Seg::Index(i));
            }
            None => path.push(key(&field)),
        }
        ctx.report_at(&path, false, Severity::Error, message);
    }
}

fn node_user(ctx: &mut Ctx, value: &Value) {
    let Some(Value::Array(keys)) = value.pointer("/spec/sshKeys") else {
        return;
    };
    for (i, k) in keys.iter().enumerate() {
        if let Value::String(line) = k
            && let Err(e) = check_ssh_key(line)
        {
            let path = [key("spec"), key("sshKeys"), Seg::Index(i)];
            ctx.report_at(&path, false, Severity::Error, e);
        }
    }
}
