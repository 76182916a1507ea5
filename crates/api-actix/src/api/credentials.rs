//! djoser's `set_password` and `set_email`: credential changes that the
//! current password authorises.

use actix_web::{web, HttpResponse};
use authusers_domain::accounts::{ChangeEmailRequest, ChangePasswordRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::auth::AuthenticatedUser;
use crate::http::client_address::Client;
use crate::http::hashing_place::take_place;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordBody {
    #[schema(value_type = String, example = "violet-kettle-93")]
    current_password: Option<String>,
    /// The registration rules apply, similarity to this account included.
    #[schema(value_type = String, example = "quartz-lantern-61", min_length = 8, max_length = 72)]
    new_password: Option<String>,
    /// Optional, as djoser's `SET_PASSWORD_RETYPE`: must equal `new_password`.
    re_new_password: Option<String>,
}

impl RequestBody for SetPasswordBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEmailBody {
    #[schema(value_type = String, example = "violet-kettle-93")]
    current_password: Option<String>,
    #[schema(value_type = String, example = "ann.lee@example.org", max_length = 254)]
    new_email: Option<String>,
    /// Optional, as djoser's `SET_USERNAME_RETYPE`: the same address.
    re_new_email: Option<String>,
}

impl RequestBody for SetEmailBody {}

/// Change the caller's password.
#[utoipa::path(post, path = "/auth/users/set_password/", operation_id = "set_password", tag = "accounts", security(("bearer" = [])),
    request_body = SetPasswordBody,
    responses(
        (status = 204, description = "Changed; every reset link of the account ends"),
        (status = 400, description = "Wrong `current_password`, or `new_password` fails the rules; nothing changed", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account from this address, counted with failed logins (`too_many_attempts`); nothing was checked. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
        (status = 503, description = "The password-hashing queue is full (`overloaded`); nothing was done. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds after which to try again"))),
    ))]
pub async fn set_password(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    Client(client): Client,
    body: JsonBody<SetPasswordBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let current_password = required.field("current_password", body.current_password);
    let new_password = required.field("new_password", body.new_password);
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    let request = ChangePasswordRequest {
        current_password,
        new_password,
        re_new_password: body.re_new_password,
        client,
    };
    state.accounts.change_password(&user, request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change the caller's e-mail address; a notice goes to the old one.
#[utoipa::path(post, path = "/auth/users/set_email/", operation_id = "set_email", tag = "accounts", security(("bearer" = [])),
    request_body = SetEmailBody,
    responses(
        (status = 204, description = "Changed; the old address is told"),
        (status = 400, description = "Wrong `current_password`, invalid `new_email` (`validation_failed`), or the address is taken (`email_taken`); nothing changed", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account from this address, counted with failed logins (`too_many_attempts`); nothing was checked. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
        (status = 503, description = "The password-hashing queue is full (`overloaded`); nothing was done. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds after which to try again"))),
    ))]
pub async fn set_email(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    Client(client): Client,
    body: JsonBody<SetEmailBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let current_password = required.field("current_password", body.current_password);
    let new_email = required.field("new_email", body.new_email);
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    let request = ChangeEmailRequest {
        current_password,
        new_email,
        re_new_email: body.re_new_email,
        client,
    };
    state.accounts.change_email(&user, request).await?;
    Ok(HttpResponse::NoContent().finish())
}
