//! Object validation of the embedded API server: built-in kinds are decoded into their
//! k8s-openapi types (wrong types fail naming the field), custom objects are checked against the CRD schema.
#![deny(clippy::indexing_slicing)]

use super::crd;
use super::object::{self, at};
use super::resources::ResourceType;
use super::status::ApiError;
use k8s_openapi::api::{
    admissionregistration::v1 as admission, apps::v1 as apps, batch::v1 as batch,
    coordination::v1 as coordination, core::v1 as core, networking::v1 as networking,
    policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Validates (and, for custom objects, prunes) an object about to be stored.
/// With `strict` (kubectl's `fieldValidation=Strict`), unknown fields of built-in kinds are refused.
pub fn validate(rt: &ResourceType, obj: &mut Value, strict: bool) -> Result<(), ApiError> {
    let name = object::name(obj).to_string();
    if let Some(crd) = &rt.crd {
        if let Some(schema) = &crd.schema {
            let errors = crd::validate(obj, schema);
            if !errors.is_empty() {
                return Err(invalid_all(&rt.kind, &name, errors));
            }
        }
        return Ok(());
    }
    let unknown = decode_builtin(&rt.kind, obj)
        .map_err(|(field, msg)| ApiError::invalid(&rt.kind, &name, &field, &msg))?;
    if strict && !unknown.is_empty() {
        let list: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
            rt.kind,
            rt.api_version(),
            rt.kind,
            list.join(", ")
        )));
    }
    semantic(rt, obj).map_err(|(field, msg)| ApiError::invalid(&rt.kind, &name, &field, &msg))
}

fn invalid_all(kind: &str, name: &str, errors: Vec<(String, String)>) -> ApiError {
    let summary: Vec<String> = errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    let message = if let [only] = summary.as_slice() {
        format!("{kind} \"{name}\" is invalid: {only}")
    } else {
        format!("{kind} \"{name}\" is invalid: [{}]", summary.join(", "))
    };
    let causes: Vec<Value> = errors
        .iter()
        .map(|(f, m)| serde_json::json!({"reason": "FieldValueInvalid", "message": m, "field": f}))
        .collect();
    ApiError::new(422, "Invalid", message)
        .with_details(serde_json::json!({"name": name, "kind": kind, "causes": causes}))
}

/// Decodes into `T`; Ok holds the paths of fields `T` does not know.
fn check<T: DeserializeOwned>(obj: &Value) -> Result<Vec<String>, (String, String)> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(obj, &mut record);
    serde_path_to_error::deserialize::<_, T>(de)
        .map(|_| ())
        .map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                "<root>".to_string()
            } else {
                path
            };
            (field, format!("Invalid value: {}", e.inner()))
        })?;
    unknown.retain(|p| p != "apiVersion" && p != "kind");
    Ok(unknown)
}

fn decode_builtin(kind: &str, obj: &Value) -> Result<Vec<String>, (String, String)> {
    match kind {
        "Namespace" => check::<core::Namespace>(obj),
        "ConfigMap" => check::<core::ConfigMap>(obj),
        "Secret" => check::<core::Secret>(obj),
        "ServiceAccount" => check::<core::ServiceAccount>(obj),
        "Service" => check::<core::Service>(obj),
        "Endpoints" => check::<core::Endpoints>(obj),
        "Pod" => check::<core::Pod>(obj),
        "Node" => check::<core::Node>(obj),
        "Event" => check::<core::Event>(obj),
        "LimitRange" => check::<core::LimitRange>(obj),
        "ResourceQuota" => check::<core::ResourceQuota>(obj),
        "PersistentVolume" => check::<core::PersistentVolume>(obj),
        "PersistentVolumeClaim" => check::<core::PersistentVolumeClaim>(obj),
        "Deployment" => check::<apps::Deployment>(obj),
        "ReplicaSet" => check::<apps::ReplicaSet>(obj),
        "DaemonSet" => check::<apps::DaemonSet>(obj),
        "StatefulSet" => check::<apps::StatefulSet>(obj),
        "Job" => check::<batch::Job>(obj),
        "CronJob" => check::<batch::CronJob>(obj),
        "Ingress" => check::<networking::Ingress>(obj),
        "NetworkPolicy" => check::<networking::NetworkPolicy>(obj),
        "Role" => check::<rbac::Role>(obj),
        "ClusterRole" => check::<rbac::ClusterRole>(obj),
        "RoleBinding" => check::<rbac::RoleBinding>(obj),
        "ClusterRoleBinding" => check::<rbac::ClusterRoleBinding>(obj),
        "Lease" => check::<coordination::Lease>(obj),
        "PodDisruptionBudget" => check::<policy::PodDisruptionBudget>(obj),
        "MutatingWebhookConfiguration" => check::<admission::MutatingWebhookConfiguration>(obj),
        "ValidatingWebhookConfiguration" => check::<admission::ValidatingWebhookConfiguration>(obj),
        "CustomResourceDefinition" => check::<apiextensions::CustomResourceDefinition>(obj),
        "StorageClass" => check::<storage::StorageClass>(obj),
        "PriorityClass" => check::<scheduling::PriorityClass>(obj),
        _ => Ok(vec![]),
    }
}

/// The few semantic rules the sim enforces beyond types.
fn semantic(rt: &ResourceType, obj: &Value) -> Result<(), (String, String)> {
    let required = |path: &str| (path.to_string(), "Required value".to_string());
    match rt.kind.as_str() {
        "Pod" => {
            let containers = at(obj, &["spec", "containers"])
                .as_array()
                .map_or(0, Vec::len);
            if containers == 0 {
                return Err(required("spec.containers"));
            }
            for (i, c) in at(obj, &["spec", "containers"])
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                if at(c, &["name"]).as_str().is_none_or(str::is_empty) {
                    return Err(required(&format!("spec.containers[{i}].name")));
                }
                if at(c, &["image"]).as_str().is_none_or(str::is_empty) {
                    return Err(required(&format!("spec.containers[{i}].image")));
                }
            }
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            let selector = at(obj, &["spec", "selector"]);
            if !selector.is_object() {
                return Err(required("spec.selector"));
            }
            let selector = super::selector::label_selector_from_object(selector)
                .map_err(|e| ("spec.selector".to_string(), format!("Invalid value: {e}")))?;
            if !selector.matches(at(obj, &["spec", "template", "metadata", "labels"]).as_object()) {
                return Err((
                    "spec.template.metadata.labels".into(),
                    "Invalid value: `selector` does not match template `labels`".into(),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    #[test]
    fn wrong_types_name_the_field() {
        let rt = Registry::builtin()
            .get("apps", "v1", "deployments")
            .unwrap();
        let mut obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": "three", "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}}}}});
        let err = validate(&rt, &mut obj, true).unwrap_err();
        assert_eq!(err.code, 422);
        assert!(err.message.contains("spec.replicas"), "{}", err.message);
    }

    #[test]
    fn strict_validation_names_unknown_fields() {
        let rt = Registry::builtin().get("", "v1", "configmaps").unwrap();
        let mut obj =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "dta": {}});
        let err = validate(&rt, &mut obj.clone(), true).unwrap_err();
        assert!(
            err.message.contains("unknown field \"dta\""),
            "{}",
            err.message
        );
        assert!(validate(&rt, &mut obj, false).is_ok());
    }

    #[test]
    fn pods_need_containers() {
        let rt = Registry::builtin().get("", "v1", "pods").unwrap();
        let mut obj = json!({"metadata": {"name": "p"}, "spec": {"containers": []}});
        assert!(
            validate(&rt, &mut obj, true)
                .unwrap_err()
                .message
                .contains("spec.containers: Required value")
        );
    }
}
