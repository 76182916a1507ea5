use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};

async fn an_approved_user_reads_their_profile(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (id, token) = app.approved_user(&admin, "ann@example.com").await;
    let response = app.get("/auth/users/me/", &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["id"], id);
    assert_eq!(profile["email"], "ann@example.com");
    assert_eq!(profile["status"], "approved");
    let mut keys: Vec<&str> = profile
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "date_joined",
            "email",
            "first_name",
            "id",
            "is_admin",
            "last_name",
            "real_balance",
            "status",
            "virtual_balance"
        ]
    );
}

async fn patch_changes_the_names_only(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "ann@example.com").await;
    let response = app
        .patch("/auth/users/me/", json!({"first_name": "Anna"}), &token)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["first_name"], "Anna");
    assert_eq!(profile["last_name"], "Lee");

    let reread: Value = app
        .get("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reread, profile);
}

async fn patch_refuses_protected_fields_and_changes_nothing(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "ann@example.com").await;
    let before: Value = app
        .get("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    for field in [
        "email",
        "is_admin",
        "status",
        "real_balance",
        "virtual_balance",
        "id",
    ] {
        let response = app
            .patch(
                "/auth/users/me/",
                json!({"first_name": "Mallory", field: "x"}),
                &token,
            )
            .await;
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert_eq!(body["errors"][field][0], "Unknown field.", "{field}");
    }
    let too_long = app
        .patch(
            "/auth/users/me/",
            json!({"last_name": "L".repeat(151)}),
            &token,
        )
        .await;
    let body = assert_problem(too_long, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(body["errors"]["last_name"].is_array());
    let after: Value = app
        .get("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after, before);
}

/// A row written before a rule was tightened (an address in a form
/// registration now refuses, a name with a bidi override) is served as
/// stored: to its owner, in the administrator's list and on its own page.
async fn a_user_stored_before_a_rule_was_tightened_is_served(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (id, token) = app.approved_user(&admin, "ann@example.com").await;
    let old_email = "\"Ann Lee\"@Example.COM";
    let old_name = "Ann\u{202E}eeL";
    db.connect()
        .await
        .execute_for_tests(&format!(
            "UPDATE users SET email = '{old_email}', first_name = '{old_name}' WHERE id = {id}"
        ))
        .await;
    let refused = app
        .post(
            "/auth/users/",
            json!({"email": old_email, "password": "violet-kettle-93", "first_name": old_name}),
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "the rules refuse both now"
    );

    let me = app.get("/auth/users/me/", &token).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(
        (me["email"].as_str(), me["first_name"].as_str()),
        (Some(old_email), Some(old_name))
    );
    let page = app.get(&format!("/auth/users/{id}/"), &admin).await;
    assert_eq!(page.status(), StatusCode::OK);
    let list = app.get("/auth/users/?status=approved", &admin).await;
    assert_eq!(list.status(), StatusCode::OK);
    let list: Value = list.json().await.unwrap();
    assert!(list["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|user| user["email"] == old_email));
}

on_both_backends!(
    a_user_stored_before_a_rule_was_tightened_is_served,
    an_approved_user_reads_their_profile,
    patch_changes_the_names_only,
    patch_refuses_protected_fields_and_changes_nothing,
);
