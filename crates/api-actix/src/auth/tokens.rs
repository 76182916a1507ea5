use std::time::Duration;

use authusers_domain::UserId;
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::JwtSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// The claims simplejwt puts in its tokens (`token_type`, `exp`, `iat`,
/// `jti`, `user_id`), plus the standard `sub`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    token_type: TokenKind,
    exp: i64,
    iat: i64,
    jti: String,
    sub: String,
    user_id: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid or expired")]
    Invalid,
    #[error("token has the wrong type")]
    WrongType,
    #[error("token could not be signed")]
    Signing,
}

/// Issues and checks HS256 tokens with one secret.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// How far a clock may be ahead: `exp`, `nbf` and `iat` are judged
    /// with this much slack.
    leeway_seconds: u64,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl TokenService {
    pub fn new(settings: &JwtSettings) -> Self {
        let secret = settings.secret.expose().as_bytes();
        // Only HS256 is accepted: `alg: none` and any other algorithm fail.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = settings.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            leeway_seconds: settings.leeway.as_secs(),
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
        }
    }

    pub fn issue_pair(&self, user: UserId, now: DateTime<Utc>) -> Result<TokenPair, TokenError> {
        Ok(TokenPair {
            access: self.issue(user, TokenKind::Access, now)?,
            refresh: self.issue(user, TokenKind::Refresh, now)?,
        })
    }

    pub fn issue(
        &self,
        user: UserId,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let ttl_seconds = i64::try_from(ttl.as_secs()).map_err(|_| TokenError::Signing)?;
        let claims = Claims {
            token_type: kind,
            exp: now.timestamp() + ttl_seconds,
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            sub: user.0.to_string(),
            user_id: user.0,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Signing)
    }

    /// The user a valid, unexpired token of `expected` kind was issued to.
    pub fn verify(&self, token: &str, expected: TokenKind) -> Result<UserId, TokenError> {
        let claims = self.decode(token)?;
        if claims.token_type != expected {
            return Err(TokenError::WrongType);
        }
        Ok(UserId(claims.user_id))
    }

    /// Whether the token is valid and unexpired, of either kind (simplejwt's
    /// `verify` endpoint).
    pub fn verify_any(&self, token: &str) -> Result<(), TokenError> {
        self.decode(token).map(|_| ())
    }

    /// A token this service could have issued: signature, `exp` and `nbf`
    /// (jsonwebtoken), no `crit` header (no extension is understood here,
    /// so none may be required, RFC 7515 4.1.11), an `iat` that is not in
    /// the future, and `sub` equal to `user_id`.
    fn decode(&self, token: &str) -> Result<Claims, TokenError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.header.crit.is_some() {
            return Err(TokenError::Invalid);
        }
        let claims = data.claims;
        let now = jsonwebtoken::get_current_timestamp();
        let issued_in_the_future = u64::try_from(claims.iat)
            .is_ok_and(|iat| iat > now.saturating_add(self.leeway_seconds));
        if issued_in_the_future || claims.sub != claims.user_id.to_string() {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings {
            secret: Secret::new(secret.into()),
            secret_is_ephemeral: false,
            leeway: Duration::ZERO,
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(86_400),
        }
    }

    fn service(secret: &str) -> TokenService {
        TokenService::new(&settings(secret))
    }

    #[test]
    fn a_fresh_access_token_names_its_user() {
        let tokens = service("secret");
        let pair = tokens.issue_pair(UserId(7), Utc::now()).unwrap();
        assert_eq!(
            tokens.verify(&pair.access, TokenKind::Access),
            Ok(UserId(7))
        );
        assert_eq!(
            tokens.verify(&pair.refresh, TokenKind::Refresh),
            Ok(UserId(7))
        );
    }

    #[test]
    fn a_refresh_token_is_not_an_access_token() {
        let tokens = service("secret");
        let pair = tokens.issue_pair(UserId(7), Utc::now()).unwrap();
        assert_eq!(
            tokens.verify(&pair.refresh, TokenKind::Access),
            Err(TokenError::WrongType)
        );
        assert_eq!(tokens.verify_any(&pair.refresh), Ok(()));
    }

    #[test]
    fn an_expired_token_is_invalid() {
        let tokens = service("secret");
        let long_ago = Utc::now() - chrono::Duration::seconds(301);
        let token = tokens
            .issue(UserId(7), TokenKind::Access, long_ago)
            .unwrap();
        assert_eq!(
            tokens.verify(&token, TokenKind::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn another_secret_is_invalid() {
        let token = service("one")
            .issue(UserId(7), TokenKind::Access, Utc::now())
            .unwrap();
        assert_eq!(
            service("two").verify(&token, TokenKind::Access),
            Err(TokenError::Invalid)
        );
    }

    /// A token signed with "secret" whose `iat` is `ahead` seconds from now.
    fn issued_ahead(ahead: i64) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            token_type: TokenKind::Access,
            exp: now + 300,
            iat: now + ahead,
            jti: "j".into(),
            sub: "7".into(),
            user_id: 7,
        };
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    }

    #[test]
    fn the_leeway_forgives_a_clock_a_little_ahead_and_no_more() {
        let strict = service("secret");
        assert_eq!(strict.verify_any(&issued_ahead(0)), Ok(()));
        assert_eq!(
            strict.verify_any(&issued_ahead(5)),
            Err(TokenError::Invalid)
        );
        let lenient = TokenService::new(&JwtSettings {
            leeway: Duration::from_secs(60),
            ..settings("secret")
        });
        assert_eq!(lenient.verify_any(&issued_ahead(30)), Ok(()));
        assert_eq!(
            lenient.verify_any(&issued_ahead(90)),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn an_unsigned_token_is_invalid() {
        let tokens = service("secret");
        let signed = tokens
            .issue(UserId(7), TokenKind::Access, Utc::now())
            .unwrap();
        let payload = signed.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(
            tokens.verify(&unsigned, TokenKind::Access),
            Err(TokenError::Invalid)
        );
    }
}
