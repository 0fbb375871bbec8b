//! Encrypted secrets (the ORBOS promise): desired Secrets whose values are age ciphertext to
//! the recipients in orb.yaml (`cipher`), and the editable plaintext form shown in $EDITOR.

mod cipher;

pub use cipher::*;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// The decrypted Secret as the user edits it: UTF-8 values under `stringData` in clear,
/// binary values left base64 under `data`.
pub fn to_editable(secret: &Value) -> String {
    let mut doc = secret.clone();
    if let Some(obj) = doc.as_object_mut() {
        let data = obj.remove("data").and_then(|d| match d {
            Value::Object(m) => Some(m),
            _ => None,
        });
        let (mut text, mut binary) = (Map::new(), Map::new());
        for (k, v) in data.unwrap_or_default() {
            let decoded = v.as_str().and_then(|s| STANDARD.decode(s).ok());
            match decoded.map(String::from_utf8) {
                Some(Ok(s)) => {
                    text.insert(k, Value::String(s));
                }
                _ => {
                    binary.insert(k, v);
                }
            }
        }
        if !binary.is_empty() {
            obj.insert("data".into(), Value::Object(binary));
        }
        obj.insert("stringData".into(), Value::Object(text));
    }
    serde_saphyr::to_string(&doc).unwrap_or_default()
}

/// Parses the edited text back into a Secret document (encrypt it with [`encrypt_secret`]).
pub fn from_editable(text: &str) -> Result<Value, String> {
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    if doc.get("kind").and_then(Value::as_str) != Some("Secret") {
        return Err("the edited document is not a Secret (kind: Secret)".into());
    }
    Ok(doc)
}

/// Encrypts the edited plaintext Secret, keeping the old ciphertext of every value whose
/// plaintext did not change (so a commit shows only the values that really changed).
pub fn reencrypt(
    old_encrypted: Option<&Value>,
    old_plain: Option<&Value>,
    new_plain: &Value,
    recipients: &[String],
) -> Result<Value, CipherError> {
    let mut out = encrypt_secret(new_plain, recipients)?;
    let (Some(old_enc), Some(old_plain)) = (old_encrypted, old_plain) else {
        return Ok(out);
    };
    // Compare decoded values: the edited form may carry them as stringData.
    let new_values = values(new_plain);
    let old_values = values(old_plain);
    if let Some(data) = out.get_mut("data").and_then(Value::as_object_mut) {
        for (key, cipher) in data.iter_mut() {
            let same = new_values.contains_key(key) && new_values.get(key) == old_values.get(key);
            if same
                && let Some(old) = old_enc.pointer(&format!(
                    "/data/{}",
                    key.replace('~', "~0").replace('/', "~1")
                ))
            {
                *cipher = old.clone();
            }
        }
    }
    Ok(out)
}

/// Decoded values of a plaintext Secret: `data` (base64) overlaid by `stringData`.
fn values(secret: &Value) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(data) = secret.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            if let Some(bytes) = v.as_str().and_then(|s| STANDARD.decode(s).ok()) {
                out.insert(k.clone(), bytes);
            }
        }
    }
    if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
        for (k, v) in data {
            if let Some(s) = v.as_str() {
                out.insert(k.clone(), s.as_bytes().to_vec());
            }
        }
    }
    out
}
