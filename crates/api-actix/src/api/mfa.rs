//! The second factor, as `docs/api.md` has it: a TOTP enrolment confirmed
//! by its first code, recovery codes, removal, and the second step of a
//! sign-in.

use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::balance::BalanceOperation;
use authusers_domain::mfa::{CheckError, MfaToken, RecoveryCode, TotpCode};
use authusers_domain::sessions::{Entrance, SecondFactorProof, SecondStepError, SessionError};
use authusers_domain::{FieldErrors, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::tokens::TokenPairBody;
use crate::http::auth::{Administrator, AuthenticatedUser, SessionUser};
use crate::http::client_address::{client_info, Client};
use crate::http::field_messages::FieldMessages;
use crate::http::hashing_place::take_place;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::path_id;
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;
use authusers_domain::throttling::ClientAddress;

/// The issuer authenticator apps show beside the account.
pub const TOTP_ISSUER: &str = "AuthUsers";

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpStatusBody {
    enabled: bool,
    /// When it was turned on; `null` while it is off.
    enabled_at: Option<DateTime<Utc>>,
}

/// The caller's second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatusBody {
    totp: TotpStatusBody,
    recovery_codes_left: usize,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrentPasswordBody {
    #[schema(value_type = String, example = "violet-kettle-93")]
    current_password: Option<String>,
}

impl RequestBody for CurrentPasswordBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// Six digits from the authenticator app.
    #[schema(value_type = String, example = "492039")]
    code: Option<String>,
}

impl RequestBody for CodeBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordAndCodeBody {
    #[schema(value_type = String, example = "violet-kettle-93")]
    current_password: Option<String>,
    /// Six digits from the authenticator app.
    #[schema(value_type = String, example = "492039")]
    code: Option<String>,
}

impl RequestBody for PasswordAndCodeBody {}

/// A TOTP secret waiting for its first code.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentBody {
    /// The secret in base 32, for typing into an app.
    secret: String,
    /// `otpauth://totp/…`, what the QR code holds.
    otpauth_uri: String,
    /// The QR code as an SVG document.
    qr_svg: String,
}

/// Recovery codes, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesBody {
    #[schema(example = json!(["7kq2m-x9d4a", "…"]))]
    recovery_codes: Vec<String>,
}

impl RecoveryCodesBody {
    fn of(codes: &[RecoveryCode]) -> Self {
        Self {
            recovery_codes: codes.iter().map(RecoveryCode::display).collect(),
        }
    }
}

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

/// A 400 naming `field` with `message`, under `code`.
fn field_problem(code: &'static str, field: &str, message: &str) -> Problem {
    let mut messages = FieldMessages::new();
    messages.add(field, message);
    Problem::field_errors(code, messages)
}

/// A code (under `field`) that was not accepted.
pub(crate) fn refused(error: CheckError, field: &str) -> Problem {
    match error {
        CheckError::Refused(_) => field_problem(
            "invalid_code",
            field,
            "The code is wrong, or was used already.",
        ),
        CheckError::NothingToCheck => field_problem(
            "mfa_not_enabled",
            field,
            "Two-step sign-in is not on for this account.",
        ),
        CheckError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
        CheckError::Seal(error) => {
            tracing::error!(%error, "a second factor's secret does not open: is MFA_SECRET_KEY the one that sealed it?");
            Problem::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "The second factor cannot be checked now. Try again later.",
            )
        }
        CheckError::Repository(e) => Problem::storage(&e),
    }
}

/// `current_password` checked (counted as a login) and `code` parsed;
/// every field at fault named.
async fn password_and_code(
    state: &AppState,
    user: &User,
    client: ClientAddress,
    body: JsonBody<PasswordAndCodeBody>,
) -> Result<TotpCode, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let password = required.field("current_password", body.current_password);
    let code = required.field("code", body.code);
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    let mut errors = FieldErrors::new();
    state
        .accounts
        .check_current_password(user, &password, client, &mut errors)
        .await?;
    let mut messages = FieldMessages::from(errors);
    let code = TotpCode::parse(&code)
        .map_err(|e| messages.add("code", e.to_string()))
        .ok();
    match code {
        Some(code) if messages.fields().is_empty() => Ok(code),
        _ => Err(Problem::validation(messages)),
    }
}

/// The caller's second factor: whether TOTP is on, and how many recovery
/// codes are left.
#[utoipa::path(get, path = "/auth/mfa/", operation_id = "mfa_status", tag = "second factor", security(("bearer" = [])),
    responses(
        (status = 200, description = "The second factor", body = MfaStatusBody),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn status(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
) -> Result<HttpResponse, Problem> {
    let status = state
        .mfa
        .status(user.id)
        .await
        .map_err(|e| Problem::storage(&e))?;
    Ok(HttpResponse::Ok().json(MfaStatusBody {
        totp: TotpStatusBody {
            enabled: status.enabled_at.is_some(),
            enabled_at: status.enabled_at,
        },
        recovery_codes_left: status.recovery_codes_left,
    }))
}

/// Begin turning TOTP on: a new secret that waits 10 minutes for its first
/// code (`/auth/mfa/totp/confirm/`), in place of one already waiting.
#[utoipa::path(post, path = "/auth/mfa/totp/", operation_id = "begin_totp", tag = "second factor", security(("bearer" = [])),
    request_body = CurrentPasswordBody,
    responses(
        (status = 201, description = "The secret, its otpauth URI and QR code", body = EnrolmentBody),
        (status = 400, description = "Wrong or missing `current_password`, or TOTP already on (`mfa_already_enabled`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords (`too_many_attempts`), counted with failed logins. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn begin(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    Client(client): Client,
    body: JsonBody<CurrentPasswordBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let password = required.field("current_password", body.current_password);
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    let mut errors = FieldErrors::new();
    state
        .accounts
        .check_current_password(&user, &password, client, &mut errors)
        .await?;
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let secret = state.mfa.begin(user.id).await?;
    let enrolment = authusers_infra_crypto::enrolment(&secret, TOTP_ISSUER, user.email.as_str());
    Ok(HttpResponse::Created().json(EnrolmentBody {
        secret: enrolment.secret_base32,
        otpauth_uri: enrolment.otpauth_uri,
        qr_svg: enrolment.qr_svg,
    }))
}

/// Turn TOTP on with the first code of the waiting secret: ten recovery
/// codes, shown this once. The account's other sessions end and a notice
/// is mailed.
#[utoipa::path(post, path = "/auth/mfa/totp/confirm/", operation_id = "confirm_totp", tag = "second factor", security(("bearer" = [])),
    request_body = CodeBody,
    responses(
        (status = 200, description = "On; the recovery codes", body = RecoveryCodesBody),
        (status = 400, description = "A `code` that is not six digits, wrong or used (`invalid_code`), or no enrolment waiting (`no_pending_enrolment`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes for this account (`too_many_attempts`). See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn confirm(
    state: web::Data<AppState>,
    caller: SessionUser,
    Client(client): Client,
    body: JsonBody<CodeBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let code = required.field("code", body.code);
    required.check()?;
    let code = TotpCode::parse(&code)
        .map_err(|e| field_problem("validation_failed", "code", &e.to_string()))?;
    let codes = state
        .mfa
        .confirm(&caller.user, &code, client, caller.session)
        .await
        .map_err(|error| match error {
            CheckError::NothingToCheck => field_problem(
                "no_pending_enrolment",
                "code",
                "No enrolment is waiting for its first code (they last 10 minutes): begin again.",
            ),
            other => refused(other, "code"),
        })?;
    Ok(HttpResponse::Ok().json(RecoveryCodesBody::of(&codes)))
}

/// Turn TOTP off, with the password and a code: the recovery codes go too,
/// and a notice is mailed.
#[utoipa::path(delete, path = "/auth/mfa/totp/", operation_id = "remove_totp", tag = "second factor", security(("bearer" = [])),
    request_body = PasswordAndCodeBody,
    responses(
        (status = 204, description = "Off"),
        (status = 400, description = "Wrong `current_password`, a wrong or used `code` (`invalid_code`), or TOTP not on (`mfa_not_enabled`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords or codes (`too_many_attempts`). See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn remove(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    Client(client): Client,
    body: JsonBody<PasswordAndCodeBody>,
) -> Result<HttpResponse, Problem> {
    let code = password_and_code(&state, &user, client, body).await?;
    state
        .mfa
        .remove(&user, &code, client)
        .await
        .map_err(|e| refused(e, "code"))?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new set of ten recovery codes, with the password and a code; the old
/// set stops working.
#[utoipa::path(post, path = "/auth/mfa/recovery_codes/", operation_id = "new_recovery_codes", tag = "second factor", security(("bearer" = [])),
    request_body = PasswordAndCodeBody,
    responses(
        (status = 200, description = "The new recovery codes, shown this once", body = RecoveryCodesBody),
        (status = 400, description = "Wrong `current_password`, a wrong or used `code` (`invalid_code`), or TOTP not on (`mfa_not_enabled`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords or codes (`too_many_attempts`). See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn new_recovery_codes(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    Client(client): Client,
    body: JsonBody<PasswordAndCodeBody>,
) -> Result<HttpResponse, Problem> {
    let code = password_and_code(&state, &user, client, body).await?;
    let codes = state
        .mfa
        .new_recovery_code_set(user.id, &code, client)
        .await
        .map_err(|e| refused(e, "code"))?;
    Ok(HttpResponse::Ok().json(RecoveryCodesBody::of(&codes)))
}

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
    let body = body.parsed()?;
    let mut required = Required::new();
    let code = required.field("code", body.code);
    required.check()?;
    let code = TotpCode::parse(&code)
        .map_err(|e| field_problem("validation_failed", "code", &e.to_string()))?;
    state
        .mfa
        .check_code(caller.user.id, &code, client)
        .await
        .map_err(|e| refused(e, "code"))?;
    let grant = state
        .sessions
        .prove_second_factor(&session, caller.user.id)
        .await
        .map_err(|error| match error {
            SessionError::NotValid => Problem::token_not_valid(),
            SessionError::Repository(e) => Problem::storage(&e),
        })?;
    let access = state
        .tokens
        .issue_access(&grant, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(AccessBody { access }))
}

/// An administrator turns a user's second factor off (a lost device): the
/// user's sessions end and a notice is mailed.
#[utoipa::path(delete, path = "/auth/users/{id}/mfa/", operation_id = "reset_user_mfa", tag = "second factor", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Off; the user's sessions ended"),
        (status = 400, description = "The user has no second factor on (`mfa_not_enabled`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn reset(
    state: web::Data<AppState>,
    Administrator(admin): Administrator,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path_id::user_id(&id)?;
    let user = state.accounts.read_user(&admin, id).await?;
    if !state
        .mfa
        .reset_by_administrator(&user)
        .await
        .map_err(|e| Problem::storage(&e))?
    {
        return Err(Problem::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "mfa_not_enabled",
            "Invalid request",
            "This user has no second factor on.",
        ));
    }
    tracing::info!(admin = %admin.id, user = %user.id, "second factor reset by an administrator");
    Ok(HttpResponse::NoContent().finish())
}
