use age::secrecy::ExposeSecret;
use age::x25519::Identity;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use orbdeck::secrets::{
    CipherError, ENCRYPTED_ANNOTATION, decrypt_secret, encrypt_secret, is_encrypted, new_secret,
    parse_identities, set_key,
};
use serde_json::{Value, json};

const PASSWORD: &str = "hunter2-correct-horse-battery";

fn keypair() -> (Identity, String) {
    let identity = Identity::generate();
    let recipient = identity.to_public().to_string();
    (identity, recipient)
}

fn plain_secret() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "team-a", "labels": {"app": "db"}},
        "type": "Opaque",
        "data": {
            "username": STANDARD.encode("admin"),
            "password": STANDARD.encode(PASSWORD),
        }
    })
}

fn data_keys(doc: &Value) -> Vec<String> {
    doc["data"].as_object().unwrap().keys().cloned().collect()
}

#[test]
fn round_trip_with_two_recipients_either_identity_decrypts() {
    let (alice, alice_pub) = keypair();
    let (bob, bob_pub) = keypair();
    let encrypted = encrypt_secret(&plain_secret(), &[alice_pub, bob_pub]).unwrap();
    assert!(is_encrypted(&encrypted));
    assert!(!is_encrypted(&plain_secret()));
    assert_eq!(
        encrypted["metadata"]["annotations"][ENCRYPTED_ANNOTATION],
        json!("age")
    );
    assert_eq!(data_keys(&encrypted), ["password", "username"]);
    for identity in [alice, bob] {
        let decrypted = decrypt_secret(&encrypted, &[identity]).unwrap();
        assert_eq!(decrypted["data"], plain_secret()["data"]);
        assert_eq!(decrypted["metadata"], plain_secret()["metadata"]);
        assert!(!is_encrypted(&decrypted));
    }
}

#[test]
fn serialized_yaml_contains_neither_plaintext_nor_its_base64_and_round_trips() {
    let (identity, recipient) = keypair();
    let encrypted = encrypt_secret(&plain_secret(), &[recipient]).unwrap();
    let yaml = serde_saphyr::to_string(&encrypted).unwrap();
    assert!(!yaml.contains(PASSWORD), "{yaml}");
    assert!(!yaml.contains(&STANDARD.encode(PASSWORD)), "{yaml}");
    assert!(!yaml.contains(&STANDARD.encode("admin")), "{yaml}");
    assert!(
        yaml.contains("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{yaml}"
    );
    assert!(
        yaml.contains("name: db"),
        "metadata stays plaintext: {yaml}"
    );

    let reparsed: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(reparsed, encrypted);
    let decrypted = decrypt_secret(&reparsed, &[identity]).unwrap();
    assert_eq!(
        decrypted["data"]["password"],
        json!(STANDARD.encode(PASSWORD))
    );
}

#[test]
fn string_data_is_folded_into_data() {
    let (identity, recipient) = keypair();
    let mut doc = plain_secret();
    doc["stringData"] = json!({"token": "s3cr3t-token", "username": "root-superuser-xyz"});
    let encrypted = encrypt_secret(&doc, &[recipient]).unwrap();
    assert!(encrypted.get("stringData").is_none());
    assert_eq!(data_keys(&encrypted), ["password", "token", "username"]);
    let yaml = serde_saphyr::to_string(&encrypted).unwrap();
    assert!(!yaml.contains("s3cr3t-token") && !yaml.contains("root-superuser-xyz"));

    let decrypted = decrypt_secret(&encrypted, &[identity]).unwrap();
    assert_eq!(
        decrypted["data"]["token"],
        json!(STANDARD.encode("s3cr3t-token"))
    );
    // stringData wins over data, as on the API server.
    assert_eq!(
        decrypted["data"]["username"],
        json!(STANDARD.encode("root-superuser-xyz"))
    );
    assert!(decrypted.get("stringData").is_none());
}

#[test]
fn wrong_identity_names_the_key_and_not_the_value() {
    let (_, recipient) = keypair();
    let (stranger, _) = keypair();
    let mut doc = plain_secret();
    doc["data"] = json!({"password": STANDARD.encode(PASSWORD)});
    let encrypted = encrypt_secret(&doc, &[recipient]).unwrap();
    let err = decrypt_secret(&encrypted, &[stranger]).unwrap_err();
    assert!(
        matches!(&err, CipherError::Decrypt { key, .. } if key == "password"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("\"password\""), "{message}");
    assert!(!message.contains(PASSWORD));
}

#[test]
fn set_key_keeps_other_ciphertexts_byte_identical() {
    let (identity, recipient) = keypair();
    let recipients = [recipient];
    let encrypted = encrypt_secret(&plain_secret(), &recipients).unwrap();
    let updated = set_key(&encrypted, "api-key", b"new value", &recipients).unwrap();
    assert_eq!(updated["data"]["password"], encrypted["data"]["password"]);
    assert_eq!(updated["data"]["username"], encrypted["data"]["username"]);
    assert_eq!(data_keys(&updated), ["api-key", "password", "username"]);

    let replaced = set_key(&updated, "password", b"rotated", &recipients).unwrap();
    assert_ne!(replaced["data"]["password"], updated["data"]["password"]);
    assert_eq!(replaced["data"]["api-key"], updated["data"]["api-key"]);
    assert_eq!(replaced["data"]["username"], updated["data"]["username"]);

    let decrypted = decrypt_secret(&replaced, &[identity]).unwrap();
    assert_eq!(
        decrypted["data"]["api-key"],
        json!(STANDARD.encode("new value"))
    );
    assert_eq!(
        decrypted["data"]["password"],
        json!(STANDARD.encode("rotated"))
    );
    assert_eq!(
        decrypted["data"]["username"],
        json!(STANDARD.encode("admin"))
    );
}

#[test]
fn new_secret_is_empty_and_annotated() {
    let (identity, recipient) = keypair();
    let doc = new_secret("team-a", "creds");
    assert!(is_encrypted(&doc));
    assert_eq!(doc["metadata"]["name"], json!("creds"));
    assert_eq!(doc["metadata"]["namespace"], json!("team-a"));
    assert_eq!(doc["data"], json!({}));
    let doc = set_key(&doc, "token", &[0, 159, 255], &[recipient]).unwrap();
    let decrypted = decrypt_secret(&doc, &[identity]).unwrap();
    assert_eq!(
        decrypted["data"]["token"],
        json!(STANDARD.encode([0u8, 159, 255]))
    );
    assert_eq!(decrypted["metadata"].get("annotations"), None);
}

#[test]
fn bad_recipients_are_named() {
    let (_, good) = keypair();
    let err = encrypt_secret(&plain_secret(), &[good.clone(), "age1notakey".into()]).unwrap_err();
    assert!(
        matches!(&err, CipherError::InvalidRecipient { recipient, .. } if recipient == "age1notakey"),
        "{err:?}"
    );
    assert!(err.to_string().contains("age1notakey"));

    let err = set_key(&plain_secret(), "k", b"v", &["ssh-ed25519 AAAA".into()]).unwrap_err();
    assert!(err.to_string().contains("ssh-ed25519 AAAA"), "{err}");

    let err = encrypt_secret(&plain_secret(), &[]).unwrap_err();
    assert!(matches!(err, CipherError::NoRecipients), "{err:?}");

    // A secret key pasted as a recipient is rejected without being echoed.
    let secret = Identity::generate().to_string().expose_secret().to_owned();
    let err = encrypt_secret(&plain_secret(), std::slice::from_ref(&secret)).unwrap_err();
    assert!(
        matches!(err, CipherError::InvalidRecipient { .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains(&secret[15..]), "{err}");
}

#[test]
fn identity_files_parse_with_comments() {
    let (alice, alice_pub) = keypair();
    let (bob, _) = keypair();
    let text = format!(
        "# created: 2024-01-01\n# public key: {alice_pub}\n{}\n\n  {}  \n",
        alice.to_string().expose_secret(),
        bob.to_string().expose_secret(),
    );
    let identities = parse_identities(&text).unwrap();
    assert_eq!(identities.len(), 2);
    let encrypted = encrypt_secret(&plain_secret(), &[alice_pub]).unwrap();
    assert!(decrypt_secret(&encrypted, &identities).is_ok());

    let Err(err) = parse_identities("# only a comment\n") else {
        panic!("expected an error")
    };
    assert!(matches!(err, CipherError::NoIdentities), "{err:?}");
    let Err(err) = parse_identities("# c\nAGE-SECRET-KEY-1BOGUSBOGUS\n") else {
        panic!("expected an error")
    };
    assert!(
        matches!(err, CipherError::InvalidIdentity { line: 2, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("BOGUS"));
}

#[test]
fn non_secrets_and_bad_values_are_rejected() {
    let (_, recipient) = keypair();
    let recipients = [recipient];
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
    assert!(matches!(
        encrypt_secret(&cm, &recipients),
        Err(CipherError::NotASecret(_))
    ));
    assert!(matches!(
        decrypt_secret(&plain_secret(), &[]),
        Err(CipherError::NotEncrypted)
    ));
    let mut doc = plain_secret();
    doc["data"]["password"] = json!("not base64!");
    let err = encrypt_secret(&doc, &recipients).unwrap_err();
    assert!(
        matches!(&err, CipherError::InvalidValue { key, .. } if key == "password"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("not base64!"));
    assert!(matches!(
        set_key(&new_secret("n", "s"), "bad/key", b"v", &recipients),
        Err(CipherError::InvalidKey { .. })
    ));
}

#[test]
fn encrypting_twice_keeps_ciphertexts() {
    let (_, recipient) = keypair();
    let recipients = [recipient];
    let once = encrypt_secret(&plain_secret(), &recipients).unwrap();
    let twice = encrypt_secret(&once, &recipients).unwrap();
    assert_eq!(once, twice);
    let keys: Vec<_> = once.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata", "type", "data"]);
}
