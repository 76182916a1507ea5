//! The bridge that keeps users of the Django service logged in through the
//! switch: its simplejwt tokens (HS256 with `SIMPLE_JWT["SIGNING_KEY"]`,
//! by default Django's `SECRET_KEY`) are verified, never issued, until
//! `LEGACY_SIMPLEJWT_UNTIL`. An access token is believed until its own
//! `exp`; a refresh token is exchanged once for a session here. Whose
//! tokens are believed is the domain's to say (`Sessions::authenticate_legacy`).

use authusers_domain::sessions::{LegacyClaim, LegacyKind, LegacyTokenVerifier, TokenError};
use authusers_domain::UserId;
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

fn kind_name(kind: LegacyKind) -> &'static str {
    match kind {
        LegacyKind::Access => "access",
        LegacyKind::Refresh => "refresh",
    }
}

/// The claims simplejwt writes: `token_type`, `exp`, `iat`, `jti`, and
/// `user_id` as a string (simplejwt 5.5) or a number (before).
#[derive(Debug, Deserialize)]
struct LegacyClaims {
    token_type: String,
    exp: i64,
    jti: String,
    user_id: UserIdClaim,
    #[serde(default)]
    aud: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum UserIdClaim {
    Number(i64),
    Text(String),
}

impl UserIdClaim {
    fn id(&self) -> Option<UserId> {
        let id = match self {
            Self::Number(id) => *id,
            // Plain decimal only: no sign, no padding.
            Self::Text(text) if !text.starts_with(['+', '0']) => text.parse().ok()?,
            Self::Text(_) => return None,
        };
        (id >= 1).then_some(UserId(id))
    }
}

/// Verifies the old service's tokens while the bridge is open.
pub struct LegacyTokens {
    key: DecodingKey,
    validation: Validation,
    until: DateTime<Utc>,
    leeway_seconds: i64,
}

impl LegacyTokens {
    /// `signing_key` is simplejwt's `SIGNING_KEY`; nothing is believed from
    /// `until` on.
    pub fn new(signing_key: &str, until: DateTime<Utc>, leeway: std::time::Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // `exp` is judged against the caller's clock, below; an `aud`,
        // which simplejwt writes only when configured to, is refused there.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            key: DecodingKey::from_secret(signing_key.as_bytes()),
            validation,
            until,
            leeway_seconds: i64::try_from(leeway.as_secs()).unwrap_or(0),
        }
    }
}

impl LegacyTokenVerifier for LegacyTokens {
    fn verify(
        &self,
        token: &str,
        kind: LegacyKind,
        now: DateTime<Utc>,
    ) -> Result<LegacyClaim, TokenError> {
        if now >= self.until {
            return Err(TokenError::Invalid);
        }
        let data = decode::<LegacyClaims>(token, &self.key, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        let foreign_type = data.header.typ.as_deref().is_some_and(|typ| typ != "JWT");
        if foreign_type || data.header.crit.is_some() || claims.aud.is_some() {
            return Err(TokenError::Invalid);
        }
        if claims.exp < now.timestamp().saturating_sub(self.leeway_seconds) {
            return Err(TokenError::Invalid);
        }
        if claims.token_type != kind_name(kind) {
            return Err(TokenError::WrongType);
        }
        let user = claims.user_id.id().ok_or(TokenError::Invalid)?;
        if claims.jti.is_empty() || claims.jti.len() > 255 {
            return Err(TokenError::Invalid);
        }
        Ok(LegacyClaim {
            user,
            jti: claims.jti,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use serde_json::json;

    const KEY: &str = "django-insecure-legacy-signing-key-for-the-import-tests-0123456789";

    fn tokens(until: DateTime<Utc>) -> LegacyTokens {
        LegacyTokens::new(KEY, until, std::time::Duration::ZERO)
    }

    fn signed(claims: serde_json::Value, key: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    }

    fn claims(kind: &str, user_id: serde_json::Value) -> serde_json::Value {
        let now = Utc::now().timestamp();
        json!({"token_type": kind, "exp": now + 300, "iat": now, "jti": "abc123", "user_id": user_id})
    }

    fn open() -> LegacyTokens {
        tokens(Utc::now() + chrono::Duration::days(1))
    }

    #[test]
    fn simplejwts_tokens_of_either_user_id_kind_are_read() {
        for user_id in [json!("3"), json!(3)] {
            let claim = open()
                .verify(
                    &signed(claims("access", user_id), KEY),
                    LegacyKind::Access,
                    Utc::now(),
                )
                .unwrap();
            assert_eq!(
                claim,
                LegacyClaim {
                    user: UserId(3),
                    jti: "abc123".into()
                }
            );
        }
        let refresh = signed(claims("refresh", json!("3")), KEY);
        assert!(open()
            .verify(&refresh, LegacyKind::Refresh, Utc::now())
            .is_ok());
        assert_eq!(
            open().verify(&refresh, LegacyKind::Access, Utc::now()),
            Err(TokenError::WrongType)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let now = Utc::now();
        let mut expired = claims("access", json!("3"));
        expired["exp"] = json!(now.timestamp() - 1);
        let mut with_audience = claims("access", json!("3"));
        with_audience["aud"] = json!("somebody");
        let mut no_exp = claims("access", json!("3"));
        no_exp.as_object_mut().unwrap().remove("exp");
        for (token, what) in [
            (
                signed(claims("access", json!("3")), "another-key"),
                "another key",
            ),
            (signed(expired, KEY), "expired"),
            (signed(with_audience, KEY), "an audience"),
            (signed(no_exp, KEY), "no exp"),
            (signed(claims("access", json!("03")), KEY), "a padded id"),
            (signed(claims("access", json!("-3")), KEY), "a negative id"),
            (signed(claims("access", json!("x")), KEY), "not an id"),
            (signed(claims("access", json!(0)), KEY), "id 0"),
            ("not.a.token".to_owned(), "garbage"),
        ] {
            assert!(
                open().verify(&token, LegacyKind::Access, now).is_err(),
                "{what}"
            );
        }
        let typed = {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = Some("at+jwt".into());
            encode(
                &header,
                &claims("access", json!("3")),
                &EncodingKey::from_secret(KEY.as_bytes()),
            )
            .unwrap()
        };
        assert!(open().verify(&typed, LegacyKind::Access, now).is_err());
        let other_algorithm = encode(
            &Header::new(Algorithm::HS512),
            &claims("access", json!("3")),
            &EncodingKey::from_secret(KEY.as_bytes()),
        )
        .unwrap();
        assert!(open()
            .verify(&other_algorithm, LegacyKind::Access, now)
            .is_err());
    }

    #[test]
    fn nothing_is_believed_once_the_bridge_closes() {
        let token = signed(claims("access", json!("3")), KEY);
        let until = Utc::now();
        assert!(tokens(until)
            .verify(
                &token,
                LegacyKind::Access,
                until - chrono::Duration::seconds(1)
            )
            .is_ok());
        assert!(tokens(until)
            .verify(&token, LegacyKind::Access, until)
            .is_err());
    }
}
