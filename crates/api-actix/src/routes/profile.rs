use actix_web::{web, HttpResponse};
use authusers_domain::accounts::UpdateProfileRequest;
use authusers_domain::User;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::AuthenticatedUser;
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::Problem;
use crate::state::AppState;

/// The profile as the contract shows it. Money goes out as a string with
/// exactly two places, as DRF's `DecimalField` does.
#[derive(Debug, Serialize)]
pub struct ProfileBody {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    status: &'static str,
    is_admin: bool,
    real_balance: String,
    virtual_balance: String,
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

#[derive(Debug, Deserialize)]
pub struct ProfilePatch {
    first_name: Option<String>,
    last_name: Option<String>,
}

impl RequestBody for ProfilePatch {
    const FIELDS: &'static [&'static str] = &["first_name", "last_name"];
}

pub async fn show(AuthenticatedUser(user): AuthenticatedUser) -> HttpResponse {
    HttpResponse::Ok().json(ProfileBody::from(&user))
}

pub async fn update(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    JsonBody(patch): JsonBody<ProfilePatch>,
) -> Result<HttpResponse, Problem> {
    let request = UpdateProfileRequest {
        first_name: patch.first_name,
        last_name: patch.last_name,
    };
    let updated = state.accounts.update_profile(&user, request).await?;
    Ok(HttpResponse::Ok().json(ProfileBody::from(&updated)))
}
