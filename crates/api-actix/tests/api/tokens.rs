use crate::helpers::TokenKind;
use authusers_domain::accounts::UserRepository;
use authusers_domain::sessions::{SessionGrant, SessionId};
use authusers_domain::sessions::{SessionTokens, VerifiedToken};
use authusers_domain::UserId;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::{on_both_backends, DieselUserRepository};
use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{access, assert_problem, TestApp, ADMIN_EMAIL, USER_PASSWORD};

async fn an_approved_user_gets_an_access_and_a_refresh_token(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (id, _) = app.approved_user(&admin, "ann@example.com").await;
    let login = app.log_in("ANN@example.com", USER_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert_eq!(login.headers()["cache-control"], "no-store");
    let pair: Value = login.json().await.unwrap();
    let Ok(VerifiedToken::Access(access)) = app
        .tokens()
        .verify(pair["access"].as_str().unwrap(), Utc::now())
    else {
        panic!("not an access token: {pair}");
    };
    let Ok(VerifiedToken::Refresh(refresh)) = app
        .tokens()
        .verify(pair["refresh"].as_str().unwrap(), Utc::now())
    else {
        panic!("not a refresh token: {pair}");
    };
    assert_eq!((access.user, refresh.user), (UserId(id), UserId(id)));
    assert_eq!(access.session, refresh.session, "one session names both");
    assert_eq!(refresh.generation, 1);
}

async fn wrong_password_and_unknown_email_look_the_same(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    let wrong_password = app.log_in("ann@example.com", "not-her-password").await;
    let wrong_body = assert_problem(
        wrong_password,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = app.log_in("nobody@example.com", USER_PASSWORD).await;
    let unknown_body =
        assert_problem(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong_body, unknown_body);
}

async fn pending_and_rejected_users_get_no_token(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    app.register("wait@example.com").await;
    let pending = app.log_in("wait@example.com", USER_PASSWORD).await;
    assert_problem(pending, StatusCode::FORBIDDEN, "account_pending").await;

    let id = app.register("no@example.com").await["id"].as_i64().unwrap();
    let response = app
        .patch(
            &format!("/confirm-users/{id}/"),
            json!({"action": "reject"}),
            &admin,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let rejected = app.log_in("no@example.com", USER_PASSWORD).await;
    assert_problem(rejected, StatusCode::FORBIDDEN, "account_rejected").await;

    // A wrong password never reveals the status.
    let guessed = app.log_in("wait@example.com", "not-the-password").await;
    assert_problem(guessed, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

async fn refresh_rotates_the_pair(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    let pair = app.tokens_for("ann@example.com", USER_PASSWORD).await;
    let response = app
        .post("/auth/jwt/refresh/", json!({"refresh": pair["refresh"]}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let rotated: Value = response.json().await.unwrap();
    assert_eq!(rotated.as_object().unwrap().len(), 2, "{rotated}");
    assert_ne!(rotated["refresh"], pair["refresh"]);
    let me = app.get("/auth/users/me/", &access(&rotated)).await;
    assert_eq!(me.status(), StatusCode::OK);
    // The rotated refresh token is the live one, and it rotates again.
    let again = app
        .post("/auth/jwt/refresh/", json!({"refresh": rotated["refresh"]}))
        .await;
    assert_eq!(again.status(), StatusCode::OK);

    // An access token is not a refresh token.
    let response = app
        .post("/auth/jwt/refresh/", json!({"refresh": pair["access"]}))
        .await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "token_not_valid").await;
}

async fn verify_accepts_valid_tokens_only(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let refresh = app
        .tokens_for(ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await["refresh"]
        .clone();
    for token in [json!(admin), refresh] {
        let response = app.post("/auth/jwt/verify/", json!({"token": token})).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    }
    let grant = app.grant_of(
        &app.tokens_for(ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
    );
    let expired = app.token_issued_at(&grant, TokenKind::Access, Utc::now() - Duration::hours(1));
    // The control: the same session, at the same generation, now.
    let fresh = app.token_issued_at(&grant, TokenKind::Access, Utc::now());
    let response = app.post("/auth/jwt/verify/", json!({"token": fresh})).await;
    assert_eq!(response.status(), StatusCode::OK);
    for token in ["garbage", expired.as_str()] {
        let response = app.post("/auth/jwt/verify/", json!({"token": token})).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    }
}

async fn protected_routes_refuse_bad_tokens(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    let pair = app.tokens_for("ann@example.com", USER_PASSWORD).await;
    let grant = app.grant_of(&pair);

    let missing = app
        .request(Method::GET, "/auth/users/me/", None, None)
        .await;
    assert!(missing.headers().contains_key("www-authenticate"));
    assert_problem(missing, StatusCode::UNAUTHORIZED, "not_authenticated").await;

    let payload = access(&pair).split('.').nth(1).unwrap().to_owned();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let forged = {
        // Change a character well inside the signature.
        let mut chars: Vec<char> = access(&pair).chars().collect();
        let at = chars.len() - 10;
        chars[at] = if chars[at] == 'x' { 'y' } else { 'x' };
        chars.into_iter().collect::<String>()
    };
    let other_secret = {
        let settings = authusers_api_actix::app::config::JwtSettings::with_secret("another-secret");
        authusers_infra_jwt::TokenService::new(&settings.tokens)
            .issue_pair(&grant, Utc::now())
            .unwrap()
            .access
    };
    let expired = app.token_issued_at(&grant, TokenKind::Access, Utc::now() - Duration::minutes(6));
    let vanished_user = app.token_issued_at(
        &SessionGrant {
            user: UserId(987_654),
            ..grant.clone()
        },
        TokenKind::Access,
        Utc::now(),
    );
    let forged_session = app.token_issued_at(
        &SessionGrant {
            session: SessionId::from_bytes([9; 16]),
            ..grant.clone()
        },
        TokenKind::Access,
        Utc::now(),
    );
    // The control: the same forging with nothing wrong is accepted.
    let fine = app.token_issued_at(&grant, TokenKind::Access, Utc::now());
    assert_eq!(
        app.get("/auth/users/me/", &fine).await.status(),
        StatusCode::OK
    );
    let refresh = pair["refresh"].as_str().unwrap().to_owned();
    for (case, token) in [
        ("malformed", "not-a-jwt".to_owned()),
        ("alg none", unsigned),
        ("tampered signature", forged),
        ("wrong secret", other_secret),
        ("expired", expired),
        ("refresh as access", refresh),
        ("user no longer exists", vanished_user),
        ("a session that never was", forged_session),
    ] {
        let response = app.get("/auth/users/me/", &token).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_problem(response, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    }
}

async fn the_older_jwt_prefix_is_accepted(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let response = app
        .client
        .get(format!("{}/auth/users/me/", app.address))
        .header("Authorization", format!("JWT {admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let basic = app
        .client
        .get(format!("{}/auth/users/me/", app.address))
        .header("Authorization", format!("Basic {admin}"))
        .send()
        .await
        .unwrap();
    assert_problem(basic, StatusCode::UNAUTHORIZED, "token_not_valid").await;
}

on_both_backends!(
    signed_tokens_with_untrustworthy_claims_are_refused,
    a_login_rehashes_at_the_configured_cost,
    an_approved_user_gets_an_access_and_a_refresh_token,
    wrong_password_and_unknown_email_look_the_same,
    pending_and_rejected_users_get_no_token,
    refresh_rotates_the_pair,
    verify_accepts_valid_tokens_only,
    protected_routes_refuse_bad_tokens,
    the_older_jwt_prefix_is_accepted,
);

/// After `BCRYPT_COST` is raised, a successful login re-hashes the password
/// at the new cost, as Django does, so that old hashes do not stay cheaper
/// to check than the decoy of an unknown address.
async fn a_login_rehashes_at_the_configured_cost(db: &TestDatabase) {
    let before = TestApp::spawn(db).await;
    let admin = before.admin_token().await;
    let (id, _) = before.approved_user(&admin, "ann@example.com").await;
    drop(before);
    let users = DieselUserRepository::new(db.connect().await);
    let stored = || async {
        users
            .find_by_id(UserId(id))
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .as_str()
            .to_owned()
    };
    assert!(stored().await.starts_with("$2b$04$"));

    let after = TestApp::spawn_with(db, |settings| settings.bcrypt_cost = 5).await;
    let wrong = after.log_in("ann@example.com", "not-her-password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        stored().await.starts_with("$2b$04$"),
        "a wrong password re-hashed"
    );
    let login = after.log_in("ann@example.com", USER_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(stored().await.starts_with("$2b$05$"), "{}", stored().await);
    assert_eq!(
        after
            .log_in("ann@example.com", USER_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

/// Tokens signed with the right secret but with claims or headers that
/// must not be trusted: a `nbf` or an `iat` in the future, a `crit` header.
async fn signed_tokens_with_untrustworthy_claims_are_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (id, _) = app.approved_user(&admin, "ann@example.com").await;
    let session = app
        .grant_of(&app.tokens_for("ann@example.com", USER_PASSWORD).await)
        .session;
    let now = Utc::now().timestamp();
    let sign = |header: jsonwebtoken::Header, extra: Value| {
        let mut claims = json!({
            "token_type": "access", "exp": now + 300, "iat": now,
            "jti": "a1b2c3", "sub": id.to_string(), "user_id": id, "sid": session.as_str(),
        });
        for (key, value) in extra.as_object().unwrap() {
            claims[key] = value.clone();
        }
        let key = jsonwebtoken::EncodingKey::from_secret(crate::helpers::TEST_SECRET.as_bytes());
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    };
    let plain = || jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    // The control: the same forging, with nothing wrong, is accepted.
    let fine = sign(plain(), json!({"nbf": now - 5}));
    assert_eq!(
        app.get("/auth/users/me/", &fine).await.status(),
        StatusCode::OK
    );
    let critical = jsonwebtoken::Header {
        crit: Some(vec!["exp".into()]),
        ..plain()
    };
    for (case, token) in [
        (
            "nbf in the future",
            sign(plain(), json!({"nbf": now + 120})),
        ),
        (
            "iat in the future",
            sign(plain(), json!({"iat": now + 120})),
        ),
        ("a crit header", sign(critical, json!({}))),
    ] {
        let response = app.get("/auth/users/me/", &token).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "token_not_valid").await;
        let verified = app.post("/auth/jwt/verify/", json!({"token": token})).await;
        assert_eq!(verified.status(), StatusCode::UNAUTHORIZED, "{case}");
    }
}
