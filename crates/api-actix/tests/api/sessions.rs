//! Sessions over HTTP: logging out, refresh rotation and reuse detection,
//! the list of a user's sessions, ending one or all of them, an
//! administrator ending a user's, and the worker forgetting old ones.

use std::time::Duration;

use crate::helpers::TokenKind;
use authusers_domain::sessions::{SessionGrant, SessionId, MAX_USER_AGENT_CHARS};
use authusers_domain::UserId;
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use chrono::Utc;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{access, assert_problem, TestApp, USER_PASSWORD};

const ANN: &str = "ann@example.com";

/// Logs in as `email` from a client that calls itself `agent`.
async fn log_in_from(app: &TestApp, email: &str, password: &str, agent: impl AsRef<[u8]>) -> Value {
    let response = app
        .log_in_with(email, password, &[("User-Agent", agent.as_ref())])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn refresh_of(pair: &Value) -> String {
    pair["refresh"]
        .as_str()
        .expect("a refresh token")
        .to_owned()
}

async fn refresh(app: &TestApp, token: &str) -> Response {
    app.post("/auth/jwt/refresh/", json!({"refresh": token}))
        .await
}

async fn blacklist(app: &TestApp, token: &str) -> Response {
    app.post("/auth/jwt/blacklist/", json!({"refresh": token}))
        .await
}

async fn verify(app: &TestApp, token: &str) -> StatusCode {
    app.post("/auth/jwt/verify/", json!({"token": token}))
        .await
        .status()
}

async fn me(app: &TestApp, access: &str) -> StatusCode {
    app.get("/auth/users/me/", access).await.status()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> Response {
    app.request(Method::DELETE, path, None, Some(token)).await
}

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.get("/auth/sessions/", token).await;
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

/// An administrator and Ann, approved but not yet logged in; the
/// administrator's access token.
async fn with_ann(app: &TestApp) -> String {
    let admin = app.admin_token().await;
    let id = app.register(ANN).await["id"].as_i64().unwrap();
    let accepted = app.decide(&admin, id, "accept").await;
    assert_eq!(accepted.status(), StatusCode::OK);
    admin
}

/// The uid and token of the newest reset link mailed to `email`.
async fn reset_link_parts(db: &TestDatabase, email: &str) -> (String, String) {
    let mail = db
        .connect()
        .await
        .outbox_for_tests()
        .await
        .into_iter()
        .rev()
        .find(|m| m.recipient == email && m.subject == "Reset your password")
        .expect("a reset mail");
    let link = mail
        .text_body
        .lines()
        .find(|line| line.starts_with("http"))
        .expect("a link")
        .to_owned();
    let mut parts = link.trim_end_matches('/').rsplit('/');
    let token = parts.next().unwrap().to_owned();
    let uid = parts.next().unwrap().to_owned();
    (uid, token)
}

async fn logging_out_ends_that_session_at_once_and_no_other(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    with_ann(&app).await;
    let laptop = log_in_from(&app, ANN, USER_PASSWORD, "laptop").await;
    let phone = log_in_from(&app, ANN, USER_PASSWORD, "phone").await;

    let response = blacklist(&app, &refresh_of(&laptop)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));

    // The laptop's access token is refused now, not at its expiry.
    let refused = app.get("/auth/users/me/", &access(&laptop)).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    assert_eq!(
        verify(&app, &access(&laptop)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        verify(&app, &refresh_of(&laptop)).await,
        StatusCode::UNAUTHORIZED
    );
    let again = refresh(&app, &refresh_of(&laptop)).await;
    assert_problem(again, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let twice = blacklist(&app, &refresh_of(&laptop)).await;
    assert_problem(twice, StatusCode::UNAUTHORIZED, "token_not_valid").await;

    // The phone goes on.
    assert_eq!(me(&app, &access(&phone)).await, StatusCode::OK);
    assert_eq!(verify(&app, &access(&phone)).await, StatusCode::OK);
    assert_eq!(verify(&app, &refresh_of(&phone)).await, StatusCode::OK);
    assert_eq!(
        refresh(&app, &refresh_of(&phone)).await.status(),
        StatusCode::OK
    );
}

async fn a_replayed_refresh_token_ends_the_session_and_what_it_was_exchanged_for(
    db: &TestDatabase,
) {
    let app = TestApp::spawn(db).await;
    with_ann(&app).await;
    let stolen = log_in_from(&app, ANN, USER_PASSWORD, "victim").await;
    let other = log_in_from(&app, ANN, USER_PASSWORD, "other device").await;

    // The owner refreshes; the thief replays the old token afterwards.
    let rotated: Value = refresh(&app, &refresh_of(&stolen))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me(&app, &access(&rotated)).await, StatusCode::OK);
    let replay = refresh(&app, &refresh_of(&stolen)).await;
    assert_problem(replay, StatusCode::UNAUTHORIZED, "token_not_valid").await;

    // Everything of that session is dead: the rotated pair too.
    let after = app.get("/auth/users/me/", &access(&rotated)).await;
    assert_problem(after, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let rotated_refresh = refresh(&app, &refresh_of(&rotated)).await;
    assert_problem(rotated_refresh, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    assert_eq!(
        verify(&app, &refresh_of(&rotated)).await,
        StatusCode::UNAUTHORIZED
    );

    // The same with the rotated token used first by the thief: whoever
    // comes second ends the session.
    let second = log_in_from(&app, ANN, USER_PASSWORD, "victim").await;
    let thief: Value = refresh(&app, &refresh_of(&second))
        .await
        .json()
        .await
        .unwrap();
    let owner = refresh(&app, &refresh_of(&second)).await;
    assert_problem(owner, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    assert_eq!(me(&app, &access(&thief)).await, StatusCode::UNAUTHORIZED);

    // An old refresh token used to log out ends the session just the same.
    let third = log_in_from(&app, ANN, USER_PASSWORD, "victim").await;
    let newer: Value = refresh(&app, &refresh_of(&third))
        .await
        .json()
        .await
        .unwrap();
    let old_logout = blacklist(&app, &refresh_of(&third)).await;
    assert_eq!(old_logout.status(), StatusCode::OK);
    assert_eq!(me(&app, &access(&newer)).await, StatusCode::UNAUTHORIZED);

    // Ann's other device was never part of it.
    assert_eq!(me(&app, &access(&other)).await, StatusCode::OK);
    let reasons: Vec<Option<String>> = db
        .connect()
        .await
        .sessions_for_tests()
        .await
        .into_iter()
        .map(|(_, reason)| reason)
        .collect();
    let reused = reasons
        .iter()
        .filter(|r| r.as_deref() == Some("refresh_reused"))
        .count();
    assert_eq!(reused, 3, "{reasons:?}");
}

/// Twenty refreshes of one token at once, spread over two servers on one
/// database: one rotates, the other nineteen are reuses. The reuses end the
/// session, so the winner's new tokens are refused too: a client refreshes
/// one request at a time.
async fn of_twenty_concurrent_refreshes_of_one_token_exactly_one_succeeds(db: &TestDatabase) {
    let first = TestApp::spawn(db).await;
    with_ann(&first).await;
    let second = TestApp::spawn(db).await;
    let pair = log_in_from(&first, ANN, USER_PASSWORD, "racer").await;
    let token = refresh_of(&pair);
    let mut racers = tokio::task::JoinSet::new();
    for n in 0..20 {
        let address = if n % 2 == 0 {
            first.address.clone()
        } else {
            second.address.clone()
        };
        let client = first.client.clone();
        let token = token.clone();
        racers.spawn(async move {
            let response = client
                .post(format!("{address}/auth/jwt/refresh/"))
                .json(&json!({"refresh": token}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let mut winners = Vec::new();
    let mut refused = 0;
    while let Some(outcome) = racers.join_next().await {
        let (status, body) = outcome.unwrap();
        match status {
            StatusCode::OK => winners.push(body),
            StatusCode::UNAUTHORIZED => {
                assert_eq!(body["code"], "token_not_valid", "{body}");
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((winners.len(), refused), (1, 19));
    assert_eq!(
        me(&first, &access(&winners[0])).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn the_list_shows_each_open_session_and_which_is_this_one(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = with_ann(&app).await;
    let laptop = log_in_from(&app, ANN, USER_PASSWORD, "Firefox on Linux").await;
    let phone = log_in_from(&app, ANN, USER_PASSWORD, "Телефон\tАнны").await;
    let ended = log_in_from(&app, ANN, USER_PASSWORD, "old").await;
    assert_eq!(
        blacklist(&app, &refresh_of(&ended)).await.status(),
        StatusCode::OK
    );

    let sessions = list(&app, &access(&laptop)).await;
    assert_eq!(sessions.len(), 2, "{sessions:#?}");
    // Newest first; in UTF-8, without control characters.
    assert_eq!(sessions[0]["user_agent"], "ТелефонАнны");
    assert_eq!(sessions[1]["user_agent"], "Firefox on Linux");
    assert_eq!(
        sessions
            .iter()
            .map(|s| s["current"].clone())
            .collect::<Vec<_>>(),
        [json!(false), json!(true)]
    );
    let laptop_id = app.grant_of(&laptop).session;
    assert_eq!(sessions[1]["id"], laptop_id.as_str());
    for session in &sessions {
        assert_eq!(session["ip_address"], "127.0.0.1");
        let keys: Vec<&str> = session
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "created_at",
                "current",
                "id",
                "ip_address",
                "last_used_at",
                "user_agent"
            ]
        );
        let created =
            chrono::DateTime::parse_from_rfc3339(session["created_at"].as_str().unwrap()).unwrap();
        assert!((Utc::now() - created.with_timezone(&Utc)).num_seconds() < 60);
    }
    let from_phone = list(&app, &access(&phone)).await;
    assert_eq!(from_phone[0]["current"], true);

    // A refresh moves `last_used_at`, not `created_at`.
    app.clock.advance(chrono::Duration::minutes(1));
    let rotated: Value = refresh(&app, &refresh_of(&laptop))
        .await
        .json()
        .await
        .unwrap();
    let after = list(&app, &access(&rotated)).await;
    assert_eq!(after[1]["created_at"], sessions[1]["created_at"]);
    assert_ne!(after[1]["last_used_at"], sessions[1]["last_used_at"]);
    assert_eq!(after[1]["current"], true);

    // The administrator sees their own sessions only.
    let theirs = list(&app, &admin).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["current"], true);
}

/// A `User-Agent` is whatever the client sends: bytes that are not UTF-8
/// and any length. The list shows it readable and bounded.
async fn the_list_shows_any_user_agent_readable_and_bounded(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    with_ann(&app).await;
    log_in_from(&app, ANN, USER_PASSWORD, b"caf\xe9 \xff").await;
    let long = "x".repeat(MAX_USER_AGENT_CHARS + 1);
    let current = log_in_from(&app, ANN, USER_PASSWORD, &long).await;
    let sessions = list(&app, &access(&current)).await;
    assert_eq!(sessions[0]["user_agent"], "x".repeat(MAX_USER_AGENT_CHARS));
    assert_eq!(sessions[1]["user_agent"], "caf\u{FFFD} \u{FFFD}");
}

async fn a_user_ends_one_of_their_sessions_by_id(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = with_ann(&app).await;
    let laptop = log_in_from(&app, ANN, USER_PASSWORD, "laptop").await;
    let phone = log_in_from(&app, ANN, USER_PASSWORD, "phone").await;
    let phone_id = app.grant_of(&phone).session;
    let path = format!("/auth/sessions/{phone_id}/");

    // Someone else's session is no session of theirs.
    let foreign = delete(&app, &path, &admin).await;
    assert_problem(foreign, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(me(&app, &access(&phone)).await, StatusCode::OK);

    let ended = delete(&app, &path, &access(&laptop)).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert!(ended.bytes().await.unwrap().is_empty());
    assert_eq!(me(&app, &access(&phone)).await, StatusCode::UNAUTHORIZED);
    let phone_refresh = refresh(&app, &refresh_of(&phone)).await;
    assert_problem(phone_refresh, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    assert_eq!(me(&app, &access(&laptop)).await, StatusCode::OK);
    let again = delete(&app, &path, &access(&laptop)).await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;

    let upper = phone_id.as_str().to_uppercase();
    let longer = format!("{phone_id}0");
    let shorter = &phone_id.as_str()[1..];
    for malformed in [
        "x",
        upper.as_str(),
        longer.as_str(),
        shorter,
        "%2e%2e",
        "00000000000000000000000000000000%00",
        "ｆ0000000000000000000000000000000",
    ] {
        let response = delete(
            &app,
            &format!("/auth/sessions/{malformed}/"),
            &access(&laptop),
        )
        .await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Ending the very session of the request is allowed: it is a log-out.
    let laptop_id = app.grant_of(&laptop).session;
    let own = delete(
        &app,
        &format!("/auth/sessions/{laptop_id}/"),
        &access(&laptop),
    )
    .await;
    assert_eq!(own.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &access(&laptop)).await, StatusCode::UNAUTHORIZED);
}

async fn logging_out_everywhere_ends_every_session_of_the_user_only(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = with_ann(&app).await;
    let pairs = [
        log_in_from(&app, ANN, USER_PASSWORD, "one").await,
        log_in_from(&app, ANN, USER_PASSWORD, "two").await,
        log_in_from(&app, ANN, USER_PASSWORD, "three").await,
    ];
    let response = delete(&app, "/auth/sessions/", &access(&pairs[1])).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for pair in &pairs {
        assert_eq!(me(&app, &access(pair)).await, StatusCode::UNAUTHORIZED);
        let refreshed = refresh(&app, &refresh_of(pair)).await;
        assert_problem(refreshed, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    }
    assert_eq!(me(&app, &admin).await, StatusCode::OK);
    // A new login is a new session.
    let fresh = log_in_from(&app, ANN, USER_PASSWORD, "four").await;
    assert_eq!(list(&app, &access(&fresh)).await.len(), 1);
}

async fn an_administrator_ends_every_session_of_a_user(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = with_ann(&app).await;
    let ann_id = app
        .grant_of(&app.tokens_for(ANN, USER_PASSWORD).await)
        .user
        .0;
    let (_, bob) = app.approved_user(&admin, "bob@example.com").await;
    let ann = log_in_from(&app, ANN, USER_PASSWORD, "ann").await;

    // Only an administrator may.
    let refused = delete(&app, &format!("/auth/users/{ann_id}/sessions/"), &bob).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "permission_denied").await;
    assert_eq!(me(&app, &access(&ann)).await, StatusCode::OK);
    let anonymous = app
        .request(
            Method::DELETE,
            &format!("/auth/users/{ann_id}/sessions/"),
            None,
            None,
        )
        .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;

    let ended = delete(&app, &format!("/auth/users/{ann_id}/sessions/"), &admin).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let refused = app.get("/auth/users/me/", &access(&ann)).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    assert_eq!(me(&app, &bob).await, StatusCode::OK);
    assert_eq!(me(&app, &admin).await, StatusCode::OK);
    // A user without sessions: nothing to end, still done.
    let none = delete(&app, &format!("/auth/users/{ann_id}/sessions/"), &admin).await;
    assert_eq!(none.status(), StatusCode::NO_CONTENT);

    for missing in ["987654", "02", "-1", "x"] {
        let response = delete(&app, &format!("/auth/users/{missing}/sessions/"), &admin).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

/// The refusals of the bad-input section: every one is 401
/// `token_not_valid`, never 500, never a hint of which.
async fn refresh_and_logout_refuse_every_bad_token_alike(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (bob_id, _) = app.approved_user(&admin, "bob@example.com").await;
    app.approved_user(&admin, ANN).await;
    let ann = app.tokens_for(ANN, USER_PASSWORD).await;
    let bob = app.tokens_for("bob@example.com", USER_PASSWORD).await;
    let ann_grant = app.grant_of(&ann);
    let sign = |grant: &SessionGrant, kind| app.token_issued_at(grant, kind, Utc::now());

    let forged_session = sign(
        &SessionGrant {
            session: SessionId::from_bytes([3; 16]),
            ..ann_grant.clone()
        },
        TokenKind::Refresh,
    );
    // Bob's name on Ann's session.
    let someone_elses = sign(
        &SessionGrant {
            user: UserId(bob_id),
            ..ann_grant.clone()
        },
        TokenKind::Refresh,
    );
    let future_generation = sign(
        &SessionGrant {
            generation: 7,
            ..ann_grant.clone()
        },
        TokenKind::Refresh,
    );
    let expired = app.token_issued_at(
        &ann_grant,
        TokenKind::Refresh,
        Utc::now() - chrono::Duration::days(2),
    );
    let ended = app.tokens_for("bob@example.com", USER_PASSWORD).await;
    assert_eq!(
        blacklist(&app, &refresh_of(&ended)).await.status(),
        StatusCode::OK
    );

    let cases = [
        ("an access token", access(&ann)),
        ("a forged session id", forged_session),
        ("another user's session", someone_elses),
        ("a generation never issued", future_generation),
        ("expired", expired),
        ("an ended session", refresh_of(&ended)),
        ("not a token", "garbage".to_owned()),
    ];
    let mut bodies = Vec::new();
    for (case, token) in &cases {
        for path in ["/auth/jwt/refresh/", "/auth/jwt/blacklist/"] {
            let response = app.post(path, json!({"refresh": token})).await;
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{case} at {path}"
            );
            bodies
                .push(assert_problem(response, StatusCode::UNAUTHORIZED, "token_not_valid").await);
        }
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:#?}"
    );
    // None of them touched Ann's or Bob's live sessions.
    assert_eq!(me(&app, &access(&ann)).await, StatusCode::OK);
    assert_eq!(me(&app, &access(&bob)).await, StatusCode::OK);

    // A missing or mistyped field is the client's mistake: 400.
    for body in [
        json!({}),
        json!({"refresh": 7}),
        json!({"token": refresh_of(&ann)}),
    ] {
        let response = app.post("/auth/jwt/blacklist/", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

async fn a_deleted_users_tokens_are_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    with_ann(&app).await;
    let other = app.tokens_for(ANN, USER_PASSWORD).await;
    let pair = app.tokens_for(ANN, USER_PASSWORD).await;
    let response = app
        .send(
            Method::DELETE,
            "/auth/users/me/",
            json!({"current_password": USER_PASSWORD}),
            &access(&pair),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for token in [access(&pair), access(&other)] {
        let response = app.get("/auth/users/me/", &token).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "token_not_valid").await;
        assert_eq!(verify(&app, &token).await, StatusCode::UNAUTHORIZED);
    }
    for token in [refresh_of(&pair), refresh_of(&other)] {
        let response = refresh(&app, &token).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    }
    let reasons: Vec<Option<String>> = db
        .connect()
        .await
        .sessions_for_tests()
        .await
        .into_iter()
        .map(|(_, reason)| reason)
        .filter(Option::is_some)
        .collect();
    assert_eq!(
        reasons,
        [
            Some("account_erased".to_owned()),
            Some("account_erased".to_owned())
        ]
    );
}

/// A password reset, like a change, ends every session: whoever had
/// stolen one is out.
async fn a_password_reset_and_an_email_change_end_every_session(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    with_ann(&app).await;
    let before_reset = app.tokens_for(ANN, USER_PASSWORD).await;
    let link_sent = app
        .post("/auth/users/reset_password/", json!({"email": ANN}))
        .await;
    assert_eq!(link_sent.status(), StatusCode::NO_CONTENT);
    let (uid, token) = reset_link_parts(db, ANN).await;
    let confirmed = app
        .post(
            "/auth/users/reset_password_confirm/",
            json!({"uid": uid, "token": token, "new_password": "quartz-lantern-61"}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        me(&app, &access(&before_reset)).await,
        StatusCode::UNAUTHORIZED
    );
    let replaced = refresh(&app, &refresh_of(&before_reset)).await;
    assert_problem(replaced, StatusCode::UNAUTHORIZED, "token_not_valid").await;

    let before_move = app.tokens_for(ANN, "quartz-lantern-61").await;
    let second = app.tokens_for(ANN, "quartz-lantern-61").await;
    let moved = app
        .send(
            Method::POST,
            "/auth/users/set_email/",
            json!({"current_password": "quartz-lantern-61", "new_email": "ann@example.org"}),
            &access(&before_move),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::NO_CONTENT);
    for pair in [&before_move, &second] {
        assert_eq!(me(&app, &access(pair)).await, StatusCode::UNAUTHORIZED);
    }
    let fresh = app.tokens_for("ann@example.org", "quartz-lantern-61").await;
    assert_eq!(me(&app, &access(&fresh)).await, StatusCode::OK);
}

/// A session ends `SESSION_MAX_AGE_SECONDS` after its login, however often
/// it is refreshed.
async fn a_session_ends_at_its_maximum_age_whatever_the_refreshes(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.sessions.max_age = chrono::Duration::seconds(120);
    })
    .await;
    with_ann(&app).await;
    let mut pair = app.tokens_for(ANN, USER_PASSWORD).await;
    for _ in 0..2 {
        app.clock.advance(chrono::Duration::seconds(50));
        let response = refresh(&app, &refresh_of(&pair)).await;
        assert_eq!(response.status(), StatusCode::OK);
        pair = response.json().await.unwrap();
        assert_eq!(me(&app, &access(&pair)).await, StatusCode::OK);
    }
    app.clock.advance(chrono::Duration::seconds(21));
    assert_eq!(me(&app, &access(&pair)).await, StatusCode::UNAUTHORIZED);
    let late = refresh(&app, &refresh_of(&pair)).await;
    assert_problem(late, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    assert_eq!(verify(&app, &access(&pair)).await, StatusCode::UNAUTHORIZED);
}

/// The worker that delivers mail forgets sessions that ended or expired
/// longer ago than `SESSION_RETENTION_SECONDS`; requests never do.
async fn the_worker_forgets_old_sessions_and_keeps_open_ones(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.sessions.retention = chrono::Duration::zero();
        settings.sessions.housekeeping_interval = Duration::from_millis(200);
    })
    .await;
    with_ann(&app).await;
    let kept = app.tokens_for(ANN, USER_PASSWORD).await;
    let ended = app.tokens_for(ANN, USER_PASSWORD).await;
    assert_eq!(
        blacklist(&app, &refresh_of(&ended)).await.status(),
        StatusCode::OK
    );
    let ended_id = app.grant_of(&ended).session;
    let database = db.connect().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let stored = database.sessions_for_tests().await;
        if !stored.iter().any(|(id, _)| id == ended_id.as_str()) {
            assert!(
                stored.iter().all(|(_, reason)| reason.is_none()),
                "{stored:?}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ended session was not pruned: {stored:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(me(&app, &access(&kept)).await, StatusCode::OK);
    assert_eq!(list(&app, &access(&kept)).await.len(), 1);
}

on_both_backends!(
    logging_out_ends_that_session_at_once_and_no_other,
    a_replayed_refresh_token_ends_the_session_and_what_it_was_exchanged_for,
    of_twenty_concurrent_refreshes_of_one_token_exactly_one_succeeds,
    the_list_shows_each_open_session_and_which_is_this_one,
    the_list_shows_any_user_agent_readable_and_bounded,
    a_user_ends_one_of_their_sessions_by_id,
    logging_out_everywhere_ends_every_session_of_the_user_only,
    an_administrator_ends_every_session_of_a_user,
    refresh_and_logout_refuse_every_bad_token_alike,
    a_deleted_users_tokens_are_refused,
    a_password_reset_and_an_email_change_end_every_session,
    a_session_ends_at_its_maximum_age_whatever_the_refreshes,
    the_worker_forgets_old_sessions_and_keeps_open_ones,
);
