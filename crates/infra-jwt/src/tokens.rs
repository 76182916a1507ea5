use std::sync::Arc;
use std::time::Duration;

use authusers_domain::sessions::{
    AccessClaim, Authentication, RefreshClaim, SessionGrant, SessionId, SessionTokens, TokenError,
    TokenPair, VerifiedToken,
};
use authusers_domain::UserId;
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::key_ring::KeyRing;
use crate::signing_keys::SigningAlgorithm;
use crate::verified_tokens::{self, VerifiedTokens};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TokenKind {
    Access,
    Refresh,
    /// The administrator's console cookie: refused wherever an access or a
    /// refresh token is expected, as they are in the cookie's place.
    Console,
}

/// The `typ` header this service writes (jsonwebtoken's default); a token
/// that names another is refused.
const TOKEN_TYP: &str = "JWT";

/// How long a console cookie lasts at most, whatever its session's age:
/// a working day's sign-in.
pub const CONSOLE_TTL: Duration = Duration::from_secs(12 * 3600);

/// The claims simplejwt puts in its tokens (`token_type`, `exp`, `iat`,
/// `jti`, `user_id`), the standard `sub`, the session: `sid` in both
/// kinds, `gen` (the refresh generation) in refresh tokens, and how the
/// user signed in: OpenID Connect's `auth_time` and `amr` (RFC 8176).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    token_type: TokenKind,
    exp: i64,
    iat: i64,
    jti: String,
    sub: String,
    user_id: i64,
    sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gen: Option<u32>,
    /// When the user last proved who they are in the session. Tokens
    /// issued before it was written have none: their `iat` stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    /// `["pwd"]`, or `["pwd", "otp"]` once a second factor was proved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    /// Never written here; honoured when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    /// `JWT_ISSUER`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// `JWT_AUDIENCE`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// What tokens are signed with and what they must say.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub keys: Arc<KeyRing>,
    /// `iss`, written into every token and required of every token.
    pub issuer: Option<String>,
    /// `aud`, likewise.
    pub audience: Option<String>,
    /// Slack for clocks that disagree, on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenSettings {
    /// HS256 with `secret` and the default lifetimes (simplejwt's).
    pub fn with_secret(secret: &str) -> Self {
        Self {
            keys: Arc::new(KeyRing::shared_secret(secret)),
            issuer: None,
            audience: None,
            leeway: Duration::ZERO,
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(86_400),
        }
    }
}

/// Issues tokens with the key ring's signing key and checks them with the
/// key their header names. A token proves who it was issued to and for which
/// session; whether that session is still open is the session store's to
/// say. Time is the caller's `now` (the application's clock), for issuing
/// and checking alike.
#[derive(Clone)]
pub struct TokenService {
    keys: Arc<KeyRing>,
    header: Header,
    /// The checks for each algorithm a key may have; a token's header must
    /// name its key's algorithm, so `alg: none` and any confusion of one
    /// algorithm for another fail.
    validations: [(Algorithm, Validation); SigningAlgorithm::ALL.len()],
    issuer: Option<String>,
    audience: Option<String>,
    /// Tokens whose signature and claims passed, by digest; the clock is
    /// judged on every use.
    verified: Arc<VerifiedTokens<Claims>>,
    /// How far a clock may be ahead: `exp`, `nbf` and `iat` are judged
    /// with this much slack.
    leeway_seconds: u64,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl TokenService {
    pub fn new(settings: &TokenSettings) -> Self {
        let keys = Arc::clone(&settings.keys);
        let mut header = Header::new(keys.algorithm().jwt());
        header.typ = Some(TOKEN_TYP.to_owned());
        header.kid = Some(keys.kid().to_owned());
        let validation = |algorithm: Algorithm| {
            let mut validation = Validation::new(algorithm);
            // `exp` and `nbf` are judged in `decode`, against the caller's
            // clock rather than the system's.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            let mut required = vec!["exp", "sub"];
            if let Some(issuer) = &settings.issuer {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            match &settings.audience {
                Some(audience) => {
                    validation.set_audience(&[audience]);
                    required.push("aud");
                }
                None => validation.validate_aud = false,
            }
            validation.set_required_spec_claims(&required);
            (algorithm, validation)
        };
        Self {
            keys,
            header,
            validations: SigningAlgorithm::ALL.map(|algorithm| validation(algorithm.jwt())),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            verified: Arc::new(VerifiedTokens::new(verified_tokens::CAPACITY)),
            leeway_seconds: settings.leeway.as_secs(),
            access_ttl: settings.access_ttl,
            refresh_ttl: settings.refresh_ttl,
        }
    }

    fn issue(
        &self,
        grant: &SessionGrant,
        kind: TokenKind,
        now: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
            TokenKind::Console => CONSOLE_TTL,
        };
        let ttl_seconds = i64::try_from(ttl.as_secs()).map_err(|_| TokenError::Signing)?;
        let exp = (now.timestamp() + ttl_seconds).min(grant.expires_at.timestamp());
        let claims = Claims {
            token_type: kind,
            exp,
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            sub: grant.user.0.to_string(),
            user_id: grant.user.0,
            sid: grant.session.as_str().to_owned(),
            gen: (kind == TokenKind::Refresh).then_some(grant.generation),
            auth_time: Some(grant.authentication.at.timestamp()),
            amr: methods(grant.authentication),
            nbf: None,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        encode(&self.header, &claims, self.keys.signing_key()).map_err(|_| TokenError::Signing)
    }

    /// A token this service could have issued, valid at `now`: signed by
    /// the key its `kid` names (a token without one: the shared secret, if
    /// one verifies) with that key's algorithm, `iss` and `aud` as
    /// configured (jsonwebtoken; no `aud` when none is), `typ` absent or
    /// `JWT`; `exp` not past and `nbf` and `iat` not in the future,
    /// each with the leeway; no `crit` header (no extension is understood
    /// here, so none may be required, RFC 7515 4.1.11); and `sub` equal to
    /// `user_id`.
    fn decode(&self, token: &str, now: DateTime<Utc>) -> Result<Arc<Claims>, TokenError> {
        let claims = self
            .verified
            .get_or_check(token, || self.check_signed(token))?;
        let leeway = i64::try_from(self.leeway_seconds).map_err(|_| TokenError::Invalid)?;
        let now = now.timestamp();
        let expired = claims.exp < now.saturating_sub(leeway);
        let not_yet = |at: i64| at > now.saturating_add(leeway);
        if expired || claims.nbf.is_some_and(not_yet) || not_yet(claims.iat) {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    /// Everything about a token but the clock.
    fn check_signed(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        let verifier = self
            .keys
            .verifier(header.kid.as_deref())
            .ok_or(TokenError::Invalid)?;
        let validation = self
            .validations
            .iter()
            .find(|(algorithm, _)| *algorithm == verifier.algorithm)
            .map(|(_, validation)| validation)
            .ok_or(TokenError::Invalid)?;
        let data =
            decode::<Claims>(token, &verifier.key, validation).map_err(|_| TokenError::Invalid)?;
        if data.header.crit.is_some() || data.claims.sub != data.claims.user_id.to_string() {
            return Err(TokenError::Invalid);
        }
        // A token for an audience this service was not told of is meant
        // for another service; a `typ` other than ours is another kind of
        // token (RFC 8725 3.11).
        let foreign_audience = self.audience.is_none() && data.claims.aud.is_some();
        let foreign_type = data
            .header
            .typ
            .as_deref()
            .is_some_and(|typ| typ != TOKEN_TYP);
        if foreign_audience || foreign_type {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

impl SessionTokens for TokenService {
    fn issue_pair(
        &self,
        grant: &SessionGrant,
        now: DateTime<Utc>,
    ) -> Result<TokenPair, TokenError> {
        Ok(TokenPair {
            access: self.issue(grant, TokenKind::Access, now)?,
            refresh: self.issue(grant, TokenKind::Refresh, now)?,
        })
    }

    fn issue_access(&self, grant: &SessionGrant, now: DateTime<Utc>) -> Result<String, TokenError> {
        self.issue(grant, TokenKind::Access, now)
    }

    fn issue_console(
        &self,
        grant: &SessionGrant,
        now: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        self.issue(grant, TokenKind::Console, now)
    }

    /// simplejwt's `verify`.
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError> {
        let claims = self.decode(token, now)?;
        let session = SessionId::parse(&claims.sid).ok_or(TokenError::Invalid)?;
        let user = UserId(claims.user_id);
        match (claims.token_type, claims.gen) {
            (TokenKind::Access, None) => Ok(VerifiedToken::Access(AccessClaim {
                session,
                user,
                authentication: authentication(&claims)?,
            })),
            (TokenKind::Refresh, Some(generation)) => Ok(VerifiedToken::Refresh(RefreshClaim {
                session,
                user,
                generation,
            })),
            _ => Err(TokenError::Invalid),
        }
    }

    fn verify_console(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaim, TokenError> {
        let claims = self.decode(token, now)?;
        if claims.token_type != TokenKind::Console || claims.gen.is_some() {
            return Err(TokenError::WrongType);
        }
        let session = SessionId::parse(&claims.sid).ok_or(TokenError::Invalid)?;
        Ok(AccessClaim {
            session,
            user: UserId(claims.user_id),
            authentication: authentication(&claims)?,
        })
    }
}

/// RFC 8176's methods for how a session's user signed in.
fn methods(authentication: Authentication) -> Vec<String> {
    let mut methods = vec!["pwd".to_owned()];
    if authentication.second_factor {
        methods.push("otp".to_owned());
    }
    methods
}

/// How a token's user signed in, from `auth_time` (else `iat`) and `amr`.
fn authentication(claims: &Claims) -> Result<Authentication, TokenError> {
    let at = claims.auth_time.unwrap_or(claims.iat);
    Ok(Authentication {
        at: DateTime::from_timestamp(at, 0).ok_or(TokenError::Invalid)?,
        second_factor: claims.amr.iter().any(|method| method == "otp"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::EncodingKey;

    fn settings(secret: &str) -> TokenSettings {
        TokenSettings::with_secret(secret)
    }

    fn service(secret: &str) -> TokenService {
        TokenService::new(&settings(secret))
    }

    fn grant(expires_in_seconds: i64) -> SessionGrant {
        SessionGrant {
            session: SessionId::from_bytes([7; 16]),
            user: UserId(7),
            generation: 3,
            expires_at: Utc::now() + chrono::Duration::seconds(expires_in_seconds),
            authentication: Authentication::password_at(Utc::now()),
        }
    }

    /// The claims of a token, unchecked.
    fn payload(token: &str) -> serde_json::Value {
        use base64::Engine;
        let part = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn tokens_say_how_and_when_their_user_signed_in() {
        let tokens = service("secret");
        let signed_in = DateTime::from_timestamp(Utc::now().timestamp() - 100, 0).unwrap();
        let password_only = SessionGrant {
            authentication: Authentication::password_at(signed_in),
            ..grant(3600)
        };
        let pair = tokens.issue_pair(&password_only, Utc::now()).unwrap();
        for token in [&pair.access, &pair.refresh] {
            let claims = payload(token);
            assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
            assert_eq!(claims["auth_time"], signed_in.timestamp());
        }
        let access = tokens.verify_access(&pair.access, Utc::now()).unwrap();
        assert_eq!(access.authentication, password_only.authentication);

        let both = SessionGrant {
            authentication: Authentication {
                at: signed_in,
                second_factor: true,
            },
            ..grant(3600)
        };
        let pair = tokens.issue_pair(&both, Utc::now()).unwrap();
        assert_eq!(
            payload(&pair.access)["amr"],
            serde_json::json!(["pwd", "otp"])
        );
        let access = tokens.verify_access(&pair.access, Utc::now()).unwrap();
        assert_eq!(access.authentication, both.authentication);

        // A token from before these claims: signed in when issued, with
        // the password alone.
        let now = Utc::now().timestamp();
        let old = tokens
            .verify_access(&signed(claims(now)), Utc::now())
            .unwrap();
        assert_eq!(old.authentication.at.timestamp(), now);
        assert!(!old.authentication.second_factor);
    }

    #[test]
    fn tokens_name_their_session_and_the_refresh_its_generation() {
        let tokens = service("secret");
        let pair = tokens.issue_pair(&grant(3600), Utc::now()).unwrap();
        let access = tokens.verify_access(&pair.access, Utc::now()).unwrap();
        assert_eq!(
            (access.user, access.session),
            (UserId(7), SessionId::from_bytes([7; 16]))
        );
        let refresh = tokens.verify_refresh(&pair.refresh, Utc::now()).unwrap();
        assert_eq!((refresh.user, refresh.generation), (UserId(7), 3));
    }

    #[test]
    fn a_refresh_token_is_not_an_access_token_nor_the_reverse() {
        let tokens = service("secret");
        let pair = tokens.issue_pair(&grant(3600), Utc::now()).unwrap();
        assert_eq!(
            tokens.verify_access(&pair.refresh, Utc::now()),
            Err(TokenError::WrongType)
        );
        assert_eq!(
            tokens.verify_refresh(&pair.access, Utc::now()),
            Err(TokenError::WrongType)
        );
        assert!(matches!(
            tokens.verify(&pair.refresh, Utc::now()),
            Ok(VerifiedToken::Refresh(_))
        ));
    }

    #[test]
    fn a_console_cookie_is_no_bearer_token_and_no_bearer_token_a_cookie() {
        let tokens = service("secret");
        let cookie = tokens.issue_console(&grant(3600), Utc::now()).unwrap();
        let claim = tokens.verify_console(&cookie, Utc::now()).unwrap();
        assert_eq!(claim.session, SessionId::from_bytes([7; 16]));
        assert!(tokens.verify(&cookie, Utc::now()).is_err());
        assert!(tokens.verify_access(&cookie, Utc::now()).is_err());
        let pair = tokens.issue_pair(&grant(3600), Utc::now()).unwrap();
        for token in [&pair.access, &pair.refresh] {
            assert_eq!(
                tokens.verify_console(token, Utc::now()),
                Err(TokenError::WrongType)
            );
        }
    }

    #[test]
    fn no_token_outlives_its_session() {
        let tokens = service("secret");
        let ending = grant(60);
        let pair = tokens.issue_pair(&ending, Utc::now()).unwrap();
        let exp = |token: &str| {
            jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
                .unwrap()
                .claims
                .exp
        };
        assert_eq!(exp(&pair.access), ending.expires_at.timestamp());
        assert_eq!(exp(&pair.refresh), ending.expires_at.timestamp());
    }

    #[test]
    fn an_expired_token_is_invalid() {
        let tokens = service("secret");
        let long_ago = Utc::now() - chrono::Duration::seconds(301);
        let token = tokens
            .issue(&grant(3600), TokenKind::Access, long_ago)
            .unwrap();
        assert_eq!(
            tokens.verify_access(&token, Utc::now()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn another_secret_is_invalid() {
        let token = service("one")
            .issue(&grant(3600), TokenKind::Access, Utc::now())
            .unwrap();
        assert_eq!(
            service("two").verify_access(&token, Utc::now()),
            Err(TokenError::Invalid)
        );
    }

    /// A token signed with "secret", from `claims` as JSON.
    fn signed(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap()
    }

    fn claims(now: i64) -> serde_json::Value {
        serde_json::json!({
            "token_type": "access", "exp": now + 300, "iat": now, "jti": "j",
            "sub": "7", "user_id": 7, "sid": "07".repeat(16),
        })
    }

    #[test]
    fn a_token_without_a_session_or_with_a_mixed_shape_is_invalid() {
        let tokens = service("secret");
        let now = Utc::now().timestamp();
        assert!(tokens
            .verify_access(&signed(claims(now)), Utc::now())
            .is_ok());
        let mut no_session = claims(now);
        no_session.as_object_mut().unwrap().remove("sid");
        let mut bad_session = claims(now);
        bad_session["sid"] = "../../x".into();
        let mut access_with_generation = claims(now);
        access_with_generation["gen"] = 1.into();
        let mut refresh_without_generation = claims(now);
        refresh_without_generation["token_type"] = "refresh".into();
        for token in [
            no_session,
            bad_session,
            access_with_generation,
            refresh_without_generation,
        ] {
            assert_eq!(
                tokens.verify(&signed(token), Utc::now()),
                Err(TokenError::Invalid)
            );
        }
    }

    #[test]
    fn the_leeway_forgives_a_clock_a_little_ahead_and_no_more() {
        let ahead = |seconds: i64| {
            let now = Utc::now().timestamp();
            let mut claims = claims(now);
            claims["iat"] = (now + seconds).into();
            signed(claims)
        };
        let strict = service("secret");
        assert!(strict.verify_access(&ahead(0), Utc::now()).is_ok());
        assert_eq!(
            strict.verify_access(&ahead(5), Utc::now()),
            Err(TokenError::Invalid)
        );
        let lenient = TokenService::new(&TokenSettings {
            leeway: Duration::from_secs(60),
            ..settings("secret")
        });
        assert!(lenient.verify_access(&ahead(30), Utc::now()).is_ok());
        assert_eq!(
            lenient.verify_access(&ahead(90), Utc::now()),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn time_is_the_callers_clock_to_the_second() {
        let issued = Utc::now();
        let at = |seconds: i64| issued + chrono::Duration::seconds(seconds);
        let strict = service("secret");
        let token = strict
            .issue(&grant(3600), TokenKind::Access, issued)
            .unwrap();
        assert!(strict.verify_access(&token, at(300)).is_ok());
        assert_eq!(
            strict.verify_access(&token, at(301)),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            strict.verify_access(&token, at(-1)),
            Err(TokenError::Invalid),
            "issued in the caller's future"
        );
        let lenient = TokenService::new(&TokenSettings {
            leeway: Duration::from_secs(60),
            ..settings("secret")
        });
        assert!(lenient.verify_access(&token, at(360)).is_ok());
        assert_eq!(
            lenient.verify_access(&token, at(361)),
            Err(TokenError::Invalid)
        );

        let mut not_before = claims(issued.timestamp());
        not_before["nbf"] = (issued.timestamp() + 60).into();
        let not_before = signed(not_before);
        assert_eq!(
            strict.verify_access(&not_before, at(59)),
            Err(TokenError::Invalid)
        );
        assert!(strict.verify_access(&not_before, at(60)).is_ok());
    }

    /// As PyJWT and simplejwt refuse them: an audience the service did not
    /// ask for, and a `typ` other than the one it writes.
    #[test]
    fn an_audience_not_asked_for_or_another_typ_is_invalid() {
        let tokens = service("secret");
        let now = Utc::now().timestamp();
        let mut with_audience = claims(now);
        with_audience["aud"] = "another-service".into();
        assert_eq!(
            tokens.verify_access(&signed(with_audience), Utc::now()),
            Err(TokenError::Invalid)
        );
        let typed = |typ: Option<&str>| {
            let mut header = Header::new(Algorithm::HS256);
            header.typ = typ.map(str::to_owned);
            encode(&header, &claims(now), &EncodingKey::from_secret(b"secret")).unwrap()
        };
        assert!(tokens
            .verify_access(&typed(Some("JWT")), Utc::now())
            .is_ok());
        assert!(tokens.verify_access(&typed(None), Utc::now()).is_ok());
        for other in ["at+jwt", "jwt", "JOSE", ""] {
            assert_eq!(
                tokens.verify_access(&typed(Some(other)), Utc::now()),
                Err(TokenError::Invalid),
                "{other}"
            );
        }
        // With an audience configured, a token for it passes.
        let audience = TokenService::new(&TokenSettings {
            audience: Some("this-service".into()),
            ..settings("secret")
        });
        let mut for_us = claims(now);
        for_us["aud"] = "this-service".into();
        assert!(audience.verify_access(&signed(for_us), Utc::now()).is_ok());
    }

    #[test]
    fn an_unsigned_token_is_invalid() {
        let tokens = service("secret");
        let signed = tokens
            .issue(&grant(3600), TokenKind::Access, Utc::now())
            .unwrap();
        let payload = signed.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert_eq!(
            tokens.verify_access(&unsigned, Utc::now()),
            Err(TokenError::Invalid)
        );
    }
}
