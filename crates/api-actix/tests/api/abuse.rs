//! Abuse limits over HTTP, on SQLite and PostgreSQL: failed logins counted
//! per account and address and per address, without locking anyone out
//! from elsewhere; the client address behind a trusted proxy and never
//! from anyone else's header; registrations per address; the window
//! lifting; and the bounded hashing queue answering 503 at once.

use std::time::Duration;

use authusers_api_actix::app::config::Secret;
use authusers_api_actix::http::client_address::TrustedProxies;
use authusers_domain::throttling::AbuseLimits;
use authusers_infra_crypto::HashingCapacity;
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{access, assert_problem, TestApp, USER_PASSWORD};

const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";
const WRONG: &str = "not-her-password-1";
const METRICS_TOKEN: &str = "metrics-token-for-tests";

/// A login for `email` sent with `X-Forwarded-For: forwarded_for`.
async fn log_in_via(app: &TestApp, email: &str, password: &str, forwarded_for: &str) -> Response {
    app.log_in_with(
        email,
        password,
        &[("X-Forwarded-For", forwarded_for.as_bytes())],
    )
    .await
}

/// `Retry-After` in seconds, after checking the answer is `too_many_attempts`.
async fn throttled(response: Response) -> u64 {
    let retry_after = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse::<u64>()
        .expect("Retry-After in whole seconds");
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    retry_after
}

/// The value of one sample line of `/metrics`.
async fn metric(app: &TestApp, sample: &str) -> f64 {
    let text = app
        .get("/metrics", METRICS_TOKEN)
        .await
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {sample} in the metrics"))
        .parse()
        .unwrap()
}

async fn spawn(db: &TestDatabase, limits: AbuseLimits, trusted: &str) -> TestApp {
    let trusted = TrustedProxies::parse(trusted).unwrap();
    TestApp::spawn_with(db, move |settings| {
        settings.abuse.limits = limits;
        settings.abuse.trusted_proxies = trusted;
        settings.metrics.token = Some(Secret::new(METRICS_TOKEN.into()));
    })
    .await
}

/// Ann and Bob, approved.
async fn with_users(app: &TestApp) {
    let admin = app.admin_token().await;
    app.approved_user(&admin, ANN).await;
    app.approved_user(&admin, BOB).await;
}

async fn the_eleventh_failure_is_refused_and_the_right_password_too(db: &TestDatabase) {
    let app = spawn(db, AbuseLimits::standard(), "").await;
    with_users(&app).await;
    for _ in 0..10 {
        let failed = app.log_in(ANN, WRONG).await;
        assert_problem(failed, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let retry_after = throttled(app.log_in(ANN, WRONG).await).await;
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // The right password is refused too, and so is another case of the
    // same address.
    throttled(app.log_in(ANN, USER_PASSWORD).await).await;
    throttled(app.log_in("ANN@Example.COM", USER_PASSWORD).await).await;
    // Another account from the same address is untouched.
    app.tokens_for(BOB, USER_PASSWORD).await;
    assert_eq!(
        metric(&app, r#"authusers_throttled_total{reason="login_account"}"#).await,
        3.0
    );
}

async fn the_same_account_from_another_address_behind_a_trusted_proxy_still_logs_in(
    db: &TestDatabase,
) {
    let app = spawn(db, AbuseLimits::standard(), "127.0.0.1").await;
    with_users(&app).await;
    for _ in 0..10 {
        let failed = log_in_via(&app, ANN, WRONG, "198.51.100.1").await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    throttled(log_in_via(&app, ANN, USER_PASSWORD, "198.51.100.1").await).await;
    // The attacker's own additions to the header do not move it: the proxy
    // appended the address it saw, right-most.
    throttled(log_in_via(&app, ANN, USER_PASSWORD, "203.0.113.9, 198.51.100.1").await).await;
    // Ann at home, elsewhere, logs in; her session shows that address.
    let pair: Value = log_in_via(&app, ANN, USER_PASSWORD, "192.0.2.44")
        .await
        .json()
        .await
        .unwrap();
    let sessions: Value = app
        .get("/auth/sessions/", &access(&pair))
        .await
        .json()
        .await
        .unwrap();
    let addresses: Vec<&str> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["ip_address"].as_str())
        .collect();
    // (The earlier login came from the proxy itself, without the header.)
    assert_eq!(addresses, ["192.0.2.44", "127.0.0.1"], "{sessions}");
}

async fn an_untrusted_peers_forwarded_for_is_ignored(db: &TestDatabase) {
    let app = spawn(db, AbuseLimits::standard(), "10.0.0.0/8").await;
    with_users(&app).await;
    // A new address in the header for every guess changes nothing: the
    // peer is not a trusted proxy.
    for n in 0..10 {
        let failed = log_in_via(&app, ANN, WRONG, &format!("198.51.100.{n}")).await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    throttled(log_in_via(&app, ANN, USER_PASSWORD, "198.51.100.77").await).await;
}

async fn failures_from_one_address_over_many_accounts_reach_the_address_limit(db: &TestDatabase) {
    let limits = AbuseLimits::new(10, 5, chrono::Duration::seconds(900), 30);
    let app = spawn(db, limits, "127.0.0.1").await;
    with_users(&app).await;
    for n in 0..5 {
        let failed = log_in_via(
            &app,
            &format!("guess{n}@example.com"),
            WRONG,
            "198.51.100.1",
        )
        .await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    // Every account from there is refused now, Bob's right password too...
    throttled(log_in_via(&app, BOB, USER_PASSWORD, "198.51.100.1").await).await;
    // ...and nobody from anywhere else.
    let elsewhere = log_in_via(&app, BOB, USER_PASSWORD, "198.51.100.2").await;
    assert_eq!(elsewhere.status(), StatusCode::OK);
    assert_eq!(
        metric(&app, r#"authusers_throttled_total{reason="login_address"}"#).await,
        1.0
    );
}

async fn a_success_starts_the_count_again(db: &TestDatabase) {
    let app = spawn(db, AbuseLimits::standard(), "").await;
    with_users(&app).await;
    for _ in 0..9 {
        assert_eq!(
            app.log_in(ANN, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    app.tokens_for(ANN, USER_PASSWORD).await;
    for _ in 0..10 {
        assert_eq!(
            app.log_in(ANN, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    throttled(app.log_in(ANN, WRONG).await).await;
}

async fn the_window_passing_lifts_the_limit(db: &TestDatabase) {
    let limits = AbuseLimits::new(3, 100, chrono::Duration::seconds(60), 30);
    let app = spawn(db, limits, "").await;
    with_users(&app).await;
    for _ in 0..3 {
        assert_eq!(
            app.log_in(ANN, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let retry_after = throttled(app.log_in(ANN, USER_PASSWORD).await).await;
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    app.clock.advance(chrono::Duration::seconds(61));
    app.tokens_for(ANN, USER_PASSWORD).await;
}

async fn registrations_are_limited_per_address_and_a_taken_address_counts(db: &TestDatabase) {
    let limits = AbuseLimits::new(10, 100, chrono::Duration::seconds(900), 3);
    let app = spawn(db, limits, "127.0.0.1").await;
    let register = |email: &'static str, from: &'static str| {
        app.client
            .post(format!("{}/auth/users/", app.address))
            .header("X-Forwarded-For", from)
            .json(&json!({"email": email, "password": USER_PASSWORD}))
            .send()
    };
    assert_eq!(
        register("a@example.com", "198.51.100.1")
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        register("b@example.com", "198.51.100.1")
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    // Invalid fields cost nothing; a taken address counts.
    let invalid = register("not-an-address", "198.51.100.1").await.unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let taken = register("a@example.com", "198.51.100.1").await.unwrap();
    assert_problem(taken, StatusCode::BAD_REQUEST, "email_taken").await;
    let retry_after = throttled(register("c@example.com", "198.51.100.1").await.unwrap()).await;
    assert!((3_000..=3_600).contains(&retry_after), "{retry_after}");
    // Another address registers.
    assert_eq!(
        register("c@example.com", "198.51.100.2")
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        metric(&app, r#"authusers_throttled_total{reason="registration"}"#).await,
        1.0
    );
}

async fn with_every_limit_off_nothing_is_refused(db: &TestDatabase) {
    let limits = AbuseLimits::new(0, 0, chrono::Duration::seconds(900), 0);
    let app = spawn(db, limits, "").await;
    with_users(&app).await;
    for _ in 0..15 {
        assert_eq!(
            app.log_in(ANN, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    app.tokens_for(ANN, USER_PASSWORD).await;
}

/// `current_password` on `set_password`, `set_email` and
/// `DELETE /auth/users/me/` counts as a login of the account: ten wrong
/// ones, in any mix with failed logins, and the eleventh check is 429, the
/// right password too; a right one clears the count as a login does.
async fn wrong_current_passwords_count_against_the_accounts_login_limit(db: &TestDatabase) {
    let app = spawn(db, AbuseLimits::standard(), "").await;
    with_users(&app).await;
    let ann = access(&app.tokens_for(ANN, USER_PASSWORD).await);
    let check = |method: reqwest::Method, path: &'static str, current: &'static str| {
        let body = match path {
            "/auth/users/set_password/" => {
                json!({"current_password": current, "new_password": "12345678"})
            }
            "/auth/users/set_email/" => {
                json!({"current_password": current, "new_email": "ann.new@example.com"})
            }
            _ => json!({ "current_password": current }),
        };
        app.send(method, path, body, &ann)
    };
    let routes = [
        (reqwest::Method::POST, "/auth/users/set_password/"),
        (reqwest::Method::POST, "/auth/users/set_email/"),
        (reqwest::Method::DELETE, "/auth/users/me/"),
    ];
    // Nine wrong checks, spread over the three routes...
    for n in 0..9 {
        let (method, path) = routes[n % 3].clone();
        let wrong = check(method, path, WRONG).await;
        let body = assert_problem(wrong, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(body["errors"]["current_password"].is_array(), "{body}");
    }
    // ...then the right password (with a weak new one) clears the count:
    // only the new password is wrong.
    let right = check(routes[0].0.clone(), routes[0].1, USER_PASSWORD).await;
    let body = assert_problem(right, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(body["errors"]["current_password"].is_null(), "{body}");
    assert!(body["errors"]["new_password"].is_array(), "{body}");
    // Five failed logins and five wrong checks make ten failures...
    for _ in 0..5 {
        assert_eq!(
            app.log_in(ANN, WRONG).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    for n in 0..5 {
        let (method, path) = routes[n % 3].clone();
        assert_eq!(
            check(method, path, WRONG).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    // ...and the eleventh check is refused on every route, the right
    // password too, and so is a login.
    for (method, path) in routes {
        let retry_after = throttled(check(method.clone(), path, USER_PASSWORD).await).await;
        assert!((1..=900).contains(&retry_after), "{path}: {retry_after}");
    }
    throttled(app.log_in(ANN, USER_PASSWORD).await).await;
    // Nothing changed meanwhile, and Bob is untouched.
    assert_eq!(
        app.get("/auth/users/me/", &ann).await.status(),
        StatusCode::OK
    );
    app.tokens_for(BOB, USER_PASSWORD).await;
}

/// `reset_password` is limited per client address, whatever the e-mails
/// named: known and unknown addresses count alike and are refused alike.
async fn reset_requests_are_limited_per_client_address(db: &TestDatabase) {
    let limits = AbuseLimits::standard().with_resets_per_address(3);
    let app = spawn(db, limits, "127.0.0.1").await;
    with_users(&app).await;
    let ask = |email: &'static str, from: &'static str| {
        app.client
            .post(format!("{}/auth/users/reset_password/", app.address))
            .header("X-Forwarded-For", from)
            .json(&json!({ "email": email }))
            .send()
    };
    for email in [ANN, "nobody@example.com", BOB] {
        let asked = ask(email, "198.51.100.1").await.unwrap();
        assert_eq!(asked.status(), StatusCode::NO_CONTENT, "{email}");
    }
    // A malformed address is refused for what it is and costs nothing.
    let malformed = ask("not an address", "198.51.100.1").await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    for email in [ANN, "nobody@example.com"] {
        let retry_after = throttled(ask(email, "198.51.100.1").await.unwrap()).await;
        assert!((3_000..=3_600).contains(&retry_after), "{retry_after}");
    }
    // Another address asks as it likes.
    let elsewhere = ask(ANN, "198.51.100.2").await.unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        metric(&app, r#"authusers_throttled_total{reason="reset_address"}"#).await,
        2.0
    );
}

/// Waits until `/metrics` shows `running` hashes running.
async fn until_hashing(app: &TestApp, running: f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while metric(app, "authusers_password_hashing_running").await != running {
        assert!(tokio::time::Instant::now() < deadline, "the hash never ran");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn a_full_hashing_queue_answers_503_at_once(db: &TestDatabase) {
    // One hash at a time and no waiting, at a cost slow enough to look at.
    let app = TestApp::spawn_with(db, |settings| {
        settings.bcrypt_cost = 13;
        settings.abuse.hashing = HashingCapacity::fixed(1, 0);
        settings.metrics.token = Some(Secret::new(METRICS_TOKEN.into()));
    })
    .await;
    with_users(&app).await;
    let bob = access(&app.tokens_for(BOB, USER_PASSWORD).await);
    let slow = tokio::spawn({
        let client = app.client.clone();
        let url = format!("{}/auth/jwt/create/", app.address);
        async move {
            let response = client
                .post(url)
                .json(&json!({"email": ANN, "password": USER_PASSWORD}))
                .send()
                .await
                .unwrap();
            response.status()
        }
    });
    until_hashing(&app, 1.0).await;
    // While it runs: a login, a login for an unknown address (which would
    // spend a decoy hash), a registration and a password change are each
    // refused at once, not queued.
    let refused = [
        app.log_in(BOB, USER_PASSWORD).await,
        app.log_in("nobody@example.com", WRONG).await,
        app.post(
            "/auth/users/",
            json!({"email": "new@example.com", "password": USER_PASSWORD}),
        )
        .await,
        app.send(
            reqwest::Method::POST,
            "/auth/users/set_password/",
            json!({"current_password": USER_PASSWORD, "new_password": "a-new-password-77"}),
            &bob,
        )
        .await,
    ];
    for response in refused {
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
        assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, "overloaded").await;
    }
    // Other routes never wait for the hash.
    assert_eq!(
        app.get("/auth/users/me/", &bob).await.status(),
        StatusCode::OK
    );
    assert_eq!(slow.await.unwrap(), StatusCode::OK);
    assert_eq!(
        metric(&app, "authusers_password_hashing_shed_total").await,
        4.0
    );
    // Refusals for load are no failures: nothing was counted against Bob.
    until_hashing(&app, 0.0).await;
    app.tokens_for(BOB, USER_PASSWORD).await;
    assert_eq!(
        metric(&app, "authusers_password_hashing_waiting").await,
        0.0
    );
}

on_both_backends!(
    the_eleventh_failure_is_refused_and_the_right_password_too,
    the_same_account_from_another_address_behind_a_trusted_proxy_still_logs_in,
    an_untrusted_peers_forwarded_for_is_ignored,
    failures_from_one_address_over_many_accounts_reach_the_address_limit,
    a_success_starts_the_count_again,
    the_window_passing_lifts_the_limit,
    registrations_are_limited_per_address_and_a_taken_address_counts,
    with_every_limit_off_nothing_is_refused,
    a_full_hashing_queue_answers_503_at_once,
    wrong_current_passwords_count_against_the_accounts_login_limit,
    reset_requests_are_limited_per_client_address,
);
