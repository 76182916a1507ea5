use std::sync::Arc;

use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};

/// An app with one approved user; returns the app and the user's token.
async fn wallet_owner(db: &TestDatabase) -> (Arc<TestApp>, String) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, "ann@example.com").await;
    (Arc::new(app), token)
}

async fn change(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.patch("/balance/", body, token).await
}

async fn balances(app: &TestApp, token: &str) -> Value {
    let response = app.get("/balance/", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// All ledger rows of the caller, newest first.
async fn ledger(app: &TestApp, token: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut path = "/balance/transactions/?limit=500".to_owned();
    loop {
        let page: Value = app.get(&path, token).await.json().await.unwrap();
        rows.extend(page["results"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => path = next.trim_start_matches(&app.address).to_owned(),
            None => return rows,
        }
    }
}

fn cents(value: &Value) -> i64 {
    let text = value.as_str().expect("money is a string");
    let (whole, fraction) = text.split_once('.').expect("two places");
    assert_eq!(fraction.len(), 2, "{text}");
    whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
}

/// What the ledger adds up to, as (real, virtual) cents.
fn ledger_sums(rows: &[Value]) -> (i64, i64) {
    rows.iter().fold((0, 0), |(real, virtual_), row| {
        let value = cents(&row["value"]);
        let bonus = cents(&row["bonus"]);
        match (
            row["action"].as_str().unwrap(),
            row["value_type"].as_str().unwrap(),
        ) {
            ("in", "real") => (real + value, virtual_),
            ("in", "virtual") => (real, virtual_ + value),
            ("out", "real") => (real - value, virtual_),
            ("out", "virtual") => (real, virtual_ - value),
            ("convert", "real") => (real - value, virtual_ + value + bonus),
            other => panic!("unexpected ledger row {other:?}"),
        }
    })
}

async fn top_up_spend_convert_and_read_the_history(db: &TestDatabase) {
    let (app, token) = wallet_owner(db).await;
    assert_eq!(
        balances(&app, &token).await,
        json!({"real_balance": "0.00", "virtual_balance": "0.00"})
    );
    let steps = [
        (
            json!({"action": "in", "value_type": "real", "value": 1500}),
            "1500.00",
            "0.00",
        ),
        (
            json!({"action": "out", "value_type": "real", "value": "10.50"}),
            "1489.50",
            "0.00",
        ),
        (
            json!({"action": "convert", "value": 1000}),
            "489.50",
            "1050.00",
        ),
        (
            json!({"action": "convert", "value_type": "real", "value": 0.3}),
            "489.20",
            "1050.32",
        ),
        (
            json!({"action": "in", "value_type": "virtual", "value": "0.01"}),
            "489.20",
            "1050.33",
        ),
    ];
    for (body, real, virtual_) in steps {
        let response = change(&app, &token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"real_balance": real, "virtual_balance": virtual_}),
            "{body}"
        );
    }
    let rows = ledger(&app, &token).await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["in", "convert", "convert", "out", "in"]);
    assert_eq!(rows[1]["bonus"], "0.02");
    assert_eq!(rows[2]["bonus"], "50.00");
    assert_eq!(rows[0]["real_balance"], "489.20");
    assert_eq!(ledger_sums(&rows), (48_920, 105_033));

    let profile: Value = app
        .get("/auth/users/me/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["real_balance"], "489.20");
    assert_eq!(profile["virtual_balance"], "1050.33");

    let page: Value = app
        .get("/balance/transactions/?limit=2&offset=2", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["count"], 5);
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert!(page["next"]
        .as_str()
        .unwrap()
        .ends_with("?limit=2&offset=4"));
}

async fn overdrawing_is_a_conflict_and_changes_nothing(db: &TestDatabase) {
    let (app, token) = wallet_owner(db).await;
    change(
        &app,
        &token,
        json!({"action": "in", "value_type": "virtual", "value": 5}),
    )
    .await;
    for body in [
        json!({"action": "out", "value_type": "virtual", "value": "5.01"}),
        json!({"action": "out", "value_type": "real", "value": "0.01"}),
        json!({"action": "convert", "value": 1}),
    ] {
        let response = change(&app, &token, body).await;
        assert_problem(response, StatusCode::CONFLICT, "insufficient_funds").await;
    }
    assert_eq!(
        balances(&app, &token).await,
        json!({"real_balance": "0.00", "virtual_balance": "5.00"})
    );
    assert_eq!(ledger(&app, &token).await.len(), 1);
}

async fn bad_input_names_the_field_and_writes_nothing(db: &TestDatabase) {
    let (app, token) = wallet_owner(db).await;
    change(
        &app,
        &token,
        json!({"action": "in", "value_type": "real", "value": 100}),
    )
    .await;
    let raw_bodies = [
        (
            r#"{"action": "in", "value_type": "real", "value": -1}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": 0}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": "0.00"}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": 1.001}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": "1.001"}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": 1000000000.01}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": 1e309}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": "NaN"}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": "Infinity"}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": true}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": [1]}"#,
            "value",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": null}"#,
            "value",
        ),
        (r#"{"action": "in", "value_type": "real"}"#, "value"),
        (
            r#"{"action": "steal", "value_type": "real", "value": 1}"#,
            "action",
        ),
        (
            r#"{"action": 1, "value_type": "real", "value": 1}"#,
            "action",
        ),
        (
            r#"{"action": "in", "value_type": "gold", "value": 1}"#,
            "value_type",
        ),
        (r#"{"action": "out", "value": 1}"#, "value_type"),
        (
            r#"{"action": "convert", "value_type": "virtual", "value": 1}"#,
            "value_type",
        ),
        (
            r#"{"action": "in", "value_type": "real", "value": 1, "user_id": 2}"#,
            "user_id",
        ),
    ];
    for (raw, field) in raw_bodies {
        let response = app
            .client
            .patch(format!("{}/balance/", app.address))
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let body = assert_problem(response, StatusCode::BAD_REQUEST, "validation_failed").await;
        assert!(body["errors"][field].is_array(), "{raw}: {body}");
    }
    assert_eq!(
        balances(&app, &token).await,
        json!({"real_balance": "100.00", "virtual_balance": "0.00"})
    );
    assert_eq!(ledger(&app, &token).await.len(), 1);
}

async fn two_hundred_concurrent_withdrawals(db: &TestDatabase) {
    let (app, token) = wallet_owner(db).await;
    change(
        &app,
        &token,
        json!({"action": "in", "value_type": "real", "value": "150.00"}),
    )
    .await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let app = Arc::clone(&app);
            let token = token.clone();
            tokio::spawn(async move {
                change(
                    &app,
                    &token,
                    json!({"action": "out", "value_type": "real", "value": "1.00"}),
                )
                .await
                .status()
            })
        })
        .collect();
    let (mut ok, mut conflict) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => conflict += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, conflict), (150, 50));
    assert_eq!(balances(&app, &token).await["real_balance"], "0.00");
    let rows = ledger(&app, &token).await;
    let outs = rows.iter().filter(|r| r["action"] == "out").count();
    assert_eq!(outs, 150);
    assert_eq!(ledger_sums(&rows), (0, 0));
}

async fn two_servers_on_one_database_never_overdraw(db: &TestDatabase) {
    let (first, token) = wallet_owner(db).await;
    let second = Arc::new(TestApp::spawn(db).await);
    change(
        &first,
        &token,
        json!({"action": "in", "value_type": "real", "value": "40.00"}),
    )
    .await;
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let app = if i % 2 == 0 {
                Arc::clone(&first)
            } else {
                Arc::clone(&second)
            };
            let token = token.clone();
            tokio::spawn(async move {
                change(
                    &app,
                    &token,
                    json!({"action": "out", "value_type": "real", "value": "1.00"}),
                )
                .await
                .status()
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.unwrap() == StatusCode::OK);
    }
    assert_eq!(ok, 40);
    assert_eq!(balances(&second, &token).await["real_balance"], "0.00");
    assert_eq!(ledger_sums(&ledger(&first, &token).await), (0, 0));
}

async fn concurrent_mixed_operations_equal_the_ledger(db: &TestDatabase) {
    let (app, token) = wallet_owner(db).await;
    change(
        &app,
        &token,
        json!({"action": "in", "value_type": "real", "value": 50}),
    )
    .await;
    let bodies = [
        json!({"action": "in", "value_type": "real", "value": "3.33"}),
        json!({"action": "out", "value_type": "real", "value": "2.10"}),
        json!({"action": "convert", "value": "1.30"}),
        json!({"action": "in", "value_type": "virtual", "value": "0.07"}),
        json!({"action": "out", "value_type": "virtual", "value": "1.01"}),
        json!({"action": "convert", "value": "10.10"}),
    ];
    let tasks: Vec<_> = (0..120)
        .map(|i| {
            let app = Arc::clone(&app);
            let token = token.clone();
            let body = bodies[i % bodies.len()].clone();
            tokio::spawn(async move { change(&app, &token, body).await.status() })
        })
        .collect();
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "{status}"
        );
    }
    let now = balances(&app, &token).await;
    let sums = ledger_sums(&ledger(&app, &token).await);
    assert_eq!(
        sums,
        (cents(&now["real_balance"]), cents(&now["virtual_balance"]))
    );
}

async fn one_idempotency_key_sent_twenty_times_at_once_applies_once(db: &TestDatabase) {
    let (app, token) = wallet_owner(db).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = Arc::clone(&app);
            let token = token.clone();
            tokio::spawn(async move {
                let response = app
                    .client
                    .patch(format!("{}/balance/", app.address))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", "top-up-7f3a")
                    .json(&json!({"action": "in", "value_type": "real", "value": "25.00"}))
                    .send()
                    .await
                    .unwrap();
                let replayed = response.headers().contains_key("idempotent-replayed");
                (
                    response.status(),
                    replayed,
                    response.json::<Value>().await.unwrap(),
                )
            })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        let (status, replayed, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            json!({"real_balance": "25.00", "virtual_balance": "0.00"})
        );
        fresh += usize::from(!replayed);
    }
    assert_eq!(fresh, 1);
    assert_eq!(ledger(&app, &token).await.len(), 1);

    let reused = app
        .client
        .patch(format!("{}/balance/", app.address))
        .bearer_auth(&token)
        .header("Idempotency-Key", "top-up-7f3a")
        .json(&json!({"action": "in", "value_type": "real", "value": "26.00"}))
        .send()
        .await
        .unwrap();
    assert_problem(
        reused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(balances(&app, &token).await["real_balance"], "25.00");

    let bad_key = app
        .client
        .patch(format!("{}/balance/", app.address))
        .bearer_auth(&token)
        .header("Idempotency-Key", "")
        .json(&json!({"action": "in", "value_type": "real", "value": "1"}))
        .send()
        .await
        .unwrap();
    let body = assert_problem(bad_key, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(body["errors"]["Idempotency-Key"].is_array());
}

async fn keys_belong_to_one_user(db: &TestDatabase) {
    let (app, ann) = wallet_owner(db).await;
    let admin = crate::helpers::access(
        &app.tokens_for(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
    );
    let (_, bob) = app.approved_user(&admin, "bob@example.com").await;
    for token in [&ann, &bob] {
        let response = app
            .client
            .patch(format!("{}/balance/", app.address))
            .bearer_auth(token)
            .header("Idempotency-Key", "same-key")
            .json(&json!({"action": "in", "value_type": "real", "value": "1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!response.headers().contains_key("idempotent-replayed"));
    }
    assert_eq!(balances(&app, &bob).await["real_balance"], "1.00");
}

async fn the_balance_needs_a_token(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    for (method, path) in [
        (Method::GET, "/balance/"),
        (Method::PATCH, "/balance/"),
        (Method::GET, "/balance/transactions/"),
    ] {
        let response = app
            .request(
                method,
                path,
                Some(json!({"action": "in", "value_type": "real", "value": 1})),
                None,
            )
            .await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    }
    // Authentication is decided before the body is looked at.
    let garbage = app
        .client
        .patch(format!("{}/balance/", app.address))
        .header("Content-Type", "text/plain")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_problem(garbage, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

on_both_backends!(
    top_up_spend_convert_and_read_the_history,
    overdrawing_is_a_conflict_and_changes_nothing,
    bad_input_names_the_field_and_writes_nothing,
    two_hundred_concurrent_withdrawals,
    two_servers_on_one_database_never_overdraw,
    concurrent_mixed_operations_equal_the_ledger,
    one_idempotency_key_sent_twenty_times_at_once_applies_once,
    keys_belong_to_one_user,
    the_balance_needs_a_token,
);
