//! OpenAPI documents (`/openapi/v3`, `/openapi/v3/<gv>`, JSON `/openapi/v2`) for the simulated API server.
//! Built-in schemas come from k8s-openapi's schemars impls; CRD kinds use their `openAPIV3Schema`.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use k8s_openapi::api::{
    admissionregistration::v1 as admissionregistration, apps::v1 as apps, batch::v1 as batch,
    coordination::v1 as coordination, core::v1 as core_v1, events::v1 as events,
    networking::v1 as networking, policy::v1 as policy, rbac::v1 as rbac,
    scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

/// One served kind, as the simulator's resource registry knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenApiKind {
    /// API group ("" for the core group).
    pub group: String,
    /// API version, e.g. "v1".
    pub version: String,
    /// Kind, e.g. "Pod".
    pub kind: String,
    /// Plural resource name, e.g. "pods".
    pub plural: String,
    /// Whether the resource lives in namespaces.
    pub namespaced: bool,
    /// Whether the resource has a `/status` subresource.
    pub has_status: bool,
    /// CRD openAPIV3Schema; None for built-ins.
    pub schema: Option<Value>,
}

/// Body for `GET /openapi/v2` when kubectl asks for protobuf: a gnostic Document holding only `swagger: "2.0"`.
pub const V2_PROTOBUF_STUB: &[u8] = b"\x0a\x032.0";
/// Content-Type for [`V2_PROTOBUF_STUB`] (client-go fails to parse the `...v2@v1.0+protobuf` form kubectl sends in Accept).
pub const V2_PROTOBUF_CONTENT_TYPE: &str =
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

const V3_REF_PREFIX: &str = "#/components/schemas/";
const V2_REF_PREFIX: &str = "#/definitions/";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const API_VERSION_DESC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DESC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DESC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DESC: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

/// Strategic-merge-patch metadata upstream carries but k8s-openapi's schemas lack:
/// (schema, property, x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key).
const PATCH_META: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "io.k8s.api.core.v1.PodSpec",
        "containers",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "ephemeralContainers",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        "merge,retainKeys",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "hostAliases",
        "merge",
        Some("ip"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "topologySpreadConstraints",
        "merge",
        Some("topologyKey"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "resourceClaims",
        "merge,retainKeys",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "schedulingGates",
        "merge",
        Some("name"),
    ),
    ("io.k8s.api.core.v1.Container", "env", "merge", Some("name")),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        "merge",
        Some("containerPort"),
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        "merge",
        Some("mountPath"),
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        "merge",
        Some("devicePath"),
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "env",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "ports",
        "merge",
        Some("containerPort"),
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeMounts",
        "merge",
        Some("mountPath"),
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeDevices",
        "merge",
        Some("devicePath"),
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "podIPs",
        "merge",
        Some("ip"),
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "ports",
        "merge",
        Some("port"),
    ),
    (
        "io.k8s.api.core.v1.ServiceStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.core.v1.ServiceAccount",
        "secrets",
        "merge",
        Some("name"),
    ),
    ("io.k8s.api.core.v1.NodeSpec", "podCIDRs", "merge", None),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "addresses",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "strategy",
        "retainKeys",
        None,
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.apps.v1.DaemonSetStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.batch.v1.JobStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.policy.v1.PodDisruptionBudgetStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (OBJECT_META, "finalizers", "merge", None),
    (OBJECT_META, "ownerReferences", "merge", Some("uid")),
];

/// A built-in kind and the name of its schema.
struct BuiltinKind {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    schema: String,
}

/// All built-in schemas, built once.
struct Catalog {
    /// Every schema, keyed by Kubernetes name, refs as `#/components/schemas/<name>`.
    schemas: Map<String, Value>,
    /// Names each schema references directly.
    refs: HashMap<String, Vec<String>>,
    /// The served built-in kinds.
    kinds: Vec<BuiltinKind>,
}

/// Adds `T`'s schema (and everything it references) to the generator, returning its name.
fn register<T: JsonSchema>(generator: &mut SchemaGenerator) -> String {
    let name = T::schema_name().into_owned();
    let _ = generator.subschema_for::<T>();
    if !generator.definitions().contains_key(&name) {
        let schema = T::json_schema(generator);
        generator
            .definitions_mut()
            .insert(name.clone(), schema.to_value());
    }
    name
}

/// Declares the table mapping served built-in (group, version, kind) to k8s-openapi types.
macro_rules! builtin_table {
    ($( ($group:literal, $version:literal, $kind:literal, $ty:ty) ),* $(,)?) => {
        fn register_builtins(generator: &mut SchemaGenerator) -> Vec<BuiltinKind> {
            vec![$(BuiltinKind {
                group: $group,
                version: $version,
                kind: $kind,
                schema: register::<$ty>(generator),
            }),*]
        }
    };
}

builtin_table![
    ("", "v1", "Namespace", core_v1::Namespace),
    ("", "v1", "ConfigMap", core_v1::ConfigMap),
    ("", "v1", "Secret", core_v1::Secret),
    ("", "v1", "ServiceAccount", core_v1::ServiceAccount),
    ("", "v1", "Service", core_v1::Service),
    ("", "v1", "Endpoints", core_v1::Endpoints),
    ("", "v1", "Pod", core_v1::Pod),
    ("", "v1", "Node", core_v1::Node),
    ("", "v1", "Event", core_v1::Event),
    ("", "v1", "LimitRange", core_v1::LimitRange),
    ("", "v1", "ResourceQuota", core_v1::ResourceQuota),
    ("", "v1", "PersistentVolume", core_v1::PersistentVolume),
    (
        "",
        "v1",
        "PersistentVolumeClaim",
        core_v1::PersistentVolumeClaim
    ),
    ("", "v1", "Binding", core_v1::Binding),
    ("apps", "v1", "Deployment", apps::Deployment),
    ("apps", "v1", "ReplicaSet", apps::ReplicaSet),
    ("apps", "v1", "DaemonSet", apps::DaemonSet),
    ("apps", "v1", "StatefulSet", apps::StatefulSet),
    ("batch", "v1", "Job", batch::Job),
    ("batch", "v1", "CronJob", batch::CronJob),
    ("networking.k8s.io", "v1", "Ingress", networking::Ingress),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        networking::NetworkPolicy
    ),
    ("rbac.authorization.k8s.io", "v1", "Role", rbac::Role),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        rbac::ClusterRole
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        rbac::RoleBinding
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        rbac::ClusterRoleBinding
    ),
    ("coordination.k8s.io", "v1", "Lease", coordination::Lease),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        policy::PodDisruptionBudget
    ),
    ("policy", "v1", "Eviction", policy::Eviction),
    (
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        admissionregistration::MutatingWebhookConfiguration
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        admissionregistration::ValidatingWebhookConfiguration
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        apiextensions::CustomResourceDefinition
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        scheduling::PriorityClass
    ),
    (
        "storage.k8s.io",
        "v1",
        "StorageClass",
        storage::StorageClass
    ),
    ("events.k8s.io", "v1", "Event", events::Event),
];

/// The built-in schema catalog, built on first use.
fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(build_catalog)
}

fn build_catalog() -> Catalog {
    let mut generator = SchemaSettings::openapi3()
        .with(|s| s.meta_schema = None)
        .into_generator();
    let kinds = register_builtins(&mut generator);
    register::<meta::DeleteOptions>(&mut generator);
    register::<meta::Status>(&mut generator);
    register::<meta::ListMeta>(&mut generator);
    register::<meta::ObjectMeta>(&mut generator);
    let mut schemas = generator.take_definitions(true);
    schemas.insert(
        PATCH.to_string(),
        json!({
            "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
            "type": "object",
        }),
    );
    for (schema, property, strategy, key) in PATCH_META {
        let Some(prop) = schemas
            .get_mut(*schema)
            .and_then(|s| s.get_mut("properties"))
            .and_then(|p| p.get_mut(*property))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        prop.insert("x-kubernetes-patch-strategy".into(), json!(strategy));
        if let Some(key) = key {
            prop.insert("x-kubernetes-patch-merge-key".into(), json!(key));
        }
    }
    for kind in &kinds {
        if let Some(obj) = schemas.get_mut(&kind.schema).and_then(Value::as_object_mut) {
            obj.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([gvk(kind.group, kind.version, kind.kind)]),
            );
        }
    }
    let mut sorted: Vec<(String, Value)> = schemas.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let schemas: Map<String, Value> = sorted.into_iter().collect();
    let refs = schemas
        .iter()
        .map(|(name, schema)| {
            let mut found = Vec::new();
            collect_refs(schema, &mut found);
            found.sort();
            found.dedup();
            (name.clone(), found)
        })
        .collect();
    Catalog {
        schemas,
        refs,
        kinds,
    }
}

/// Collects the schema names of every `#/components/schemas/` `$ref` inside `value`.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if key == "$ref" {
                    if let Some(name) = child.as_str().and_then(|s| s.strip_prefix(V3_REF_PREFIX)) {
                        out.push(name.to_string());
                    }
                } else {
                    collect_refs(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, out)),
        _ => {}
    }
}

/// Rewrites every `#/components/schemas/` `$ref` inside `value` to `#/definitions/`.
fn rewrite_refs_v2(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "$ref" {
                    if let Some(name) = child.as_str().and_then(|s| s.strip_prefix(V3_REF_PREFIX)) {
                        *child = Value::String(format!("{V2_REF_PREFIX}{name}"));
                    }
                } else {
                    rewrite_refs_v2(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs_v2),
        _ => {}
    }
}

/// Builds a JSON object by moving the given values in (`json!` would re-serialize them).
fn obj<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
    )
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{V3_REF_PREFIX}{name}") })
}

fn described_ref(name: &str, description: &str) -> Value {
    json!({ "allOf": [schema_ref(name)], "description": description })
}

/// Path key used in the root and in `/openapi/v3/<path>`: `api/v1` or `apis/<group>/<version>`.
pub fn v3_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// Stable FNV-1a hash used as the `hash` query parameter of a group-version's URL.
fn path_hash(path: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016X}")
}

/// Root document of /openapi/v3 for the given served group-versions ("" group = core).
pub fn v3_root(group_versions: &[(String, String)]) -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions {
        let path = v3_path(group, version);
        let url = format!("/openapi/v3/{path}?hash={}", path_hash(&path));
        paths.insert(path, obj([("serverRelativeURL", Value::String(url))]));
    }
    obj([("paths", Value::Object(paths))])
}

/// Reverses a DNS-style group, as upstream names CRD schemas ("example.com" -> "com.example").
fn reversed_group(group: &str) -> String {
    group.split('.').rev().collect::<Vec<_>>().join(".")
}

/// Schemas and paths contributed by the kinds of one group-version.
#[derive(Default)]
struct GvParts {
    paths: Map<String, Value>,
    /// Catalog schemas needed, by name (closure computed later).
    wanted: BTreeSet<String>,
    /// Schemas built for this request (CRDs, lists).
    own: Vec<(String, Value)>,
}

/// Builds the schema for a non-built-in kind from its CRD schema, upstream style.
fn crd_schema(kind: &OpenApiKind) -> Value {
    let mut schema = match &kind.schema {
        Some(Value::Object(map)) => map.clone(),
        _ => {
            let mut map = Map::new();
            map.insert("x-kubernetes-preserve-unknown-fields".into(), json!(true));
            map
        }
    };
    schema
        .entry("type")
        .or_insert_with(|| Value::String("object".into()));
    let props = schema
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(props) = props {
        props
            .entry("apiVersion")
            .or_insert_with(|| json!({"description": API_VERSION_DESC, "type": "string"}));
        props
            .entry("kind")
            .or_insert_with(|| json!({"description": KIND_DESC, "type": "string"}));
        props.insert("metadata".into(), described_ref(OBJECT_META, METADATA_DESC));
    }
    schema.insert(
        "x-kubernetes-group-version-kind".into(),
        Value::Array(vec![gvk(&kind.group, &kind.version, &kind.kind)]),
    );
    Value::Object(schema)
}

fn list_schema(kind: &OpenApiKind, item_schema: &str) -> Value {
    json!({
        "description": format!("{}List is a list of {}.", kind.kind, kind.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": API_VERSION_DESC, "type": "string"},
            "items": {
                "description": format!("List of {}.", kind.plural),
                "type": "array",
                "items": schema_ref(item_schema),
            },
            "kind": {"description": KIND_DESC, "type": "string"},
            "metadata": described_ref(LIST_META, LIST_METADATA_DESC),
        },
        "x-kubernetes-group-version-kind": [gvk(&kind.group, &kind.version, &format!("{}List", kind.kind))],
    })
}

fn query_param(name: &str, ty: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": ty, "uniqueItems": true},
    })
}

fn path_param(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "description": description,
        "required": true,
        "schema": {"type": "string", "uniqueItems": true},
    })
}

fn dry_run_param() -> Value {
    query_param(
        "dryRun",
        "string",
        "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
    )
}

fn field_manager_param() -> Value {
    query_param(
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
    )
}

fn field_validation_param() -> Value {
    query_param(
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
    )
}

fn json_content(schema: &Value) -> Value {
    obj([
        ("application/json", obj([("schema", schema.clone())])),
        ("application/yaml", obj([("schema", schema.clone())])),
    ])
}

fn responses(codes: &[(&str, &str)], schema: &Value) -> Value {
    let mut out = Map::new();
    for (code, description) in codes {
        out.insert(
            (*code).to_string(),
            obj([
                ("description", json!(description)),
                ("content", json_content(schema)),
            ]),
        );
    }
    out.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(out)
}

/// Everything one operation needs to know about its kind.
struct OpCtx<'a> {
    kind: &'a OpenApiKind,
    op_suffix: String,
    tag: String,
    kind_schema: Value,
    list_schema: Value,
    builtin: bool,
}

impl OpCtx<'_> {
    fn op(&self, verb: &str, action: &str, scope: &str, subresource: &str) -> Map<String, Value> {
        let mut op = Map::new();
        op.insert("tags".into(), json!([self.tag]));
        op.insert(
            "description".into(),
            json!(format!(
                "{verb} {}{}",
                self.kind.kind,
                if subresource.is_empty() {
                    String::new()
                } else {
                    format!(" {subresource}")
                }
            )),
        );
        op.insert(
            "operationId".into(),
            json!(format!(
                "{verb}{}{scope}{}{}",
                self.op_suffix, self.kind.kind, subresource
            )),
        );
        op.insert("x-kubernetes-action".into(), json!(action));
        op.insert(
            "x-kubernetes-group-version-kind".into(),
            gvk(&self.kind.group, &self.kind.version, &self.kind.kind),
        );
        op
    }

    fn get(&self, scope: &str, sub: &str) -> Value {
        let mut op = self.op("read", "get", scope, sub);
        op.insert(
            "responses".into(),
            responses(&[("200", "OK")], &self.kind_schema),
        );
        Value::Object(op)
    }

    fn list(&self, scope: &str) -> Value {
        let mut op = self.op("list", "list", scope, "");
        op.insert(
            "parameters".into(),
            Value::Array(vec![
                query_param("continue", "string", "The continue option should be set when retrieving more results from the server."),
                query_param("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields. Defaults to everything."),
                query_param("labelSelector", "string", "A selector to restrict the list of returned objects by their labels. Defaults to everything."),
                query_param("limit", "integer", "limit is a maximum number of responses to return for a list call."),
                query_param("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from."),
                query_param("timeoutSeconds", "integer", "Timeout for the list/watch call."),
                query_param("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
            ]),
        );
        op.insert(
            "responses".into(),
            responses(&[("200", "OK")], &self.list_schema),
        );
        Value::Object(op)
    }

    fn write(
        &self,
        verb: &str,
        action: &str,
        scope: &str,
        sub: &str,
        codes: &[(&str, &str)],
    ) -> Value {
        let mut op = self.op(verb, action, scope, sub);
        op.insert(
            "parameters".into(),
            Value::Array(vec![
                dry_run_param(),
                field_manager_param(),
                field_validation_param(),
            ]),
        );
        op.insert(
            "requestBody".into(),
            obj([
                (
                    "content",
                    obj([("*/*", obj([("schema", self.kind_schema.clone())]))]),
                ),
                ("required", Value::Bool(true)),
            ]),
        );
        op.insert("responses".into(), responses(codes, &self.kind_schema));
        Value::Object(op)
    }

    fn patch(&self, scope: &str, sub: &str) -> Value {
        let mut op = self.op("patch", "patch", scope, sub);
        op.insert(
            "parameters".into(),
            Value::Array(vec![
                dry_run_param(),
                field_manager_param(),
                field_validation_param(),
                query_param("force", "boolean", "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."),
            ]),
        );
        let body = obj([("schema", schema_ref(PATCH))]);
        let mut content = Map::new();
        content.insert("application/json-patch+json".into(), body.clone());
        content.insert("application/merge-patch+json".into(), body.clone());
        if self.builtin {
            content.insert(
                "application/strategic-merge-patch+json".into(),
                body.clone(),
            );
        }
        content.insert("application/apply-patch+yaml".into(), body);
        op.insert(
            "requestBody".into(),
            obj([
                ("content", Value::Object(content)),
                ("required", Value::Bool(true)),
            ]),
        );
        op.insert(
            "responses".into(),
            responses(&[("200", "OK"), ("201", "Created")], &self.kind_schema),
        );
        Value::Object(op)
    }

    fn delete(&self, scope: &str, collection: bool) -> Value {
        let (verb, action) = if collection {
            ("deleteCollection", "deletecollection")
        } else {
            ("delete", "delete")
        };
        let mut op = self.op(verb, action, scope, "");
        op.insert(
            "parameters".into(),
            Value::Array(vec![
                dry_run_param(),
                query_param(
                    "gracePeriodSeconds",
                    "integer",
                    "The duration in seconds before the object should be deleted.",
                ),
                query_param(
                    "propagationPolicy",
                    "string",
                    "Whether and how garbage collection will be performed.",
                ),
            ]),
        );
        op.insert(
            "requestBody".into(),
            obj([(
                "content",
                obj([("*/*", obj([("schema", schema_ref(DELETE_OPTIONS))]))]),
            )]),
        );
        op.insert(
            "responses".into(),
            responses(&[("200", "OK"), ("202", "Accepted")], &schema_ref(STATUS)),
        );
        Value::Object(op)
    }
}

/// CamelCase form of a group/version for operation ids ("apps", "v1" -> "AppsV1").
fn op_suffix(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let group = group.strip_suffix(".k8s.io").unwrap_or(group);
    group
        .split(['.', '-'])
        .chain(std::iter::once(version))
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Adds the schemas and paths of the kinds in `kinds` that belong to `group`/`version`.
fn gv_parts(group: &str, version: &str, kinds: &[OpenApiKind], parts: &mut GvParts) {
    let cat = catalog();
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    for kind in kinds
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let builtin = match kind.schema {
            Some(_) => None,
            None => cat.kinds.iter().find(|b| {
                b.group == kind.group && b.version == kind.version && b.kind == kind.kind
            }),
        };
        let schema_name = match builtin {
            Some(b) => {
                parts.wanted.insert(b.schema.clone());
                b.schema.clone()
            }
            None => {
                let name = if kind.group.is_empty() {
                    format!("io.k8s.api.core.{}.{}", kind.version, kind.kind)
                } else {
                    format!(
                        "{}.{}.{}",
                        reversed_group(&kind.group),
                        kind.version,
                        kind.kind
                    )
                };
                let schema = crd_schema(kind);
                let mut found = Vec::new();
                collect_refs(&schema, &mut found);
                parts.wanted.extend(found);
                parts.own.push((name.clone(), schema));
                name
            }
        };
        let list_name = format!("{schema_name}List");
        parts
            .own
            .push((list_name.clone(), list_schema(kind, &schema_name)));
        parts.wanted.insert(LIST_META.to_string());

        let ctx = OpCtx {
            kind,
            op_suffix: op_suffix(group, version),
            tag: op_suffix(group, version),
            kind_schema: schema_ref(&schema_name),
            list_schema: schema_ref(&list_name),
            builtin: builtin.is_some(),
        };
        let (collection, scope, name_param) = if kind.namespaced {
            (
                format!("{prefix}/namespaces/{{namespace}}/{}", kind.plural),
                "Namespaced",
                vec![
                    path_param("name", &format!("name of the {}", kind.kind)),
                    path_param(
                        "namespace",
                        "object name and auth scope, such as for teams and projects",
                    ),
                ],
            )
        } else {
            (
                format!("{prefix}/{}", kind.plural),
                "",
                vec![path_param("name", &format!("name of the {}", kind.kind))],
            )
        };
        let pretty = query_param(
            "pretty",
            "string",
            "If 'true', then the output is pretty printed.",
        );
        let mut collection_params = Vec::new();
        if kind.namespaced {
            collection_params.push(path_param(
                "namespace",
                "object name and auth scope, such as for teams and projects",
            ));
        }
        collection_params.push(pretty.clone());
        let mut item_params = name_param;
        item_params.push(pretty.clone());

        if kind.namespaced {
            parts.paths.insert(
                format!("{prefix}/{}", kind.plural),
                obj([
                    ("get", ctx.list("ForAllNamespaces")),
                    ("parameters", Value::Array(vec![pretty.clone()])),
                ]),
            );
        }
        parts.paths.insert(
            collection.clone(),
            obj([
                ("get", ctx.list(scope)),
                (
                    "post",
                    ctx.write(
                        "create",
                        "post",
                        scope,
                        "",
                        &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
                    ),
                ),
                ("delete", ctx.delete(scope, true)),
                ("parameters", Value::Array(collection_params)),
            ]),
        );
        parts.paths.insert(
            format!("{collection}/{{name}}"),
            obj([
                ("get", ctx.get(scope, "")),
                (
                    "put",
                    ctx.write(
                        "replace",
                        "put",
                        scope,
                        "",
                        &[("200", "OK"), ("201", "Created")],
                    ),
                ),
                ("patch", ctx.patch(scope, "")),
                ("delete", ctx.delete(scope, false)),
                ("parameters", Value::Array(item_params.clone())),
            ]),
        );
        if kind.has_status {
            parts.paths.insert(
                format!("{collection}/{{name}}/status"),
                obj([
                    ("get", ctx.get(scope, "Status")),
                    (
                        "put",
                        ctx.write(
                            "replace",
                            "put",
                            scope,
                            "Status",
                            &[("200", "OK"), ("201", "Created")],
                        ),
                    ),
                    ("patch", ctx.patch(scope, "Status")),
                    ("parameters", Value::Array(item_params)),
                ]),
            );
        }
    }
    parts.wanted.insert(DELETE_OPTIONS.to_string());
    parts.wanted.insert(STATUS.to_string());
    parts.wanted.insert(PATCH.to_string());
}

/// Resolves the wanted catalog schemas plus everything they reference, merged with `own`, sorted.
fn assemble_schemas(parts: GvParts) -> Map<String, Value> {
    let cat = catalog();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = parts.wanted.into_iter().collect();
    while let Some(name) = stack.pop() {
        if !cat.schemas.contains_key(&name) || !names.insert(name.clone()) {
            continue;
        }
        if let Some(refs) = cat.refs.get(&name) {
            stack.extend(refs.iter().filter(|r| !names.contains(*r)).cloned());
        }
    }
    let mut all: Vec<(String, Value)> = names
        .into_iter()
        .filter_map(|name| cat.schemas.get(&name).cloned().map(|v| (name, v)))
        .collect();
    all.extend(parts.own);
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.into_iter().collect()
}

/// The OpenAPI v3 document for one group-version: schemas for its kinds (built-in from k8s-openapi's schemars impls, CRDs from their schema) with every referenced schema, x-kubernetes-group-version-kind, and the paths/operations kubectl inspects.
pub fn v3_document(group: &str, version: &str, kinds: &[OpenApiKind]) -> Value {
    let mut parts = GvParts::default();
    gv_parts(group, version, kinds, &mut parts);
    let paths = std::mem::take(&mut parts.paths);
    obj([
        ("openapi", json!("3.0.0")),
        ("info", json!({"title": "Kubernetes", "version": "v1.32.0"})),
        ("paths", Value::Object(paths)),
        (
            "components",
            obj([("schemas", Value::Object(assemble_schemas(parts)))]),
        ),
    ])
}

/// Converts one v3 parameter to swagger 2.0 form.
fn param_v2(param: &Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(map) = param {
        for (key, value) in map {
            if key == "schema" {
                if let Value::Object(schema) = value {
                    out.extend(schema.clone());
                }
            } else {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// Converts one v3 operation to swagger 2.0 form (body parameter, consumes/produces).
fn operation_v2(op: &Value) -> Value {
    let Value::Object(map) = op else {
        return op.clone();
    };
    let mut out = Map::new();
    let mut params: Vec<Value> = map
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().map(param_v2).collect())
        .unwrap_or_default();
    if let Some(body) = map.get("requestBody") {
        let content = body.get("content").and_then(Value::as_object);
        if let Some(content) = content {
            out.insert("consumes".into(), json!(content.keys().collect::<Vec<_>>()));
            if let Some(schema) = content.values().next().and_then(|c| c.get("schema")) {
                params.insert(
                    0,
                    json!({
                        "name": "body",
                        "in": "body",
                        "required": body.get("required").cloned().unwrap_or(json!(false)),
                        "schema": schema,
                    }),
                );
            }
        }
    }
    let mut produces: BTreeSet<String> = BTreeSet::new();
    let mut responses = Map::new();
    if let Some(rs) = map.get("responses").and_then(Value::as_object) {
        for (code, response) in rs {
            let mut r = Map::new();
            r.insert(
                "description".into(),
                response.get("description").cloned().unwrap_or(json!("")),
            );
            if let Some(content) = response.get("content").and_then(Value::as_object) {
                produces.extend(content.keys().cloned());
                if let Some(schema) = content.values().next().and_then(|c| c.get("schema")) {
                    r.insert("schema".into(), schema.clone());
                }
            }
            responses.insert(code.clone(), Value::Object(r));
        }
    }
    for (key, value) in map {
        match key.as_str() {
            "parameters" | "requestBody" | "responses" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if !produces.is_empty() {
        out.insert("produces".into(), json!(produces));
    }
    out.insert("schemes".into(), json!(["https"]));
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Array(params));
    }
    out.insert("responses".into(), Value::Object(responses));
    Value::Object(out)
}

/// A swagger 2.0 JSON document with definitions for all given kinds (for clients that read JSON v2).
pub fn v2_document(kinds: &[OpenApiKind]) -> Value {
    let mut gvs: Vec<(&str, &str)> = Vec::new();
    for kind in kinds {
        let gv = (kind.group.as_str(), kind.version.as_str());
        if !gvs.contains(&gv) {
            gvs.push(gv);
        }
    }
    let mut parts = GvParts::default();
    for (group, version) in gvs {
        gv_parts(group, version, kinds, &mut parts);
    }
    let mut paths = Map::new();
    for (path, item) in std::mem::take(&mut parts.paths) {
        let mut out = Map::new();
        if let Value::Object(item) = item {
            for (key, value) in item {
                let converted = if key == "parameters" {
                    Value::Array(
                        value
                            .as_array()
                            .map(|ps| ps.iter().map(param_v2).collect())
                            .unwrap_or_default(),
                    )
                } else {
                    operation_v2(&value)
                };
                out.insert(key, converted);
            }
        }
        paths.insert(path, Value::Object(out));
    }
    let mut doc = obj([
        ("swagger", json!("2.0")),
        ("info", json!({"title": "Kubernetes", "version": "v1.32.0"})),
        ("paths", Value::Object(paths)),
        ("definitions", Value::Object(assemble_schemas(parts))),
    ]);
    rewrite_refs_v2(&mut doc);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(group: &str, version: &str, kind: &str, plural: &str, namespaced: bool) -> OpenApiKind {
        OpenApiKind {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespaced,
            has_status: true,
            schema: None,
        }
    }

    fn widget() -> OpenApiKind {
        OpenApiKind {
            schema: Some(json!({
                "description": "Widget is a test resource.",
                "type": "object",
                "properties": {
                    "spec": {
                        "description": "Desired state.",
                        "type": "object",
                        "properties": {"size": {"description": "How big.", "type": "integer"}},
                    },
                },
            })),
            ..kind("example.com", "v1", "Widget", "widgets", true)
        }
    }

    fn gvks(schema: &Value) -> &Vec<Value> {
        schema["x-kubernetes-group-version-kind"]
            .as_array()
            .unwrap()
    }

    fn assert_refs_resolve(doc: &Value, section: &Value, prefix: &str) {
        let mut refs = Vec::new();
        let mut probe = doc.clone();
        if prefix == V2_REF_PREFIX {
            // Re-map to the v3 prefix so collect_refs sees them.
            let text = serde_json::to_string(&probe)
                .unwrap()
                .replace(V2_REF_PREFIX, V3_REF_PREFIX);
            probe = serde_json::from_str(&text).unwrap();
        }
        collect_refs(&probe, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            assert!(section.get(&r).is_some(), "dangling ref {r}");
        }
    }

    #[test]
    fn paths_and_root() {
        assert_eq!(v3_path("", "v1"), "api/v1");
        assert_eq!(v3_path("apps", "v1"), "apis/apps/v1");
        let root = v3_root(&[("".into(), "v1".into()), ("apps".into(), "v1".into())]);
        let url = root["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/api/v1?hash="));
        assert!(root["paths"]["apis/apps/v1"]["serverRelativeURL"].is_string());
    }

    #[test]
    fn every_builtin_has_a_kubernetes_named_schema() {
        let cat = catalog();
        assert_eq!(cat.kinds.len(), 35);
        for b in &cat.kinds {
            assert!(b.schema.starts_with("io.k8s."), "{}", b.schema);
            assert!(b.schema.ends_with(&format!(".{}", b.kind)), "{}", b.schema);
            let schema = &cat.schemas[&b.schema];
            assert_eq!(gvks(schema)[0], gvk(b.group, b.version, b.kind));
        }
        assert!(cat.schemas.contains_key("io.k8s.api.core.v1.PodSpec"));
        assert!(cat.schemas.contains_key(OBJECT_META));
    }

    #[test]
    fn core_document_has_schemas_refs_and_patch_ops() {
        let kinds = vec![
            kind("", "v1", "Pod", "pods", true),
            kind("", "v1", "Namespace", "namespaces", false),
            kind("apps", "v1", "Deployment", "deployments", true),
        ];
        let doc = v3_document("", "v1", &kinds);
        let schemas = &doc["components"]["schemas"];
        let pod = &schemas["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            gvks(pod)[0],
            json!({"group": "", "kind": "Pod", "version": "v1"})
        );
        assert!(pod["description"].as_str().unwrap().starts_with("Pod is"));
        assert_eq!(
            pod["properties"]["spec"]["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.core.v1.PodSpec"
        );
        assert!(schemas.get("io.k8s.api.apps.v1.Deployment").is_none());
        assert_refs_resolve(&doc, schemas, V3_REF_PREFIX);
        let containers = &schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        let ports = &schemas["io.k8s.api.core.v1.Container"]["properties"]["ports"];
        assert_eq!(ports["x-kubernetes-patch-merge-key"], "containerPort");
        let fin = &schemas[OBJECT_META]["properties"]["finalizers"];
        assert_eq!(fin["x-kubernetes-patch-strategy"], "merge");

        let paths = doc["paths"].as_object().unwrap();
        let item = &paths["/api/v1/namespaces/{namespace}/pods/{name}"];
        let patch = &item["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Pod");
        let params = patch["parameters"].as_array().unwrap();
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(
            patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object()
        );
        assert!(paths.contains_key("/api/v1/namespaces/{namespace}/pods/{name}/status"));
        assert!(paths.contains_key("/api/v1/pods"));
        assert!(paths.contains_key("/api/v1/namespaces/{name}"));
        // Every PATCH op must carry fieldValidation, since kubectl stops at the first match.
        for item in paths.values() {
            if let Some(op) = item.get("patch") {
                assert!(
                    op["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["name"] == "fieldValidation")
                );
            }
        }
    }

    #[test]
    fn crd_document_uses_its_schema() {
        let doc = v3_document("example.com", "v1", &[widget()]);
        let schemas = &doc["components"]["schemas"];
        let w = &schemas["com.example.v1.Widget"];
        assert_eq!(
            gvks(w)[0],
            json!({"group": "example.com", "kind": "Widget", "version": "v1"})
        );
        assert_eq!(
            w["properties"]["spec"]["properties"]["size"]["type"],
            "integer"
        );
        assert_eq!(
            w["properties"]["metadata"]["allOf"][0]["$ref"],
            format!("{V3_REF_PREFIX}{OBJECT_META}")
        );
        assert_eq!(w["properties"]["apiVersion"]["type"], "string");
        assert!(schemas.get(OBJECT_META).is_some());
        assert!(schemas.get("com.example.v1.WidgetList").is_some());
        assert_refs_resolve(&doc, schemas, V3_REF_PREFIX);
        let patch =
            &doc["paths"]["/apis/example.com/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["group"],
            "example.com"
        );
        let content = patch["requestBody"]["content"].as_object().unwrap();
        assert!(!content.contains_key("application/strategic-merge-patch+json"));
        assert!(content.contains_key("application/merge-patch+json"));
    }

    #[test]
    fn unknown_kind_without_schema_is_open() {
        let k = kind("example.com", "v1", "Gadget", "gadgets", false);
        let doc = v3_document("example.com", "v1", &[k]);
        let g = &doc["components"]["schemas"]["com.example.v1.Gadget"];
        assert_eq!(g["x-kubernetes-preserve-unknown-fields"], true);
        assert!(
            doc["paths"]
                .get("/apis/example.com/v1/gadgets/{name}")
                .is_some()
        );
    }

    #[test]
    fn v2_document_uses_definitions() {
        let kinds = vec![kind("", "v1", "Pod", "pods", true), widget()];
        let doc = v2_document(&kinds);
        assert_eq!(doc["swagger"], "2.0");
        let defs = &doc["definitions"];
        assert!(defs.get("io.k8s.api.core.v1.Pod").is_some());
        assert!(defs.get("com.example.v1.Widget").is_some());
        let text = serde_json::to_string(&doc).unwrap();
        assert!(!text.contains(V3_REF_PREFIX));
        assert_refs_resolve(&doc, defs, V2_REF_PREFIX);
        let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
        let consumes = patch["consumes"].as_array().unwrap();
        assert!(
            consumes
                .iter()
                .any(|c| c == "application/strategic-merge-patch+json")
        );
        assert_eq!(patch["parameters"][0]["in"], "body");
        assert!(
            patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["type"] == "string")
        );
    }

    #[test]
    fn v2_protobuf_stub_is_swagger_field() {
        // Field 1, wire type 2 (length-delimited), length 3, "2.0".
        assert_eq!(V2_PROTOBUF_STUB, &[0x0a, 0x03, b'2', b'.', b'0']);
        assert!(!V2_PROTOBUF_CONTENT_TYPE.contains('@'));
    }

    #[test]
    fn documents_are_deterministic() {
        let kinds = vec![
            kind("apps", "v1", "Deployment", "deployments", true),
            widget(),
        ];
        assert_eq!(
            v3_document("apps", "v1", &kinds),
            v3_document("apps", "v1", &kinds)
        );
        assert_eq!(
            serde_json::to_string(&v2_document(&kinds)).unwrap(),
            serde_json::to_string(&v2_document(&kinds)).unwrap()
        );
    }

    #[test]
    fn op_suffix_is_camel_case() {
        assert_eq!(op_suffix("", "v1"), "CoreV1");
        assert_eq!(
            op_suffix("rbac.authorization.k8s.io", "v1"),
            "RbacAuthorizationV1"
        );
        assert_eq!(op_suffix("example.com", "v1alpha1"), "ExampleComV1alpha1");
    }
}
