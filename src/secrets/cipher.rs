//! age-encrypted Kubernetes Secrets kept in YAML desired state.
//!
//! # Design
//!
//! An encrypted desired Secret is still an ordinary `v1 Secret` document:
//!
//! * `apiVersion`, `kind`, `metadata` and every other field stay plaintext,
//!   so the document keeps its identity and can be diffed, merged and
//!   reviewed like any other;
//! * `metadata.annotations` carries [`ENCRYPTED_ANNOTATION`]`: "age"`;
//! * each value under `data` is replaced by the ASCII-armored age ciphertext
//!   (`-----BEGIN AGE ENCRYPTED FILE-----` …) of the raw, base64-decoded
//!   secret bytes, encrypted to all recipients (age X25519 public keys,
//!   `age1…`). Every value has its own file key, so one value can be replaced
//!   without touching — or being able to read — the others;
//! * `stringData` values are folded into `data` (overriding a `data` entry
//!   with the same key, as the API server does) and encrypted, and
//!   `stringData` is removed, so no plaintext remains;
//! * `data` keys are sorted, so the layout is deterministic; other fields
//!   keep their order.
//!
//! Decryption gives back a normal Secret whose `data` holds base64 values,
//! without the annotation.
//!
//! Plaintext never appears in errors: they name the Secret key, never the
//! value. A secret key mistakenly given as a recipient is not echoed either.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::x25519::{Identity, Recipient};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// Annotation marking a Secret whose `data` values are age ciphertexts; its
/// value is `"age"`.
pub const ENCRYPTED_ANNOTATION: &str = "orbdeck.io/encrypted";

const ENCRYPTED_VALUE: &str = "age";
const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// Why a Secret could not be encrypted, decrypted or edited.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// Encryption needs at least one recipient.
    #[error("no age recipients given")]
    NoRecipients,
    /// A recipient is not an age X25519 public key.
    #[error("invalid age recipient {recipient:?}: {reason}")]
    InvalidRecipient {
        /// The offending recipient (redacted if it is a secret key).
        recipient: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A line of an identity file is not an age X25519 secret key.
    #[error("invalid age identity on line {line}: {reason}")]
    InvalidIdentity {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An identity file holds no identity.
    #[error("no age identities found")]
    NoIdentities,
    /// The document is not a `v1 Secret`.
    #[error("expected a v1 Secret, got {0}")]
    NotASecret(String),
    /// The Secret lacks the encryption annotation.
    #[error("Secret is not encrypted (no {ENCRYPTED_ANNOTATION}: age annotation)")]
    NotEncrypted,
    /// A key is not a valid Secret data key.
    #[error("invalid Secret key {key:?}: must be non-empty and consist of [-._a-zA-Z0-9]")]
    InvalidKey {
        /// The offending key.
        key: String,
    },
    /// A `data`/`stringData` field or value has the wrong shape.
    #[error("invalid Secret field {key:?}: {reason}")]
    InvalidValue {
        /// The key (or field name) concerned.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Encrypting a value failed.
    #[error("cannot encrypt Secret key {key:?}: {reason}")]
    Encrypt {
        /// The key whose value failed.
        key: String,
        /// Why.
        reason: String,
    },
    /// Decrypting a value failed (wrong identity, corrupt ciphertext…).
    #[error("cannot decrypt Secret key {key:?}: {reason}")]
    Decrypt {
        /// The key whose value failed.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Encrypts every plaintext value of a Secret (`data` and `stringData`) to
/// all `recipients` and adds the encryption annotation.
///
/// Values that already are age ciphertexts are kept byte for byte, so this is
/// idempotent on encrypted Secrets.
pub fn encrypt_secret(doc: &Value, recipients: &[String]) -> Result<Value, CipherError> {
    let recipients = parse_recipients(recipients)?;
    let mut obj = secret_object(doc)?;
    seal_all(&mut obj, &recipients, None)?;
    Ok(Value::Object(obj))
}

/// Decrypts an encrypted Secret with any of `identities`, giving back a
/// normal Secret with base64 `data` and without the encryption annotation.
pub fn decrypt_secret(doc: &Value, identities: &[Identity]) -> Result<Value, CipherError> {
    let mut obj = secret_object(doc)?;
    if !is_encrypted(doc) {
        return Err(CipherError::NotEncrypted);
    }
    let data = field_map(&obj, "data")?;
    let mut plain = Map::new();
    for (key, value) in data {
        let text = value_str(&key, &value)?;
        let value = if is_sealed(text) {
            Value::String(STANDARD.encode(open(&key, text, identities)?))
        } else {
            value
        };
        plain.insert(key, value);
    }
    obj.insert("data".to_owned(), Value::Object(plain));
    if let Some(Value::Object(meta)) = obj.get_mut("metadata")
        && let Some(Value::Object(annotations)) = meta.get_mut("annotations")
    {
        annotations.shift_remove(ENCRYPTED_ANNOTATION);
        if annotations.is_empty() {
            meta.shift_remove("annotations");
        }
    }
    Ok(Value::Object(obj))
}

/// Why an encrypted Secret's value is not a well-formed age message (its armor and header are
/// read, nothing is decrypted), or `None` when it is one.
pub fn malformed_ciphertext(value: &str) -> Option<String> {
    if !value.trim_start().starts_with(ARMOR_BEGIN) {
        return Some(format!(
            "not an age-armored value (expected {ARMOR_BEGIN}…; `orbdeck secret set` writes them)"
        ));
    }
    match age::Decryptor::new(ArmoredReader::new(value.as_bytes())) {
        Ok(_) => None,
        Err(e) => Some(format!("not a well-formed age message: {e}")),
    }
}

/// Whether the document carries the `orbdeck.io/encrypted: age` annotation.
pub fn is_encrypted(doc: &Value) -> bool {
    doc.get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(ENCRYPTED_ANNOTATION))
        .and_then(Value::as_str)
        == Some(ENCRYPTED_VALUE)
}

/// Parses an age identity file: one `AGE-SECRET-KEY-1…` per line, blank
/// lines and `#` comments ignored.
pub fn parse_identities(text: &str) -> Result<Vec<Identity>, CipherError> {
    let mut identities = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let identity = line
            .parse::<Identity>()
            .map_err(|reason| CipherError::InvalidIdentity {
                line: index + 1,
                reason: reason.to_owned(),
            })?;
        identities.push(identity);
    }
    if identities.is_empty() {
        return Err(CipherError::NoIdentities);
    }
    Ok(identities)
}

/// Sets (or replaces) `key` to the encryption of `value`, without decrypting
/// the other keys: their ciphertexts are kept byte for byte. A Secret that is
/// not yet encrypted is encrypted as a whole.
pub fn set_key(
    doc: &Value,
    key: &str,
    value: &[u8],
    recipients: &[String],
) -> Result<Value, CipherError> {
    if !is_valid_key(key) {
        return Err(CipherError::InvalidKey {
            key: key.to_owned(),
        });
    }
    let recipients = parse_recipients(recipients)?;
    let mut obj = secret_object(doc)?;
    seal_all(&mut obj, &recipients, Some((key, value)))?;
    Ok(Value::Object(obj))
}

/// An empty, encryption-annotated `Opaque` Secret.
pub fn new_secret(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": { ENCRYPTED_ANNOTATION: ENCRYPTED_VALUE },
        },
        "type": "Opaque",
        "data": {},
    })
}

fn parse_recipients(recipients: &[String]) -> Result<Vec<Recipient>, CipherError> {
    if recipients.is_empty() {
        return Err(CipherError::NoRecipients);
    }
    recipients
        .iter()
        .map(|text| {
            let trimmed = text.trim();
            if trimmed.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
                return Err(CipherError::InvalidRecipient {
                    recipient: "AGE-SECRET-KEY-…(redacted)".to_owned(),
                    reason: "this is a secret key; use its public key (age1…)".to_owned(),
                });
            }
            trimmed
                .parse::<Recipient>()
                .map_err(|reason| CipherError::InvalidRecipient {
                    recipient: text.clone(),
                    reason: reason.to_owned(),
                })
        })
        .collect()
}

fn secret_object(doc: &Value) -> Result<Map<String, Value>, CipherError> {
    let Value::Object(obj) = doc else {
        return Err(CipherError::NotASecret("a non-mapping document".to_owned()));
    };
    let field = |name: &str| obj.get(name).and_then(Value::as_str).unwrap_or("");
    let (api_version, kind) = (field("apiVersion"), field("kind"));
    if api_version != "v1" || kind != "Secret" {
        return Err(CipherError::NotASecret(format!("{api_version:?} {kind:?}")));
    }
    Ok(obj.clone())
}

/// The mapping `field` of the object (absent or null → empty).
fn field_map(obj: &Map<String, Value>, field: &str) -> Result<Map<String, Value>, CipherError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(CipherError::InvalidValue {
            key: field.to_owned(),
            reason: "not a mapping",
        }),
    }
}

/// Stores `data` where `data` (or else `stringData`) was, appending it if
/// neither existed, and drops `stringData`.
fn place_data(obj: &mut Map<String, Value>, data: Map<String, Value>) {
    let mut data = Some(Value::Object(data));
    let mut out = Map::new();
    for (field, value) in std::mem::take(obj) {
        match field.as_str() {
            "data" | "stringData" => {
                if let Some(data) = data.take() {
                    out.insert("data".to_owned(), data);
                }
            }
            _ => {
                out.insert(field, value);
            }
        }
    }
    if let Some(data) = data {
        out.insert("data".to_owned(), data);
    }
    *obj = out;
}

fn value_str<'v>(key: &str, value: &'v Value) -> Result<&'v str, CipherError> {
    value.as_str().ok_or_else(|| CipherError::InvalidValue {
        key: key.to_owned(),
        reason: "value is not a string",
    })
}

fn is_sealed(text: &str) -> bool {
    text.trim_start().starts_with(ARMOR_BEGIN)
}

fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Encrypts every plaintext value of `data` and `stringData` (plus `extra`,
/// which wins over both), keeps existing ciphertexts, writes the sorted
/// result to `data`, drops `stringData` and sets the annotation.
fn seal_all(
    obj: &mut Map<String, Value>,
    recipients: &[Recipient],
    extra: Option<(&str, &[u8])>,
) -> Result<(), CipherError> {
    let data = field_map(obj, "data")?;
    let string_data = field_map(obj, "stringData")?;
    let mut sealed = BTreeMap::new();
    for (key, value) in data {
        let text = value_str(&key, &value)?;
        if is_sealed(text) {
            sealed.insert(key, value);
            continue;
        }
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let plaintext = STANDARD
            .decode(compact)
            .map_err(|_| CipherError::InvalidValue {
                key: key.clone(),
                reason: "data value is not valid base64",
            })?;
        let ciphertext = seal(&key, &plaintext, recipients)?;
        sealed.insert(key, Value::String(ciphertext));
    }
    for (key, value) in &string_data {
        let ciphertext = seal(key, value_str(key, value)?.as_bytes(), recipients)?;
        sealed.insert(key.clone(), Value::String(ciphertext));
    }
    if let Some((key, value)) = extra {
        let ciphertext = seal(key, value, recipients)?;
        sealed.insert(key.to_owned(), Value::String(ciphertext));
    }
    place_data(obj, sealed.into_iter().collect());

    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(meta) = meta else {
        return Err(CipherError::InvalidValue {
            key: "metadata".to_owned(),
            reason: "not a mapping",
        });
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(annotations) = annotations else {
        return Err(CipherError::InvalidValue {
            key: "metadata.annotations".to_owned(),
            reason: "not a mapping",
        });
    };
    annotations.insert(
        ENCRYPTED_ANNOTATION.to_owned(),
        Value::String(ENCRYPTED_VALUE.to_owned()),
    );
    Ok(())
}

/// ASCII-armored age encryption of `plaintext` to all recipients, with `\n`
/// line endings on every platform.
fn seal(key: &str, plaintext: &[u8], recipients: &[Recipient]) -> Result<String, CipherError> {
    let fail = |reason: String| CipherError::Encrypt {
        key: key.to_owned(),
        reason,
    };
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::new();
    let armored = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)
        .map_err(|e| fail(e.to_string()))?;
    let mut writer = encryptor
        .wrap_output(armored)
        .map_err(|e| fail(e.to_string()))?;
    writer
        .write_all(plaintext)
        .map_err(|e| fail(e.to_string()))?;
    writer
        .finish()
        .and_then(|armored| armored.finish())
        .map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(out).map_err(|_| fail("armor is not UTF-8".to_owned()))?;
    Ok(text.replace("\r\n", "\n"))
}

fn open(key: &str, ciphertext: &str, identities: &[Identity]) -> Result<Vec<u8>, CipherError> {
    let fail = |reason: String| CipherError::Decrypt {
        key: key.to_owned(),
        reason,
    };
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(ciphertext.as_bytes()))
        .map_err(|e| fail(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| fail(e.to_string()))?;
    let mut plaintext = Vec::new();
    reader
        .read_to_end(&mut plaintext)
        .map_err(|e| fail(e.to_string()))?;
    Ok(plaintext)
}
