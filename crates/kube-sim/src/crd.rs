//! CustomResourceDefinitions in the embedded API server: the kinds a CRD serves, its status,
//! and structural validation and pruning of custom objects against openAPIV3Schema.
#![deny(clippy::indexing_slicing)]

use super::resources::{CrdVersion, ResourceType};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The resource types a CRD object serves (one per served version).
pub fn types_of(crd: &Value) -> Vec<ResourceType> {
    let spec = crate::object::at(crd, &["spec"]);
    let names = crate::object::at(spec, &["names"]);
    let group = crate::object::at(spec, &["group"])
        .as_str()
        .unwrap_or_default();
    let plural = crate::object::at(names, &["plural"])
        .as_str()
        .unwrap_or_default();
    let kind = crate::object::at(names, &["kind"])
        .as_str()
        .unwrap_or_default();
    let crd_name = crate::object::at(crd, &["metadata", "name"])
        .as_str()
        .unwrap_or_default();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect()
    };
    crate::object::at(spec, &["versions"])
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| crate::object::at(v, &["served"]).as_bool().unwrap_or(true))
        .map(|v| ResourceType {
            group: group.into(),
            version: crate::object::at(v, &["name"])
                .as_str()
                .unwrap_or_default()
                .into(),
            plural: plural.into(),
            singular: crate::object::at(names, &["singular"])
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| kind.to_lowercase()),
            kind: kind.into(),
            namespaced: crate::object::at(spec, &["scope"]).as_str() != Some("Cluster"),
            short_names: strings(crate::object::at(names, &["shortNames"])),
            categories: strings(crate::object::at(names, &["categories"])),
            status: crate::object::at(v, &["subresources", "status"]).is_object(),
            scale: crate::object::at(v, &["subresources", "scale"]).is_object(),
            crd: Some(Arc::new(CrdVersion {
                crd_name: crd_name.into(),
                schema: crate::object::at(v, &["schema"])
                    .get("openAPIV3Schema")
                    .cloned(),
                printer_columns: crate::object::at(v, &["additionalPrinterColumns"])
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            })),
        })
        .collect()
}

/// Checks the parts of a CRD the server relies on; Err names the field.
pub fn check_definition(crd: &Value) -> Result<(), (String, String)> {
    let spec = crate::object::at(crd, &["spec"]);
    let group = crate::object::at(spec, &["group"])
        .as_str()
        .unwrap_or_default();
    let plural = crate::object::at(spec, &["names", "plural"])
        .as_str()
        .unwrap_or_default();
    for (field, value) in [
        ("spec.group", group),
        ("spec.names.plural", plural),
        (
            "spec.names.kind",
            crate::object::at(spec, &["names", "kind"])
                .as_str()
                .unwrap_or_default(),
        ),
    ] {
        if value.is_empty() {
            return Err((field.into(), "Required value".into()));
        }
    }
    let name = crate::object::at(crd, &["metadata", "name"])
        .as_str()
        .unwrap_or_default();
    if name != format!("{plural}.{group}") {
        return Err((
            "metadata.name".into(),
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let versions = crate::object::at(spec, &["versions"])
        .as_array()
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        return Err(("spec.versions".into(), "Required value".into()));
    }
    if versions
        .iter()
        .filter(|v| crate::object::at(v, &["storage"]).as_bool() == Some(true))
        .count()
        != 1
    {
        return Err((
            "spec.versions".into(),
            "Invalid value: must have exactly one version marked as storage version".into(),
        ));
    }
    Ok(())
}

/// Marks a CRD Established and NamesAccepted, as the apiextensions controller does.
pub fn set_established(crd: &mut Value, now: &str) {
    let names = crate::object::at(crd, &["spec", "names"]).clone();
    let versions: Vec<Value> = crate::object::at(crd, &["spec", "versions"])
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| crate::object::at(v, &["storage"]).as_bool() == Some(true))
        .map(|v| crate::object::at(v, &["name"]).clone())
        .collect();
    let status = json!({
        "acceptedNames": names,
        "storedVersions": versions,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ]
    });
    crate::object::set(crd, &["status"], status);
}

/// Validates a custom object against its schema and prunes unknown fields.
/// Returns every problem as (field path, message).
pub fn validate(obj: &mut Value, schema: &Value) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    // apiVersion, kind and metadata are validated by the server, not the schema.
    let mut props = schema.clone();
    if let Some(p) = props.get_mut("properties").and_then(Value::as_object_mut) {
        for k in ["apiVersion", "kind", "metadata"] {
            p.entry(k.to_string())
                .or_insert(json!({"x-kubernetes-preserve-unknown-fields": true}));
        }
    }
    check(obj, &props, "", &mut errors);
    errors
}

fn check(value: &mut Value, schema: &Value, path: &str, errors: &mut Vec<(String, String)>) {
    let field = if path.is_empty() { "<root>" } else { path };
    if value.is_null() {
        if crate::object::at(schema, &["nullable"]).as_bool() != Some(true) && !path.is_empty() {
            // Kubernetes prunes nulls from non-nullable fields.
        }
        return;
    }
    if schema["x-kubernetes-int-or-string"].as_bool() == Some(true) {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            errors.push((
                field.into(),
                format!(
                    "Invalid value: {}: must be an integer or string",
                    short(value)
                ),
            ));
        }
        return;
    }
    if let Some(t) = crate::object::at(schema, &["type"]).as_str() {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push((
                field.into(),
                format!(
                    "Invalid value: \"{}\": {field} in body must be of type {t}: \"{}\"",
                    short(value),
                    type_name(value)
                ),
            ));
            return;
        }
    }
    if let Some(options) = crate::object::at(schema, &["enum"]).as_array()
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        errors.push((
            field.into(),
            format!(
                "Unsupported value: {}: supported values: {}",
                value,
                list.join(", ")
            ),
        ));
    }
    if let (Some(pattern_len), Some(s)) = (
        crate::object::at(schema, &["maxLength"]).as_u64(),
        value.as_str(),
    ) && s.chars().count() as u64 > pattern_len
    {
        errors.push((
            field.into(),
            format!("Too long: may not be more than {pattern_len} bytes"),
        ));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = crate::object::at(schema, &["minimum"]).as_f64()
            && n < min
        {
            errors.push((
                field.into(),
                format!(
                    "Invalid value: {n}: {field} in body should be greater than or equal to {min}"
                ),
            ));
        }
        if let Some(max) = crate::object::at(schema, &["maximum"]).as_f64()
            && n > max
        {
            errors.push((
                field.into(),
                format!(
                    "Invalid value: {n}: {field} in body should be less than or equal to {max}"
                ),
            ));
        }
    }
    match value {
        Value::Object(map) => check_object(map, schema, path, errors),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), errors);
                }
            }
        }
        _ => {}
    }
}

fn check_object(
    map: &mut Map<String, Value>,
    schema: &Value,
    path: &str,
    errors: &mut Vec<(String, String)>,
) {
    for req in crate::object::at(schema, &["required"])
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(name) = req.as_str()
            && map.get(name).is_none_or(Value::is_null)
        {
            errors.push((join(path, name), "Required value".into()));
        }
    }
    let preserve = schema["x-kubernetes-preserve-unknown-fields"].as_bool() == Some(true);
    let props = crate::object::at(schema, &["properties"]).as_object();
    let additional = schema.get("additionalProperties");
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let child_path = join(path, &key);
        if let Some(sub) = props.and_then(|p| p.get(&key)) {
            if let Some(v) = map.get_mut(&key) {
                check(v, sub, &child_path, errors);
            }
        } else if let Some(add) = additional {
            if add.is_object()
                && let Some(v) = map.get_mut(&key)
            {
                check(v, add, &child_path, errors);
            }
        } else if !preserve && (props.is_some() || crate::object::at(schema, &["type"]) == "object")
        {
            map.remove(&key);
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    s.chars().take(64).collect()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1},
                "color": {"type": "string", "enum": ["red", "blue"]},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }}
        }})
    }

    #[test]
    fn reports_required_types_and_enums() {
        let mut obj = json!({"spec": {"color": "green"}});
        let errs = validate(&mut obj, &schema());
        let fields: Vec<_> = errs.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(fields, ["spec.size", "spec.color"]);
        let mut obj = json!({"spec": {"size": "big"}});
        let errs = validate(&mut obj, &schema());
        assert!(errs[0].1.contains("must be of type integer"), "{errs:?}");
    }

    #[test]
    fn prunes_unknown_fields_but_keeps_preserved_ones() {
        let mut obj =
            json!({"metadata": {"name": "a"}, "spec": {"size": 2, "junk": 1, "extra": {"x": 1}}});
        assert!(validate(&mut obj, &schema()).is_empty());
        assert_eq!(obj["spec"], json!({"size": 2, "extra": {"x": 1}}));
        assert_eq!(obj["metadata"]["name"], "a");
    }
}
