//! ServiceAccount tokens as the TokenRequest API issues them: JWTs with issuer, audiences,
//! expiry and the ServiceAccount's name and uid, signed with the cluster's key (HS256 here;
//! a real cluster signs RS256, which no client checks).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::hmac;
use serde_json::{Value, json};

/// The issuer, and the audience the API server accepts tokens for.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// What a token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Namespace of the ServiceAccount.
    pub namespace: String,
    /// Name of the ServiceAccount.
    pub name: String,
    /// uid of the ServiceAccount when the token was issued.
    pub uid: String,
    /// Audiences.
    pub audiences: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub expires: i64,
}

/// Signs claims into a token.
pub fn issue(key: &[u8], claims: &Claims, now: i64) -> String {
    let header = json!({"alg": "HS256", "kid": "sim", "typ": "JWT"});
    let body = json!({
        "aud": claims.audiences,
        "exp": claims.expires,
        "iat": now,
        "nbf": now,
        "iss": ISSUER,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": format!("system:serviceaccount:{}:{}", claims.namespace, claims.name),
        "kubernetes.io": {"namespace": claims.namespace,
            "serviceaccount": {"name": claims.name, "uid": claims.uid}},
    });
    let signed = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(body.to_string())
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), signed.as_bytes());
    format!("{signed}.{}", B64.encode(tag.as_ref()))
}

/// Why a token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this cluster signed.
    #[error("invalid bearer token")]
    Invalid,
    /// Past its expiry.
    #[error("token has expired")]
    Expired,
    /// Issued for other audiences.
    #[error("token audiences {0:?} is invalid for the target audiences [\"{ISSUER}\"]")]
    Audience(Vec<String>),
}

/// Checks a token's signature, expiry and audience and returns its claims.
pub fn verify(key: &[u8], token: &str, now: i64, audience: &str) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    let sig = B64.decode(sig).map_err(|_| TokenError::Invalid)?;
    let signed = format!("{header}.{body}");
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        signed.as_bytes(),
        &sig,
    )
    .map_err(|_| TokenError::Invalid)?;
    let body: Value = B64
        .decode(body)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Invalid)?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let sa = &body["kubernetes.io"]["serviceaccount"];
    let claims = Claims {
        namespace: text(&body["kubernetes.io"]["namespace"]),
        name: text(&sa["name"]),
        uid: text(&sa["uid"]),
        audiences: body["aud"]
            .as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default(),
        expires: body["exp"].as_i64().unwrap_or(0),
    };
    if claims.expires <= now {
        return Err(TokenError::Expired);
    }
    if !claims.audiences.iter().any(|a| a == audience) {
        return Err(TokenError::Audience(claims.audiences));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_until_it_expires_and_only_for_its_audience() {
        let claims = Claims {
            namespace: "ns".into(),
            name: "robot".into(),
            uid: "u1".into(),
            audiences: vec![ISSUER.into()],
            expires: 1_000,
        };
        let token = issue(b"key", &claims, 100);
        assert_eq!(verify(b"key", &token, 500, ISSUER), Ok(claims));
        assert_eq!(
            verify(b"key", &token, 1_000, ISSUER),
            Err(TokenError::Expired)
        );
        assert_eq!(
            verify(b"other", &token, 500, ISSUER),
            Err(TokenError::Invalid)
        );
        assert!(matches!(
            verify(b"key", &token, 500, "vault"),
            Err(TokenError::Audience(_))
        ));
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 3, 'x');
        assert_eq!(
            verify(b"key", &tampered, 500, ISSUER),
            Err(TokenError::Invalid)
        );
    }
}
