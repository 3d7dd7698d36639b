//! Access and refresh tokens: HS256 JWTs with the reference's claims (docs/API-COMPATIBILITY.md,
//! deviation 10). The algorithm is pinned server-side and time is checked against the application clock.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::clock::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims of both token types. `identity` is an integer: the Android app reads it as the
/// caller's id. Values stay plain ASCII without `>`, `?`, `~` (the app decodes with plain Base64).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub identity: i64,
    pub sub: String,
    #[serde(rename = "type")]
    pub token_type: TokenType,
    pub fresh: bool,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// Why a token was refused; each maps to one of the contract's 401 messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

pub fn issue(
    key: &[u8],
    user_id: i64,
    token_type: TokenType,
    now: Timestamp,
    ttl_secs: i64,
) -> (String, Claims) {
    let iat = now.floor() as i64;
    let claims = Claims {
        identity: user_id,
        sub: user_id.to_string(),
        token_type,
        fresh: token_type == TokenType::Access,
        iat,
        nbf: iat,
        exp: iat + ttl_secs,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key),
    )
    .expect("HS256 encoding cannot fail");
    (token, claims)
}

/// Checks signature and algorithm, then time, then type, in the reference's order (an expired
/// refresh token where an access token is due says "expired"); `now` is the application clock.
pub fn verify(
    key: &[u8],
    token: &str,
    expected: TokenType,
    now: Timestamp,
) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // Time is checked below against the application clock, which tests can set.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key), &validation)
        .map_err(|_| TokenError::Invalid)?;
    let claims = data.claims;
    let now = now.floor() as i64;
    if now >= claims.exp {
        return Err(TokenError::Expired);
    }
    if now < claims.nbf || claims.token_type != expected {
        return Err(TokenError::Invalid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_verifies_until_it_expires_and_only_as_its_type() {
        let (token, claims) = issue(KEY, 7, TokenType::Access, 1_000.0, 60);
        assert_eq!(claims.identity, 7);
        assert_eq!(
            verify(KEY, &token, TokenType::Access, 1_059.9)
                .unwrap()
                .identity,
            7
        );
        assert_eq!(
            verify(KEY, &token, TokenType::Access, 1_060.0).unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(
            verify(KEY, &token, TokenType::Refresh, 1_001.0).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            verify(KEY, &token, TokenType::Refresh, 1_060.0).unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(
            verify(b"another key", &token, TokenType::Access, 1_001.0).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn the_identity_claim_is_an_integer() {
        let (token, _) = issue(KEY, 42, TokenType::Access, 1_000.0, 60);
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine;
        let json: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(json["identity"], 42);
        assert_eq!(json["type"], "access");
        assert_eq!(json["fresh"], true);
    }
}
