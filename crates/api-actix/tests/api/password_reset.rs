//! Forgotten passwords over HTTP, with the links read out of mail delivered
//! to a real SMTP server.

use std::time::Duration;

use authusers_domain::password_reset::ResetLinkTemplate;
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_smtp::test_support::{ReceivedMail, TestSmtpServer};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp, USER_PASSWORD};
use crate::mail::smtp_to;
use crate::registration::password_of;

const WAIT: Duration = Duration::from_secs(15);
const NEW_PASSWORD: &str = "quartz-lantern-61";

/// An app mailing through `smtp`, with an administrator and Ann, approved;
/// returns the administrator's token once the decision mail has arrived.
async fn app_with_ann(db: &TestDatabase, smtp: &TestSmtpServer) -> (TestApp, String) {
    let app = TestApp::spawn_with(db, smtp_to(smtp.url())).await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    assert_eq!(smtp.wait_for(1, WAIT).await.len(), 1);
    (app, admin)
}

async fn ask_for_a_link(app: &TestApp, email: &str) -> Response {
    app.post("/auth/users/reset_password/", json!({"email": email}))
        .await
}

/// The reset mails `smtp` has received, in order.
fn reset_mails(smtp: &TestSmtpServer) -> Vec<ReceivedMail> {
    smtp.received()
        .into_iter()
        .filter(|m| m.subject().as_deref() == Some("Reset your password"))
        .collect()
}

/// Waits for the `n`th reset mail and returns the link in it.
async fn nth_link(smtp: &TestSmtpServer, n: usize) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(mail) = reset_mails(smtp).get(n - 1) {
            let text = mail.text_body().expect("a text part");
            return text
                .lines()
                .find(|line| line.starts_with("http"))
                .expect("a link in the mail")
                .trim()
                .to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no reset mail {n}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `uid` and `token` at the end of a link to the served page.
fn uid_and_token(link: &str) -> (String, String) {
    let mut segments = link.trim_end_matches('/').rsplit('/');
    let token = segments.next().unwrap().to_owned();
    let uid = segments.next().unwrap().to_owned();
    (uid, token)
}

async fn confirm(app: &TestApp, body: Value) -> Response {
    app.post("/auth/users/reset_password_confirm/", body).await
}

async fn get_page(app: &TestApp, link: &str) -> Response {
    app.client.get(link).send().await.unwrap()
}

async fn the_whole_flow_from_the_mail_to_a_new_login(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;

    let asked = ask_for_a_link(&app, " ANN@Example.com ").await;
    assert_eq!(asked.status(), StatusCode::NO_CONTENT);
    assert!(asked.bytes().await.unwrap().is_empty());
    let link = nth_link(&smtp, 1).await;
    let mail = reset_mails(&smtp).remove(0);
    assert_eq!(mail.to, ["ann@example.com"]);
    assert!(mail
        .html_body()
        .unwrap()
        .contains(&format!("href=\"{link}\"")));
    let page_prefix = format!("{}/password/reset/confirm/", app.address);
    assert!(link.starts_with(&page_prefix), "{link}");
    let (uid, token) = uid_and_token(&link);
    assert_eq!(token.len(), 43);

    // The page shows a form and uses nothing up.
    let page = get_page(&app, &link).await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("name=\"token\" value=\"{token}\"")));
    assert!(!html.contains("<script"));

    let reset = confirm(
        &app,
        json!({"uid": uid, "token": token, "new_password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.log_in("ann@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let old = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_problem(old, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // The link worked once.
    let again = confirm(
        &app,
        json!({"uid": uid, "token": token, "new_password": "another-secret-88"}),
    )
    .await;
    let problem = assert_problem(again, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(
        problem["errors"]["token"],
        json!(["Invalid token for given user."])
    );
    assert_eq!(
        get_page(&app, &link).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.log_in("ann@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn an_expired_link_is_refused(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;
    ask_for_a_link(&app, "ann@example.com").await;
    let link = nth_link(&smtp, 1).await;
    let (uid, token) = uid_and_token(&link);
    app.clock.advance(chrono::Duration::seconds(3_600));
    let late = confirm(
        &app,
        json!({"uid": uid, "token": token, "new_password": NEW_PASSWORD}),
    )
    .await;
    let problem = assert_problem(late, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(
        problem["errors"]["token"],
        json!(["Invalid token for given user."])
    );
    let page = get_page(&app, &link).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("This link does not work"));
    assert_eq!(
        app.log_in("ann@example.com", USER_PASSWORD).await.status(),
        StatusCode::OK
    );
}

/// What a client can see of an answer, but for its date and request id.
async fn observable(response: Response) -> (StatusCode, Vec<String>, Vec<u8>) {
    let status = response.status();
    let mut headers: Vec<String> = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| format!("{name}: {value:?}"))
        .collect();
    headers.sort();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn known_and_unknown_addresses_answer_alike(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;
    app.register("pending@example.com").await;
    let known = observable(ask_for_a_link(&app, "ann@example.com").await).await;
    for other in [
        "pending@example.com",
        "nobody@example.com",
        "ANN@example.net",
    ] {
        let answer = observable(ask_for_a_link(&app, other).await).await;
        assert_eq!(answer, known, "{other}");
    }
    assert_eq!(known.0, StatusCode::NO_CONTENT);
    nth_link(&smtp, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = reset_mails(&smtp);
    assert_eq!(mails.len(), 1, "only the approved account is mailed");
    assert_eq!(mails[0].to, ["ann@example.com"]);
}

async fn an_address_gets_at_most_its_hourly_share_of_mail(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, |settings| {
        smtp_to(smtp.url())(settings);
        settings.password_reset.mails_per_hour = 2;
    })
    .await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    app.approved_user(&admin, "bob@example.com").await;
    for _ in 0..4 {
        let answer = ask_for_a_link(&app, "ann@example.com").await;
        assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    }
    ask_for_a_link(&app, "bob@example.com").await;
    nth_link(&smtp, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let to = |address: &str| {
        reset_mails(&smtp)
            .iter()
            .filter(|m| m.to == [address])
            .count()
    };
    assert_eq!(to("ann@example.com"), 2);
    assert_eq!(to("bob@example.com"), 1);
    // An hour later, one more may go.
    app.clock.advance(chrono::Duration::seconds(3_601));
    ask_for_a_link(&app, "ann@example.com").await;
    nth_link(&smtp, 4).await;
    assert_eq!(to("ann@example.com"), 3);
}

async fn bad_requests_for_a_link_are_named(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    for (body, field) in [
        (json!({}), "email"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"email": 5}), "email"),
        (json!({"email": "ann@example.com", "user": 1}), "user"),
    ] {
        let response = app.post("/auth/users/reset_password/", body.clone()).await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    let form = app
        .client
        .post(format!("{}/auth/users/reset_password/", app.address))
        .form(&[("email", "ann@example.com")])
        .send()
        .await
        .unwrap();
    assert_problem(
        form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

async fn bad_links_and_bad_passwords_are_named(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;
    ask_for_a_link(&app, "ann@example.com").await;
    let (uid, token) = uid_and_token(&nth_link(&smtp, 1).await);

    let missing = confirm(&app, json!({})).await;
    let problem = assert_problem(missing, StatusCode::BAD_REQUEST, "validation_failed").await;
    for field in ["uid", "token", "new_password"] {
        assert_eq!(problem["errors"][field], json!(["This field is required."]));
    }
    // Whatever is wrong with a link, the answer is the same, so that no
    // one learns which user ids exist: a uid of nobody reads exactly as a
    // wrong token for somebody.
    let token_error = json!({"token": ["Invalid token for given user."]});
    let mut flipped = token.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let mut answers = Vec::new();
    for (link_uid, link_token) in [
        ("OTk5", token.as_str()),
        (&format!("{uid}=="), token.as_str()),
        ("MDI", token.as_str()),
        ("", token.as_str()),
        (uid.as_str(), flipped.as_str()),
        (uid.as_str(), &format!("{token}A")),
        (uid.as_str(), &token[..42]),
        (uid.as_str(), ""),
        // The administrator (user 1) exists; the token is not theirs.
        ("MQ", token.as_str()),
    ] {
        let response = confirm(
            &app,
            json!({"uid": link_uid, "token": link_token, "new_password": NEW_PASSWORD}),
        )
        .await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(problem["errors"], token_error, "{link_uid} {link_token}");
        answers.push(problem);
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    for (password, message) in [
        ("12345678", "This password is entirely numeric."),
        (
            "Ann@example.co",
            "The password is too similar to the email address.",
        ),
        (
            password_of(73, true).as_str(),
            "This password is too long. It must be at most 72 bytes.",
        ),
    ] {
        let response = confirm(
            &app,
            json!({"uid": uid, "token": token, "new_password": password}),
        )
        .await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        let messages = problem["errors"]["new_password"]
            .as_array()
            .unwrap()
            .clone();
        assert!(messages.contains(&json!(message)), "{password}: {problem}");
    }
    // None of that used the link up, and 72 bytes are fine.
    let longest = password_of(72, true);
    let reset = confirm(
        &app,
        json!({"uid": uid, "token": token, "new_password": longest, "re_new_password": longest}),
    )
    .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.log_in("ann@example.com", &longest).await.status(),
        StatusCode::OK
    );
}

async fn a_password_change_ends_the_links_mailed_before(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;
    ask_for_a_link(&app, "ann@example.com").await;
    let (uid, token) = uid_and_token(&nth_link(&smtp, 1).await);
    let session = crate::helpers::access(&app.tokens_for("ann@example.com", USER_PASSWORD).await);
    let changed = app
        .send(
            Method::POST,
            "/auth/users/set_password/",
            json!({"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD}),
            &session,
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let late = confirm(
        &app,
        json!({"uid": uid, "token": token, "new_password": "another-secret-88"}),
    )
    .await;
    let problem = assert_problem(late, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(problem["errors"]["token"].is_array());
}

async fn the_page_form_resets_the_password_in_html(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;
    ask_for_a_link(&app, "ann@example.com").await;
    let (uid, token) = uid_and_token(&nth_link(&smtp, 1).await);
    let post_form = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(format!(
                "{}/auth/users/reset_password_confirm/",
                app.address
            ))
            .header("Accept", "text/html,application/xhtml+xml")
            .form(&fields)
            .send()
    };
    let fields = |password: &str, again: &str| {
        vec![
            ("uid", uid.clone()),
            ("token", token.clone()),
            ("new_password", password.to_owned()),
            ("re_new_password", again.to_owned()),
        ]
    };
    let weak = post_form(fields("12345678", "12345678")).await.unwrap();
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(weak.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = weak.text().await.unwrap();
    assert!(html.contains("This password is entirely numeric."));
    assert!(
        html.contains(&format!("value=\"{token}\"")),
        "the form again"
    );
    let mismatch = post_form(fields(NEW_PASSWORD, "quartz-lantern-16"))
        .await
        .unwrap();
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("The two password fields didn't match."));
    let done = post_form(fields(NEW_PASSWORD, NEW_PASSWORD)).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Password changed"));
    assert_eq!(
        app.log_in("ann@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
    let used = post_form(fields("another-secret-88", "another-secret-88"))
        .await
        .unwrap();
    assert_eq!(used.status(), StatusCode::BAD_REQUEST);
    assert!(used
        .text()
        .await
        .unwrap()
        .contains("This link does not work"));
    let unreadable = post_form(vec![("uid", uid.clone()), ("uid", uid.clone())])
        .await
        .unwrap();
    assert_eq!(unreadable.status(), StatusCode::BAD_REQUEST);
}

async fn a_form_from_a_program_gets_the_api_answer(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;
    ask_for_a_link(&app, "ann@example.com").await;
    let (uid, token) = uid_and_token(&nth_link(&smtp, 1).await);
    let response = app
        .client
        .post(format!(
            "{}/auth/users/reset_password_confirm/",
            app.address
        ))
        .form(&[
            ("uid", uid),
            ("token", token),
            ("new_password", NEW_PASSWORD.into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn of_racing_uses_of_one_link_exactly_one_wins(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let (app, _) = app_with_ann(db, &smtp).await;
    ask_for_a_link(&app, "ann@example.com").await;
    let (uid, token) = uid_and_token(&nth_link(&smtp, 1).await);
    let url = format!("{}/auth/users/reset_password_confirm/", app.address);
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let request = app.client.post(&url).json(&json!({
                "uid": uid, "token": token, "new_password": format!("racing-secret-{n}0")
            }));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut won = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        let status = task.await.unwrap();
        if status == StatusCode::NO_CONTENT {
            won.push(n);
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let winner = format!("racing-secret-{}0", won[0]);
    assert_eq!(
        app.log_in("ann@example.com", &winner).await.status(),
        StatusCode::OK
    );
}

async fn a_configured_link_points_at_the_frontend(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, |settings| {
        smtp_to(smtp.url())(settings);
        settings.password_reset.link = Some(
            ResetLinkTemplate::parse("https://app.example.com/#/password/reset/{uid}/{token}")
                .unwrap(),
        );
    })
    .await;
    let admin = app.admin_token().await;
    let (id, _) = app.approved_user(&admin, "ann@example.com").await;
    ask_for_a_link(&app, "ann@example.com").await;
    let link = nth_link(&smtp, 1).await;
    let uid = authusers_domain::password_reset::encode_uid(authusers_domain::UserId(id));
    assert!(
        link.starts_with(&format!("https://app.example.com/#/password/reset/{uid}/")),
        "{link}"
    );
}

on_both_backends!(
    the_whole_flow_from_the_mail_to_a_new_login,
    an_expired_link_is_refused,
    known_and_unknown_addresses_answer_alike,
    an_address_gets_at_most_its_hourly_share_of_mail,
    bad_requests_for_a_link_are_named,
    bad_links_and_bad_passwords_are_named,
    a_password_change_ends_the_links_mailed_before,
    the_page_form_resets_the_password_in_html,
    a_form_from_a_program_gets_the_api_answer,
    of_racing_uses_of_one_link_exactly_one_wins,
    a_configured_link_points_at_the_frontend,
);
