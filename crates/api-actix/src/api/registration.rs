use actix_web::{web, HttpResponse};
use authusers_domain::accounts::RegistrationRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use super::profile::ProfileBody;
use crate::http::client_address::Client;
use crate::http::hashing_place::take_place;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationBody {
    #[schema(value_type = String, example = "ann@example.com", max_length = 254)]
    email: Option<String>,
    /// 8 characters to 72 bytes; not entirely numeric, not common, not too
    /// similar to the e-mail or names.
    #[schema(value_type = String, example = "violet-kettle-93", min_length = 8, max_length = 72)]
    password: Option<String>,
    #[schema(max_length = 150, example = "Ann")]
    first_name: Option<String>,
    #[schema(max_length = 150, example = "Lee")]
    last_name: Option<String>,
}

impl RequestBody for RegistrationBody {}

/// Register: the new user waits, `pending`, for an administrator.
#[utoipa::path(post, path = "/auth/users/", operation_id = "register", tag = "accounts", request_body = RegistrationBody,
    responses(
        (status = 201, description = "Registered, pending approval", body = ProfileBody),
        (status = 400, description = "Invalid fields (`validation_failed`) or e-mail taken (`email_taken`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "This address had its share of registrations this hour (`too_many_attempts`); see `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
        (status = 503, description = "The password-hashing queue is full (`overloaded`); see `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds after which to try again"))),
    ))]
pub async fn register(
    state: web::Data<AppState>,
    Client(client): Client,
    body: JsonBody<RegistrationBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let email = required.field("email", body.email);
    let password = required.field("password", body.password);
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    let request = RegistrationRequest {
        email,
        password,
        first_name: body.first_name,
        last_name: body.last_name,
        client,
    };
    let user = state.accounts.register(request).await?;
    Ok(HttpResponse::Created().json(ProfileBody::from(&user)))
}
