//! djoser's `reset_password` and `reset_password_confirm`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::password_reset::{ConfirmResetRequest, ResetRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::client_address::Client;
use crate::http::hashing_place::take_place;
use crate::http::json_body::{JsonBody, JsonOrFormBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;
use crate::web::reset_page;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordBody {
    #[schema(value_type = String, example = "ann@example.com", max_length = 254)]
    email: Option<String>,
}

impl RequestBody for ResetPasswordBody {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmBody {
    /// From the link: the URL-safe base64 of the user's id.
    #[schema(value_type = String, example = "Mg", pattern = "^[A-Za-z0-9_-]{1,28}$")]
    uid: Option<String>,
    /// From the link: 43 URL-safe characters.
    #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{43}$")]
    token: Option<String>,
    #[schema(value_type = String, example = "quartz-lantern-61", min_length = 8, max_length = 72)]
    new_password: Option<String>,
    /// Optional, as djoser's `PASSWORD_RESET_CONFIRM_RETYPE`.
    re_new_password: Option<String>,
}

impl RequestBody for ResetConfirmBody {}

/// The page's form as a request: it always sends the link's `uid` and
/// `token`; an empty password is the domain's to refuse.
fn form_request(body: ResetConfirmBody) -> Option<ConfirmResetRequest> {
    Some(ConfirmResetRequest {
        uid: body.uid?,
        token: body.token?,
        new_password: body.new_password.unwrap_or_default(),
        re_new_password: body.re_new_password,
    })
}

/// The least time an answer to `reset_password` takes. Every request runs
/// the same statements, but an account adds a lock, a link and a mail
/// (measured: about 0.2 ms); below this floor, which any request stays
/// under unless the server is overloaded, they cannot be told apart.
const RESET_REQUEST_FLOOR: Duration = Duration::from_millis(50);

/// Ask for a password-reset link by e-mail. The answer is the same whether
/// or not an account has the address; only an approved account is mailed,
/// at most `PASSWORD_RESET_MAILS_PER_HOUR` times an hour.
#[utoipa::path(post, path = "/auth/users/reset_password/", operation_id = "reset_password", tag = "accounts",
    request_body = ResetPasswordBody,
    responses(
        (status = 204, description = "Accepted; a link is mailed if an approved account has the address"),
        (status = 400, description = "A missing or malformed `email`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "This client address had its share of requests this hour, whatever the addresses they named (`too_many_attempts`); see `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
    ))]
pub async fn request(
    state: web::Data<AppState>,
    Client(client): Client,
    body: JsonBody<ResetPasswordBody>,
) -> Result<HttpResponse, Problem> {
    let answer_at = tokio::time::Instant::now() + RESET_REQUEST_FLOOR;
    let body = body.parsed()?;
    let mut required = Required::new();
    let email = required.field("email", body.email);
    required.check()?;
    let requested = state.resets.request(ResetRequest { email, client }).await;
    tokio::time::sleep_until(answer_at).await;
    requested?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set a new password with the `uid` and `token` of a reset link. A link
/// works once, until it expires or the password changes. Also takes the
/// plain HTML form of the reset page, and then answers with a page.
#[utoipa::path(post, path = "/auth/users/reset_password_confirm/", operation_id = "reset_password_confirm", tag = "accounts",
    request_body(content(
        (ResetConfirmBody = "application/json"),
        (ResetConfirmBody = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 204, description = "The password is changed; the link and every other one end"),
        (status = 200, description = "From the HTML form: a page saying the password is changed", content_type = "text/html"),
        (status = 400, description = "Bad, expired or used link, whether its `uid` or its token is at fault (`errors.token`), or a new password that fails the rules (`errors.new_password`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The password-hashing queue is full (`overloaded`); nothing was done. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds after which to try again"))),
    ))]
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonOrFormBody<ResetConfirmBody>,
) -> Result<HttpResponse, Problem> {
    if body.from_form() && accepts_html(&req) {
        let _place = take_place(&state.hashing).await?;
        return reset_page::answer_form(&state, body.parsed().ok().and_then(form_request)).await;
    }
    let body = body.parsed()?;
    let mut required = Required::new();
    let request = ConfirmResetRequest {
        uid: required.field("uid", body.uid),
        token: required.field("token", body.token),
        new_password: required.field("new_password", body.new_password),
        re_new_password: body.re_new_password,
    };
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    state.resets.confirm(request).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn accepts_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"))
}
