use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::{Decision, FieldErrors, UserId};
use serde::Deserialize;

use super::pagination::{page_body, page_request};
use super::ProfileBody;
use crate::auth::Administrator;
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::Problem;
use crate::required::Required;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DecisionBody {
    action: Option<String>,
}

impl RequestBody for DecisionBody {
    const FIELDS: &'static [&'static str] = &["action"];
}

/// `GET /confirm-users/`: pending registrations, oldest first.
pub async fn list(
    state: web::Data<AppState>,
    Administrator(admin): Administrator,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let request = page_request(&req)?;
    let page = state.accounts.list_pending(&admin, request).await?;
    Ok(HttpResponse::Ok().json(page_body(&req, page.map(|u| ProfileBody::from(&u)))))
}

/// `PATCH /confirm-users/{id}/`: accept or reject one registration.
pub async fn decide(
    state: web::Data<AppState>,
    Administrator(admin): Administrator,
    id: web::Path<i64>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<HttpResponse, Problem> {
    let id = id.into_inner();
    let mut required = Required::new();
    let action = required.field("action", body.action);
    required.check()?;
    let decision = match action.as_str() {
        "accept" => Decision::Accept,
        "reject" => Decision::Reject,
        other => {
            return Err(Problem::validation(FieldErrors::single(
                "action",
                format!("\"{other}\" is not a valid choice: use \"accept\" or \"reject\"."),
            )))
        }
    };
    let user = state.accounts.decide(&admin, UserId(id), decision).await?;
    state.outbox_wake.notify_one();
    Ok(HttpResponse::Ok().json(ProfileBody::from(&user)))
}
