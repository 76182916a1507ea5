//! The administrator's console: server-rendered pages under `/admin/` to
//! decide on registrations, find users, see their money, sessions and
//! mail, and watch the outbox. No script: every action is a form that
//! posts, then redirects to a page that says how it went.
//!
//! Signing in is a login (the same rules, throttle and bcrypt queue as
//! `POST /auth/jwt/create/`) that opens a session; the cookie names it, so
//! it is listed, and ended, like any other session of the administrator.

mod factor;
mod second_step;
mod session;
mod views;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::accounts::{
    DecideError, ListUsersError, ListUsersRequest, LoginError, LoginRequest,
};
use authusers_domain::outbox::{MailStatus, OutboxFilter};
use authusers_domain::pagination::Window;
use authusers_domain::sessions::{Entrance, SessionGrant, SignInError, SignedIn};
use authusers_domain::{Decision, Page, PageRequest, User, UserStatus};
use rand::RngCore;
use serde::Deserialize;

use self::second_step::second_step_form;
use self::session::{
    clear_cookie, cookie, csrf_token, read_form, redirect, set_cookie, ConsoleAdmin, ConsoleError,
    SESSION_COOKIE, SIGN_IN_COOKIE,
};
use self::views::{Flash, Frame, Section};
use crate::http::client_address::{client_info, Client};
use crate::http::cursor::{self, Listing};
use crate::http::hashing_place::take_place;
use crate::http::path_id;
use crate::http::problem::Problem;
use crate::http::state::AppState;
pub use factor::{
    begin as factor_begin, confirm as factor_confirm, reset as factor_reset, show as factor_show,
};
pub use second_step::sign_in_code;

/// Rows on a page of any list.
const PAGE_SIZE: u32 = 20;

/// The query string every console page reads: a page number, filters, and
/// the outcome of the action that redirected here.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    page: Option<String>,
    cursor: Option<String>,
    ledger: Option<String>,
    ledger_cursor: Option<String>,
    q: Option<String>,
    status: Option<String>,
    done: Option<String>,
    n: Option<String>,
}

impl PageQuery {
    /// Lenient: a page is a link to follow, so a bad parameter is ignored
    /// rather than refused.
    pub(super) fn of(req: &HttpRequest) -> Self {
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
    }

    fn flash(&self) -> Option<Flash> {
        let done = Done::parse(self.done.as_deref()?)?;
        let count = self.n.as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
        Some(done.flash(count))
    }
}

/// What an action did, named in the address of the page it redirects to
/// (`?done=`), which says it in a sentence of its own: nothing a link
/// carries is ever shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    Accepted,
    Rejected,
    AlreadyApproved,
    AlreadyRejected,
    NoUser,
    SessionsEnded,
    Retried,
    SignedOut,
    Enabled,
    FactorReset,
}

impl Done {
    const ALL: [Self; 10] = [
        Self::Accepted,
        Self::Rejected,
        Self::AlreadyApproved,
        Self::AlreadyRejected,
        Self::NoUser,
        Self::SessionsEnded,
        Self::Retried,
        Self::SignedOut,
        Self::Enabled,
        Self::FactorReset,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::AlreadyApproved => "already_approved",
            Self::AlreadyRejected => "already_rejected",
            Self::NoUser => "no_user",
            Self::SessionsEnded => "sessions_ended",
            Self::Retried => "retried",
            Self::SignedOut => "signed_out",
            Self::Enabled => "enabled",
            Self::FactorReset => "mfa_reset",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|done| done.as_str() == raw)
    }

    /// The message, with `count` things done where it has a count.
    fn flash(self, count: u64) -> Flash {
        let plural = |one: &str, many: &str| if count == 1 { one } else { many }.to_owned();
        let (text, warning) = match self {
            Self::Accepted => (
                "Registration accepted; the e-mail that says so is queued.".to_owned(),
                false,
            ),
            Self::Rejected => (
                "Registration rejected; the e-mail that says so is queued.".to_owned(),
                false,
            ),
            Self::AlreadyApproved => ("That registration was already accepted.".to_owned(), true),
            Self::AlreadyRejected => ("That registration was already rejected.".to_owned(), true),
            Self::NoUser => ("That user no longer exists.".to_owned(), true),
            Self::SessionsEnded => (
                format!("{count} {} ended.", plural("session", "sessions")),
                false,
            ),
            Self::Retried => (
                format!(
                    "{count} failed {} queued again.",
                    plural("message", "messages")
                ),
                false,
            ),
            Self::SignedOut => ("You have signed out.".to_owned(), false),
            Self::Enabled => (
                "Account enabled: it may log in and reset its password again.".to_owned(),
                false,
            ),
            Self::FactorReset => (
                "Two-step sign-in turned off: the user's sessions ended, and a notice was mailed."
                    .to_owned(),
                false,
            ),
        };
        Flash { text, warning }
    }
}

/// Page `number` (from 1) of `PAGE_SIZE` rows; a number that is not one
/// is page 1. A page the lists cannot reach is not found, never another
/// page's rows under its number.
fn page_number(raw: Option<&str>) -> Result<(u64, PageRequest), ConsoleError> {
    let number = raw
        .and_then(|raw| raw.parse::<u64>().ok())
        .filter(|n| (1..=1_000_000).contains(n))
        .unwrap_or(1);
    let request = PageRequest::new(Some(PAGE_SIZE), Some((number - 1) * u64::from(PAGE_SIZE)))
        .map_err(|_| ConsoleError::NotFound("No such page."))?;
    Ok((number, request))
}

/// A list's page as the console links it: `?page=N` (links of old, and
/// anyone counting) by offset; otherwise by cursor, which costs the same
/// on the last page as on the first.
fn list_page(
    state: &AppState,
    listing: &Listing,
    number: Option<&str>,
    cursor: Option<&str>,
) -> Result<(Option<u64>, PageRequest), ConsoleError> {
    if let Some(cursor) = cursor.filter(|c| !c.trim().is_empty()) {
        let window = cursor::open(state.cursors.as_ref(), listing, cursor).map_err(|_| {
            ConsoleError::NotFound("No such page: the link is not one of this list's.")
        })?;
        let request = PageRequest::keyset(Some(PAGE_SIZE), window)
            .map_err(|_| ConsoleError::NotFound("No such page."))?;
        return Ok((None, request));
    }
    if number.is_some() {
        let (number, request) = page_number(number)?;
        return Ok((Some(number), request));
    }
    let request = PageRequest::keyset(Some(PAGE_SIZE), Window::After(None))
        .map_err(|_| ConsoleError::NotFound("No such page."))?;
    Ok((Some(1), request))
}

/// The links around `page`: `link(parameter)` is the list's URL with one
/// more query parameter (`cursor_name=…` or `number_name=N`).
fn pager<T>(
    state: &AppState,
    listing: &Listing,
    page: &Page<T>,
    number: Option<u64>,
    (cursor_name, number_name): (&str, &str),
    link: impl Fn(String) -> String,
) -> views::Pager {
    if page.request.is_keyset() {
        let (next, previous) = cursor::neighbours(state.cursors.as_ref(), listing, page);
        let to = |sealed: String| link(format!("{cursor_name}={sealed}"));
        return views::Pager {
            number: number.filter(|_| !page.has_previous()),
            previous: previous.map(to),
            next: next.map(to),
        };
    }
    let number = number.unwrap_or(1);
    views::Pager {
        number: Some(number),
        previous: page
            .has_previous()
            .then(|| link(format!("{number_name}={}", number - 1))),
        next: page
            .has_next()
            .then(|| link(format!("{number_name}={}", number + 1))),
    }
}

pub(super) fn frame<'a>(
    admin: &'a ConsoleAdmin,
    section: Option<Section>,
    query: &PageQuery,
) -> Frame<'a> {
    Frame {
        section,
        csrf: &admin.csrf,
        administrator: admin.user.email.as_str(),
        flash: query.flash(),
    }
}

/// The sign-in form. Its CSRF token is bound to a random cookie of its
/// own, as no session exists yet.
async fn sign_in_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let query = PageQuery::of(&req);
    sign_in_answer(
        &state,
        &req,
        StatusCode::OK,
        "",
        None,
        query.flash().as_ref(),
    )
}

pub(super) fn sign_in_answer(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    email: &str,
    problem: Option<&Problem>,
    flash: Option<&Flash>,
) -> HttpResponse {
    let secret = cookie(req, SIGN_IN_COOKIE)
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(new_secret);
    let mut response = views::respond(
        status,
        views::sign_in(&csrf_token(&secret), email, problem, flash),
    );
    if let Some(value) = set_cookie(state, SIGN_IN_COOKIE, &secret) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    if let Some(retry) = problem.and_then(Problem::retry_after) {
        if let Ok(value) = header::HeaderValue::from_str(&retry.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Signs in: a login through `Accounts::log_in` (throttled, in the bcrypt
/// queue), for administrators only, that opens a session.
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    Client(client): Client,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let secret = cookie(&req, SIGN_IN_COOKIE).ok_or(ConsoleError::Forged)?;
    let form: SignInForm = read_form(&req, &secret, &body)?;
    let _place = match take_place(&state.hashing).await {
        Ok(place) => place,
        Err(problem) => return Ok(refused_sign_in(&state, &req, &form, &problem)),
    };
    let request = LoginRequest {
        email: form.email.clone(),
        password: form.password.clone(),
        client,
    };
    let outcome = state
        .sign_in
        .sign_in(request, client_info(&req, client), Entrance::Console)
        .await;
    let (user, grant) = match outcome {
        Ok(SignedIn::Session(user, grant)) => (*user, grant),
        Ok(SignedIn::SecondStep(token)) => {
            return second_step_form(&req, StatusCode::OK, &token.encode(), None)
        }
        Err(SignInError::NotAdministrator) => return Err(ConsoleError::NotAdministrator),
        // A refusal of the credentials is the form again, with why; the
        // service's own failures are an error page.
        Err(SignInError::Login(
            refusal @ (LoginError::InvalidCredentials
            | LoginError::AccountPending
            | LoginError::AccountNotActivated
            | LoginError::AccountRejected
            | LoginError::Throttled(_)),
        )) => {
            return Ok(refused_sign_in(
                &state,
                &req,
                &form,
                &Problem::from(refusal),
            ))
        }
        Err(failure) => return Err(Problem::from(failure).into()),
    };
    signed_in(&state, &user, &grant)
}

/// The console cookie of a session just opened, and the way in.
pub(super) fn signed_in(
    state: &AppState,
    user: &User,
    grant: &SessionGrant,
) -> Result<HttpResponse, ConsoleError> {
    let token = state
        .tokens
        .issue_console(grant, state.clock.now())
        .map_err(|e| Problem::internal(&e))?;
    tracing::info!(user_id = user.id.0, "signed in to the console");
    let mut response = redirect("/admin/");
    if let Some(value) = set_cookie(state, SESSION_COOKIE, &token) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(SIGN_IN_COOKIE));
    Ok(response)
}

fn refused_sign_in(
    state: &AppState,
    req: &HttpRequest,
    form: &SignInForm,
    problem: &Problem,
) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(problem);
    sign_in_answer(state, req, status, &form.email, Some(problem), None)
}

#[derive(Debug, Deserialize)]
pub(super) struct EmptyForm {}

/// Signs out: ends this console session.
pub async fn sign_out(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let EmptyForm {} = admin.form(&req, &body)?;
    match state
        .sessions
        .end_one(&admin.user, admin.session.as_str())
        .await
    {
        Ok(()) | Err(authusers_domain::sessions::EndSessionError::NotFound) => {}
        Err(authusers_domain::sessions::EndSessionError::Repository(e)) => {
            return Err(Problem::storage(&e).into())
        }
    }
    let mut response = redirect(&format!("/admin/login/?done={}", Done::SignedOut.as_str()));
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
    Ok(response)
}

/// Pending registrations, oldest first.
pub async fn pending(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let query = PageQuery::of(&req);
    let listing = Listing::new("pending", "");
    let (number, request) = list_page(
        &state,
        &listing,
        query.page.as_deref(),
        query.cursor.as_deref(),
    )?;
    let page = state
        .accounts
        .list_pending(&admin.user, request)
        .await
        .map_err(Problem::from)?;
    let nav = pager(
        &state,
        &listing,
        &page,
        number,
        ("cursor", "page"),
        |param| format!("/admin/?{param}"),
    );
    let body = views::pending(&page, &nav, &admin.csrf);
    Ok(views::page(
        frame(&admin, Some(Section::Pending), &query),
        "Pending registrations",
        body,
    ))
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    action: String,
    /// `user` to come back to the user's page rather than the queue.
    back: Option<String>,
}

/// Accepts or rejects a registration, exactly as `PATCH /confirm-users/{id}/`.
pub async fn decide(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: DecisionForm = admin.form(&req, &body)?;
    let id = path_id::user_id(&id).map_err(|_| ConsoleError::NotFound("No user with this id."))?;
    let decision = match form.action.as_str() {
        "accept" => Decision::Accept,
        "reject" => Decision::Reject,
        _ => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "Invalid request",
                "A registration is accepted or rejected.",
            )
            .into())
        }
    };
    let done = match state.accounts.decide(&admin.user, id, decision).await {
        Ok(_) => match decision {
            Decision::Accept => Done::Accepted,
            Decision::Reject => Done::Rejected,
        },
        Err(DecideError::AlreadyDecided(UserStatus::Rejected)) => Done::AlreadyRejected,
        Err(DecideError::AlreadyDecided(_)) => Done::AlreadyApproved,
        Err(DecideError::NotFound) => Done::NoUser,
        Err(other) => return Err(Problem::from(other).into()),
    };
    let back = if form.back.as_deref() == Some("user") {
        format!("/admin/users/{}/?done={}", id.0, done.as_str())
    } else {
        format!("/admin/?done={}", done.as_str())
    };
    Ok(redirect(&back))
}

/// Users, by search and status.
pub async fn users(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let query = PageQuery::of(&req);
    let search = query.q.clone().unwrap_or_default();
    let status = query.status.clone().unwrap_or_default();
    let listing = Listing::new(
        "console-users",
        format!("{}\0{}", status.trim(), search.trim().to_lowercase()),
    );
    let (number, request) = list_page(
        &state,
        &listing,
        query.page.as_deref(),
        query.cursor.as_deref(),
    )?;
    let listed = state
        .accounts
        .list_users(
            &admin.user,
            ListUsersRequest {
                status: Some(status.clone()),
                search: Some(search.clone()),
            },
            request,
        )
        .await;
    let (page, problem) = match listed {
        Ok(page) => (Some(page), None),
        // A search or a status that is not one: the form again, with why.
        Err(invalid @ ListUsersError::Invalid(_)) => (None, Some(Problem::from(invalid))),
        Err(other) => return Err(Problem::from(other).into()),
    };
    let nav = page.as_ref().map_or_else(views::Pager::default, |page| {
        pager(
            &state,
            &listing,
            page,
            number,
            ("cursor", "page"),
            |param| {
                let filters = serde_urlencoded::to_string([("q", &search), ("status", &status)]);
                format!("/admin/users/?{}&{param}", filters.unwrap_or_default())
            },
        )
    });
    let body = views::users(page.as_ref(), &nav, &search, &status, problem.as_ref());
    Ok(views::page(
        frame(&admin, Some(Section::Users), &query),
        "Users",
        body,
    ))
}

/// One user: profile, balances, ledger, open sessions and mail.
pub async fn user(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let query = PageQuery::of(&req);
    let user = find_user(&state, &admin.user, &id).await?;
    let listing = Listing::new("console-ledger", user.id.to_string());
    let (ledger_number, ledger_request) = list_page(
        &state,
        &listing,
        query.ledger.as_deref(),
        query.ledger_cursor.as_deref(),
    )?;
    let balances = state.wallet.balances(&user).await.map_err(Problem::from)?;
    let ledger = state
        .wallet
        .ledger(&user, ledger_request)
        .await
        .map_err(|e| Problem::storage(&e))?;
    let sessions = state
        .sessions
        .list_of(&admin.user, user.id)
        .await
        .map_err(Problem::from)?;
    let factor = state
        .mfa
        .status(user.id)
        .await
        .map_err(|e| Problem::storage(&e))?;
    let mail = state
        .mailroom
        .list(
            &admin.user,
            OutboxFilter {
                status: None,
                user: Some(user.id),
            },
            page_number(None)?.1,
        )
        .await
        .map_err(Problem::from)?;
    let body = views::user(&views::UserView {
        user: &user,
        balances,
        ledger: &ledger,
        ledger_pager: pager(
            &state,
            &listing,
            &ledger,
            ledger_number,
            ("ledger_cursor", "ledger"),
            |param| format!("/admin/users/{}/?{param}#ledger", user.id),
        ),
        sessions: &sessions,
        current: &admin.session,
        mail: &mail,
        csrf: &admin.csrf,
        second_factor_since: factor.enabled_at,
    });
    Ok(views::page(
        frame(&admin, Some(Section::Users), &query),
        user.email.as_str(),
        body,
    ))
}

pub(super) async fn find_user(
    state: &AppState,
    admin: &User,
    id: &str,
) -> Result<User, ConsoleError> {
    const MISSING: &str = "No user with this id.";
    let id = path_id::user_id(id).map_err(|_| ConsoleError::NotFound(MISSING))?;
    match state.accounts.read_user(admin, id).await {
        Ok(user) => Ok(user),
        Err(authusers_domain::accounts::ReadUserError::NotFound) => {
            Err(ConsoleError::NotFound(MISSING))
        }
        Err(other) => Err(Problem::from(other).into()),
    }
}

/// Enables an inactive account (moved in from Django as inactive): it may
/// log in and reset its password again.
pub async fn enable(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let EmptyForm {} = admin.form(&req, &body)?;
    let user = find_user(&state, &admin.user, &id).await?;
    state
        .accounts
        .enable(&admin.user, user.id)
        .await
        .map_err(Problem::from)?;
    Ok(redirect(&format!(
        "/admin/users/{}/?done={}",
        user.id.0,
        Done::Enabled.as_str()
    )))
}

/// Ends every session of a user, as `DELETE /auth/users/{id}/sessions/`.
pub async fn end_sessions(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let EmptyForm {} = admin.form(&req, &body)?;
    let user = find_user(&state, &admin.user, &id).await?;
    let ended = state
        .sessions
        .end_all_of(&admin.user, user.id)
        .await
        .map_err(Problem::from)?;
    Ok(redirect(&format!(
        "/admin/users/{}/?done={}&n={ended}#sessions",
        user.id.0,
        Done::SessionsEnded.as_str()
    )))
}

/// The outbox, by status, newest first.
pub async fn mail(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let query = PageQuery::of(&req);
    let status = query.status.as_deref().and_then(MailStatus::parse);
    let listing = Listing::new("console-mail", status.map_or("", MailStatus::as_str));
    let (number, request) = list_page(
        &state,
        &listing,
        query.page.as_deref(),
        query.cursor.as_deref(),
    )?;
    let page = state
        .mailroom
        .list(&admin.user, OutboxFilter { status, user: None }, request)
        .await
        .map_err(Problem::from)?;
    let backlog = state
        .mailroom
        .backlog(&admin.user)
        .await
        .map_err(Problem::from)?;
    let filter = status.map_or(String::new(), |s| format!("status={}&", s.as_str()));
    let nav = pager(
        &state,
        &listing,
        &page,
        number,
        ("cursor", "page"),
        |param| format!("/admin/mail/?{filter}{param}"),
    );
    let body = views::mail(&page, &nav, status, backlog, &admin.csrf);
    Ok(views::page(
        frame(&admin, Some(Section::Mail), &query),
        "Mail",
        body,
    ))
}

/// Puts every failed message back in the queue, as `authusers outbox
/// --retry-failed` does.
pub async fn retry_failed(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let EmptyForm {} = admin.form(&req, &body)?;
    let requeued = state
        .mailroom
        .retry_failed(&admin.user)
        .await
        .map_err(Problem::from)?;
    Ok(redirect(&format!(
        "/admin/mail/?done={}&n={requeued}",
        Done::Retried.as_str()
    )))
}

/// `GET /admin/login/` when already signed in goes to the console.
pub async fn sign_in_or_console(
    state: web::Data<AppState>,
    admin: Result<ConsoleAdmin, ConsoleError>,
    req: HttpRequest,
) -> HttpResponse {
    match admin {
        Ok(_) => redirect("/admin/"),
        Err(_) => sign_in_page(state, req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_back_as_itself_and_nothing_else_shows() {
        for done in Done::ALL {
            assert_eq!(Done::parse(done.as_str()), Some(done));
        }
        assert_eq!(Done::parse("<script>"), None);
        assert_eq!(Done::SessionsEnded.flash(1).text, "1 session ended.");
        assert_eq!(
            Done::Retried.flash(2).text,
            "2 failed messages queued again."
        );
    }

    #[test]
    fn a_page_number_is_taken_leniently() {
        let number = |raw| page_number(raw).unwrap().0;
        assert_eq!(number(None), 1);
        assert_eq!(number(Some("x")), 1);
        assert_eq!(number(Some("0")), 1);
        let (number, request) = page_number(Some("3")).unwrap();
        assert_eq!((number, request.offset(), request.limit()), (3, 40, 20));
    }
}
