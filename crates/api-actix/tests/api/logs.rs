//! No password, token or secret ever reaches a log line: the whole flow is
//! run with logging at its most verbose and the output is searched.

use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use authusers_api_actix::app::config::{JwtSettings, MailTransport, Secret};
use authusers_domain::outbox::OutboxRepository;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::DieselOutboxRepository;
use authusers_infra_smtp::test_support::TestSmtpServer;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tracing_subscriber::EnvFilter;

use crate::helpers::{access, TestApp};

static CAPTURED: LazyLock<Arc<Mutex<Vec<u8>>>> = LazyLock::new(Arc::default);

struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut captured) = CAPTURED.lock() {
            captured.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of this test process, at trace level for the
/// service's own crates and its server, database and mail libraries, into
/// `CAPTURED`, as JSON.
fn capture_logs() {
    let filter = EnvFilter::new(
        "info,authusers_api_actix=trace,authusers_domain=trace,authusers_infra_diesel=trace,\
         authusers_infra_smtp=trace,actix_web=trace,actix_http=trace,actix_server=trace,\
         lettre=trace,r2d2=trace,diesel=trace",
    );
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(|| CaptureWriter)
        .try_init();
}

fn captured() -> String {
    CAPTURED
        .lock()
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .unwrap_or_default()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_reaches_the_logs() {
    capture_logs();
    let db = TestDatabase::sqlite();
    let jwt_secret = unique("jwt-secret");
    let smtp_password = unique("smtp-password");
    let down = TestSmtpServer::reserve_port();
    let smtp_url = format!("smtp://mailer:{smtp_password}@127.0.0.1:{down}");
    let secret = jwt_secret.clone();
    let app = TestApp::spawn_with(&db, move |settings| {
        settings.jwt = JwtSettings::with_secret(&secret);
        settings.mail.transport = MailTransport::Smtp {
            url: Secret::new(smtp_url),
        };
        settings.mail.poll_interval = Duration::from_millis(50);
        settings.mail.retry.first_delay = chrono::Duration::milliseconds(50);
    })
    .await;
    let admin = app.admin_token().await;

    let password = unique("Pw");
    let registered = app
        .post(
            "/auth/users/",
            json!({"email": "ann@example.com", "password": password, "first_name": "Ann"}),
        )
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let id = registered.json::<serde_json::Value>().await.unwrap()["id"].clone();
    let decided = app.decide(&admin, id, "accept").await;
    assert_eq!(decided.status(), StatusCode::OK);
    let pair = app.tokens_for("ann@example.com", &password).await;
    let refresh = pair["refresh"].as_str().unwrap().to_owned();
    let refreshed = app
        .post("/auth/jwt/refresh/", json!({"refresh": refresh}))
        .await;
    let rotated: Value = refreshed.json().await.unwrap();
    let new_access = access(&rotated);
    let new_refresh = rotated["refresh"].as_str().unwrap().to_owned();
    app.post("/auth/jwt/verify/", json!({"token": new_access}))
        .await;
    app.get("/auth/users/me/", &access(&pair)).await;
    let wrong = app
        .log_in("ann@example.com", &format!("{password}-wrong"))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // Guessing another account until the limit: one log line for the
    // refusal, without the password.
    let guess = unique("Guess");
    for _ in 0..10 {
        let failed = app.log_in("nobody@example.com", &guess).await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = app.log_in("nobody@example.com", &guess).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let short = app
        .post(
            "/auth/users/",
            json!({"email": "bob@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);

    // Self-service: a new password, a reset link used, a new address.
    let session = access(&app.tokens_for("ann@example.com", &password).await);
    let changed = unique("Changed");
    let set = app
        .send(
            reqwest::Method::POST,
            "/auth/users/set_password/",
            json!({"current_password": password, "new_password": changed}),
            &session,
        )
        .await;
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    app.post(
        "/auth/users/reset_password/",
        json!({"email": "ann@example.com"}),
    )
    .await;
    let database = db.connect().await;
    let reset_mail = database
        .outbox_for_tests()
        .await
        .into_iter()
        .find(|m| m.subject == "Reset your password")
        .expect("a queued reset mail");
    let link = reset_mail
        .text_body
        .lines()
        .find(|line| line.starts_with("http"))
        .expect("a link")
        .to_owned();
    let mut parts = link.trim_end_matches('/').rsplit('/');
    let reset_token = parts.next().unwrap().to_owned();
    let uid = parts.next().unwrap().to_owned();
    // The page's address holds the token too.
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let reset = unique("Reset");
    let confirmed = app
        .post(
            "/auth/users/reset_password_confirm/",
            json!({"uid": uid, "token": reset_token, "new_password": reset}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    // Each credential change ended the sessions: a new login for the next.
    let session = access(&app.tokens_for("ann@example.com", &reset).await);
    let moved = app
        .send(
            reqwest::Method::POST,
            "/auth/users/set_email/",
            json!({"current_password": reset, "new_email": "ann.lee@example.org"}),
            &session,
        )
        .await;
    assert_eq!(moved.status(), StatusCode::NO_CONTENT);

    // Let the outbox fail against the closed SMTP port a few times.
    let outbox = DieselOutboxRepository::new(db.connect().await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while outbox
        .unsent(1)
        .await
        .unwrap()
        .first()
        .is_none_or(|m| m.attempts < 2)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery attempt"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let logs = captured();
    // The capture works: the requests above were logged.
    assert!(logs.contains("request finished"), "nothing was captured");
    assert!(logs.contains("e-mail delivery failed"));
    // (Other tests of this process may log refusals too: every such line
    // says why and from where, and names no account.)
    let refusals: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("attempt throttled"))
        .collect();
    assert!(!refusals.is_empty(), "the refusal was not logged");
    for line in refusals {
        assert!(line.contains(r#""reason":""#), "{line}");
        assert!(line.contains(r#""client":"#), "{line}");
        assert!(line.contains(r#""retry_after_seconds":"#), "{line}");
        assert!(!line.contains('@'), "{line}");
    }
    for (what, secret) in [
        ("password", password.as_str()),
        ("guessed password", guess.as_str()),
        ("administrator password", crate::helpers::ADMIN_PASSWORD),
        ("short password", "\"short\""),
        ("access token", access(&pair).as_str()),
        ("refresh token", refresh.as_str()),
        ("refreshed access token", new_access.as_str()),
        ("rotated refresh token", new_refresh.as_str()),
        ("administrator token", admin.as_str()),
        ("JWT secret", jwt_secret.as_str()),
        ("SMTP password", smtp_password.as_str()),
        ("bcrypt hash", "$2b$"),
        ("changed password", changed.as_str()),
        ("reset password", reset.as_str()),
        ("reset token", reset_token.as_str()),
        ("reset link", link.as_str()),
    ] {
        assert!(!logs.contains(secret), "the {what} reached the logs");
    }
}
