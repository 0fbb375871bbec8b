//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`), as kubectl's typed clients
//! send them for built-in kinds: the `k8s\0` magic, a `runtime.Unknown` envelope naming the
//! kind, and the object as that kind's message. Decoded with Kubernetes' own message descriptors
//! (`assets/k8s-api-v1.fds`, made by `scripts/gen-sim-protos`) into the JSON the rest of the
//! server stores, following apimachinery's protobuf↔JSON mapping for its special types.

use std::sync::LazyLock;

use base64::Engine;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MapKey, MessageDescriptor, ReflectMessage, Value as Pv,
};
use serde_json::{Map, Value, json};

use crate::status::ApiError;

/// The magic every Kubernetes protobuf body starts with.
const MAGIC: &[u8] = b"k8s\0";

/// Fields that Go embeds inline (`json:",inline"`) and protobuf nests as a message: their
/// fields belong to the enclosing object in JSON (`Volume.volumeSource.emptyDir` is `emptyDir`).
const INLINE: &[&str] = &[
    "volumeSource",
    "persistentVolumeSource",
    "ephemeralContainerCommon",
    "localObjectReference",
    "ingressRuleValue",
    "ruleWithOperations",
    "rule",
];

/// Go's protobuf marshaller writes every non-pointer field, zero values included, where its JSON
/// marshaller leaves zero values out (`omitempty`). So a zero scalar (`""`, `0`, `false`) is left
/// out, except in these fields, which Go declares as pointers because their zero means something
/// (`replicas: 0`, `runAsUser: 0`, `automountServiceAccountToken: false`, `storageClassName: ""`)
/// or which have no `omitempty` (a PriorityClass's `value`).
const ZERO_MEANS_SOMETHING: &[&str] = &[
    "replicas",
    "value",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "runAsNonRoot",
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "hostUsers",
    "shareProcessNamespace",
    "setHostnameAsFQDN",
    "allocateLoadBalancerNodePorts",
    "manualSelector",
    "suspend",
    "optional",
    "immutable",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "deletionGracePeriodSeconds",
    "defaultMode",
    "mode",
    "expirationSeconds",
    "priority",
    "progressDeadlineSeconds",
    "revisionHistoryLimit",
    "parallelism",
    "completions",
    "backoffLimit",
    "backoffLimitPerIndex",
    "ttlSecondsAfterFinished",
    "startingDeadlineSeconds",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "partition",
    "storageClassName",
    "ingressClassName",
];

/// Nesting deeper than any real object (a Pod is about 12 levels); bounds a hostile body.
const MAX_DEPTH: usize = 64;

static POOL: LazyLock<Result<DescriptorPool, String>> = LazyLock::new(|| {
    DescriptorPool::decode(&include_bytes!("../assets/k8s-api-v1.fds")[..])
        .map_err(|e| format!("the built-in protobuf descriptors are unreadable: {e}"))
});

/// Decodes a protobuf request body into the object's JSON, `apiVersion` and `kind` included.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let pool = POOL
        .as_ref()
        .map_err(|e| ApiError::new(500, "InternalError", e.clone()))?;
    let rest = body.strip_prefix(MAGIC).ok_or_else(|| {
        ApiError::bad_request(
            "the protobuf body does not start with the Kubernetes magic number (k8s\\x00)",
        )
    })?;
    let envelope = message(pool, "apimachinery.pkg.runtime.Unknown")?;
    let unknown = DynamicMessage::decode(envelope, rest)
        .map_err(|e| ApiError::bad_request(format!("the protobuf envelope is malformed: {e}")))?;
    let type_meta = unknown.get_field_by_name("typeMeta");
    let text = |m: Option<&DynamicMessage>, field: &str| {
        m.and_then(|m| m.get_field_by_name(field))
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let type_meta = type_meta.as_deref().and_then(Pv::as_message);
    let api_version = text(type_meta, "apiVersion");
    let kind = text(type_meta, "kind");
    if api_version.is_empty() || kind.is_empty() {
        return Err(ApiError::bad_request(
            "the protobuf envelope names no apiVersion and kind (typeMeta)",
        ));
    }
    if let Some(encoding) = unknown
        .get_field_by_name("contentEncoding")
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|e| !e.is_empty())
    {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the protobuf body's content encoding {encoding:?} is not supported"),
        ));
    }
    let raw = unknown
        .get_field_by_name("raw")
        .and_then(|v| v.as_bytes().cloned())
        .unwrap_or_default();
    let name = message_name(&api_version, &kind);
    let desc = pool.get_message_by_name(&name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{api_version} {kind} cannot be sent as protobuf to this server; send JSON"
        ))
    })?;
    let object = DynamicMessage::decode(desc, raw.as_ref()).map_err(|e| {
        ApiError::bad_request(format!("the protobuf body is not a valid {kind}: {e}"))
    })?;
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version));
    out.insert("kind".into(), Value::String(kind));
    if let Value::Object(fields) = to_json(&object, 0)? {
        out.extend(fields);
    }
    Ok(Value::Object(out))
}

fn message(pool: &DescriptorPool, name: &str) -> Result<MessageDescriptor, ApiError> {
    pool.get_message_by_name(name).ok_or_else(|| {
        ApiError::new(
            500,
            "InternalError",
            format!("no protobuf descriptor for {name}"),
        )
    })
}

/// The descriptor's full name of a kind: `apps/v1 Deployment` is `api.apps.v1.Deployment`, a
/// core kind `api.core.v1.Pod`, `rbac.authorization.k8s.io/v1` is package `api.rbac.v1`.
fn message_name(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let package = match group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    format!("api.{package}.{version}.{kind}")
}

/// One message as JSON: fields under their proto names (Kubernetes names them as in JSON),
/// unset fields left out, and apimachinery's special messages in their JSON forms.
fn to_json(m: &DynamicMessage, depth: usize) -> Result<Value, ApiError> {
    if depth > MAX_DEPTH {
        return Err(ApiError::bad_request(
            "the protobuf body is nested too deeply",
        ));
    }
    let name = m.descriptor().full_name().to_owned();
    let field = |f: &str| m.get_field_by_name(f);
    match name.as_str() {
        "apimachinery.pkg.apis.meta.v1.Time" => return Ok(time(m, false)),
        "apimachinery.pkg.apis.meta.v1.MicroTime" => return Ok(time(m, true)),
        "apimachinery.pkg.api.resource.Quantity" => {
            return Ok(field("string")
                .and_then(|v| v.as_str().map(|s| json!(s)))
                .unwrap_or(Value::Null));
        }
        "apimachinery.pkg.util.intstr.IntOrString" => {
            let is_string = field("type").and_then(|v| v.as_i64()) == Some(1);
            return Ok(if is_string {
                json!(field("strVal").and_then(|v| v.as_str().map(str::to_owned)))
            } else {
                json!(field("intVal").and_then(|v| v.as_i32()).unwrap_or(0))
            });
        }
        "apimachinery.pkg.runtime.RawExtension" | "apimachinery.pkg.apis.meta.v1.FieldsV1" => {
            let key = if name.ends_with("FieldsV1") {
                "Raw"
            } else {
                "raw"
            };
            let raw = field(key)
                .and_then(|v| v.as_bytes().cloned())
                .unwrap_or_default();
            if raw.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&raw).map_err(|e| {
                ApiError::bad_request(format!(
                    "an embedded object in the protobuf body is not JSON: {e}"
                ))
            });
        }
        "apimachinery.pkg.apis.meta.v1.Duration" => {
            let ns = field("duration").and_then(|v| v.as_i64()).unwrap_or(0);
            return Ok(json!(go_duration(ns)));
        }
        n if n.ends_with(".ExtraValue") => {
            return scalar(
                &field("items")
                    .map(|v| v.into_owned())
                    .unwrap_or(Pv::List(vec![])),
                depth,
            );
        }
        _ => {}
    }
    let mut out = Map::new();
    for (f, v) in m.fields() {
        let value = scalar(v, depth + 1)?;
        let zero = match &value {
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if zero && !f.is_list() && !ZERO_MEANS_SOMETHING.contains(&f.name()) {
            continue;
        }
        match value {
            Value::Null => {}
            Value::Object(inner) if inline(&f) => out.extend(inner),
            value => {
                out.insert(f.json_name().to_owned(), value);
            }
        }
    }
    Ok(Value::Object(out))
}

fn inline(f: &prost_reflect::FieldDescriptor) -> bool {
    matches!(f.kind(), prost_reflect::Kind::Message(_)) && INLINE.contains(&f.name())
}

/// A field's value as JSON.
fn scalar(v: &Pv, depth: usize) -> Result<Value, ApiError> {
    Ok(match v {
        Pv::Bool(b) => json!(b),
        Pv::I32(n) => json!(n),
        Pv::I64(n) => json!(n),
        Pv::U32(n) => json!(n),
        Pv::U64(n) => json!(n),
        Pv::F32(n) => json!(n),
        Pv::F64(n) => json!(n),
        Pv::String(s) => json!(s),
        Pv::Bytes(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        Pv::EnumNumber(n) => json!(n),
        Pv::Message(m) => to_json(m, depth)?,
        Pv::List(items) => Value::Array(
            items
                .iter()
                .map(|i| scalar(i, depth))
                .collect::<Result<_, _>>()?,
        ),
        Pv::Map(map) => {
            // Go writes a map's keys sorted; so does this.
            let mut entries: Vec<(String, &Pv)> =
                map.iter().map(|(k, v)| (map_key(k), v)).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, scalar(v, depth)?);
            }
            Value::Object(out)
        }
    })
}

fn map_key(k: &MapKey) -> String {
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

/// `meta/v1.Time` is RFC 3339 to the second, `MicroTime` to the microsecond; the zero time is null.
fn time(m: &DynamicMessage, micro: bool) -> Value {
    let seconds = m
        .get_field_by_name("seconds")
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let nanos = m
        .get_field_by_name("nanos")
        .and_then(|v| v.as_i32())
        .unwrap_or(0);
    if seconds == 0 && nanos == 0 {
        return Value::Null;
    }
    let nanos = u32::try_from(nanos).unwrap_or(0).min(999_999_999);
    let Some(t) = chrono::DateTime::from_timestamp(seconds, nanos) else {
        return Value::Null;
    };
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    json!(t.format(format).to_string())
}

/// A duration in nanoseconds as Go's `time.Duration.String()` writes it (`1h0m0s`, `1.5s`, `0s`).
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    if ns < 1_000_000_000 {
        return format!("{sign}{}", sub_second(ns));
    }
    let (h, rest) = (ns / 3_600_000_000_000, ns % 3_600_000_000_000);
    let (m, rest) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let secs = seconds_text(rest);
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

fn sub_second(ns: u64) -> String {
    let trim = |n: u64, unit: u64, suffix: &str| {
        let whole = n / unit;
        let frac = n % unit;
        if frac == 0 {
            format!("{whole}{suffix}")
        } else {
            let digits = unit.ilog10() as usize;
            let frac = format!("{frac:0digits$}");
            format!("{whole}.{}{suffix}", frac.trim_end_matches('0'))
        }
    };
    match ns {
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => trim(n, 1_000, "µs"),
        n => trim(n, 1_000_000, "ms"),
    }
}

fn seconds_text(ns: u64) -> String {
    let whole = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:09}").trim_end_matches('0'))
    }
}

/// Encodes a well-formed JSON object as kubectl would: the kind's message inside `runtime.Unknown`
/// (for the tests and the benchmark; it panics on shapes they do not use).
pub fn encode(obj: &Value) -> Vec<u8> {
    use prost::Message;
    use prost_reflect::Kind;
    let pool = POOL.as_ref().unwrap();
    let api_version = obj["apiVersion"].as_str().unwrap();
    let kind = obj["kind"].as_str().unwrap();
    let desc = pool
        .get_message_by_name(&message_name(api_version, kind))
        .unwrap();
    let inner = from_json(&desc, obj);
    let envelope = pool
        .get_message_by_name("apimachinery.pkg.runtime.Unknown")
        .unwrap();
    let mut unknown = DynamicMessage::new(envelope.clone());
    let tm = envelope.get_field_by_name("typeMeta").unwrap();
    let Kind::Message(tm_desc) = tm.kind() else {
        panic!()
    };
    let mut type_meta = DynamicMessage::new(tm_desc);
    type_meta.set_field_by_name("apiVersion", Pv::String(api_version.into()));
    type_meta.set_field_by_name("kind", Pv::String(kind.into()));
    unknown.set_field_by_name("typeMeta", Pv::Message(type_meta));
    unknown.set_field_by_name("raw", Pv::Bytes(inner.encode_to_vec().into()));
    let mut out = MAGIC.to_vec();
    out.extend(unknown.encode_to_vec());
    out
}

/// A small JSON → protobuf encoder, enough for the shapes the tests use.
fn from_json(desc: &MessageDescriptor, v: &Value) -> DynamicMessage {
    use prost_reflect::Kind;
    let mut m = DynamicMessage::new(desc.clone());
    match desc.full_name() {
        "apimachinery.pkg.api.resource.Quantity" => {
            m.set_field_by_name("string", Pv::String(v.as_str().unwrap().into()));
            return m;
        }
        "apimachinery.pkg.util.intstr.IntOrString" => {
            match v {
                Value::String(s) => {
                    m.set_field_by_name("type", Pv::I64(1));
                    m.set_field_by_name("strVal", Pv::String(s.clone()));
                }
                n => m.set_field_by_name("intVal", Pv::I32(n.as_i64().unwrap() as i32)),
            }
            return m;
        }
        "apimachinery.pkg.apis.meta.v1.Time" => {
            let t = chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
            m.set_field_by_name("seconds", Pv::I64(t.timestamp()));
            return m;
        }
        _ => {}
    }
    let mut inlined: Vec<(prost_reflect::FieldDescriptor, Map<String, Value>)> = vec![];
    for (k, val) in v.as_object().unwrap() {
        if k == "apiVersion" || (k == "kind" && desc.get_field_by_name("kind").is_none()) {
            continue;
        }
        let Some(f) = desc.get_field_by_name(k) else {
            let f = desc
                .fields()
                .find(|f| match f.kind() {
                    Kind::Message(d) => inline(f) && d.get_field_by_name(k).is_some(),
                    _ => false,
                })
                .unwrap_or_else(|| panic!("no field {k}"));
            match inlined.iter_mut().find(|(g, _)| *g == f) {
                Some((_, m)) => drop(m.insert(k.clone(), val.clone())),
                None => inlined.push((f, Map::from_iter([(k.clone(), val.clone())]))),
            }
            continue;
        };
        let one = |kind: &Kind, val: &Value| -> Pv {
            match kind {
                Kind::Message(d) => Pv::Message(from_json(d, val)),
                Kind::String => Pv::String(val.as_str().unwrap().into()),
                Kind::Bool => Pv::Bool(val.as_bool().unwrap()),
                Kind::Int32 => Pv::I32(val.as_i64().unwrap() as i32),
                Kind::Int64 => Pv::I64(val.as_i64().unwrap()),
                Kind::Bytes => Pv::Bytes(
                    base64::engine::general_purpose::STANDARD
                        .decode(val.as_str().unwrap())
                        .unwrap()
                        .into(),
                ),
                k => panic!("kind {k:?}"),
            }
        };
        let pv = if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                panic!()
            };
            let value_kind = entry.map_entry_value_field().kind();
            Pv::Map(
                val.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (MapKey::String(k.clone()), one(&value_kind, v)))
                    .collect(),
            )
        } else if f.is_list() {
            Pv::List(
                val.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| one(&f.kind(), i))
                    .collect(),
            )
        } else {
            one(&f.kind(), val)
        };
        m.set_field(&f, pv);
    }
    for (f, fields) in inlined {
        let Kind::Message(d) = f.kind() else { panic!() };
        m.set_field(&f, Pv::Message(from_json(&d, &Value::Object(fields))));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_decodes_to_the_json_kubectl_would_send() {
        let obj = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": "d"},
                "creationTimestamp": "2026-01-02T03:04:05Z"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {"metadata": {"labels": {"app": "d"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx",
                        "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
                        "ports": [{"containerPort": 80}]}],
                        "volumes": [{"name": "tmp", "emptyDir": {}}]}}}
        });
        assert_eq!(decode(&encode(&obj)).unwrap(), obj);
    }

    #[test]
    fn secret_bytes_are_base64_and_an_embedded_object_is_json() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "Yg=="}});
        assert_eq!(decode(&encode(&secret)).unwrap(), secret);
    }

    #[test]
    fn bad_bodies_are_400s_naming_what_failed() {
        let good =
            encode(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}));
        let msg = |b: &[u8]| decode(b).unwrap_err().message;
        assert!(msg(b"{}").contains("magic"));
        assert!(msg(&good[..good.len() - 3]).contains("malformed"));
        let mut wrong = good.clone();
        let at = wrong.windows(9).position(|w| w == b"Namespace").unwrap();
        wrong[at..at + 9].copy_from_slice(b"Nobody123");
        assert!(msg(&wrong).contains("v1 Nobody123 cannot be sent as protobuf"));
        assert!(msg(b"k8s\0").contains("typeMeta"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(2_000_000), "2ms");
    }
}
