//! djoser's account self-service over HTTP: change the password and the
//! e-mail, delete the account, list and read users.

use std::time::Duration;

use authusers_domain::wallet::BalanceRepository;
use authusers_domain::{PageRequest, UserId};
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::{on_both_backends, DieselBalanceRepository};
use authusers_infra_smtp::test_support::TestSmtpServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{access, assert_problem, TestApp, ADMIN_EMAIL, USER_PASSWORD};
use crate::mail::smtp_to;
use crate::registration::password_of;

const NEW_PASSWORD: &str = "quartz-lantern-61";

async fn post(app: &TestApp, path: &str, body: Value, token: &str) -> reqwest::Response {
    app.send(Method::POST, path, body, token).await
}

async fn a_user_changes_their_password(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "ann@example.com").await;
    let response = post(
        &app,
        "/auth/users/set_password/",
        json!({"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD}),
        &token,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let old = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_problem(old, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    // The change ended the session it was made from, as every other.
    let ended = app.get("/auth/users/me/", &token).await;
    assert_problem(ended, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let token = access(&app.tokens_for("ann@example.com", NEW_PASSWORD).await);
    // With djoser's retyped field, and at the 72-byte limit.
    let longest = password_of(72, true);
    let response = post(
        &app,
        "/auth/users/set_password/",
        json!({"current_password": NEW_PASSWORD, "new_password": longest, "re_new_password": longest}),
        &token,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.log_in("ann@example.com", &longest).await.status(),
        StatusCode::OK
    );
}

async fn a_refused_password_change_names_the_field_and_changes_nothing(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app
        .approved_user(&admin, "annabel.leeward@example.com")
        .await;
    let cases = [
        (
            json!({"current_password": "wrong-password-1", "new_password": NEW_PASSWORD}),
            "current_password",
            "Invalid password.",
        ),
        (
            json!({"current_password": USER_PASSWORD, "new_password": "12345678"}),
            "new_password",
            "This password is entirely numeric.",
        ),
        (
            json!({"current_password": USER_PASSWORD, "new_password": "Annabel.Leeward@example.co"}),
            "new_password",
            "The password is too similar to the email address.",
        ),
        (
            json!({"current_password": USER_PASSWORD, "new_password": password_of(73, false)}),
            "new_password",
            "This password is too long. It must be at most 72 bytes.",
        ),
        (
            json!({"current_password": USER_PASSWORD, "new_password": password_of(73, true)}),
            "new_password",
            "This password is too long. It must be at most 72 bytes.",
        ),
        (
            json!({"current_password": password_of(73, false), "new_password": NEW_PASSWORD}),
            "current_password",
            "Invalid password.",
        ),
        (
            json!({"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD, "re_new_password": "other-words-22"}),
            "non_field_errors",
            "The two password fields didn't match.",
        ),
        (json!({}), "current_password", "This field is required."),
        (json!({}), "new_password", "This field is required."),
        (
            json!({"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD, "is_admin": true}),
            "is_admin",
            "Unknown field.",
        ),
    ];
    for (body, field, message) in cases {
        let response = post(&app, "/auth/users/set_password/", body.clone(), &token).await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        let messages = problem["errors"][field]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(messages.contains(&json!(message)), "{body}: {problem}");
    }
    let typed = post(
        &app,
        "/auth/users/set_password/",
        json!({"current_password": 5, "new_password": NEW_PASSWORD}),
        &token,
    )
    .await;
    let problem = assert_problem(typed, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(
        problem["errors"]["current_password"].is_array(),
        "{problem}"
    );
    let no_body = app
        .client
        .post(format!("{}/auth/users/set_password/", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(
        no_body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let empty = app
        .client
        .post(format!("{}/auth/users/set_password/", app.address))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(empty, StatusCode::BAD_REQUEST, "malformed_json").await;
    let anonymous = app
        .post(
            "/auth/users/set_password/",
            json!({"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    // Nothing changed.
    assert_eq!(
        app.log_in("annabel.leeward@example.com", USER_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn a_user_changes_their_email_and_the_old_address_is_told(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, smtp_to(smtp.url())).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "ann@example.com").await;
    app.approved_user(&admin, "bob@example.com").await;
    let decisions = smtp.wait_for(2, Duration::from_secs(15)).await.len();

    let response = post(
        &app,
        "/auth/users/set_email/",
        json!({"current_password": USER_PASSWORD, "new_email": " Ann.Lee@Example.ORG "}),
        &token,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let ended = app.get("/auth/users/me/", &token).await;
    assert_problem(ended, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let token = access(&app.tokens_for("ann.lee@example.org", USER_PASSWORD).await);
    let profile: Value = app
        .get("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], "Ann.Lee@example.org");
    let old = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_problem(old, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(
        app.log_in("ann.lee@example.org", USER_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );

    let received = smtp.wait_for(decisions + 1, Duration::from_secs(15)).await;
    let notice = received.last().unwrap();
    assert_eq!(notice.to, ["ann@example.com"]);
    assert_eq!(
        notice.subject().as_deref(),
        Some("Your e-mail address was changed")
    );
    let text = notice.text_body().unwrap();
    assert!(text.contains("A***@example.org"), "{text}");
    assert!(!text.contains("Ann.Lee"), "{text}");
}

async fn a_refused_email_change_names_the_field_and_changes_nothing(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "ann@example.com").await;
    app.approved_user(&admin, "bob@example.com").await;
    let taken = post(
        &app,
        "/auth/users/set_email/",
        json!({"current_password": USER_PASSWORD, "new_email": "BOB@example.COM"}),
        &token,
    )
    .await;
    let problem = assert_problem(taken, StatusCode::BAD_REQUEST, "email_taken").await;
    assert_eq!(
        problem["errors"]["new_email"],
        json!(["A user with this email address already exists."])
    );
    for (body, field) in [
        (
            json!({"current_password": "wrong-password-1", "new_email": "ann2@example.com"}),
            "current_password",
        ),
        (
            json!({"current_password": USER_PASSWORD, "new_email": "not-an-email"}),
            "new_email",
        ),
        (
            json!({"current_password": USER_PASSWORD, "new_email": "ann2@example.com", "re_new_email": "ann3@example.com"}),
            "non_field_errors",
        ),
        (json!({"current_password": USER_PASSWORD}), "new_email"),
        (
            json!({"current_password": USER_PASSWORD, "new_email": "ann2@example.com", "email": "x@example.com"}),
            "email",
        ),
    ] {
        let response = post(&app, "/auth/users/set_email/", body.clone(), &token).await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    let profile: Value = app
        .get("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["email"], "ann@example.com");
}

async fn a_user_without_money_deletes_their_account(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (id, token) = app.approved_user(&admin, "ann@example.com").await;
    let balance =
        |value: &str, action: &str| json!({"action": action, "value_type": "real", "value": value});
    let top_up = app.patch("/balance/", balance("5.00", "in"), &token).await;
    assert_eq!(top_up.status(), StatusCode::OK);

    let delete = |body: Value| app.send(Method::DELETE, "/auth/users/me/", body, &token);
    let rich = delete(json!({"current_password": USER_PASSWORD})).await;
    assert_problem(rich, StatusCode::CONFLICT, "balance_not_empty").await;
    let wrong = delete(json!({"current_password": "wrong-password-1"})).await;
    let problem = assert_problem(wrong, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(
        problem["errors"]["current_password"],
        json!(["Invalid password."])
    );
    let missing = delete(json!({})).await;
    let problem = assert_problem(missing, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(
        problem["errors"]["current_password"],
        json!(["This field is required."])
    );
    // Still there, with its money.
    let profile: Value = app
        .get("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["real_balance"], "5.00");

    let spend = app.patch("/balance/", balance("5.00", "out"), &token).await;
    assert_eq!(spend.status(), StatusCode::OK);
    let deleted = delete(json!({"current_password": USER_PASSWORD})).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // Gone: the token, the login, the profile for the administrator.
    let me = app.get("/auth/users/me/", &token).await;
    assert_problem(me, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let login = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let seen = app.get(&format!("/auth/users/{id}/"), &admin).await;
    assert_problem(seen, StatusCode::NOT_FOUND, "not_found").await;
    let listed: Value = app.get("/auth/users/", &admin).await.json().await.unwrap();
    assert_eq!(listed["count"], 1, "{listed}");
    // The books stay under the id.
    let ledger = DieselBalanceRepository::new(db.connect().await)
        .ledger(UserId(id), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(ledger.total, 2);
    // The address may register again, as a new user.
    let again = app.register("ann@example.com").await;
    assert_ne!(again["id"], id);
}

async fn an_administrator_lists_and_finds_users(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (ann, _) = app.approved_user(&admin, "ann@example.com").await;
    let bob = app
        .post(
            "/auth/users/",
            json!({"email": "bob@example.com", "password": USER_PASSWORD,
                   "first_name": "Robert", "last_name": "Smith"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let carol = app.register("carol@example.org").await["id"]
        .as_i64()
        .unwrap();

    let everyone: Value = app.get("/auth/users/", &admin).await.json().await.unwrap();
    assert_eq!(everyone["count"], 4);
    let emails: Vec<&str> = everyone["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            ADMIN_EMAIL,
            "ann@example.com",
            "bob@example.com",
            "carol@example.org"
        ]
    );

    let pending: Value = app
        .get("/auth/users/?status=pending&limit=1", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["count"], 2);
    assert_eq!(pending["results"][0]["id"], bob);
    let next = pending["next"].as_str().unwrap();
    assert!(next.contains("status=pending"), "{next}");
    let second: Value = app.get(next, &admin).await.json().await.unwrap();
    assert_eq!(second["results"][0]["id"], carol);
    assert!(second["previous"]
        .as_str()
        .unwrap()
        .contains("status=pending"));

    for (query, expected) in [
        ("search=EXAMPLE.ORG", vec![carol]),
        ("search=robert%20SMITH", vec![bob]),
        ("search=ann%20lee", vec![ann, carol]),
        ("search=%25", vec![]),
        ("search=&status=approved", vec![1, ann]),
    ] {
        let found: Value = app
            .get(&format!("/auth/users/?{query}"), &admin)
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<i64> = found["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, expected, "{query}");
    }

    let bad = app.get("/auth/users/?status=archived", &admin).await;
    let problem = assert_problem(bad, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(problem["errors"]["status"].is_array());
    let longest = "a".repeat(254);
    let fits = app
        .get(&format!("/auth/users/?search={longest}"), &admin)
        .await;
    assert_eq!(fits.status(), StatusCode::OK);
    let over = app
        .get(&format!("/auth/users/?search={longest}a"), &admin)
        .await;
    let problem = assert_problem(over, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(problem["errors"]["search"].is_array());

    let one: Value = app
        .get(&format!("/auth/users/{bob}/"), &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["email"], "bob@example.com");
    for missing in ["424242", "+2", "02", "abc"] {
        let response = app.get(&format!("/auth/users/{missing}/"), &admin).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

async fn a_user_sees_only_themself(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (ann, token) = app.approved_user(&admin, "ann@example.com").await;
    let (bob, _) = app.approved_user(&admin, "bob@example.com").await;
    let mine: Value = app
        .get("/auth/users/?status=approved", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["results"][0]["id"], ann);
    let own = app.get(&format!("/auth/users/{ann}/"), &token).await;
    assert_eq!(own.status(), StatusCode::OK);
    // Someone else's id, existing or not, is "not found", never "forbidden".
    for other in [bob, 1, 424242] {
        let response = app.get(&format!("/auth/users/{other}/"), &token).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let anonymous = app.request(Method::GET, "/auth/users/", None, None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

async fn put_changes_the_names_like_patch(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "ann@example.com").await;
    let response = app
        .send(
            Method::PUT,
            "/auth/users/me/",
            json!({"first_name": "Anna"}),
            &token,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(
        (
            profile["first_name"].as_str(),
            profile["last_name"].as_str()
        ),
        (Some("Anna"), Some("Lee"))
    );
    let refused = app
        .send(
            Method::PUT,
            "/auth/users/me/",
            json!({"email": "x@example.com"}),
            &token,
        )
        .await;
    let problem = assert_problem(refused, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(problem["errors"]["email"][0], "Unknown field.");
}

on_both_backends!(
    a_user_changes_their_password,
    a_refused_password_change_names_the_field_and_changes_nothing,
    a_user_changes_their_email_and_the_old_address_is_told,
    a_refused_email_change_names_the_field_and_changes_nothing,
    a_user_without_money_deletes_their_account,
    an_administrator_lists_and_finds_users,
    a_user_sees_only_themself,
    put_changes_the_names_like_patch,
);
