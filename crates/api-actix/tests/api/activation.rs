//! Mail to an address that has not proved itself, and djoser's optional
//! activation, over HTTP to a real SMTP server, on SQLite and PostgreSQL:
//! nobody can make this service carry their text to a stranger's inbox, and
//! with activation on only registrations whose address answered reach the
//! administrators.

use std::time::Duration;

use authusers_domain::password_reset::ResetLinkTemplate;
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_smtp::test_support::{ReceivedMail, TestSmtpServer};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{access, assert_problem, TestApp, USER_PASSWORD};
use crate::mail::smtp_to;

const WAIT: Duration = Duration::from_secs(15);
const ACTIVATION_URL: &str = "https://app.example.com/activate/{uid}/{token}";
const LURE: &str = "Visit https://evil.example/verify now";

async fn spawn(db: &TestDatabase, smtp: &TestSmtpServer, activation: bool) -> TestApp {
    let url = smtp.url();
    TestApp::spawn_with(db, move |settings| {
        smtp_to(url)(settings);
        if activation {
            settings.activation.link = Some(ResetLinkTemplate::parse(ACTIVATION_URL).unwrap());
        }
    })
    .await
}

/// Registers `email` with a "name" that would be a lure in a mail.
async fn register_with_a_lure(app: &TestApp, email: &str) -> Value {
    let response = app
        .post(
            "/auth/users/",
            json!({"email": email, "password": USER_PASSWORD, "first_name": LURE, "last_name": "Lee"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// The mails `smtp` has received with `subject`, once there are `count`.
pub async fn mails_with(smtp: &TestSmtpServer, subject: &str, count: usize) -> Vec<ReceivedMail> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found: Vec<ReceivedMail> = smtp
            .received()
            .into_iter()
            .filter(|mail| mail.subject().as_deref() == Some(subject))
            .collect();
        if found.len() >= count {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count} mail(s) {subject:?} did not arrive: {} so far",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The link in a mail's text.
fn link_in(mail: &ReceivedMail) -> String {
    mail.text_body()
        .expect("a text part")
        .lines()
        .find(|line| line.starts_with("http"))
        .expect("a link in the mail")
        .trim()
        .to_owned()
}

/// `uid` and `token` at the end of a link.
fn uid_and_token(link: &str) -> (String, String) {
    let mut segments = link.trim_end_matches('/').rsplit('/');
    let token = segments.next().unwrap().to_owned();
    let uid = segments.next().unwrap().to_owned();
    (uid, token)
}

/// Asserts that neither part of `mail` carries what the registrant typed,
/// and that it greets plainly.
fn assert_greets_plainly(mail: &ReceivedMail) {
    let text = mail.text_body().unwrap();
    let html = mail.html_body().unwrap();
    for body in [&text, &html] {
        assert!(!body.contains("evil"), "{body}");
        assert!(!body.contains("Lee"), "{body}");
    }
    assert!(text.starts_with("Hello!"), "{text}");
}

async fn activate(app: &TestApp, uid: &str, token: &str) -> Response {
    app.post(
        "/auth/users/activation/",
        json!({"uid": uid, "token": token}),
    )
    .await
}

async fn pending_ids(app: &TestApp, admin: &str) -> Vec<i64> {
    let page: Value = app
        .get("/confirm-users/", admin)
        .await
        .json()
        .await
        .unwrap();
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["id"].as_i64().unwrap())
        .collect()
}

/// Activation off (the default): anyone may register a stranger's address,
/// so the decision mail greets plainly, whatever name was typed. Once the
/// address proves itself (a reset link followed), mail greets by name.
async fn mail_to_an_address_that_has_not_proved_itself_carries_no_typed_text(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = spawn(db, &smtp, false).await;
    let admin = app.admin_token().await;
    let id = register_with_a_lure(&app, "ann@example.com").await["id"]
        .as_i64()
        .unwrap();
    let accepted = app.decide(&admin, id, "accept").await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let decision = mails_with(&smtp, "Your registration has been accepted", 1).await;
    assert_greets_plainly(&decision[0]);

    // A reset link followed proves the address...
    let asked = app
        .post(
            "/auth/users/reset_password/",
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::NO_CONTENT);
    let reset = mails_with(&smtp, "Reset your password", 1).await;
    assert_greets_plainly(&reset[0]);
    let (uid, token) = uid_and_token(&link_in(&reset[0]));
    let confirmed = app
        .post(
            "/auth/users/reset_password_confirm/",
            json!({"uid": uid, "token": token, "new_password": "amber-lighthouse-58"}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    // ...and from then on mail greets its owner by the name they chose.
    app.post(
        "/auth/users/reset_password/",
        json!({"email": "ann@example.com"}),
    )
    .await;
    let second = mails_with(&smtp, "Reset your password", 2).await;
    let text = second[1].text_body().unwrap();
    assert!(text.starts_with(&format!("Hello, {LURE} Lee!")), "{text}");
}

/// Activation on: the registration mails a plain link, waits unseen by
/// administrators until the link is followed, and only then is decided.
async fn with_activation_only_activated_registrations_reach_the_administrators(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = spawn(db, &smtp, true).await;
    let admin = app.admin_token().await;
    let profile = register_with_a_lure(&app, "ann@example.com").await;
    assert_eq!(profile["status"], "pending");
    let id = profile["id"].as_i64().unwrap();

    let mail = mails_with(&smtp, "Confirm your e-mail address", 1).await;
    assert_eq!(mail[0].to, ["ann@example.com"]);
    assert_greets_plainly(&mail[0]);
    let link = link_in(&mail[0]);
    assert!(
        link.starts_with("https://app.example.com/activate/"),
        "{link}"
    );
    let (uid, token) = uid_and_token(&link);

    // Not yet in the queue, not decidable, and the right password is told
    // what to do (a wrong one is told nothing).
    assert!(pending_ids(&app, &admin).await.is_empty());
    let decide = app.decide(&admin, id, "accept").await;
    assert_problem(decide, StatusCode::CONFLICT, "not_activated").await;
    let login = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_problem(login, StatusCode::FORBIDDEN, "account_not_activated").await;
    let wrong = app.log_in("ann@example.com", "not-the-password-1").await;
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // A link that does not work is one answer, whatever is wrong with it.
    let mut flipped = token.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let mut answers = Vec::new();
    for (bad_uid, bad_token) in [
        (uid.as_str(), flipped.as_str()),
        ("OTk5", token.as_str()),
        ("MQ", token.as_str()),
        ("!!", token.as_str()),
        (uid.as_str(), "short"),
    ] {
        let refused = activate(&app, bad_uid, bad_token).await;
        let body = assert_problem(refused, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(
            body["errors"],
            json!({"token": ["Invalid token for given user."]})
        );
        answers.push(body);
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));

    let activated = activate(&app, &uid, &token).await;
    assert_eq!(activated.status(), StatusCode::NO_CONTENT);
    assert_eq!(pending_ids(&app, &admin).await, [id]);
    let login = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_problem(login, StatusCode::FORBIDDEN, "account_pending").await;
    // djoser's answer to the link followed again.
    let again = activate(&app, &uid, &token).await;
    assert_problem(again, StatusCode::FORBIDDEN, "stale_token").await;

    // The address answered: the decision greets Ann by the name she chose.
    let accepted = app.decide(&admin, id, "accept").await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let decision = mails_with(&smtp, "Your registration has been accepted", 1).await;
    let text = decision[0].text_body().unwrap();
    assert!(text.starts_with(&format!("Hello, {LURE} Lee!")), "{text}");
    let pair = app.tokens_for("ann@example.com", USER_PASSWORD).await;
    assert_eq!(
        app.get("/auth/users/me/", &access(&pair)).await.status(),
        StatusCode::OK
    );
}

/// `resend_activation` answers alike for every address, mails a new link
/// only to a registration awaiting activation, at most three an hour; and
/// it is refused where activation is off.
async fn resend_activation_mails_only_those_awaiting_and_only_so_often(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = spawn(db, &smtp, true).await;
    app.admin_token().await;
    register_with_a_lure(&app, "ann@example.com").await;
    mails_with(&smtp, "Confirm your e-mail address", 1).await;
    for email in [
        "ANN@example.com",
        "nobody@example.com",
        "admin@example.com",
        "ann@example.com",
        "ann@example.com",
        "ann@example.com",
    ] {
        let resent = app
            .post("/auth/users/resend_activation/", json!({ "email": email }))
            .await;
        assert_eq!(resent.status(), StatusCode::NO_CONTENT, "{email}");
    }
    // The first link and three more: the fourth resend was over the limit.
    let mails = mails_with(&smtp, "Confirm your e-mail address", 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails_now = smtp.received();
    assert_eq!(mails_now.len(), 4, "{mails:?}");
    assert!(mails_now.iter().all(|mail| mail.to == ["ann@example.com"]));
    // Every link is its own, and any of them activates.
    let links: Vec<String> = mails.iter().map(link_in).collect();
    assert_eq!(
        links.iter().collect::<std::collections::HashSet<_>>().len(),
        4
    );
    // Of the same link followed eight times at once, exactly one activates.
    let (uid, token) = uid_and_token(&links[2]);
    let url = format!("{}/auth/users/activation/", app.address);
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let request = app
                .client
                .post(&url)
                .json(&json!({"uid": uid, "token": token}));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in racing {
        statuses.push(task.await.unwrap());
    }
    let activated = statuses
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(activated, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| matches!(*s, StatusCode::NO_CONTENT | StatusCode::FORBIDDEN)),
        "{statuses:?}"
    );
    let malformed = app
        .post(
            "/auth/users/resend_activation/",
            json!({"email": "not an address"}),
        )
        .await;
    assert_problem(malformed, StatusCode::BAD_REQUEST, "validation_failed").await;

    let off = spawn(db, &smtp, false).await;
    let refused = off
        .post(
            "/auth/users/resend_activation/",
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_problem(refused, StatusCode::BAD_REQUEST, "activation_not_required").await;
}

on_both_backends!(
    mail_to_an_address_that_has_not_proved_itself_carries_no_typed_text,
    with_activation_only_activated_registrations_reach_the_administrators,
    resend_activation_mails_only_those_awaiting_and_only_so_often,
);
