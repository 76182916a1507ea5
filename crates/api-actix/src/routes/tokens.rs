use actix_web::{web, HttpResponse};
use authusers_domain::accounts::LoginRequest;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{TokenKind, TokenPair};
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::{Problem, ProblemBody};
use crate::required::Required;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    #[schema(value_type = String, example = "ann@example.com")]
    email: Option<String>,
    #[schema(value_type = String, example = "violet-kettle-93")]
    password: Option<String>,
}

impl RequestBody for CredentialsBody {
    const FIELDS: &'static [&'static str] = &["email", "password"];
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[schema(value_type = String)]
    refresh: Option<String>,
}

impl RequestBody for RefreshBody {
    const FIELDS: &'static [&'static str] = &["refresh"];
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[schema(value_type = String)]
    token: Option<String>,
}

/// A new access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessBody {
    access: String,
}

/// The empty answer of a successful verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmptyBody {}

impl RequestBody for VerifyBody {
    const FIELDS: &'static [&'static str] = &["token"];
}

/// Log in: credentials for an access (5 min) and a refresh (1 day) token.
/// Only approved users get tokens.
#[utoipa::path(post, path = "/auth/jwt/create/", operation_id = "create_tokens", tag = "tokens", request_body = CredentialsBody,
    responses(
        (status = 200, description = "Tokens", body = TokenPair),
        (status = 400, description = "Missing fields", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "Wrong e-mail or password (`invalid_credentials`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Registration pending (`account_pending`) or rejected (`account_rejected`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn create(
    state: web::Data<AppState>,
    body: JsonBody<CredentialsBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let email = required.field("email", body.email);
    let password = required.field("password", body.password);
    required.check()?;
    let user = state
        .accounts
        .log_in(LoginRequest { email, password })
        .await?;
    let pair = state
        .tokens
        .issue_pair(user.id, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(pair))
}

/// A refresh token for a new access token, as long as its user still
/// exists and is approved.
#[utoipa::path(post, path = "/auth/jwt/refresh/", operation_id = "refresh_token", tag = "tokens", request_body = RefreshBody,
    responses(
        (status = 200, description = "A new access token", body = AccessBody),
        (status = 401, description = "Invalid, expired or not a refresh token (`token_not_valid`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let refresh = required.field("refresh", body.refresh);
    required.check()?;
    let id = state
        .tokens
        .verify(&refresh, TokenKind::Refresh)
        .map_err(|_| Problem::token_not_valid())?;
    let user = state.accounts.profile(id).await.map_err(Problem::from)?;
    if !user.is_approved() {
        return Err(Problem::token_not_valid());
    }
    let access = state
        .tokens
        .issue(user.id, TokenKind::Access, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(AccessBody { access }))
}

/// Whether a token (access or refresh) is valid and unexpired.
#[utoipa::path(post, path = "/auth/jwt/verify/", operation_id = "verify_token", tag = "tokens", request_body = VerifyBody,
    responses(
        (status = 200, description = "Valid", body = EmptyBody),
        (status = 401, description = "Invalid or expired (`token_not_valid`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    state: web::Data<AppState>,
    body: JsonBody<VerifyBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let token = required.field("token", body.token);
    required.check()?;
    state
        .tokens
        .verify_any(&token)
        .map_err(|_| Problem::token_not_valid())?;
    Ok(HttpResponse::Ok().json(EmptyBody {}))
}
