//! djoser's `activation` and `resend_activation`, for deployments that turn
//! activation on (`REGISTRATION_REQUIRES_ACTIVATION`).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use authusers_domain::activation::{ActivateRequest, ResendRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::client_address::Client;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationBody {
    /// From the link: the URL-safe base64 of the user's id.
    #[schema(value_type = String, example = "Mg", pattern = "^[A-Za-z0-9_-]{1,28}$")]
    uid: Option<String>,
    /// From the link: 43 URL-safe characters.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{43}$")]
    token: Option<String>,
}

impl RequestBody for ActivationBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendActivationBody {
    #[schema(value_type = String, example = "ann@example.com", max_length = 254)]
    email: Option<String>,
}

impl RequestBody for ResendActivationBody {}

/// Confirm a registration's address with the `uid` and `token` of its
/// activation link; the registration then waits for an administrator.
#[utoipa::path(post, path = "/auth/users/activation/", operation_id = "activation", tag = "accounts",
    request_body = ActivationBody,
    responses(
        (status = 204, description = "The address is confirmed; the registration waits for an administrator"),
        (status = 400, description = "A link that does not work, whether its `uid` or its token is at fault (`errors.token`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "A link of this account followed again after it was activated (`stale_token`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn activate(
    state: web::Data<AppState>,
    body: JsonBody<ActivationBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let request = ActivateRequest {
        uid: required.field("uid", body.uid),
        token: required.field("token", body.token),
    };
    required.check()?;
    state.activations.activate(request).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The least time an answer to `resend_activation` takes, as for
/// `reset_password`: a mail queued or not cannot be told apart.
const RESEND_FLOOR: Duration = Duration::from_millis(50);

/// Mail a new activation link. The answer is the same whether or not a
/// registration awaits activation at the address.
#[utoipa::path(post, path = "/auth/users/resend_activation/", operation_id = "resend_activation", tag = "accounts",
    request_body = ResendActivationBody,
    responses(
        (status = 204, description = "Accepted; a link is mailed if a registration awaits activation at the address"),
        (status = 400, description = "A missing or malformed `email`, or registrations need no activation here (`activation_not_required`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "This client address had its share of registrations this hour (`too_many_attempts`); see `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn resend(
    state: web::Data<AppState>,
    Client(client): Client,
    body: JsonBody<ResendActivationBody>,
) -> Result<HttpResponse, Problem> {
    let answer_at = tokio::time::Instant::now() + RESEND_FLOOR;
    let body = body.parsed()?;
    let mut required = Required::new();
    let email = required.field("email", body.email);
    required.check()?;
    let resent = state
        .activations
        .resend(ResendRequest { email, client })
        .await;
    tokio::time::sleep_until(answer_at).await;
    resent?;
    Ok(HttpResponse::NoContent().finish())
}
