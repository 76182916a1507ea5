//! The second factor at sign-in: the second step of a login
//! (`/auth/jwt/create/mfa/`), and step-up, before money leaves and at
//! `/auth/jwt/step-up/`.

use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::balance::BalanceOperation;
use authusers_domain::mfa::{MfaToken, RecoveryCode, TotpCode};
use authusers_domain::sessions::{Entrance, SecondFactorProof, SecondStepError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::mfa::{code_of, field_problem, refused, CodeBody};
use crate::api::tokens::TokenPairBody;
use crate::http::auth::SessionUser;
use crate::http::client_address::{client_info, Client};
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondStepBody {
    /// From the 401 `mfa_required` answer of `/auth/jwt/create/`.
    #[schema(value_type = String)]
    mfa_token: Option<String>,
    /// Six digits from the authenticator app; or, instead, `recovery_code`.
    #[schema(example = "492039")]
    code: Option<String>,
    /// One of the recovery codes, as `7kq2m-x9d4a`.
    recovery_code: Option<String>,
}

impl RequestBody for SecondStepBody {}

/// The second step of a login: the `mfa_token` of `/auth/jwt/create/`'s
/// 401 `mfa_required` answer, with a code or a recovery code, for the
/// token pair of a session that proved both factors.
#[utoipa::path(post, path = "/auth/jwt/create/mfa/", operation_id = "create_tokens_second_step", tag = "tokens",
    request_body = SecondStepBody,
    responses(
        (status = 200, description = "Tokens of a new session (`amr` `[\"pwd\", \"otp\"]`)", body = TokenPairBody),
        (status = 400, description = "Neither or both of `code` and `recovery_code`, one malformed, or wrong or used (`invalid_code`): the try counts", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "`mfa_token` unknown, expired (5 minutes), used, or out of its 5 tries (`token_not_valid`): log in again", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this account: 10 in 15 minutes (`too_many_attempts`). See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn second_step(
    state: web::Data<AppState>,
    req: HttpRequest,
    Client(client): Client,
    body: JsonBody<SecondStepBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let token = required.field("mfa_token", body.mfa_token);
    required.check()?;
    let token = MfaToken::parse(&token).ok_or_else(mfa_token_not_valid)?;
    let (proof, field) = proof(body.code, body.recovery_code)?;
    let (_, grant) = state
        .sign_in
        .complete(
            &token,
            proof,
            client,
            client_info(&req, client),
            Entrance::Api,
        )
        .await
        .map_err(|error| match error {
            SecondStepError::TokenNotValid => mfa_token_not_valid(),
            SecondStepError::Check(error) => refused(error, field),
            SecondStepError::NotAdministrator => Problem::permission_denied(),
            SecondStepError::Session(e) => Problem::storage(&e),
        })?;
    let pair = state
        .tokens
        .issue_pair(&grant, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(TokenPairBody::from(pair)))
}

/// 401 `token_not_valid`, about the `mfa_token`.
fn mfa_token_not_valid() -> Problem {
    Problem::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        "token_not_valid",
        "Invalid token",
        "The mfa_token is not valid: it expired, was used, or had too many tries. Log in again.",
    )
}

/// Exactly one of `code` and `recovery_code`, parsed; and the field it came
/// in.
fn proof(
    code: Option<String>,
    recovery_code: Option<String>,
) -> Result<(SecondFactorProof, &'static str), Problem> {
    match (code, recovery_code) {
        (Some(code), None) => TotpCode::parse(&code)
            .map(|code| (SecondFactorProof::Code(code), "code"))
            .map_err(|e| field_problem("validation_failed", "code", &e.to_string())),
        (None, Some(code)) => RecoveryCode::parse(&code)
            .map(|code| (SecondFactorProof::RecoveryCode(code), "recovery_code"))
            .ok_or_else(|| {
                field_problem(
                    "validation_failed",
                    "recovery_code",
                    "A recovery code is ten letters and digits, as 7kq2m-x9d4a.",
                )
            }),
        (None, None) => Err(field_problem(
            "validation_failed",
            "code",
            "This field is required, or recovery_code instead.",
        )),
        (Some(_), Some(_)) => Err(field_problem(
            "validation_failed",
            "recovery_code",
            "Send code or recovery_code, not both.",
        )),
    }
}

/// Step-up: an `out` the policy covers, by an account with a second factor,
/// needs one proved in this session within the window.
pub(crate) async fn stepped_up(
    state: &AppState,
    caller: &SessionUser,
    operation: &BalanceOperation,
) -> Result<(), Problem> {
    let Some(step_up) = state.mfa_policy.step_up.filter(|s| s.covers(operation)) else {
        return Ok(());
    };
    if step_up.satisfied_by(caller.authentication, state.clock.now()) {
        return Ok(());
    }
    let has_factor = state
        .mfa
        .in_force(caller.user.id)
        .await
        .map_err(|e| Problem::storage(&e))?;
    if !has_factor {
        return Ok(());
    }
    Err(Problem::forbidden(
        "step_up_required",
        "Second factor required",
        &format!(
            "An out above {} needs a code from the last {} seconds: POST /auth/jwt/step-up/ with one, then repeat this request with the new access token.",
            step_up.out_above,
            step_up.window.num_seconds()
        ),
    ))
}

/// The new access token of a step-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessBody {
    /// Of the same session, with a fresh `auth_time` and `amr`
    /// `["pwd", "otp"]`; the refresh token stays as it is.
    access: String,
}

/// Step-up: prove the second factor again in this session, for a new
/// access token with a fresh `auth_time`.
#[utoipa::path(post, path = "/auth/jwt/step-up/", operation_id = "step_up", tag = "tokens", security(("bearer" = [])),
    request_body = CodeBody,
    responses(
        (status = 200, description = "A new access token of the same session", body = AccessBody),
        (status = 400, description = "A `code` that is not six digits, wrong or used (`invalid_code`), or TOTP not on (`mfa_not_enabled`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token of a session here", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this account (`too_many_attempts`). See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn step_up(
    state: web::Data<AppState>,
    caller: SessionUser,
    Client(client): Client,
    body: JsonBody<CodeBody>,
) -> Result<HttpResponse, Problem> {
    // The old service's tokens name no session to step up.
    let session = caller.session.ok_or_else(Problem::token_not_valid)?;
    let code = code_of(body)?;
    state
        .mfa
        .check_code(caller.user.id, &code, client)
        .await
        .map_err(|e| refused(e, "code"))?;
    let grant = state
        .sessions
        .prove_second_factor(&session, caller.user.id)
        .await?;
    let access = state
        .tokens
        .issue_access(&grant, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(AccessBody { access }))
}
