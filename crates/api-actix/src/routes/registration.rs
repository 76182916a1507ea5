use actix_web::{web, HttpResponse};
use authusers_domain::accounts::RegistrationRequest;
use serde::Deserialize;

use super::ProfileBody;
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::Problem;
use crate::required::Required;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct RegistrationBody {
    email: Option<String>,
    password: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

impl RequestBody for RegistrationBody {
    const FIELDS: &'static [&'static str] = &["email", "password", "first_name", "last_name"];
}

pub async fn register(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<RegistrationBody>,
) -> Result<HttpResponse, Problem> {
    let mut required = Required::new();
    let email = required.field("email", body.email);
    let password = required.field("password", body.password);
    required.check()?;
    let request = RegistrationRequest {
        email,
        password,
        first_name: body.first_name,
        last_name: body.last_name,
    };
    let user = state.accounts.register(request).await?;
    Ok(HttpResponse::Created().json(ProfileBody::from(&user)))
}
