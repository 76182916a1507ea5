//! The console's pages, as maud templates: every value is escaped by the
//! template, and every page has the one stylesheet below and no script.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use authusers_domain::balance::{Balances, LedgerEntry};
use authusers_domain::mfa::{MfaStatus, RecoveryCode};
use authusers_domain::outbox::{MailStatus, OutboxBacklog, OutboxEntry};
use authusers_domain::sessions::{Session, SessionId};
use authusers_domain::{Page, User, UserStatus};
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::http::problem::Problem;
use crate::web::html;

/// The name of the hidden field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The console's stylesheet: one column on a phone, tables that scroll
/// sideways rather than overflow, a visible focus ring, and colours whose
/// contrast passes WCAG AA.
const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;line-height:1.5;\
color:#1a1a1a;background:#f6f7f9}\
.bar{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.25rem;padding:.75rem 1rem;\
background:#12355b;color:#fff}\
.bar a{color:#fff}.brand{font-weight:700;text-decoration:none;margin-right:auto}\
.bar nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}\
.bar nav a[aria-current]{font-weight:700;text-decoration-thickness:3px}\
main{max-width:64rem;margin:0 auto;padding:1rem}\
main a{color:#0b4fa0}main a:visited{color:#0b4fa0}\
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.75rem 0 .5rem}\
.flash{padding:.6rem 1rem;border-left:4px solid #1d6b2f;background:#e7f4ea;color:#12401d}\
.flash.warn{border-color:#8a5300;background:#fdf2dd;color:#4d2e00}\
.errors{padding:.5rem 1rem .5rem 2rem;color:#8b0000;background:#fdecec;\
border-left:4px solid #8b0000}\
.wrap{overflow-x:auto;background:#fff;border:1px solid #c9ced6;border-radius:6px}\
table{border-collapse:collapse;width:100%;font-size:.95rem}\
th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid #e1e4e8;vertical-align:top}\
th{background:#eef1f4}\
.muted{color:#4a5360}.nowrap{white-space:nowrap}\
label{display:block;font-weight:600;margin-bottom:.2rem}\
input,select,button{font:inherit}\
input,select{padding:.45rem .5rem;border:1px solid #6b6b6b;border-radius:4px;background:#fff;\
max-width:100%}\
.stack input{display:block;width:100%;max-width:24rem}.stack p{margin:0 0 1rem}\
.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:flex-end;margin-bottom:1rem}\
button{padding:.45rem .9rem;border:0;border-radius:4px;color:#fff;background:#1a5fb4;\
cursor:pointer}\
button.danger{background:#a51d2d}button.plain{background:transparent;color:#fff;\
text-decoration:underline;padding:0}\
a:focus,input:focus,select:focus,button:focus{outline:3px solid #f5c211;outline-offset:2px}\
main a:focus,main input:focus,main select:focus,main button:focus{outline-color:#0b3d91}\
form.inline{display:inline}\
.actions{display:flex;gap:.5rem;flex-wrap:wrap}\
.pager{display:flex;gap:1rem;align-items:center;margin:.75rem 0}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}\
dt{font-weight:600}dd{margin:0}\
.tabs{display:flex;flex-wrap:wrap;gap:.5rem 1rem;margin-bottom:1rem}\
.tabs a[aria-current]{font-weight:700}\
.badge{display:inline-block;padding:0 .55rem;border-radius:1rem;font-size:.85rem;\
background:#e1e4e8;color:#1a1a1a}\
.badge.sent,.badge.approved{background:#e7f4ea;color:#12401d}\
.badge.pending,.badge.unconfirmed{background:#fdf2dd;color:#4d2e00}\
.badge.failed,.badge.rejected,.badge.inactive{background:#fdecec;color:#8b0000}\
.skip{position:absolute;left:-100rem}.skip:focus{left:1rem;top:.5rem;padding:.4rem .8rem;\
background:#fff;color:#12355b}\
@media (max-width:40rem){th,td{padding:.4rem}dl{grid-template-columns:1fr}dt{margin-top:.5rem}}";

/// The console's sections, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Pending,
    Users,
    Mail,
    SecondFactor,
}

/// What a page of a signed-in administrator needs besides its content.
pub struct Frame<'a> {
    pub section: Option<Section>,
    pub csrf: &'a str,
    pub administrator: &'a str,
    pub flash: Option<Flash>,
}

/// A message after an action (POST, redirect, GET).
pub struct Flash {
    pub text: String,
    pub warning: bool,
}

fn document(title: &str, nav: Option<Markup>, flash: Option<&Flash>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · AuthUsers console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#content" { "Skip to the content" }
                header.bar {
                    a.brand href="/admin/" { "AuthUsers console" }
                    @if let Some(nav) = nav { (nav) }
                }
                main id="content" {
                    h1 { (title) }
                    @if let Some(flash) = flash {
                        p.flash.warn[flash.warning] role="status" id="flash" { (flash.text) }
                    }
                    (body)
                }
            }
        }
    }
    .into_string()
}

pub fn csrf_input(csrf: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(csrf); }
}

fn navigation(frame: &Frame<'_>) -> Markup {
    let link = |section: Section, href: &str, text: &str| {
        html! {
            @if frame.section == Some(section) {
                a href=(href) aria-current="page" { (text) }
            } @else {
                a href=(href) { (text) }
            }
        }
    };
    html! {
        nav aria-label="Console" {
            (link(Section::Pending, "/admin/", "Pending"))
            (link(Section::Users, "/admin/users/", "Users"))
            (link(Section::Mail, "/admin/mail/", "Mail"))
            (link(Section::SecondFactor, "/admin/mfa/", "Two-step sign-in"))
            span.nowrap { (frame.administrator) }
            form.inline method="post" action="/admin/logout/" {
                (csrf_input(frame.csrf))
                button.plain type="submit" id="sign-out" { "Sign out" }
            }
        }
    }
}

/// A page answer with the console's stylesheet and the pages' headers.
pub fn respond(status: StatusCode, document: String) -> HttpResponse {
    html::styled_page(status, STYLE, document)
}

/// A page of a signed-in administrator.
pub fn page(frame: Frame<'_>, title: &str, body: Markup) -> HttpResponse {
    let nav = navigation(&frame);
    respond(
        StatusCode::OK,
        document(title, Some(nav), frame.flash.as_ref(), body),
    )
}

/// A page with a title and one message, outside any session.
pub fn message_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    let body = html! {
        p { (message) }
        p { a href="/admin/" { "Back to the console" } }
    };
    respond(status, document(title, None, None, body))
}

/// A problem, as a page with its status.
pub fn problem_page(problem: &Problem) -> HttpResponse {
    let body = html! {
        p { (problem.detail()) }
        p { a href="/admin/" { "Back to the console" } }
    };
    let mut response = respond(
        actix_web::ResponseError::status_code(problem),
        document(problem.title(), None, None, body),
    );
    if let Some(seconds) = problem.retry_after() {
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// The sign-in form, with what went wrong last time.
pub fn sign_in(
    csrf: &str,
    email: &str,
    problem: Option<&Problem>,
    flash: Option<&Flash>,
) -> String {
    let body = html! {
        @if let Some(problem) = problem {
            div.errors role="alert" id="errors" {
                p { (problem.detail()) }
            }
        }
        form.stack method="post" action="/admin/login/" {
            (csrf_input(csrf))
            p {
                label for="email" { "E-mail address" }
                input id="email" name="email" type="email" autocomplete="username" required
                    value=(email) autofocus;
            }
            p {
                label for="password" { "Password" }
                input id="password" name="password" type="password"
                    autocomplete="current-password" required;
            }
            button type="submit" id="sign-in" { "Sign in" }
        }
    };
    document("Sign in", None, flash, body)
}

/// The second step of signing in: a code from the authenticator app, or a
/// recovery code, for the sign-in `mfa_token` names.
pub fn second_step(csrf: &str, mfa_token: &str, problem: Option<&Problem>) -> String {
    let body = html! {
        @if let Some(problem) = problem {
            div.errors role="alert" id="errors" {
                p { (problem.detail()) }
                @for message in problem.field_messages() {
                    p { (message) }
                }
            }
        }
        form.stack method="post" action="/admin/login/code/" {
            (csrf_input(csrf))
            input type="hidden" name="mfa_token" value=(mfa_token);
            p {
                label for="code" { "Code from your authenticator app" }
                input id="code" name="code" type="text" inputmode="numeric"
                    autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" autofocus;
            }
            p {
                label for="recovery_code" { "Or a recovery code" }
                input id="recovery_code" name="recovery_code" type="text" autocomplete="off";
            }
            button type="submit" id="verify" { "Verify" }
        }
    };
    document("Two-step sign-in", None, None, body)
}

/// The administrator's own second factor: on, or the form that begins it.
pub fn factor_status(
    status: &MfaStatus,
    required: bool,
    csrf: &str,
    refusal: Option<&str>,
) -> Markup {
    html! {
        @if let Some(refusal) = refusal {
            div.errors role="alert" id="errors" { p { (refusal) } }
        }
        @if let Some(since) = status.enabled_at {
            p id="factor-on" {
                "Two-step sign-in is on since " (time(since)) "; "
                (status.recovery_codes_left) " recovery codes left."
            }
        } @else {
            @if required {
                p id="factor-required" {
                    "Administrators must turn on two-step sign-in before using the console."
                }
            }
            p { "Signing in will take a code from an authenticator app as well as your password." }
            form.stack method="post" action="/admin/mfa/" {
                (csrf_input(csrf))
                p {
                    label for="current_password" { "Your password" }
                    input id="current_password" name="current_password" type="password"
                        autocomplete="current-password" required;
                }
                button type="submit" id="begin-mfa" { "Set up two-step sign-in" }
            }
        }
    }
}

/// A new secret waiting for its first code: the QR code to scan, the
/// secret to type, and the form for the code.
pub fn factor_enrolment(qr_svg: &str, secret: &str, csrf: &str) -> Markup {
    // The renderer's XML declaration has no place inside HTML.
    let svg = qr_svg.find("<svg").map_or("", |start| &qr_svg[start..]);
    html! {
        p { "Scan this code with your authenticator app, or type the key below." }
        figure id="qr" { (PreEscaped(svg)) }
        p { "Key: " code id="secret" { (secret) } }
        (code_form(csrf))
    }
}

/// The code form again, after a refusal.
pub fn factor_retry(refusal: &str, csrf: &str) -> Markup {
    html! {
        div.errors role="alert" id="errors" { p { (refusal) } }
        (code_form(csrf))
        p { a href="/admin/mfa/" { "Begin again" } }
    }
}

fn code_form(csrf: &str) -> Markup {
    html! {
        form.stack method="post" action="/admin/mfa/confirm/" {
            (csrf_input(csrf))
            p {
                label for="code" { "The code the app shows" }
                input id="code" name="code" type="text" inputmode="numeric"
                    autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required autofocus;
            }
            button type="submit" id="confirm-mfa" { "Turn on" }
        }
    }
}

/// The recovery codes of a factor just put in force, shown this once.
pub fn recovery_codes(codes: &[RecoveryCode]) -> Markup {
    html! {
        p id="factor-on" { "Two-step sign-in is on." }
        p { "Keep these recovery codes somewhere safe: each signs you in once without the app. They are shown only now." }
        ul id="recovery-codes" {
            @for code in codes { li { code { (code.display()) } } }
        }
        p { a href="/admin/" { "Continue to the console" } }
    }
}

/// A status as a coloured label; the word itself says it, the colour only
/// helps.
fn badge(status: &str) -> Markup {
    html! { span class={ "badge " (status) } { (status) } }
}

pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn full_name(user: &User) -> String {
    format!("{} {}", user.first_name.as_str(), user.last_name.as_str())
        .trim()
        .to_owned()
}

/// A page's place and its neighbours' links, made by the handler (which
/// seals their cursors).
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// The page's number, when it is known (counted from the start).
    pub number: Option<u64>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// "Previous" and "Next" links around a page.
pub fn pager<T>(page: &Page<T>, nav: &Pager) -> Markup {
    let size = u64::from(page.request.limit()).max(1);
    let pages = page.total.div_ceil(size).max(1);
    html! {
        nav.pager aria-label="Pages" {
            @if let Some(previous) = &nav.previous {
                a href=(previous) rel="prev" { "← Previous" }
            }
            span.muted {
                @if let Some(number) = nav.number { "Page " (number) " of " (pages) " " }
                "(" (page.total) " in all)"
            }
            @if let Some(next) = &nav.next {
                a href=(next) rel="next" { "Next →" }
            }
        }
    }
}

pub fn pending(page: &Page<User>, nav: &Pager, csrf: &str) -> Markup {
    html! {
        @if page.items.is_empty() {
            p id="no-pending" { "No registration is waiting for a decision." }
        } @else {
            p.muted { "Oldest first. Each decision sends its e-mail to the person." }
            div.wrap {
                table {
                    thead { tr { th scope="col" { "E-mail" } th scope="col" { "Name" }
                        th scope="col" { "Registered" } th scope="col" { "Decision" } } }
                    tbody {
                        @for user in &page.items {
                            tr id={ "pending-" (user.id.0) } {
                                td { a href={ "/admin/users/" (user.id.0) "/" } { (user.email.as_str()) } }
                                td { (full_name(user)) }
                                td.nowrap { (time(user.date_joined)) }
                                td {
                                    form.actions method="post" action={ "/admin/registrations/" (user.id.0) "/" } {
                                        (csrf_input(csrf))
                                        button type="submit" name="action" value="accept"
                                            aria-label={ "Accept " (user.email.as_str()) } { "Accept" }
                                        button.danger type="submit" name="action" value="reject"
                                            aria-label={ "Reject " (user.email.as_str()) } { "Reject" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(page, nav))
        }
    }
}

/// The search form and one page of users.
pub fn users(
    page: Option<&Page<User>>,
    nav: &Pager,
    search: &str,
    status: &str,
    problem: Option<&Problem>,
) -> Markup {
    html! {
        form.filters method="get" action="/admin/users/" role="search" {
            div {
                label for="q" { "E-mail or name contains" }
                input id="q" name="q" type="search" value=(search);
            }
            div {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" selected[status.is_empty()] { "Any" }
                    @for choice in [UserStatus::Pending, UserStatus::Approved, UserStatus::Rejected] {
                        option value=(choice.as_str()) selected[status == choice.as_str()] { (choice.as_str()) }
                    }
                }
            }
            button type="submit" id="search" { "Search" }
        }
        @if let Some(problem) = problem {
            ul.errors role="alert" {
                @for message in problem.field_messages() { li { (message) } }
            }
        }
        @if let Some(page) = page {
            @if page.items.is_empty() {
                p { "No user matches." }
            } @else {
                div.wrap {
                    table {
                        thead { tr { th scope="col" { "E-mail" } th scope="col" { "Name" }
                            th scope="col" { "Status" } th scope="col" { "Registered" } } }
                        tbody {
                            @for user in &page.items {
                                tr {
                                    td { a href={ "/admin/users/" (user.id.0) "/" } { (user.email.as_str()) } }
                                    td { (full_name(user)) }
                                    td { (badge(user.status.as_str())) @if user.is_admin { " administrator" } }
                                    td.nowrap { (time(user.date_joined)) }
                                }
                            }
                        }
                    }
                }
                (pager(page, nav))
            }
        }
    }
}

/// What the user's page shows.
pub struct UserView<'a> {
    pub user: &'a User,
    pub balances: Balances,
    pub ledger: &'a Page<LedgerEntry>,
    pub ledger_pager: Pager,
    pub sessions: &'a [Session],
    pub current: &'a SessionId,
    pub mail: &'a Page<OutboxEntry>,
    pub csrf: &'a str,
    /// Since when the user's second factor is on.
    pub second_factor_since: Option<DateTime<Utc>>,
}

pub fn user(view: &UserView<'_>) -> Markup {
    let user = view.user;
    let id = user.id.0;
    html! {
        section aria-labelledby="profile" {
            h2 id="profile" { "Profile" }
            dl {
                dt { "E-mail" } dd { (user.email.as_str()) }
                dt { "Name" } dd { (full_name(user)) }
                dt { "Status" } dd id="status" { (badge(user.status.as_str())) }
                dt { "Active" } dd id="active" {
                    @if user.is_active { "yes" } @else {
                        (badge("inactive")) " cannot log in or reset its password until enabled"
                    }
                }
                @if user.awaiting_activation {
                    dt { "Address" } dd { (badge("unconfirmed")) " waiting for its activation link" }
                }
                dt { "Administrator" } dd { @if user.is_admin { "yes" } @else { "no" } }
                dt { "Two-step sign-in" } dd id="second-factor" {
                    @if let Some(since) = view.second_factor_since { "on since " (time(since)) } @else { "off" }
                }
                dt { "Registered" } dd { (time(user.date_joined)) }
                @if let Some(moved_in) = user.imported_at {
                    dt { "Moved in" } dd { (time(moved_in)) " from the Django service" }
                }
                @if let Some(last_login) = user.last_login {
                    dt { "Last login there" } dd { (time(last_login)) }
                }
                @if let Some(decision) = &user.decision {
                    dt { "Decided" } dd {
                        (time(decision.decided_at))
                        @if let Some(by) = decision.decided_by { " by user " (by.0) }
                    }
                }
            }
            @if view.second_factor_since.is_some() {
                form.actions method="post" action={ "/admin/users/" (id) "/mfa/reset/" } {
                    (csrf_input(view.csrf))
                    button.danger type="submit" id="reset-mfa" { "Turn two-step sign-in off (lost device)" }
                }
            }
            @if !user.is_active {
                form.actions method="post" action={ "/admin/users/" (id) "/enable/" } {
                    (csrf_input(view.csrf))
                    button type="submit" id="enable" { "Enable account" }
                }
            }
            @if user.status == UserStatus::Pending {
                form.actions method="post" action={ "/admin/registrations/" (id) "/" } {
                    (csrf_input(view.csrf))
                    input type="hidden" name="back" value="user";
                    button type="submit" name="action" value="accept" { "Accept" }
                    button.danger type="submit" name="action" value="reject" { "Reject" }
                }
            }
        }
        section aria-labelledby="balances" {
            h2 id="balances" { "Balances" }
            dl {
                dt { "Real" } dd id="real-balance" { (view.balances.real) }
                dt { "Virtual" } dd id="virtual-balance" { (view.balances.virtual_) }
            }
        }
        section aria-labelledby="ledger" {
            h2 id="ledger" { "Ledger" }
            @if view.ledger.items.is_empty() {
                p { "No balance operation yet." }
            } @else {
                div.wrap {
                    table {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Operation" }
                            th scope="col" { "Amount" } th scope="col" { "Bonus" }
                            th scope="col" { "Real after" } th scope="col" { "Virtual after" } } }
                        tbody {
                            @for entry in &view.ledger.items {
                                tr {
                                    td.nowrap { (time(entry.created_at)) }
                                    td { (entry.action.as_str()) " " (entry.kind.as_str()) }
                                    td { (entry.amount) }
                                    td { (entry.bonus) }
                                    td { (entry.balances_after.real) }
                                    td { (entry.balances_after.virtual_) }
                                }
                            }
                        }
                    }
                }
                (pager(view.ledger, &view.ledger_pager))
            }
        }
        section aria-labelledby="sessions" {
            h2 id="sessions" { "Open sessions" }
            @if view.sessions.is_empty() {
                p id="no-sessions" { "No open session." }
            } @else {
                div.wrap {
                    table {
                        thead { tr { th scope="col" { "Signed in" } th scope="col" { "Last used" }
                            th scope="col" { "Client" } th scope="col" { "Address" } } }
                        tbody {
                            @for session in view.sessions {
                                tr.session {
                                    td.nowrap { (time(session.created_at))
                                        @if &session.id == view.current { " (this console)" } }
                                    td.nowrap { (time(session.last_used_at)) }
                                    td { (session.client.user_agent.as_deref().unwrap_or("—")) }
                                    td { (session.client.address.as_deref().unwrap_or("—")) }
                                }
                            }
                        }
                    }
                }
                form method="post" action={ "/admin/users/" (id) "/sessions/end/" } {
                    (csrf_input(view.csrf))
                    p { button.danger type="submit" id="end-sessions" { "End all sessions" } }
                }
            }
        }
        section aria-labelledby="mail" {
            h2 id="mail" { "Mail" }
            (mail_table(&view.mail.items, false))
            @if view.mail.has_next() {
                p.muted { "The " (view.mail.items.len()) " newest of " (view.mail.total) "." }
            }
        }
    }
}

fn mail_table(entries: &[OutboxEntry], with_recipient: bool) -> Markup {
    html! {
        @if entries.is_empty() {
            p { "No mail." }
        } @else {
            div.wrap {
                table {
                    thead { tr {
                        th scope="col" { "Queued" }
                        @if with_recipient { th scope="col" { "To" } }
                        th scope="col" { "Subject" } th scope="col" { "Status" }
                        th scope="col" { "Attempts" } th scope="col" { "Last error" }
                        th scope="col" { "Sent" }
                    } }
                    tbody {
                        @for entry in entries {
                            tr.mail {
                                td.nowrap { (time(entry.created_at)) }
                                @if with_recipient { td { (entry.recipient) } }
                                td { (entry.subject) }
                                td { (badge(entry.status.as_str())) }
                                td { (entry.attempts) }
                                td { (entry.last_error.as_deref().unwrap_or("—")) }
                                td.nowrap { (entry.sent_at.map(time).unwrap_or_else(|| "—".to_owned())) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn mail(
    page: &Page<OutboxEntry>,
    nav: &Pager,
    status: Option<MailStatus>,
    backlog: OutboxBacklog,
    csrf: &str,
) -> Markup {
    let tab = |choice: Option<MailStatus>, text: &str| {
        let href = match choice {
            Some(status) => format!("/admin/mail/?status={}", status.as_str()),
            None => "/admin/mail/".to_owned(),
        };
        html! {
            @if choice == status { a href=(href) aria-current="page" { (text) } }
            @else { a href=(href) { (text) } }
        }
    };
    html! {
        p { (backlog.pending) " waiting to be sent, " (backlog.failed) " failed." }
        @if backlog.failed > 0 {
            form method="post" action="/admin/mail/retry/" {
                (csrf_input(csrf))
                p { button type="submit" id="retry-failed" { "Retry failed mail" } }
            }
        }
        nav.tabs aria-label="Status" {
            (tab(None, "All"))
            (tab(Some(MailStatus::Pending), "Pending"))
            (tab(Some(MailStatus::Failed), "Failed"))
            (tab(Some(MailStatus::Sent), "Sent"))
        }
        (mail_table(&page.items, true))
        (pager(page, nav))
    }
}
