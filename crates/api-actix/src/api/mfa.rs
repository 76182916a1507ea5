//! The second factor, as `docs/api.md` has it: a TOTP enrolment confirmed
//! by its first code, recovery codes, removal, and the second step of a
//! sign-in.

use actix_web::{web, HttpResponse};
use authusers_domain::mfa::{CheckError, RecoveryCode, TotpCode};
use authusers_domain::{FieldErrors, User};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::auth::{Administrator, AuthenticatedUser, SessionUser};
use crate::http::client_address::Client;
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

/// The body's `code`, required and six digits.
pub(crate) fn code_of(body: JsonBody<CodeBody>) -> Result<TotpCode, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let code = required.field("code", body.code);
    required.check()?;
    TotpCode::parse(&code).map_err(|e| field_problem("validation_failed", "code", &e.to_string()))
}

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

/// A 400 naming `field` with `message`, under `code`.
pub(crate) fn field_problem(code: &'static str, field: &str, message: &str) -> Problem {
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

/// `current_password` checked against `user`'s (counted as a login, in a
/// place of the hashing queue): `errors.current_password` when it is wrong.
pub(crate) async fn password_errors(
    state: &AppState,
    user: &User,
    password: &str,
    client: ClientAddress,
) -> Result<FieldErrors, Problem> {
    let _place = take_place(&state.hashing).await?;
    let mut errors = FieldErrors::new();
    state
        .accounts
        .check_current_password(user, password, client, &mut errors)
        .await?;
    Ok(errors)
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
    let errors = password_errors(state, user, &password, client).await?;
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
    let errors = password_errors(&state, &user, &password, client).await?;
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
    let code = code_of(body)?;
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
