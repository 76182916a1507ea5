//! The contract's conventions: trailing slashes, body limits, media types,
//! unknown routes and methods.

use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp, USER_PASSWORD};

async fn paths_without_the_trailing_slash_answer_the_same(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let created = app
        .post(
            "/auth/users",
            json!({"email": "ann@example.com", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let with_slash: Value = app
        .get("/auth/users/me/", &admin)
        .await
        .json()
        .await
        .unwrap();
    let without = app.get("/auth/users/me", &admin).await;
    assert_eq!(without.status(), StatusCode::OK);
    assert_eq!(without.json::<Value>().await.unwrap(), with_slash);
    let queue = app.get("/confirm-users?limit=1", &admin).await;
    assert_eq!(queue.status(), StatusCode::OK);
    assert_eq!(queue.json::<Value>().await.unwrap()["count"], 1);
}

async fn bodies_over_64_kib_are_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let big = json!({"email": "ann@example.com", "password": USER_PASSWORD, "first_name": "a".repeat(70_000)});
    let response = app.post("/auth/users/", big).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // Nothing was stored.
    app.register("ann@example.com").await;
}

async fn non_json_bodies_are_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let form = app
        .client
        .post(format!("{}/auth/users/", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("email=ann%40example.com&password=x")
        .send()
        .await
        .unwrap();
    assert_problem(
        form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let broken = app
        .client
        .post(format!("{}/auth/users/", app.address))
        .header("Content-Type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(broken, StatusCode::BAD_REQUEST, "malformed_json").await;
    let array = app.post("/auth/users/", json!([1, 2])).await;
    assert_problem(array, StatusCode::BAD_REQUEST, "validation_failed").await;
}

async fn unknown_routes_and_methods_are_problems(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let missing = app.request(Method::GET, "/no/such/path/", None, None).await;
    assert_problem(missing, StatusCode::NOT_FOUND, "not_found").await;
    let wrong_method = app
        .request(Method::DELETE, "/auth/users/", None, None)
        .await;
    assert_problem(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

on_both_backends!(
    duplicate_keys_are_refused,
    security_headers_are_set,
    paths_without_the_trailing_slash_answer_the_same,
    bodies_over_64_kib_are_refused,
    non_json_bodies_are_refused,
    unknown_routes_and_methods_are_problems,
);

/// The headers every answer carries, and those that answers with tokens or
/// a user's data, 405s and pages carry.
async fn security_headers_are_set(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let login = app
        .log_in(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
        .await;
    let me = app.get("/auth/users/me/", &admin).await;
    let problem = app.get("/auth/users/424242/", &admin).await;
    let missing = app.request(Method::GET, "/no/such/path/", None, None).await;
    let health = app.request(Method::GET, "/healthz", None, None).await;
    for (what, response) in [
        ("tokens", &login),
        ("a profile", &me),
        ("a problem", &problem),
        ("a 404", &missing),
        ("health", &health),
    ] {
        assert_eq!(
            header(response, "x-content-type-options").as_deref(),
            Some("nosniff"),
            "{what}"
        );
    }
    for (what, response) in [("tokens", &login), ("a profile", &me)] {
        assert_eq!(
            header(response, "cache-control").as_deref(),
            Some("no-store"),
            "{what}"
        );
    }

    let wrong = app
        .request(Method::DELETE, "/auth/users/", None, None)
        .await;
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&wrong, "allow").as_deref(), Some("GET, HEAD, POST"));
    let wrong = app.request(Method::PUT, "/balance/", None, None).await;
    assert_eq!(header(&wrong, "allow").as_deref(), Some("GET, HEAD, PATCH"));

    let head = app
        .client
        .head(format!("{}/auth/users/me/", app.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
    let head = app.request(Method::HEAD, "/healthz", None, None).await;
    assert_eq!(head.status(), StatusCode::OK);

    let docs = app.request(Method::GET, "/docs/", None, None).await;
    assert_eq!(header(&docs, "x-frame-options").as_deref(), Some("DENY"));
    let policy = header(&docs, "content-security-policy").unwrap_or_default();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
}

/// A JSON object with a key twice is refused, never "last one wins": two
/// parsers could disagree about which one counted.
async fn duplicate_keys_are_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let send = |body: &'static str| {
        app.client
            .post(format!("{}/auth/users/", app.address))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let twice = send(
        r#"{"email": "eve@example.com", "email": "ann@example.com", "password": "violet-kettle-93"}"#,
    )
    .await
    .unwrap();
    let problem = assert_problem(twice, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert_eq!(
        problem["errors"]["email"],
        json!(["This field was sent more than once."])
    );
    let nested = send(
        r#"{"email": "eve@example.com", "password": "violet-kettle-93", "first_name": {"a": 1, "a": 2}}"#,
    )
    .await
    .unwrap();
    let problem = assert_problem(nested, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(problem["errors"]["first_name"].is_array(), "{problem}");
    // Nothing was stored: both addresses are free.
    app.register("eve@example.com").await;
    app.register("ann@example.com").await;
}

/// Every variable the configuration reads is in the table of
/// docs/configuration.md and in the deployment's environment template
/// (set, or commented out as `#NAME=`): one list, checked against both.
#[test]
fn every_configuration_variable_is_documented_and_templated() {
    let doc = include_str!("../../../../docs/configuration.md");
    let template = include_str!("../../../../deploy/authusers.env.example");
    for name in authusers_api_actix::app::config::VARIABLES {
        assert!(
            doc.contains(&format!("| `{name}` |")),
            "{name} is not in docs/configuration.md"
        );
        let templated = template.lines().any(|line| {
            line.trim_start_matches('#')
                .starts_with(&format!("{name}="))
        });
        assert!(templated, "{name} is not in deploy/authusers.env.example");
    }
}
