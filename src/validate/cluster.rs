//! The checks of registry credentials and node labels that a schema cannot say: a
//! RegistryCredential's server (`host[:port]`), its one source of user name, the names it gives
//! Secrets and ServiceAccounts; each label key and value of a ClusterLabel or NodePoolLabel, and
//! a NodePoolLabel's pool. Each finding is reported at its own line.

use super::path::Seg;
use super::{Ctx, Severity};
use crate::model::server_problem;
use crate::names::{
    dns_label_problem, dns_subdomain_problem, label_key_problem, label_value_problem,
};
use serde_json::Value;

fn key(k: &str) -> Seg {
    Seg::Key(k.to_owned())
}

/// Checks a RegistryCredential, ClusterLabel or NodePoolLabel document (`value`).
pub(crate) fn check(ctx: &mut Ctx, kind: &str, value: &Value) {
    match kind {
        "RegistryCredential" => credential(ctx, value),
        "ClusterLabel" => labels(ctx, value),
        "NodePoolLabel" => {
            labels(ctx, value);
            pool(ctx, value);
        }
        _ => {}
    }
}

fn credential(ctx: &mut Ctx, value: &Value) {
    let Some(spec) = value.get("spec") else {
        return;
    };
    if let Some(Value::String(server)) = spec.get("server")
        && let Some(why) = server_problem(server)
    {
        ctx.report_at(&[key("spec"), key("server")], false, Severity::Error, why);
    }
    match (spec.get("username"), spec.get("usernameSecretRef")) {
        (None, None) => ctx.report_at(
            &[key("spec")],
            true,
            Severity::Error,
            "a user name is required: spec.username, or spec.usernameSecretRef naming a Secret key",
        ),
        (Some(_), Some(_)) => ctx.report_at(
            &[key("spec"), key("usernameSecretRef")],
            true,
            Severity::Error,
            "spec.username and spec.usernameSecretRef are both set: keep one",
        ),
        _ => {}
    }
    for field in ["secretName", "serviceAccountName"] {
        if let Some(Value::String(name)) = spec.get(field)
            && let Some(why) = dns_subdomain_problem(name)
        {
            let message = format!("{name:?} is not a DNS-1123 subdomain: {why}");
            ctx.report_at(&[key("spec"), key(field)], false, Severity::Error, message);
        }
    }
    if let Some(Value::Array(names)) = spec.get("excludeNamespaces") {
        for (i, name) in names.iter().enumerate() {
            if let Value::String(name) = name
                && let Some(why) = dns_label_problem(name)
            {
                let path = [key("spec"), key("excludeNamespaces"), Seg::Index(i)];
                let message = format!("{name:?} is not a namespace name: {why}");
                ctx.report_at(&path, false, Severity::Error, message);
            }
        }
    }
}

fn labels(ctx: &mut Ctx, value: &Value) {
    let Some(Value::Object(labels)) = value.pointer("/spec/labels") else {
        return;
    };
    for (k, v) in labels {
        let path = [key("spec"), key("labels"), key(k)];
        if let Some(why) = label_key_problem(k) {
            let message = format!("{k:?} is not a label key: {why}");
            ctx.report_at(&path, true, Severity::Error, message);
        }
        if let Value::String(v) = v
            && let Some(why) = label_value_problem(v)
        {
            let message = format!("{v:?} is not a label value: {why}");
            ctx.report_at(&path, false, Severity::Error, message);
        }
    }
}

fn pool(ctx: &mut Ctx, value: &Value) {
    if let Some(Value::String(pool)) = value.pointer("/spec/pool")
        && let Some(why) = label_value_problem(pool)
    {
        let message = format!("{pool:?} cannot be a pool label's value: {why}");
        ctx.report_at(&[key("spec"), key("pool")], false, Severity::Error, message);
    }
    if let Some(Value::String(label)) = value.pointer("/spec/poolLabel")
        && let Some(why) = label_key_problem(label)
    {
        let message = format!("{label:?} is not a label key: {why}");
        ctx.report_at(
            &[key("spec"), key("poolLabel")],
            false,
            Severity::Error,
            message,
        );
    }
}
