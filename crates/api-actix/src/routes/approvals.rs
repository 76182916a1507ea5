use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::{Decision, FieldErrors, Page, PageRequest, User, UserId};
use serde::{Deserialize, Serialize};

use super::ProfileBody;
use crate::auth::Administrator;
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::Problem;
use crate::required::Required;
use crate::state::AppState;

/// DRF's `LimitOffsetPagination` envelope.
#[derive(Debug, Serialize)]
struct PageBody<T> {
    count: u64,
    next: Option<String>,
    previous: Option<String>,
    results: Vec<T>,
}

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
    Ok(HttpResponse::Ok().json(page_body(&req, page)))
}

/// `PATCH /confirm-users/{id}/`: accept or reject one registration.
pub async fn decide(
    state: web::Data<AppState>,
    Administrator(admin): Administrator,
    path: web::Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<HttpResponse, Problem> {
    let id = path
        .parse::<i64>()
        .map_err(|_| Problem::not_found("No user with this id."))?;
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
    Ok(HttpResponse::Ok().json(ProfileBody::from(&user)))
}

fn page_request(req: &HttpRequest) -> Result<PageRequest, Problem> {
    let query =
        web::Query::<HashMap<String, String>>::from_query(req.query_string()).map_err(|_| {
            Problem::validation(FieldErrors::single("query", "Malformed query string."))
        })?;
    let mut errors = FieldErrors::new();
    let mut number = |name: &str| -> Option<u64> {
        let raw = query.get(name)?;
        errors.collect(
            name,
            raw.trim()
                .parse::<u64>()
                .map_err(|_| "A valid non-negative integer is required."),
        )
    };
    let limit = number("limit").map(|l| u32::try_from(l).unwrap_or(u32::MAX));
    let offset = number("offset");
    errors.into_result().map_err(Problem::validation)?;
    PageRequest::new(limit, offset)
        .map_err(|e| Problem::validation(FieldErrors::single("limit", e.to_string())))
}

fn page_body(req: &HttpRequest, page: Page<User>) -> PageBody<ProfileBody> {
    let info = req.connection_info();
    let base = format!("{}://{}{}", info.scheme(), info.host(), req.path());
    let limit = page.request.limit();
    let offset = page.request.offset();
    let next = page
        .has_next()
        .then(|| format!("{base}?limit={limit}&offset={}", offset + u64::from(limit)));
    let previous = page
        .has_previous()
        .then(|| match offset.saturating_sub(u64::from(limit)) {
            0 => format!("{base}?limit={limit}"),
            previous => format!("{base}?limit={limit}&offset={previous}"),
        });
    PageBody {
        count: page.total,
        next,
        previous,
        results: page.items.iter().map(ProfileBody::from).collect(),
    }
}
