//! Tests of the typed kinds, their CRDs and `orb.yaml`.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::ResourceQuotaSpec;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::core::{Resource, ResourceExt};
use orbdeck::model::{
    ImageReplicationPolicy, OrbFile, OwnerKind, PodDefault, Profile, ProfileStatus, crds,
    crds_yaml, is_namespaced, schema_for,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kubeflow");

/// Reads one fixture by file name.
fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).expect("fixture exists")
}

/// Parses `text` into `K`, checks it serializes back to exactly the fixture's JSON, returns it.
fn round_trip<K: Serialize + DeserializeOwned>(name: &str, text: &str) -> K {
    let typed: K = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let raw: Value = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let back = serde_json::to_value(&typed).expect("serializes");
    assert_eq!(back, raw, "{name}: typed round trip changed the object");
    typed
}

#[test]
fn every_kubeflow_fixture_round_trips_and_fits_its_schema() {
    let mut names: Vec<String> = std::fs::read_dir(FIXTURES)
        .expect("fixture directory")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for name in &names {
        let text = fixture(name);
        let raw: Value = serde_saphyr::from_str(&text).expect("fixture is YAML");
        match raw["kind"].as_str() {
            Some("Profile") => drop(round_trip::<Profile>(name, &text)),
            Some("PodDefault") => drop(round_trip::<PodDefault>(name, &text)),
            other => panic!("{name}: unexpected kind {other:?}"),
        }
        let api_version = raw["apiVersion"].as_str().expect("apiVersion");
        let kind = raw["kind"].as_str().expect("kind");
        let schema = schema_for(api_version, kind).expect("known kind");
        assert_eq!(unknown_fields(schema, &raw), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn profile_fixtures_keep_owner_quota_and_plugins() {
    let minimal: Profile = round_trip("owner", &fixture("profile-owner-user.yaml"));
    assert_eq!(minimal.spec.owner.kind, OwnerKind::User);
    assert_eq!(minimal.spec.owner.name, "admin@example.com");
    assert_eq!(minimal.spec.plugins, Some(vec![]));
    assert_eq!(
        minimal.spec.resource_quota_spec,
        Some(ResourceQuotaSpec::default())
    );

    let quota: Profile = round_trip("quota", &fixture("profile-resource-quota.yaml"));
    let hard = quota
        .spec
        .resource_quota_spec
        .and_then(|q| q.hard)
        .expect("hard");
    assert_eq!(hard["requests.nvidia.com/gpu"], Quantity("1".into()));
    assert_eq!(hard["memory"], Quantity("2Gi".into()));
    assert_eq!(hard.len(), 5);

    let aws: Profile = round_trip("aws", &fixture("profile-plugin-aws-iam.yaml"));
    let plugin = &aws.spec.plugins.expect("plugins")[0];
    assert_eq!(plugin["kind"], "AwsIamForServiceAccount");
    assert_eq!(plugin["spec"]["annotateOnly"], true);

    let gcp: Profile = round_trip("gcp", &fixture("profile-plugin-workload-identity.yaml"));
    assert_eq!(gcp.spec.owner.kind, OwnerKind::Group);
    assert_eq!(
        gcp.spec.owner.api_group.as_deref(),
        Some("rbac.authorization.k8s.io")
    );
}

#[test]
fn profile_status_round_trips() {
    let status = json!({"conditions": [
        {"type": "Ready", "status": "False", "reason": "QuotaFailed", "message": "quota invalid",
         "lastTransitionTime": "2025-06-01T12:30:00Z"},
        {"type": "NamespaceCreated", "status": "True"}
    ]});
    let typed: ProfileStatus = serde_json::from_value(status.clone()).expect("status");
    assert_eq!(typed.conditions[0].type_, "Ready");
    assert_eq!(serde_json::to_value(&typed).expect("serializes"), status);
}

#[test]
fn poddefault_fixtures_keep_selector_and_modifiers() {
    let gcp: PodDefault = round_trip("gcp", &fixture("poddefault-add-gcp-secret.yaml"));
    assert_eq!(gcp.spec.desc, "add gcp credential");
    assert_eq!(gcp.namespace().as_deref(), Some("MY_PROFILE_NAMESPACE"));
    let labels = gcp
        .spec
        .selector
        .match_labels
        .as_ref()
        .expect("matchLabels");
    assert_eq!(labels["add-gcp-secret"], "true");

    let kfp: PodDefault = round_trip("kfp", &fixture("poddefault-access-ml-pipeline.yaml"));
    let volumes = kfp.spec.modifiers.volumes.expect("volumes");
    let sources = volumes[0]
        .projected
        .as_ref()
        .and_then(|p| p.sources.as_ref());
    let token = sources.expect("sources")[0]
        .service_account_token
        .as_ref()
        .expect("serviceAccountToken");
    assert_eq!(token.audience.as_deref(), Some("pipelines.kubeflow.org"));
    assert_eq!(token.expiration_seconds, Some(7200));
    let env = kfp.spec.modifiers.env.expect("env");
    assert_eq!(env[0].name, "KF_PIPELINES_SA_TOKEN_PATH");
}

#[test]
fn crds_yaml_is_deterministic_and_sorted() {
    let yaml = crds_yaml();
    assert_eq!(yaml, crds_yaml());
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).expect("crds_yaml is YAML");
    let names: Vec<&str> = docs
        .iter()
        .map(|d| d["metadata"]["name"].as_str().expect("name"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "sorted and unique");
    assert_eq!(docs.len(), crds().len());
    assert_eq!(docs.len(), 13);
    for (doc, crd) in docs.iter().zip(crds()) {
        assert_eq!(doc, &serde_json::to_value(&crd).expect("serializes"));
        let spec = &doc["spec"];
        let plural = spec["names"]["plural"].as_str().expect("plural");
        let group = spec["group"].as_str().expect("group");
        assert_eq!(doc["metadata"]["name"], format!("{plural}.{group}"));
    }
}

/// Group, versions, scope and whether a status subresource exists, of one CRD by name.
fn identity(name: &str) -> (String, Vec<String>, String, String, bool) {
    let crd = crds()
        .into_iter()
        .find(|c| c.metadata.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no CRD {name}"));
    let versions = crd.spec.versions.iter().map(|v| v.name.clone()).collect();
    let status = crd.spec.versions[0]
        .subresources
        .as_ref()
        .is_some_and(|s| s.status.is_some());
    (
        crd.spec.group,
        versions,
        crd.spec.names.kind,
        crd.spec.scope,
        status,
    )
}

#[test]
fn kubeflow_crds_match_upstream_identity() {
    let profile = identity("profiles.kubeflow.org");
    assert_eq!(
        profile,
        (
            "kubeflow.org".into(),
            vec!["v1".into()],
            "Profile".into(),
            "Cluster".into(),
            true
        )
    );
    let poddefault = identity("poddefaults.kubeflow.org");
    assert_eq!(
        poddefault,
        (
            "kubeflow.org".into(),
            vec!["v1alpha1".into()],
            "PodDefault".into(),
            "Namespaced".into(),
            false
        )
    );
    assert_eq!(Profile::api_version(&()), "kubeflow.org/v1");
    assert_eq!(PodDefault::api_version(&()), "kubeflow.org/v1alpha1");
}

#[test]
fn orbdeck_crds_have_expected_scope() {
    let expected = [
        ("PodSetting", true),
        ("ImageReplicationPolicy", false),
        ("ImageReplication", true),
        ("ClusterUpgrade", false),
        ("NodeUpgrade", false),
        ("RegistryCredential", true),
        ("ClusterLabel", false),
        ("NodePoolLabel", false),
        ("NodeUser", false),
        ("AddonTemplate", false),
        ("Environment", true),
    ];
    for (kind, namespaced) in expected {
        assert_eq!(
            is_namespaced("orbdeck.io/v1alpha1", kind),
            Some(namespaced),
            "{kind}"
        );
    }
    assert_eq!(is_namespaced("kubeflow.org/v1", "Profile"), Some(false));
    assert_eq!(
        is_namespaced("kubeflow.org/v1alpha1", "PodDefault"),
        Some(true)
    );
    assert_eq!(is_namespaced("kubeflow.org/v1alpha1", "Profile"), None);
    assert_eq!(is_namespaced("v1", "Pod"), None);
    assert_eq!(schema_for("orbdeck.io/v1alpha1", "Orb"), None);
}

/// Collects why `schema` (at `path`) is not a structural schema Kubernetes accepts.
fn structural_errors(path: &str, schema: &Value, errors: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else {
        errors.push(format!("{path}: not an object"));
        return;
    };
    for banned in [
        "$ref",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "definitions",
        "$defs",
        "const",
    ] {
        if obj.contains_key(banned) {
            errors.push(format!("{path}: has {banned}"));
        }
    }
    let flag = |key: &str| obj.get(key) == Some(&Value::Bool(true));
    match obj.get("type") {
        Some(Value::String(_)) if flag("x-kubernetes-int-or-string") => {
            errors.push(format!("{path}: int-or-string with a type"));
        }
        Some(Value::String(_)) => {}
        None if flag("x-kubernetes-int-or-string")
            || flag("x-kubernetes-preserve-unknown-fields") => {}
        other => errors.push(format!("{path}: type is {other:?}")),
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        errors.push(format!("{path}: properties and additionalProperties"));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, sub) in props {
            structural_errors(&format!("{path}.{name}"), sub, errors);
        }
    }
    if let Some(sub @ Value::Object(_)) = obj.get("additionalProperties") {
        structural_errors(&format!("{path}.*"), sub, errors);
    }
    match (obj.get("type").and_then(Value::as_str), obj.get("items")) {
        (Some("array"), Some(items)) => structural_errors(&format!("{path}[]"), items, errors),
        (Some("array"), None) => errors.push(format!("{path}: array without items")),
        _ => {}
    }
}

#[test]
fn every_crd_schema_is_structural() {
    for crd in crds() {
        let name = crd.metadata.name.clone().expect("name");
        let version = &crd.spec.versions[0];
        let schema = schema_for(
            &format!("{}/{}", crd.spec.group, version.name),
            &crd.spec.names.kind,
        )
        .expect("schema");
        let mut errors = Vec::new();
        structural_errors(&name, schema, &mut errors);
        assert_eq!(errors, Vec::<String>::new());
        let spec = &schema["properties"]["spec"];
        assert_eq!(spec["type"], "object", "{name}");
        assert!(
            spec["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
    }
}

/// Paths in `value` that `schema` neither declares nor preserves (the API server would prune them).
fn unknown_fields(schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let top = value.as_object().expect("object").iter();
    for (key, sub) in top.filter(|(k, _)| !["apiVersion", "kind", "metadata"].contains(&k.as_str()))
    {
        walk_unknown(&schema["properties"][key], sub, key, &mut found);
    }
    found.sort();
    found
}

/// Recursive step of `unknown_fields`; a `Null` schema means the key is not declared.
fn walk_unknown(schema: &Value, value: &Value, path: &str, found: &mut Vec<String>) {
    if schema.is_null() {
        found.push(path.to_owned());
        return;
    }
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, sub) in map {
                let declared = match &schema["additionalProperties"] {
                    Value::Object(_) => &schema["additionalProperties"],
                    _ => &schema["properties"][key],
                };
                walk_unknown(declared, sub, &format!("{path}.{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_unknown(&schema["items"], item, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

/// True when any node of `schema` keeps unknown fields.
fn preserves_unknown(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
                || map.values().any(preserves_unknown)
        }
        Value::Array(items) => items.iter().any(preserves_unknown),
        _ => false,
    }
}

#[test]
fn orbdeck_kinds_do_not_allow_unknown_fields() {
    let orbdeck: Vec<_> = crds()
        .into_iter()
        .filter(|c| c.spec.group == "orbdeck.io")
        .collect();
    assert_eq!(orbdeck.len(), 11);
    for crd in orbdeck {
        let schema = schema_for("orbdeck.io/v1alpha1", &crd.spec.names.kind).expect("schema");
        let name = crd.metadata.name.expect("name");
        assert!(
            !preserves_unknown(schema),
            "{name} preserves unknown fields"
        );
        let spec = &schema["properties"]["spec"];
        assert!(spec.get("additionalProperties").is_none(), "{name}");
        assert!(
            spec["properties"]
                .as_object()
                .is_some_and(|p| !p.is_empty()),
            "{name}"
        );
    }
    let schema = schema_for("orbdeck.io/v1alpha1", "ImageReplicationPolicy").expect("schema");
    let good = json!({
        "apiVersion": "orbdeck.io/v1alpha1",
        "kind": "ImageReplicationPolicy",
        "metadata": {"name": "mirror"},
        "spec": {"targetRegistry": "registry.example.com", "include": ["docker.io/*"],
            "namespaceSelector": {"matchLabels": {"mirror": "yes"}}}
    });
    assert_eq!(unknown_fields(schema, &good), Vec::<String>::new());
    let mut bad = good.clone();
    bad["spec"]["maxAttempt"] = json!(5);
    bad["spec"]["namespaceSelector"]["matchLabel"] = json!({"a": "b"});
    assert_eq!(
        unknown_fields(schema, &bad),
        ["spec.maxAttempt", "spec.namespaceSelector.matchLabel"]
    );
    let typed: ImageReplicationPolicy = serde_json::from_value(good).expect("typed");
    assert_eq!(typed.spec.max_attempts, 3);
    assert_eq!(typed.spec.concurrency, 4);
    assert_eq!(typed.spec.swap, orbdeck::model::SwapPolicy::Exists);
}

#[test]
fn profile_plugins_are_the_only_preserved_fields() {
    let schema = schema_for("kubeflow.org/v1", "Profile").expect("schema");
    let plugins = &schema["properties"]["spec"]["properties"]["plugins"];
    assert_eq!(
        plugins["items"]["x-kubernetes-preserve-unknown-fields"],
        true
    );
    let mut rest = schema.clone();
    rest["properties"]["spec"]["properties"]
        .as_object_mut()
        .expect("properties")
        .remove("plugins");
    assert!(!preserves_unknown(&rest));
}

#[test]
fn orb_file_defaults() {
    let orb = OrbFile::parse("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: dev\n")
        .expect("minimal orb.yaml");
    assert_eq!(orb.name, "dev");
    assert_eq!(orb.cluster, None);
    assert_eq!(orb.engine.interval, "30s");
    assert_eq!(orb.engine.write_interval, "10s");
    assert_eq!(orb.engine.prune.max_fraction, 0.3);
    assert!(!orb.engine.prune.allow_large);
    assert!(orb.secrets.recipients.is_empty());
    let profiles = &orb.profiles;
    assert_eq!(profiles.support_groups, ["DAaas-AAW-Support"]);
    assert_eq!(profiles.namespace_labels.len(), 5);
    assert_eq!(
        profiles.namespace_labels["pipelines.kubeflow.org/enabled"],
        "true"
    );
    assert_eq!(profiles.namespace_labels["istio-injection"], "enabled");
    let quota: BTreeMap<&str, &str> = profiles
        .quota_defaults
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        quota,
        BTreeMap::from([
            ("limits.cpu", "70"),
            ("limits.memory", "368G"),
            ("pods", "100"),
            ("requests.cpu", "70"),
            ("requests.memory", "368G"),
            ("requests.nvidia.com/gpu", "2"),
            ("requests.storage", "100T"),
            ("services.loadbalancers", "0"),
            ("services.nodeports", "0"),
        ])
    );
    assert_eq!(profiles.limit_range.default_cpu, "250m");
    assert_eq!(profiles.limit_range.default_request_memory, "256M");
}

#[test]
fn orb_file_sections_override_defaults() {
    let text = "\
apiVersion: orbdeck.io/v1alpha1
kind: Orb
name: prod
cluster:
  context: prod-admin
engine:
  prune:
    maxFraction: 0.5
secrets:
  recipients: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq]
profiles:
  supportGroups: []
";
    let orb = OrbFile::parse(text).expect("orb.yaml");
    let cluster = orb.cluster.expect("cluster");
    assert_eq!(
        (cluster.server, cluster.context.as_deref()),
        (None, Some("prod-admin"))
    );
    assert_eq!(orb.engine.prune.max_fraction, 0.5);
    assert_eq!(orb.engine.interval, "30s");
    assert_eq!(orb.secrets.recipients.len(), 1);
    assert!(orb.profiles.support_groups.is_empty());
    assert_eq!(orb.profiles.quota_defaults["pods"], "100");
}

#[test]
fn orb_file_rejects_unknown_keys_with_their_position() {
    let text = "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: dev\nengine:\n  intervl: 5s\n";
    let err = OrbFile::parse(text).expect_err("unknown key");
    assert!(err.contains("intervl"), "{err}");
    assert!(err.contains("line 5"), "{err}");
    let err = OrbFile::parse("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: x\nextra: 1\n")
        .expect_err("unknown top-level key");
    assert!(err.contains("extra") && err.contains("line 4"), "{err}");
}

#[test]
fn orb_file_rejects_wrong_identity_and_ranges() {
    let err = OrbFile::parse("apiVersion: v1\nkind: Orb\nname: x\n").expect_err("apiVersion");
    assert!(err.contains("orbdeck.io/v1alpha1"), "{err}");
    let err = OrbFile::parse("apiVersion: orbdeck.io/v1alpha1\nkind: Orb\n").expect_err("name");
    assert!(err.contains("name"), "{err}");
    let text =
        "apiVersion: orbdeck.io/v1alpha1\nkind: Orb\nname: x\nengine: {prune: {maxFraction: 2}}\n";
    let err = OrbFile::parse(text).expect_err("range");
    assert!(err.contains("maxFraction"), "{err}");
}

#[test]
fn orb_file_schema_denies_unknown_fields() {
    let schema = serde_json::to_value(schemars::schema_for!(OrbFile)).expect("schema");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], json!(["apiVersion", "kind", "name"]));
}

#[test]
fn assets_crds_match_the_generated_ones() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/crds/crds.yaml");
    let on_disk = std::fs::read_to_string(path).expect("assets/crds/crds.yaml exists");
    assert!(
        on_disk == crds_yaml(),
        "assets/crds/crds.yaml is stale: run `cargo run -- manifests crds > assets/crds/crds.yaml`"
    );
}
