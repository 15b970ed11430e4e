//! Access tokens (HS256 JWTs) and refresh tokens (opaque random strings, stored hashed).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tandem_domain::{SessionId, TokenHash, UserId};
use uuid::Uuid;

use crate::error::ApiError;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// Issues and verifies access tokens with the one configured algorithm and key.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    const ALGORITHM: Algorithm = Algorithm::HS256;
    /// How far a token's lifetime may exceed the policy, and its `iat` lie in the future:
    /// room for the clocks of nodes that disagree a little, not for a longer lifetime.
    pub const LEEWAY_SECS: i64 = 60;

    pub fn new(secret: &SecretString, ttl: Duration) -> anyhow::Result<Self> {
        let key = secret.expose_secret().as_bytes();
        anyhow::ensure!(
            key.len() >= 32,
            "the signing secret must be at least 32 bytes"
        );
        // Only HS256 is accepted: a token naming `none` or any other algorithm fails to
        // decode. Expiry is checked against the injected clock below, not the wall clock.
        let mut validation = Validation::new(Self::ALGORITHM);
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            ttl,
        })
    }

    /// The lifetime of a token, in seconds, as reported in `expires_in`.
    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    pub fn issue(
        &self,
        user: UserId,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<String> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user.0,
            sid: session.0,
            iat,
            exp: iat + i64::try_from(self.ttl.as_secs())?,
            jti: Uuid::now_v7(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Self::ALGORITHM),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, ApiError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => expired(),
                _ => ApiError::unauthorized("invalid_token", "the access token is not valid"),
            })?
            .claims;
        // A well-signed token may still have been minted against policy (a longer
        // lifetime by an operator's mistake, or by someone holding the key): it is honoured
        // for no longer than the configured lifetime, counted from no later than now.
        let max_lifetime = i64::try_from(self.ttl.as_secs())
            .unwrap_or(i64::MAX)
            .saturating_add(Self::LEEWAY_SECS);
        if claims.exp.saturating_sub(claims.iat) > max_lifetime
            || claims.iat > now.timestamp().saturating_add(Self::LEEWAY_SECS)
        {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "the access token is not valid",
            ));
        }
        if claims.exp <= now.timestamp() {
            return Err(expired());
        }
        Ok(claims)
    }
}

fn expired() -> ApiError {
    ApiError::unauthorized("token_expired", "the access token has expired; refresh it")
}

/// A fresh opaque token (256 random bits, URL-safe) and the hash that is stored: used
/// for refresh tokens and invitation tokens.
pub fn new_token() -> (String, TokenHash) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_token(&token);
    (token, hash)
}

pub fn hash_token(token: &str) -> TokenHash {
    TokenHash(hex::encode(Sha256::digest(token.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        AccessTokens::new(
            &SecretString::from("k".repeat(32)),
            Duration::from_secs(900),
        )
        .unwrap()
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let tokens = tokens();
        let now = Utc::now();
        let (user, session) = (UserId::new(now), SessionId::new(now));
        let jwt = tokens.issue(user, session, now).unwrap();
        let claims = tokens.verify(&jwt, now).unwrap();
        assert_eq!((claims.sub, claims.sid), (user.0, session.0));
        let later = now + chrono::Duration::seconds(900);
        assert!(matches!(
            tokens.verify(&jwt, later),
            Err(ApiError::Client {
                code: "token_expired",
                ..
            })
        ));
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let now = Utc::now();
        let other = AccessTokens::new(
            &SecretString::from("x".repeat(32)),
            Duration::from_secs(900),
        )
        .unwrap();
        let jwt = other
            .issue(UserId::new(now), SessionId::new(now), now)
            .unwrap();
        assert!(matches!(
            tokens().verify(&jwt, now),
            Err(ApiError::Client {
                code: "invalid_token",
                ..
            })
        ));
    }

    /// A token with these claims, signed with the key `tokens()` checks against.
    fn signed(iat: i64, exp: i64) -> String {
        let now = Utc::now();
        let claims = Claims {
            sub: UserId::new(now).0,
            sid: SessionId::new(now).0,
            iat,
            exp,
            jti: Uuid::now_v7(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret("k".repeat(32).as_bytes()),
        )
        .unwrap()
    }

    fn code(result: Result<Claims, ApiError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(ApiError::Client { code, .. }) => code,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_token_living_longer_than_the_policy_is_invalid() {
        let now = Utc::now();
        let iat = now.timestamp();
        let leeway = AccessTokens::LEEWAY_SECS;
        assert_eq!(
            code(tokens().verify(&signed(iat, iat + 900 + leeway), now)),
            "ok"
        );
        let long = signed(iat, iat + 900 + leeway + 1);
        assert_eq!(code(tokens().verify(&long, now)), "invalid_token");
        let forever = signed(i64::MIN, i64::MAX);
        assert_eq!(code(tokens().verify(&forever, now)), "invalid_token");
    }

    #[test]
    fn a_token_issued_in_the_future_is_invalid_beyond_the_leeway() {
        let now = Utc::now();
        let leeway = AccessTokens::LEEWAY_SECS;
        let soon = now.timestamp() + leeway;
        assert_eq!(code(tokens().verify(&signed(soon, soon + 900), now)), "ok");
        let later = soon + 1;
        let result = tokens().verify(&signed(later, later + 900), now);
        assert_eq!(code(result), "invalid_token");
    }

    #[test]
    fn refresh_tokens_are_long_random_and_hashed() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_token(&a), hash_a);
        assert_eq!(hash_a.0.len(), 64);
    }
}
