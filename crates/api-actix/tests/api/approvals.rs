use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp, USER_PASSWORD};

async fn the_administrator_sees_pending_users_oldest_first(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    for i in 0..3 {
        app.register(&format!("u{i}@example.com")).await;
    }
    let response = app.get("/confirm-users/?limit=2", &admin).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["count"], 3);
    let emails: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["u0@example.com", "u1@example.com"]);
    assert!(page["results"][0]["status"] == "pending");
    let next = page["next"].as_str().unwrap();
    assert!(next.ends_with("/confirm-users/?limit=2&offset=2"), "{next}");
    assert!(page["previous"].is_null());

    let second: Value = app
        .get("/confirm-users/?limit=2&offset=2", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["results"][0]["email"], "u2@example.com");
    assert!(second["next"].is_null());
    assert!(second["previous"]
        .as_str()
        .unwrap()
        .ends_with("/confirm-users/?limit=2"));
}

async fn bad_pagination_is_a_clear_error(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    for (query, field) in [
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=100000", "limit"),
        ("offset=1000000001", "offset"),
        ("offset=9223372036854775808", "offset"),
    ] {
        let response = app.get(&format!("/confirm-users/?{query}"), &admin).await;
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(body["errors"][field].is_array(), "{query}: {body}");
    }
    // The bounds themselves are served.
    for query in ["limit=500", "limit=1&offset=1000000000"] {
        let page: Value = app
            .get(&format!("/confirm-users/?{query}"), &admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["count"], 0, "{query}");
    }
}

async fn accepting_lets_the_user_log_in_at_once(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let id = app.register("ann@example.com").await["id"]
        .as_i64()
        .unwrap();
    let response = app.decide(&admin, id, "accept").await;
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["status"], "approved");
    assert_eq!(profile["id"], id);
    let login = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);

    let queue: Value = app
        .get("/confirm-users/", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["count"], 0);
}

async fn a_second_decision_is_a_conflict_and_changes_nothing(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let id = app.register("ann@example.com").await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/confirm-users/{id}/");
    let first = app.patch(&path, json!({"action": "reject"}), &admin).await;
    assert_eq!(first.status(), StatusCode::OK);
    for action in ["accept", "reject"] {
        let again = app.patch(&path, json!({"action": action}), &admin).await;
        assert_problem(again, StatusCode::CONFLICT, "already_decided").await;
    }
    let login = app.log_in("ann@example.com", USER_PASSWORD).await;
    assert_problem(login, StatusCode::FORBIDDEN, "account_rejected").await;
}

async fn unknown_ids_and_bad_actions_are_refused(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    for path in ["/confirm-users/424242/", "/confirm-users/abc/"] {
        let response = app.patch(path, json!({"action": "accept"}), &admin).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let id = app.register("ann@example.com").await["id"]
        .as_i64()
        .unwrap();
    // Look-alikes of the id are no user: one user, one address.
    assert!(id < 10);
    for look_alike in [format!("+{id}"), format!("0{id}"), format!("{id}.0")] {
        let response = app.decide(&admin, look_alike, "accept").await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let path = format!("/confirm-users/{id}/");
    for body in [
        json!({"action": "approve"}),
        json!({}),
        json!({"action": 1}),
    ] {
        let response = app.patch(&path, body.clone(), &admin).await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(problem["errors"]["action"].is_array(), "{body}: {problem}");
    }
    let still_pending: Value = app
        .get("/confirm-users/", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still_pending["count"], 1);
}

async fn non_administrators_are_forbidden(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, user) = app.approved_user(&admin, "ann@example.com").await;
    let id = app.register("bob@example.com").await["id"]
        .as_i64()
        .unwrap();
    let list = app.get("/confirm-users/", &user).await;
    assert_problem(list, StatusCode::FORBIDDEN, "permission_denied").await;
    let decide = app.decide(&user, id, "accept").await;
    assert_problem(decide, StatusCode::FORBIDDEN, "permission_denied").await;
    let anonymous = app
        .request(reqwest::Method::GET, "/confirm-users/", None, None)
        .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    let login = app.log_in("bob@example.com", USER_PASSWORD).await;
    assert_problem(login, StatusCode::FORBIDDEN, "account_pending").await;

    // Authorisation is decided before the id or the body is looked at.
    for (path, body) in [
        ("/confirm-users/abc/", json!({"action": "accept"})),
        (
            &format!("/confirm-users/{id}/") as &str,
            json!({"action": "approve", "extra": 1}),
        ),
    ] {
        let response = app.patch(path, body, &user).await;
        assert_problem(response, StatusCode::FORBIDDEN, "permission_denied").await;
    }
}

on_both_backends!(
    page_links_ignore_client_headers,
    the_administrator_sees_pending_users_oldest_first,
    bad_pagination_is_a_clear_error,
    accepting_lets_the_user_log_in_at_once,
    a_second_decision_is_a_conflict_and_changes_nothing,
    unknown_ids_and_bad_actions_are_refused,
    non_administrators_are_forbidden,
);

/// Page links come from the configured public URL, or are relative: never
/// from the `Host` or `X-Forwarded-*` headers a client sends.
async fn page_links_ignore_client_headers(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    app.register("ann@example.com").await;
    app.register("bob@example.com").await;
    let page: Value = app
        .client
        .get(format!("{}/confirm-users/?limit=1", app.address))
        .bearer_auth(&admin)
        .header("Host", "evil.example")
        .header("X-Forwarded-Proto", "javascript")
        .header("X-Forwarded-Host", "evil.example")
        .header("Forwarded", "proto=javascript;host=evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["next"], "/confirm-users/?limit=1&offset=1");

    let public = TestApp::spawn_with(db, |settings| {
        settings.public_url = Some("https://api.example.com/v1".parse().unwrap());
    })
    .await;
    let admin = crate::helpers::access(
        &public
            .tokens_for(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
    );
    let page: Value = public
        .get("/confirm-users/?limit=1", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page["next"],
        "https://api.example.com/v1/confirm-users/?limit=1&offset=1"
    );
}
