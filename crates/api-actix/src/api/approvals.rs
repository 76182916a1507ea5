use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::Decision;

use crate::http::field_messages::FieldMessages;
use serde::Deserialize;
use utoipa::ToSchema;

use super::pagination::{page_body, page_request, PageBody, PageQuery};
use super::profile::ProfileBody;
use crate::http::auth::Administrator;
use crate::http::cursor::Listing;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::path_id;
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[schema(value_type = DecisionAction)]
    action: Option<String>,
}

/// What an administrator decides (for the document only: the handler reads
/// the text, so that anything else is a named field error).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum DecisionAction {
    Accept,
    Reject,
}

impl RequestBody for DecisionBody {}

/// Pending registrations, oldest first.
#[utoipa::path(get, path = "/confirm-users/", operation_id = "list_pending_users", tag = "approvals", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of pending users", body = PageBody<ProfileBody>),
        (status = 400, description = "Bad `limit`, `offset` or `cursor`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator (`permission_denied`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    Administrator(admin): Administrator,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let listing = Listing::new("pending", "");
    let request = page_request(&req, &listing)?;
    let page = state.accounts.list_pending(&admin, request).await?;
    let body = page_body(&req, &listing, page.map(|u| ProfileBody::from(&u)));
    Ok(HttpResponse::Ok().json(body))
}

/// Accept or reject one registration. The decision e-mail is queued in the
/// same transaction and sent in the background.
#[utoipa::path(patch, path = "/confirm-users/{id}/", operation_id = "decide_registration", tag = "approvals", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The decided user's profile", body = ProfileBody),
        (status = 400, description = "Unknown action", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator (`permission_denied`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "Already decided (`already_decided`); nothing changed", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn decide(
    state: web::Data<AppState>,
    Administrator(admin): Administrator,
    id: web::Path<String>,
    body: JsonBody<DecisionBody>,
) -> Result<HttpResponse, Problem> {
    let id = path_id::user_id(&id)?;
    let body = body.parsed()?;
    let mut required = Required::new();
    let action = required.field("action", body.action);
    required.check()?;
    let decision = match action.as_str() {
        "accept" => Decision::Accept,
        "reject" => Decision::Reject,
        other => {
            return Err(Problem::validation(FieldMessages::single(
                "action",
                format!("\"{other}\" is not a valid choice: use \"accept\" or \"reject\"."),
            )))
        }
    };
    let user = state.accounts.decide(&admin, id, decision).await?;
    Ok(HttpResponse::Ok().json(ProfileBody::from(&user)))
}
