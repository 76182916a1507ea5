//! The administrator's console: over plain HTTP (cookies, CSRF, refusals,
//! metrics) and in a real browser (the whole round of an administrator's
//! work, with a screenshot of each page in target/console-screenshots/).

use std::path::PathBuf;

use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::{on_both_backends, DatabaseUrl};
use fantoccini::Locator;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{redirect, Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::browser::Browser;
use crate::helpers::{TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD};

/// A client that follows no redirect, so that each answer can be seen.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of the cookie `name` that a response sets, and its attributes.
fn set_cookie(response: &Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|line| {
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| (value.to_owned(), attributes.to_owned()))
        })
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(page: &str) -> String {
    let start = page.find(r#"name="csrf" value=""#).expect("a CSRF field") + 19;
    page[start..]
        .split('"')
        .next()
        .expect("its value")
        .to_owned()
}

/// A browser without a browser: a cookie jar of one console session.
struct Console<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: String,
}

impl<'a> Console<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: plain_client(),
            cookies: String::new(),
        }
    }

    async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.app.address))
            .header(COOKIE, &self.cookies)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.app.address))
            .header(COOKIE, &self.cookies)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in with the sign-in page's form; the answer to the form.
    async fn sign_in(&mut self, email: &str, password: &str) -> Response {
        let page = self.get("/admin/login/").await;
        assert_eq!(page.status(), StatusCode::OK);
        let (secret, attributes) =
            set_cookie(&page, "authusers_console_sign_in").expect("a sign-in cookie");
        assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"));
        self.cookies = format!("authusers_console_sign_in={secret}");
        let csrf = csrf_of(&page.text().await.unwrap());
        let answer = self
            .post(
                "/admin/login/",
                &[("csrf", &csrf), ("email", email), ("password", password)],
            )
            .await;
        if let Some((token, _)) = set_cookie(&answer, "authusers_console") {
            self.cookies = format!("authusers_console={token}");
        }
        answer
    }

    /// The CSRF token of the console's forms, from its first page.
    async fn csrf(&self) -> String {
        let page = self.get("/admin/").await;
        assert_eq!(page.status(), StatusCode::OK);
        csrf_of(&page.text().await.unwrap())
    }
}

/// The sessions `token`'s user has open, as `GET /auth/sessions/` lists them.
async fn open_sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let listed: Value = app
        .get("/auth/sessions/", token)
        .await
        .json()
        .await
        .unwrap();
    listed.as_array().expect("a list of sessions").clone()
}

fn location(response: &Response) -> &str {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn console_refuses_a_signed_out_visitor(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let visitor = Console::new(&app);
    for path in [
        "/admin/",
        "/admin/users/",
        "/admin/users/1/",
        "/admin/mail/",
    ] {
        let answer = visitor.get(path).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&answer), "/admin/login/", "{path}");
    }
    let posted = visitor
        .post("/admin/registrations/1/", &[("action", "accept")])
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&posted), "/admin/login/");

    let page = visitor.get("/admin/login/").await;
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
    assert!(!policy.contains("unsafe"));
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["cache-control"], "no-store");
    // A sign-in form posted from elsewhere carries no sign-in cookie.
    let forged = visitor
        .post(
            "/admin/login/",
            &[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

async fn console_forms_need_their_csrf_token(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.admin_token().await;
    let ann = app.register("ann@example.com").await["id"]
        .as_i64()
        .unwrap();
    let eve = app
        .post(
            "/auth/users/",
            json!({"email": "eve@example.com", "password": USER_PASSWORD, "first_name": "<i>Eve</i>"}),
        )
        .await;
    assert_eq!(eve.status(), StatusCode::CREATED);
    let mut console = Console::new(&app);
    let signed_in = console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/admin/");
    let (_, attributes) = set_cookie(&signed_in, "authusers_console").unwrap();
    assert!(attributes.contains("HttpOnly"), "{attributes}");
    assert!(attributes.contains("SameSite=Strict"), "{attributes}");
    assert!(attributes.contains("Path=/admin/"), "{attributes}");
    // Served over plain HTTP (no https PUBLIC_URL): not Secure.
    assert!(!attributes.contains("Secure"), "{attributes}");

    let path = format!("/admin/registrations/{ann}/");
    let without = console.post(&path, &[("action", "accept")]).await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert!(without
        .text()
        .await
        .unwrap()
        .contains("This form has expired"));
    let wrong = console
        .post(&path, &[("action", "accept"), ("csrf", "not-the-token")])
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let pending = console.get("/admin/").await.text().await.unwrap();
    assert!(pending.contains("ann@example.com"), "still pending");
    // What people typed is shown as text, never as markup.
    assert!(pending.contains("&lt;i&gt;Eve&lt;/i&gt;"), "{pending}");
    assert!(!pending.contains("<i>Eve"));

    let csrf = console.csrf().await;
    // The right token in a body that is not a form is refused: only
    // application/x-www-form-urlencoded is read as a form.
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json",
    ] {
        let not_a_form = console
            .client
            .post(format!("{}{path}", app.address))
            .header(COOKIE, &console.cookies)
            .header(CONTENT_TYPE, content_type)
            .body(format!("action=accept&csrf={csrf}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            not_a_form.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    let pending = console.get("/admin/").await.text().await.unwrap();
    assert!(pending.contains("ann@example.com"), "still pending");
    let accepted = console
        .post(&path, &[("action", "accept"), ("csrf", &csrf)])
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&accepted), "/admin/?done=accepted");
    // The second decision is a message, not an error page.
    let again = console
        .post(&path, &[("action", "reject"), ("csrf", &csrf)])
        .await;
    assert_eq!(location(&again), "/admin/?done=already_approved");
    let page = console.get(location(&again)).await.text().await.unwrap();
    assert!(page.contains("That registration was already accepted."));
    assert!(!page.contains("ann@example.com"));
}

/// The console's session is one of the administrator's sessions: listed by
/// `GET /auth/sessions/`, and ended with the others.
/// Served over HTTPS (as `PUBLIC_URL` says, never a request header), the
/// cookie is only ever sent back over HTTPS.
async fn the_cookie_is_secure_behind_https(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.public_url = Some("https://auth.example.com".parse().unwrap());
    })
    .await;
    app.admin_token().await;
    let mut console = Console::new(&app);
    let signed_in = console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, attributes) = set_cookie(&signed_in, "authusers_console").unwrap();
    assert!(attributes.contains("; Secure"), "{attributes}");
}

async fn console_sessions_are_the_administrators_sessions(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let mut console = Console::new(&app);
    console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(console.get("/admin/").await.status(), StatusCode::OK);
    let sessions = open_sessions(&app, &admin).await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");

    let ended = app
        .request(Method::DELETE, "/auth/sessions/", None, Some(&admin))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let after = console.get("/admin/").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&after), "/admin/login/");
    let (cleared, _) = set_cookie(&after, "authusers_console").expect("the cookie cleared");
    assert!(cleared.is_empty());

    // Signing out ends the console's session only.
    let admin = crate::helpers::access(&app.tokens_for(ADMIN_EMAIL, ADMIN_PASSWORD).await);
    console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let csrf = console.csrf().await;
    let out = console.post("/admin/logout/", &[("csrf", &csrf)]).await;
    assert_eq!(location(&out), "/admin/login/?done=signed_out");
    assert_eq!(console.get("/admin/").await.status(), StatusCode::SEE_OTHER);
    let sessions = open_sessions(&app, &admin).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
}

async fn console_is_for_administrators_only(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, ann) = app.approved_user(&admin, "ann@example.com").await;
    let mut console = Console::new(&app);
    let refused = console.sign_in("ann@example.com", USER_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&refused, "authusers_console").is_none());
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("Administrators only"));
    // No session was opened for the refused sign-in.
    assert_eq!(open_sessions(&app, &ann).await.len(), 1);

    let wrong = console.sign_in(ADMIN_EMAIL, "not-the-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.unwrap().contains("role=\"alert\""));
}

async fn console_pages_are_counted_in_metrics(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.metrics.token = Some(authusers_api_actix::app::config::Secret::new(
            "metrics-token".into(),
        ));
    })
    .await;
    app.admin_token().await;
    let mut console = Console::new(&app);
    console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        console.get("/admin/users/7/").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(console.get("/admin/mail/").await.status(), StatusCode::OK);
    let text = app
        .get("/metrics", "metrics-token")
        .await
        .text()
        .await
        .unwrap();
    let has = |needle: &str| text.lines().any(|line| line.starts_with(needle));
    for needle in [
        r#"authusers_http_requests_total{method="POST",route="/admin/login/",status="303"} "#,
        r#"authusers_http_requests_total{method="GET",route="/admin/users/{id}/",status="404"} "#,
        r#"authusers_http_requests_total{method="GET",route="/admin/mail/",status="200"} "#,
    ] {
        assert!(has(needle), "{needle} missing:\n{text}");
    }
}

/// Signing in to the console is a login: its failures count against the
/// same limit as the API's, which then refuses the right password on both.
async fn console_sign_in_is_throttled_like_a_login(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.admin_token().await;
    let mut console = Console::new(&app);
    for _ in 0..10 {
        let wrong = console.sign_in(ADMIN_EMAIL, "not-the-password").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(set_cookie(&refused, "authusers_console").is_none());
    assert_eq!(
        app.log_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// The ledger pages by 20, newest first.
async fn a_users_ledger_is_paginated(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (ann, token) = app.approved_user(&admin, "ann@example.com").await;
    for value in 1..=25 {
        let paid = app
            .patch(
                "/balance/",
                json!({"action": "in", "value_type": "real", "value": value}),
                &token,
            )
            .await;
        assert_eq!(paid.status(), StatusCode::OK);
    }
    let mut console = Console::new(&app);
    console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let first = console
        .get(&format!("/admin/users/{ann}/"))
        .await
        .text()
        .await
        .unwrap();
    assert!(first.contains("325.00"), "the balance: 1 + 2 + ... + 25");
    assert!(first.contains("Page 1 of 2 (25 in all)"));
    // Next by cursor: the link the page gives.
    let next = format!("/admin/users/{ann}/?ledger_cursor=");
    let at = first
        .find(&format!("href=\"{next}"))
        .expect("a next link by cursor")
        + 6;
    let link = &first[at..at + first[at..].find('"').unwrap()];
    assert!(link.ends_with("#ledger"), "{link}");
    let second = console.get(link).await.text().await.unwrap();
    assert!(second.contains("(25 in all)"));
    assert!(second.contains("rel=\"prev\""), "a way back");
    let rows = |page: &str| page.matches("<td>in real</td>").count();
    assert_eq!((rows(&first), rows(&second)), (20, 5));
    // A numbered page, as links of old had it, still works.
    let numbered = console
        .get(&format!("/admin/users/{ann}/?ledger=2"))
        .await
        .text()
        .await
        .unwrap();
    assert!(numbered.contains("Page 2 of 2 (25 in all)"));
    assert_eq!(rows(&numbered), 5);
    // A cursor that is not this ledger's is no page at all.
    let other = console
        .get(&format!(
            "/admin/users/{ann}/?ledger_cursor=bm90LW91cnM.AAAAAAAAAAAAAAAAAAAAAA"
        ))
        .await;
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

/// Mail that failed for good is listed with its error, and goes back in
/// the queue on request.
async fn failed_mail_is_shown_and_retried(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        crate::mail::smtp_to("smtp://127.0.0.1:1".into())(settings);
        settings.mail.retry.max_attempts = 1;
    })
    .await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    let mut console = Console::new(&app);
    console.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let page = loop {
        let page = console
            .get("/admin/mail/?status=failed")
            .await
            .text()
            .await
            .unwrap();
        if page.contains("ann@example.com") {
            break page;
        }
        assert!(tokio::time::Instant::now() < deadline, "no failed mail");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(page.contains("0 waiting to be sent, 1 failed."), "{page}");
    assert!(
        page.contains("Connection refused") || page.contains("connection"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let retried = console.post("/admin/mail/retry/", &[("csrf", &csrf)]).await;
    assert_eq!(location(&retried), "/admin/mail/?done=retried&n=1");
    let page = console.get(location(&retried)).await.text().await.unwrap();
    assert!(page.contains("1 failed message queued again."));
}

/// The password the Django service's administrator (pk 20,
/// admin@example.com) had, moved in with it.
fn moved_in_admin_password() -> String {
    crate::django_import::fixture_json("passwords.json")["20"]["password"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The inactive account moved in from Django (pk 40): the console shows it
/// inactive and enables it, and then it logs in.
async fn an_inactive_account_moved_in_is_shown_and_enabled(db: &TestDatabase) {
    crate::django_import::imported(db).await;
    let app = TestApp::spawn(db).await;
    let inactive = crate::django_import::fixture_json("passwords.json")["40"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = app.log_in("inactive.user@example.com", &inactive).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let mut console = Console::new(&app);
    let signed_in = console
        .sign_in(ADMIN_EMAIL, &moved_in_admin_password())
        .await;
    assert_eq!(location(&signed_in), "/admin/");
    let page = console.get("/admin/users/40/").await.text().await.unwrap();
    assert!(page.contains("badge inactive"), "{page}");
    assert!(page.contains("Moved in"), "{page}");
    assert!(page.contains("Enable account"), "{page}");
    let csrf = console.csrf().await;
    let enabled = console
        .post("/admin/users/40/enable/", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&enabled), "/admin/users/40/?done=enabled");
    let page = console.get(location(&enabled)).await.text().await.unwrap();
    assert!(page.contains("Account enabled"), "{page}");
    assert!(!page.contains("Enable account"), "{page}");
    assert_eq!(
        app.log_in("inactive.user@example.com", &inactive)
            .await
            .status(),
        StatusCode::OK
    );
    // A form without its token enables nothing.
    let forged = console.post("/admin/users/41/enable/", &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

/// The same in Chromium: the inactive badge is styled, the button enables.
async fn an_inactive_account_is_enabled_in_a_browser(db: &TestDatabase) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let backend = match db.url() {
        DatabaseUrl::Postgres { .. } => "postgres",
        DatabaseUrl::Sqlite { .. } => "sqlite",
    };
    crate::django_import::imported(db).await;
    let app = TestApp::spawn(db).await;
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("a window size");
    browser
        .client
        .goto(&format!("{}/admin/login/", app.address))
        .await
        .expect("open the console");
    browser.type_into("email", ADMIN_EMAIL).await;
    browser
        .type_into("password", &moved_in_admin_password())
        .await;
    browser.click("#sign-in").await;
    browser
        .client
        .goto(&format!("{}/admin/users/40/", app.address))
        .await
        .expect("open the user");
    assert_eq!(browser.heading().await, "inactive.user@example.com");
    let text = browser.body_text().await;
    assert!(
        text.contains("cannot log in or reset its password until enabled"),
        "{text}"
    );
    assert_eq!(
        browser.background_colour(".badge.inactive").await,
        "rgb(253, 236, 236)"
    );
    screenshot(&browser, backend, "inactive").await;
    browser.click("#enable").await;
    let text = browser.body_text().await;
    assert!(text.contains("Account enabled"), "{text}");
    assert!(browser
        .client
        .find_all(Locator::Css("#enable"))
        .await
        .unwrap()
        .is_empty());
    browser
        .client
        .clone()
        .close()
        .await
        .expect("close the browser");
}

on_both_backends!(
    console_sign_in_is_throttled_like_a_login,
    a_users_ledger_is_paginated,
    failed_mail_is_shown_and_retried,
    console_refuses_a_signed_out_visitor,
    console_forms_need_their_csrf_token,
    console_sessions_are_the_administrators_sessions,
    console_is_for_administrators_only,
    console_pages_are_counted_in_metrics,
    the_cookie_is_secure_behind_https,
    console_works_in_a_browser,
    an_inactive_account_moved_in_is_shown_and_enabled,
    an_inactive_account_is_enabled_in_a_browser,
);

/// Where the screenshots go: target/console-screenshots/ of the workspace
/// (or of `CARGO_TARGET_DIR`).
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("console-screenshots")
}

pub async fn screenshot(browser: &Browser, backend: &str, name: &str) {
    let png = browser.client.screenshot().await.expect("a screenshot");
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    std::fs::write(dir.join(format!("{backend}-{name}.png")), png).expect("write a screenshot");
}

/// An administrator's round, in Chromium: sign in, see Ann waiting, accept
/// her, see her leave the queue and her mail in the outbox, find her, end
/// her sessions, sign out; Ann herself is refused, and so is a form
/// without its token.
async fn console_works_in_a_browser(db: &TestDatabase) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let backend = match db.url() {
        DatabaseUrl::Postgres { .. } => "postgres",
        DatabaseUrl::Sqlite { .. } => "sqlite",
    };
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let ann = app.register("ann@example.com").await["id"]
        .as_i64()
        .unwrap();
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("a window size");

    browser
        .client
        .goto(&format!("{}/admin/", app.address))
        .await
        .expect("open the console");
    assert_eq!(browser.heading().await, "Sign in");
    screenshot(&browser, backend, "sign-in").await;
    browser.type_into("email", ADMIN_EMAIL).await;
    browser.type_into("password", ADMIN_PASSWORD).await;
    browser.click("#sign-in").await;
    assert_eq!(browser.heading().await, "Pending registrations");
    assert!(browser.body_text().await.contains("ann@example.com"));
    // The stylesheet applied under the page's Content-Security-Policy.
    assert_eq!(
        browser.background_colour(".bar").await,
        json!("rgb(18, 53, 91)")
    );
    screenshot(&browser, backend, "pending").await;

    // The cookie is out of scripts' reach and never sent cross-site.
    let cookie = browser
        .client
        .get_named_cookie("authusers_console")
        .await
        .expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Strict)");
    // A form posted without its token, with the browser's own cookie.
    let forged = plain_client()
        .post(format!("{}/admin/registrations/{ann}/", app.address))
        .header(COOKIE, format!("authusers_console={}", cookie.value()))
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // The console's session is among the administrator's.
    let sessions = open_sessions(&app, &admin).await;
    assert!(sessions
        .iter()
        .any(|s| s["user_agent"].as_str().unwrap_or("").contains("Chrome")));

    browser
        .click(&format!("#pending-{ann} button[value=accept]"))
        .await;
    assert_eq!(browser.heading().await, "Pending registrations");
    let text = browser.body_text().await;
    assert!(text.contains("Registration accepted"), "{text}");
    assert!(!text.contains("ann@example.com"), "{text}");
    screenshot(&browser, backend, "accepted").await;

    browser.click("a[href='/admin/mail/']").await;
    assert_eq!(browser.heading().await, "Mail");
    let text = browser.body_text().await;
    assert!(text.contains("ann@example.com"), "{text}");
    assert!(
        text.contains("Your registration has been accepted"),
        "{text}"
    );
    screenshot(&browser, backend, "mail").await;

    // Ann logs in (a session of hers); the administrator finds her.
    let ann_token = crate::helpers::access(&app.tokens_for("ann@example.com", USER_PASSWORD).await);
    browser.click("a[href='/admin/users/']").await;
    assert_eq!(browser.heading().await, "Users");
    browser.type_into("q", "ANN@").await;
    browser.click("#search").await;
    let text = browser.body_text().await;
    assert!(text.contains("ann@example.com"), "{text}");
    screenshot(&browser, backend, "users").await;
    browser
        .click(&format!("a[href='/admin/users/{ann}/']"))
        .await;
    assert_eq!(browser.heading().await, "ann@example.com");
    let text = browser.body_text().await;
    assert!(text.contains("approved"), "{text}");
    assert!(
        text.contains("Your registration has been accepted"),
        "{text}"
    );
    assert_eq!(
        browser
            .client
            .find_all(Locator::Css("tr.session"))
            .await
            .unwrap()
            .len(),
        1
    );
    screenshot(&browser, backend, "user").await;
    browser.click("#end-sessions").await;
    assert!(browser.body_text().await.contains("1 session ended."));
    assert_eq!(
        app.get("/auth/users/me/", &ann_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The same page on a phone.
    browser
        .client
        .set_window_size(390, 844)
        .await
        .expect("a phone's size");
    browser
        .client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .expect("scroll to the top");
    screenshot(&browser, backend, "user-phone").await;
    browser
        .client
        .set_window_size(1280, 900)
        .await
        .expect("a window size");

    browser.click("#sign-out").await;
    assert_eq!(browser.heading().await, "Sign in");
    assert!(browser.body_text().await.contains("You have signed out."));
    browser
        .client
        .goto(&format!("{}/admin/mail/", app.address))
        .await
        .expect("open the console again");
    assert_eq!(browser.heading().await, "Sign in");

    // Ann is no administrator.
    browser.type_into("email", "ann@example.com").await;
    browser.type_into("password", USER_PASSWORD).await;
    browser.click("#sign-in").await;
    assert_eq!(browser.heading().await, "Administrators only");
    screenshot(&browser, backend, "refused").await;
    browser
        .client
        .clone()
        .close()
        .await
        .expect("close the browser");
}
