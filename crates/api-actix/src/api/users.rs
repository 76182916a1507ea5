//! djoser's user routes beyond the caller's own profile: the user list,
//! one user, and deleting the caller's account.

use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::accounts::{DeleteAccountRequest, ListUsersRequest};
use serde::Deserialize;
use utoipa::ToSchema;

use super::pagination::{page_body, page_request, query, PageBody, PageQuery};
use super::profile::ProfileBody;
use crate::http::auth::AuthenticatedUser;
use crate::http::client_address::Client;
use crate::http::cursor::Listing;
use crate::http::hashing_place::take_place;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::path_id;
use crate::http::problem::{Problem, ProblemBody};
use crate::http::required::Required;
use crate::http::state::AppState;

/// `?status=` and `?search=`, beside the page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UserListQuery {
    #[param(value_type = Option<StatusFilter>)]
    status: Option<String>,
    /// Text the e-mail, a name or the full name contains, in any case; at
    /// most 254 characters, no control characters.
    #[param(max_length = 254, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    search: Option<String>,
}

/// A status to filter by, or empty for none (as django-filter reads an
/// empty parameter). Written by hand: the derive cannot name a value "".
pub struct StatusFilter;

impl utoipa::PartialSchema for StatusFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["pending", "approved", "rejected", ""]))
            .description(Some("A status, or empty for every status"))
            .into()
    }
}

impl ToSchema for StatusFilter {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrentPasswordBody {
    #[schema(value_type = String, example = "violet-kettle-93")]
    current_password: Option<String>,
}

impl RequestBody for CurrentPasswordBody {}

/// Users, oldest first. An administrator sees every user; anyone else a
/// list holding only themself (djoser's `HIDE_USERS`).
#[utoipa::path(get, path = "/auth/users/", operation_id = "list_users", tag = "accounts", security(("bearer" = [])),
    params(PageQuery, UserListQuery),
    responses(
        (status = 200, description = "A page of users", body = PageBody<ProfileBody>),
        (status = 400, description = "Bad `limit`, `offset`, `cursor`, `status` or `search`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let mut query = query(&req)?;
    let request = ListUsersRequest {
        status: query.remove("status"),
        search: query.remove("search"),
    };
    // A cursor holds for the caller's list with the same filters.
    let scope = format!(
        "{}\0{}\0{}",
        user.id,
        request.status.as_deref().unwrap_or_default().trim(),
        request
            .search
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_lowercase()
    );
    let listing = Listing::new("users", scope);
    let page = page_request(&req, &listing)?;
    let listed = state.accounts.list_users(&user, request, page).await?;
    let body = page_body(&req, &listing, listed.map(|u| ProfileBody::from(&u)));
    Ok(HttpResponse::Ok().json(body))
}

/// One user's profile: the caller's own, or anyone's for an administrator.
/// Another user's id is 404, never 403.
#[utoipa::path(get, path = "/auth/users/{id}/", operation_id = "get_user", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The profile", body = ProfileBody),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such user, or not the caller's to see", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn show(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let id = path_id::user_id(&id)?;
    let found = state.accounts.read_user(&user, id).await?;
    Ok(HttpResponse::Ok().json(ProfileBody::from(&found)))
}

/// Delete the caller's account. The person is erased (e-mail, names,
/// password) and the address may register again; the ledger stays under
/// the numeric id. Both balances must be zero.
#[utoipa::path(delete, path = "/auth/users/me/", operation_id = "delete_account", tag = "accounts", security(("bearer" = [])),
    request_body = CurrentPasswordBody,
    responses(
        (status = 204, description = "Erased"),
        (status = 400, description = "Wrong or missing `current_password`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "A balance is not zero (`balance_not_empty`); nothing changed", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account from this address, counted with failed logins (`too_many_attempts`); nothing was checked. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the limit lifts"))),
        (status = 503, description = "The password-hashing queue is full (`overloaded`); nothing was done. See `Retry-After`", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds after which to try again"))),
    ))]
pub async fn delete_me(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    Client(client): Client,
    body: JsonBody<CurrentPasswordBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    let mut required = Required::new();
    let current_password = required.field("current_password", body.current_password);
    required.check()?;
    let _place = take_place(&state.hashing).await?;
    let request = DeleteAccountRequest {
        current_password,
        client,
    };
    state.accounts.delete_account(&user, request).await?;
    Ok(HttpResponse::NoContent().finish())
}
