use actix_web::{web, HttpResponse};
use authusers_domain::accounts::UpdateProfileRequest;
use authusers_domain::User;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::auth::AuthenticatedUser;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::state::AppState;

/// The profile as the contract shows it. Money goes out as a string with
/// exactly two places, as DRF's `DecimalField` does.
/// Where a registration stands (for the document only: the handler reads
/// the text, so that anything else is a named error).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum StatusName {
    Pending,
    Approved,
    Rejected,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 2, "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
    "status": "approved", "is_admin": false, "real_balance": "489.50",
    "virtual_balance": "1050.00", "date_joined": "2026-11-24T17:39:53.769093Z"
}))]
pub struct ProfileBody {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    #[schema(value_type = StatusName, example = "approved")]
    status: &'static str,
    is_admin: bool,
    /// Money: a string with exactly two places.
    #[schema(example = "489.50")]
    real_balance: String,
    #[schema(example = "1050.00")]
    virtual_balance: String,
    /// RFC 3339, UTC.
    date_joined: String,
}

pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl From<&User> for ProfileBody {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.0,
            email: user.email.to_string(),
            first_name: user.first_name.to_string(),
            last_name: user.last_name.to_string(),
            status: user.status.as_str(),
            is_admin: user.is_admin,
            real_balance: user.real_balance.to_string(),
            virtual_balance: user.virtual_balance.to_string(),
            date_joined: format_time(user.date_joined),
        }
    }
}

/// Absent fields stay as they are; any other field is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    first_name: Option<String>,
    last_name: Option<String>,
}

impl RequestBody for ProfilePatch {}

/// The caller's profile.
#[utoipa::path(get, path = "/auth/users/me/", operation_id = "get_profile", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = ProfileBody),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn show(AuthenticatedUser(user): AuthenticatedUser) -> HttpResponse {
    HttpResponse::Ok().json(ProfileBody::from(&user))
}

/// Change the caller's first or last name.
#[utoipa::path(patch, path = "/auth/users/me/", operation_id = "update_profile", tag = "accounts", security(("bearer" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The updated profile", body = ProfileBody),
        (status = 400, description = "A name over 150 characters or an unknown field", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn update(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    patch: JsonBody<ProfilePatch>,
) -> Result<HttpResponse, Problem> {
    change_names(&state, &user, patch).await
}

/// Change the caller's first or last name, as PATCH does: both names are
/// optional in the profile, so a full update is a partial one (as DRF's
/// `PUT` on djoser's `/users/me/`).
#[utoipa::path(put, path = "/auth/users/me/", operation_id = "replace_profile", tag = "accounts", security(("bearer" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The updated profile", body = ProfileBody),
        (status = 400, description = "A name over 150 characters or an unknown field", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn replace(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    patch: JsonBody<ProfilePatch>,
) -> Result<HttpResponse, Problem> {
    change_names(&state, &user, patch).await
}

async fn change_names(
    state: &AppState,
    user: &User,
    patch: JsonBody<ProfilePatch>,
) -> Result<HttpResponse, Problem> {
    let patch = patch.parsed()?;
    let request = UpdateProfileRequest {
        first_name: patch.first_name,
        last_name: patch.last_name,
    };
    let updated = state.accounts.update_profile(user, request).await?;
    Ok(HttpResponse::Ok().json(ProfileBody::from(&updated)))
}
