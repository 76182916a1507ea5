use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_problem, TestApp, USER_PASSWORD};

async fn registration_returns_a_pending_profile(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let profile = app.register("  Ann.Lee@Example.COM ").await;
    assert_eq!(profile["email"], "Ann.Lee@example.com");
    assert_eq!(profile["status"], "pending");
    assert_eq!(profile["is_admin"], false);
    assert_eq!(profile["first_name"], "Ann");
    assert_eq!(profile["last_name"], "Lee");
    assert_eq!(profile["real_balance"], "0.00");
    assert_eq!(profile["virtual_balance"], "0.00");
    assert!(profile["id"].is_i64());
    assert!(profile["date_joined"].as_str().unwrap().ends_with('Z'));
    assert!(profile.get("password").is_none() && profile.get("password_hash").is_none());
}

async fn an_email_taken_in_any_case_is_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    app.register("ann@example.com").await;
    let response = app
        .post(
            "/auth/users/",
            json!({"email": "ANN@EXAMPLE.COM", "password": USER_PASSWORD}),
        )
        .await;
    let body = assert_problem(response, StatusCode::BAD_REQUEST, "email_taken").await;
    assert!(body["errors"]["email"][0].is_string());
}

async fn every_invalid_field_is_named(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let response = app
        .post(
            "/auth/users/",
            json!({"email": "not-an-email", "password": "12345678", "first_name": "x".repeat(151)}),
        )
        .await;
    let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
    let errors = body["errors"].as_object().unwrap();
    let mut fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["email", "first_name", "password"]);
    let password: Vec<&str> = errors["password"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(password.contains(&"This password is entirely numeric."));
    assert!(password.contains(&"This password is too common."));
}

async fn password_rules_are_enforced(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let cases = [
        ("short", "x7#kq2!"),
        ("too long", &"Ab9!".repeat(19)),
        ("similar", "Zanzibar99"),
        ("common", "Password123"),
    ];
    for (case, password) in cases {
        let response = app
            .post(
                "/auth/users/",
                json!({"email": "zanzibar.quill@example.com", "password": password}),
            )
            .await;
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(body["errors"]["password"].is_array(), "{case}: {body}");
    }
}

async fn missing_fields_are_required(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let response = app.post("/auth/users/", json!({})).await;
    let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"]["email"][0], "This field is required.");
    assert_eq!(body["errors"]["password"][0], "This field is required.");
}

async fn privileged_fields_cannot_be_sent(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let response = app
        .post(
            "/auth/users/",
            json!({"email": "eve@example.com", "password": USER_PASSWORD, "status": "approved", "is_admin": true}),
        )
        .await;
    let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(body["errors"]["status"][0], "Unknown field.");
    assert_eq!(body["errors"]["is_admin"][0], "Unknown field.");
    // Nothing was stored: the same e-mail can still register.
    app.register("eve@example.com").await;
}

async fn a_wrongly_typed_field_is_named(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let response = app
        .post(
            "/auth/users/",
            json!({"email": 42, "password": USER_PASSWORD}),
        )
        .await;
    let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(body["errors"]["email"][0].is_string(), "{body}");
}

/// A password of `bytes` bytes that passes every other rule; with
/// `multibyte`, it ends in two-byte letters that straddle the limit.
pub fn password_of(bytes: usize, multibyte: bool) -> String {
    let tail = if multibyte { "жжж" } else { "xyz" };
    let head = "Qw7!".repeat(bytes / 4 + 1);
    let mut password: String = head
        .chars()
        .take(bytes.saturating_sub(tail.len()))
        .collect();
    password.push_str(tail);
    while password.len() > bytes {
        password.remove(0);
    }
    password
}

/// bcrypt reads 72 bytes: 71 and 72 register and log in, 73 is refused at
/// registration and never logs in, with ASCII and two-byte letters alike.
async fn passwords_at_the_72_byte_limit(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    for (n, (bytes, multibyte)) in [(71, false), (72, false), (72, true), (71, true)]
        .into_iter()
        .enumerate()
    {
        let password = password_of(bytes, multibyte);
        assert_eq!(password.len(), bytes);
        let email = format!("edge{n}@example.com");
        let created = app
            .post(
                "/auth/users/",
                json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED, "{bytes} bytes");
        let id = created.json::<serde_json::Value>().await.unwrap()["id"].clone();
        let accepted = app.decide(&admin, id, "accept").await;
        assert_eq!(accepted.status(), StatusCode::OK);
        let login = app.log_in(&email, &password).await;
        assert_eq!(login.status(), StatusCode::OK, "{bytes} bytes");
        // One more byte is another password, and a wrong one.
        let longer = format!("{password}x");
        let refused = app.log_in(&email, &longer).await;
        assert_problem(refused, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    for multibyte in [false, true] {
        let over = password_of(73, multibyte);
        let response = app
            .post(
                "/auth/users/",
                json!({"email": "over@example.com", "password": over}),
            )
            .await;
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(
            body["errors"]["password"],
            json!(["This password is too long. It must be at most 72 bytes."])
        );
    }
}

on_both_backends!(
    look_alike_addresses_are_one_address_or_refused,
    names_with_invisible_characters_are_refused,
    passwords_at_the_72_byte_limit,
    registration_returns_a_pending_profile,
    an_email_taken_in_any_case_is_refused,
    every_invalid_field_is_named,
    password_rules_are_enforced,
    missing_fields_are_required,
    privileged_fields_cannot_be_sent,
    a_wrongly_typed_field_is_named,
);

/// Names that would reorder or hide text where they are shown are refused.
async fn names_with_invisible_characters_are_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    for name in ["Ann\u{202E}eeL", "A\u{200B}nn", "Ann\u{2028}Lee"] {
        let response = app
            .post(
                "/auth/users/",
                json!({"email": "ann@example.com", "password": USER_PASSWORD, "first_name": name}),
            )
            .await;
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(body["errors"]["first_name"].is_array(), "{name:?}: {body}");
    }
    app.register("ann@example.com").await;
}

/// One address, one account: quoted local parts, invisible characters and
/// non-ASCII local parts are refused; domains are read through IDNA, so a
/// full-width or capitalised domain is the same domain; the canonical form
/// decides uniqueness the same way on both backends.
async fn look_alike_addresses_are_one_address_or_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let register = |email: &str| {
        app.post(
            "/auth/users/",
            json!({"email": email, "password": USER_PASSWORD}),
        )
    };
    app.register("ann@example.com").await;
    for refused in [
        "\"ann\"@example.com",
        "\"a nn\"@example.com",
        "ÄNN@example.com",
        "änn@example.com",
        "ａｎｎ@example.com",
        "ann\u{200B}@example.com",
        "ann@exa\u{200B}mple.com",
        "ann@exa\u{00AD}mple.com",
        "ann@example.com\u{202E}",
        "ann@-example.com",
    ] {
        let response = register(refused).await;
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(body["errors"]["email"].is_array(), "{refused:?}: {body}");
    }
    for taken in [
        "ANN@EXAMPLE.COM",
        "ann@ｅｘａｍｐｌｅ.com",
        "Ann@EXAMPLE.com.",
    ] {
        let response = register(taken).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "email_taken").await;
    }
    let idn = register("Dora@BÜCHER.example").await;
    assert_eq!(idn.status(), StatusCode::CREATED);
    let profile: serde_json::Value = idn.json().await.unwrap();
    assert_eq!(profile["email"], "Dora@xn--bcher-kva.example");
    let again = register("dora@bücher.EXAMPLE").await;
    assert_problem(again, StatusCode::BAD_REQUEST, "email_taken").await;
}
