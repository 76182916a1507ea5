//! Request bodies that never finish, on SQLite and PostgreSQL: they hold
//! no place in the password-hashing queue, so logins go on while many of
//! them are held; and each is cut off at `REQUEST_BODY_TIMEOUT_SECONDS`
//! with a 408 and a closed connection.

use std::time::Duration;

use authusers_infra_crypto::HashingCapacity;
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The routes that hash a password, each with the body type it reads.
const HASHING_ROUTES: [(&str, &str); 5] = [
    ("/auth/jwt/create/", "application/json"),
    ("/auth/users/", "application/json"),
    ("/auth/users/set_password/", "application/json"),
    ("/auth/users/reset_password_confirm/", "application/json"),
    ("/admin/login/", "application/x-www-form-urlencoded"),
];

/// A connection that sent a request's head, announcing a 60 000-byte body,
/// and one byte of it; then nothing. It carries `token`, so that a route
/// that needs one gets as far as reading the body.
struct SlowBody {
    stream: TcpStream,
}

impl SlowBody {
    async fn open(app: &TestApp, path: &str, content_type: &str, token: &str) -> Self {
        let address = app.address.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).await.expect("a connection");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n\
             Authorization: Bearer {token}\r\nCookie: authusers_console_sign_in=abc\r\n\
             Content-Length: 60000\r\n\r\n{{"
        );
        stream
            .write_all(head.as_bytes())
            .await
            .expect("the head is sent");
        Self { stream }
    }

    /// Whether the server has said anything, or closed, by now.
    fn has_answered(&mut self) -> bool {
        let mut byte = [0u8; 1];
        !matches!(
            self.stream.try_read(&mut byte),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        )
    }

    /// Everything the server sends until it closes the connection, which
    /// it must do within `within`.
    async fn answer(mut self, within: Duration) -> String {
        let mut answer = Vec::new();
        tokio::time::timeout(within, self.stream.read_to_end(&mut answer))
            .await
            .expect("the server answers and closes the connection in time")
            .expect("the answer is read");
        String::from_utf8_lossy(&answer).into_owned()
    }
}

/// Many more unfinished bodies than the queue has places, on every route
/// that hashes, held for 30 s: the administrator logs in all the while.
async fn slow_bodies_hold_no_place_in_the_hashing_queue(db: &TestDatabase) {
    const HOLD: Duration = Duration::from_secs(30);
    let app = TestApp::spawn_with(db, |settings| {
        settings.abuse.hashing = HashingCapacity::fixed(1, 1);
        settings.request_body_timeout = Duration::from_secs(120);
    })
    .await;
    let admin = app.admin_token().await;
    let mut held = Vec::new();
    for (path, content_type) in HASHING_ROUTES.iter().cycle().take(30) {
        held.push(SlowBody::open(&app, path, content_type, &admin).await);
    }
    let started = tokio::time::Instant::now();
    let mut logins = 0;
    while started.elapsed() < HOLD {
        let login = app.log_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(
            login.status(),
            StatusCode::OK,
            "login {logins} after {:?}: {}",
            started.elapsed(),
            login.text().await.unwrap_or_default()
        );
        logins += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(logins >= 30, "only {logins} logins in {HOLD:?}");
    // The unfinished bodies were still held, unanswered, all that time.
    for (n, body) in held.iter_mut().enumerate() {
        assert!(!body.has_answered(), "slow body {n} was answered");
    }
}

/// A body not received within the deadline is answered 408 problem+json,
/// and the connection is closed: on a JSON route and on a console form.
async fn a_body_not_received_in_time_is_answered_408_and_its_connection_closed(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.request_body_timeout = Duration::from_secs(1);
    })
    .await;
    for (path, content_type) in [HASHING_ROUTES[0], HASHING_ROUTES[4]] {
        let started = tokio::time::Instant::now();
        let body = SlowBody::open(&app, path, content_type, "").await;
        let answer = body.answer(Duration::from_secs(10)).await;
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{path}: answered before the deadline"
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{path}: {answer}"
        );
        let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let problem: Value = serde_json::from_str(json).expect("a problem body");
        assert_eq!(problem["code"], "request_timeout", "{path}: {answer}");
        assert_eq!(problem["status"], 408);
    }
}

/// A body sent in pieces that arrives whole before the deadline is read
/// as any other.
async fn a_body_sent_in_pieces_within_the_deadline_is_read(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.request_body_timeout = Duration::from_secs(2);
    })
    .await;
    app.admin_token().await;
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let body = format!(r#"{{"email": "{ADMIN_EMAIL}", "password": "{ADMIN_PASSWORD}"}}"#);
    let head = format!(
        "POST /auth/jwt/create/ HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.as_bytes().chunks(body.len() / 3 + 1) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(piece).await.unwrap();
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"refresh\""), "{answer}");
}

on_both_backends!(
    slow_bodies_hold_no_place_in_the_hashing_queue,
    a_body_not_received_in_time_is_answered_408_and_its_connection_closed,
    a_body_sent_in_pieces_within_the_deadline_is_read,
);
