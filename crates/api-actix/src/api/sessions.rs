//! A user's sessions ("your devices"), ending one or all of them, and an
//! administrator ending a user's.

use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::sessions::Session;
use serde::Serialize;
use utoipa::ToSchema;

use super::pagination::{page_body, page_request, query, PageBody, PageQuery};
use super::profile::format_time;
use crate::http::auth::{Administrator, SessionUser};
use crate::http::cursor::Listing;
use crate::http::path_id;
use crate::http::problem::{Problem, ProblemBody};
use crate::http::state::AppState;

/// One open session of the caller.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "9f2c4e1a7b3d4c5e8f9a0b1c2d3e4f5a", "created_at": "2026-11-25T09:00:00.000000Z",
    "last_used_at": "2026-11-25T09:55:00.000000Z", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
    "ip_address": "192.0.2.7", "current": true
}))]
pub struct SessionBody {
    id: String,
    created_at: String,
    /// When a token of it was last refreshed (or the login).
    last_used_at: String,
    user_agent: Option<String>,
    ip_address: Option<String>,
    /// Whether the token of this request belongs to it.
    current: bool,
}

impl SessionBody {
    fn of(session: &Session, current: &SessionUser) -> Self {
        Self {
            id: session.id.to_string(),
            created_at: format_time(session.created_at),
            last_used_at: format_time(session.last_used_at),
            user_agent: session.client.user_agent.clone(),
            ip_address: session.client.address.clone(),
            current: current.session.as_ref() == Some(&session.id),
        }
    }
}

/// The caller's open sessions, newest first: all of them as a list, as
/// ever, or a page of them when `limit`, `offset` or `cursor` is given.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SessionsBody {
    All(Vec<SessionBody>),
    Page(PageBody<SessionBody>),
}

/// The caller's open sessions, newest first: a list of them all, or with
/// `limit`, `offset` or `cursor`, a page.
#[utoipa::path(get, path = "/auth/sessions/", operation_id = "list_sessions", tag = "sessions", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The open sessions: a list, or a page when paged", body = SessionsBody),
        (status = 400, description = "Bad `limit`, `offset` or `cursor`", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    caller: SessionUser,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let paged = query(&req)?
        .keys()
        .any(|name| matches!(name.as_str(), "limit" | "offset" | "cursor"));
    if paged {
        let listing = Listing::new("sessions", caller.user.id.to_string());
        let request = page_request(&req, &listing)?;
        let page = state
            .sessions
            .list_page(&caller.user, request)
            .await
            .map_err(|e| Problem::storage(&e))?;
        let body = page_body(&req, &listing, page.map(|s| SessionBody::of(&s, &caller)));
        return Ok(HttpResponse::Ok().json(SessionsBody::Page(body)));
    }
    let sessions = state
        .sessions
        .list(&caller.user)
        .await
        .map_err(|e| Problem::storage(&e))?;
    let body: Vec<SessionBody> = sessions
        .iter()
        .map(|s| SessionBody::of(s, &caller))
        .collect();
    Ok(HttpResponse::Ok().json(SessionsBody::All(body)))
}

/// End one of the caller's sessions: its tokens are refused from now on.
#[utoipa::path(delete, path = "/auth/sessions/{id}/", operation_id = "end_session", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "A session's id, as the list shows it", pattern = "^[0-9a-f]{32}$")),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No open session of the caller with this id", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn end_one(
    state: web::Data<AppState>,
    caller: SessionUser,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    state.sessions.end_one(&caller.user, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Log out everywhere: end every session of the caller, this one included.
#[utoipa::path(delete, path = "/auth/sessions/", operation_id = "end_all_sessions", tag = "sessions", security(("bearer" = [])),
    responses((status = 204, description = "Every session ended")))]
pub async fn end_all(
    state: web::Data<AppState>,
    caller: SessionUser,
) -> Result<HttpResponse, Problem> {
    state
        .sessions
        .end_all(&caller.user)
        .await
        .map_err(|e| Problem::storage(&e))?;
    Ok(HttpResponse::NoContent().finish())
}

/// An administrator ends every session of a user.
#[utoipa::path(delete, path = "/auth/users/{id}/sessions/", operation_id = "end_user_sessions", tag = "sessions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Every session of the user ended"),
        (status = 403, description = "Not an administrator (`permission_denied`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn end_users(
    state: web::Data<AppState>,
    Administrator(admin): Administrator,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path_id::user_id(&id)?;
    state.sessions.end_all_of(&admin, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
