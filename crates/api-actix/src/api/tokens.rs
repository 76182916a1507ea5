use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::accounts::LoginRequest;
use authusers_domain::sessions::{
    Entrance, LegacyKind, RefreshClaim, SignedIn, TokenError, TokenPair, VerifiedToken,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::auth::legacy_claim;
use crate::http::client_address::{client_info, Client};
use crate::http::hashing_place::take_place;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    #[schema(value_type = String, example = "ann@example.com")]
    email: Option<String>,
    #[schema(value_type = String, example = "violet-kettle-93")]
    password: Option<String>,
}

impl RequestBody for CredentialsBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[schema(value_type = String)]
    refresh: Option<String>,
}

impl RequestBody for RefreshBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[schema(value_type = String)]
    token: Option<String>,
}

/// A new session's access and refresh token, as simplejwt answers them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TokenPair)]
pub struct TokenPairBody {
    pub access: String,
    pub refresh: String,
}

impl From<TokenPair> for TokenPairBody {
    fn from(pair: TokenPair) -> Self {
        Self {
            access: pair.access,
            refresh: pair.refresh,
        }
    }
}

/// The empty answer of a successful verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmptyBody {}

impl RequestBody for VerifyBody {}

/// A 401 answer of `/auth/jwt/create/`: a problem, with `mfa_token` and
/// `methods` when the code is `mfa_required` (the right password of an
/// account with a second factor).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:authusers:problem:mfa_required",
    "title": "Second factor required",
    "status": 401,
    "detail": "The password is right; send a code from the authenticator app, or a recovery code, with mfa_token to /auth/jwt/create/mfa/.",
    "code": "mfa_required",
    "mfa_token": "kR2…",
    "methods": ["totp", "recovery_code"]
}))]
pub struct MfaRequiredBody {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    code: String,
    /// `mfa_required` only: single use, for 5 minutes, 5 tries.
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_token: Option<String>,
    /// `mfa_required` only: `["totp", "recovery_code"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    methods: Option<Vec<String>>,
}

/// Log in: credentials for an access (5 min) and a refresh (1 day) token,
/// of a new session. Only approved users get tokens.
#[utoipa::path(post, path = "/auth/jwt/create/", operation_id = "create_tokens", tag = "tokens", request_body = CredentialsBody,
    responses(
        (status = 200, description = "Tokens of a new session", body = TokenPairBody),
        (status = 400, description = "Missing fields", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Wrong e-mail or password (`invalid_credentials`, a `ProblemBody`); or the right password of an account with a second factor (`mfa_required`): the login goes on at `/auth/jwt/create/mfa/` with `mfa_token`", body = MfaRequiredBody, content_type = "application/problem+json"),
        (status = 403, description = "Registration pending (`account_pending`) or rejected (`account_rejected`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this account from this address, or from this address (`too_many_attempts`); the right password is refused too. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
        (status = 503, description = "The password-hashing queue is full (`overloaded`); see `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds after which to try again"))),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    Client(client): Client,
    body: JsonBody<CredentialsBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let email = required.field("email", body.email);
    let password = required.field("password", body.password);
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    let request = LoginRequest {
        email,
        password,
        client,
    };
    let grant = match state
        .sign_in
        .sign_in(request, client_info(&req, client), Entrance::Api)
        .await?
    {
        SignedIn::Session(_, grant) => grant,
        SignedIn::SecondStep(token) => return Err(Problem::mfa_required(token.encode())),
    };
    let pair = state
        .tokens
        .issue_pair(&grant, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(TokenPairBody::from(pair)))
}

/// A refresh token for a new pair: the refresh token rotates (simplejwt's
/// `ROTATE_REFRESH_TOKENS`). A refresh token used a second time ends its
/// whole session, the tokens it was exchanged for included.
#[utoipa::path(post, path = "/auth/jwt/refresh/", operation_id = "refresh_token", tag = "tokens", request_body = RefreshBody,
    responses(
        (status = 200, description = "A new access and refresh token; the one sent is used up", body = TokenPairBody),
        (status = 401, description = "Invalid, expired, used, of an ended session, or not a refresh token (`token_not_valid`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Client(client): Client,
    body: JsonBody<RefreshBody>,
) -> Result<HttpResponse, Problem> {
    let token = refresh_token(body)?;
    let now = state.clock.now();
    let grant = match state.tokens.verify_refresh(&token, now) {
        Ok(claim) => state.sessions.refresh(&claim).await?,
        // The old service's refresh token, once, for a session here.
        Err(TokenError::Invalid) => {
            let legacy = legacy_claim(&state, &token, LegacyKind::Refresh)?;
            state
                .sessions
                .exchange_legacy(legacy.user, &legacy.jti, client_info(&req, client))
                .await?
        }
        Err(_) => return Err(Problem::token_not_valid()),
    };
    let pair = state
        .tokens
        .issue_pair(&grant, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(TokenPairBody::from(pair)))
}

/// The `refresh` field of a body.
fn refresh_token(body: JsonBody<RefreshBody>) -> Result<String, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let refresh = required.field("refresh", body.refresh);
    required.check()?;
    Ok(refresh)
}

/// The claim of the `refresh` field of a body, if it is a valid refresh
/// token.
fn refresh_claim(state: &AppState, body: JsonBody<RefreshBody>) -> Result<RefreshClaim, Problem> {
    state
        .tokens
        .verify_refresh(&refresh_token(body)?, state.clock.now())
        .map_err(|_| Problem::token_not_valid())
}

/// Log out: simplejwt's blacklist. Ends the refresh token's session; its
/// access tokens are refused from then on, not only at expiry. The user's
/// other sessions go on.
#[utoipa::path(post, path = "/auth/jwt/blacklist/", operation_id = "blacklist_token", tag = "tokens", request_body = RefreshBody,
    responses(
        (status = 200, description = "The session has ended", body = EmptyBody),
        (status = 401, description = "Invalid, expired, of an ended session, or not a refresh token (`token_not_valid`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn blacklist(
    state: web::Data<AppState>,
    body: JsonBody<RefreshBody>,
) -> Result<HttpResponse, Problem> {
    let claim = refresh_claim(&state, body)?;
    state.sessions.log_out(&claim).await?;
    Ok(HttpResponse::Ok().json(EmptyBody {}))
}

/// Whether a token (access or refresh) is valid, unexpired, and of an open
/// session (a refresh token: of its live generation).
#[utoipa::path(post, path = "/auth/jwt/verify/", operation_id = "verify_token", tag = "tokens", request_body = VerifyBody,
    responses(
        (status = 200, description = "Valid", body = EmptyBody),
        (status = 401, description = "Invalid, expired, or of an ended session (`token_not_valid`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    body: JsonBody<VerifyBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let token = required.field("token", body.token);
    required.check()?;
    let open = match state.tokens.verify(&token, state.clock.now()) {
        Ok(VerifiedToken::Access(claim)) => {
            state
                .sessions
                .is_valid(&claim.session, claim.user, None)
                .await
        }
        Ok(VerifiedToken::Refresh(claim)) => {
            state
                .sessions
                .is_valid(&claim.session, claim.user, Some(claim.generation))
                .await
        }
        // The old service's tokens, as they would be taken.
        Err(_) => {
            let (kind, claim) = [LegacyKind::Access, LegacyKind::Refresh]
                .into_iter()
                .find_map(|kind| Some((kind, legacy_claim(&state, &token, kind).ok()?)))
                .ok_or_else(Problem::token_not_valid)?;
            let jti = (kind == LegacyKind::Refresh).then_some(claim.jti.as_str());
            state.sessions.is_legacy_valid(claim.user, jti).await
        }
    }
    .map_err(|e| Problem::storage(&e))?;
    if !open {
        return Err(Problem::token_not_valid());
    }
    Ok(HttpResponse::Ok().json(EmptyBody {}))
}
