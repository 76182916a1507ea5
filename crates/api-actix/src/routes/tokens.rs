use actix_web::{web, HttpResponse};
use authusers_domain::accounts::LoginRequest;
use serde::Deserialize;
use serde_json::json;

use crate::auth::TokenKind;
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::Problem;
use crate::required::Required;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct CredentialsBody {
    email: Option<String>,
    password: Option<String>,
}

impl RequestBody for CredentialsBody {
    const FIELDS: &'static [&'static str] = &["email", "password"];
}

#[derive(Debug, Deserialize)]
pub struct RefreshBody {
    refresh: Option<String>,
}

impl RequestBody for RefreshBody {
    const FIELDS: &'static [&'static str] = &["refresh"];
}

#[derive(Debug, Deserialize)]
pub struct VerifyBody {
    token: Option<String>,
}

impl RequestBody for VerifyBody {
    const FIELDS: &'static [&'static str] = &["token"];
}

/// `POST /auth/jwt/create/`: credentials for an access and a refresh token.
pub async fn create(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<CredentialsBody>,
) -> Result<HttpResponse, Problem> {
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

/// `POST /auth/jwt/refresh/`: a refresh token for a new access token, as
/// long as its user still exists and is approved.
pub async fn refresh(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<HttpResponse, Problem> {
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
    Ok(HttpResponse::Ok().json(json!({ "access": access })))
}

/// `POST /auth/jwt/verify/`: 200 `{}` for a valid token of either kind.
pub async fn verify(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<HttpResponse, Problem> {
    let mut required = Required::new();
    let token = required.field("token", body.token);
    required.check()?;
    state
        .tokens
        .verify_any(&token)
        .map_err(|_| Problem::token_not_valid())?;
    Ok(HttpResponse::Ok().json(json!({})))
}
