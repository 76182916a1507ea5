//! Pages by cursor beside pages by offset: the same rows in the same
//! order, links both ways, pages that stay put while rows are added, and
//! a 400 naming the field for any cursor that is not this list's own.

use authusers_api_actix::app::config::JwtSettings;
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{access, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD};

on_both_backends!(
    every_list_pages_by_cursor_both_ways_in_its_own_order,
    rows_added_while_paging_neither_repeat_nor_go_missing,
    a_cursor_that_is_not_this_lists_own_is_a_400_naming_it,
    a_search_pages_by_cursor_within_its_matches,
);

async fn page(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, token).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

fn ids(page: &Value, field: &str) -> Vec<Value> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[field].clone())
        .collect()
}

/// The link's path and query, as a client follows it.
fn link(page: &Value, which: &str) -> Option<String> {
    let link = page[which].as_str()?;
    assert!(link.contains("cursor="), "{which} carries a cursor: {link}");
    assert!(!link.contains("offset="), "{link}");
    Some(link.to_owned())
}

/// Walks `first` (a `?cursor=` URL) to the end by `next`, then back to the
/// start by `previous`: the pages seen forwards and backwards, and the
/// count each page gave.
async fn walk(app: &TestApp, first: &str, token: &str, field: &str) -> Vec<Value> {
    let mut pages = vec![page(app, first, token).await];
    assert_eq!(
        pages[0]["previous"],
        Value::Null,
        "nothing before the first page"
    );
    while let Some(next) = link(pages.last().unwrap(), "next") {
        pages.push(page(app, &next, token).await);
        assert!(pages.len() < 50, "the walk ends");
    }
    let mut back = vec![ids(pages.last().unwrap(), field)];
    let mut current = pages.last().unwrap().clone();
    while let Some(previous) = link(&current, "previous") {
        current = page(app, &previous, token).await;
        back.push(ids(&current, field));
    }
    back.reverse();
    let forwards: Vec<Vec<Value>> = pages.iter().map(|p| ids(p, field)).collect();
    assert_eq!(back, forwards, "the same pages backwards as forwards");
    for page in &pages {
        assert_eq!(page["count"], pages[0]["count"]);
    }
    forwards.into_iter().flatten().collect()
}

async fn every_list_pages_by_cursor_both_ways_in_its_own_order(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let mut registered = Vec::new();
    for n in 0..7 {
        registered.push(app.register(&format!("user{n}@example.com")).await["id"].clone());
    }

    // The approval queue, oldest first (the test clock stands still, so
    // the id breaks every tie).
    let by_offset = ids(&page(&app, "/confirm-users/?limit=500", &admin).await, "id");
    assert_eq!(by_offset, registered);
    let by_cursor = walk(&app, "/confirm-users/?limit=3&cursor=", &admin, "id").await;
    assert_eq!(by_cursor, by_offset);

    // Everyone, by id.
    let everyone = ids(&page(&app, "/auth/users/?limit=500", &admin).await, "id");
    assert_eq!(everyone.len(), 8);
    assert_eq!(
        walk(&app, "/auth/users/?limit=3&cursor=", &admin, "id").await,
        everyone
    );

    // A ledger, newest first.
    let (_, ann) = app.approved_user(&admin, "ann@example.com").await;
    for cents in 1..=7 {
        let body = json!({"action": "in", "value_type": "real", "value": format!("0.0{cents}")});
        assert_eq!(
            app.patch("/balance/", body, &ann).await.status(),
            StatusCode::OK
        );
    }
    let ledger = ids(&page(&app, "/balance/transactions/", &ann).await, "id");
    assert_eq!(ledger.len(), 7);
    let walked = walk(&app, "/balance/transactions/?limit=2&cursor=", &ann, "id").await;
    assert_eq!(walked, ledger);

    // Sessions, newest first; without paging parameters still a plain list.
    for _ in 0..4 {
        app.tokens_for("ann@example.com", USER_PASSWORD).await;
    }
    let all = page(&app, "/auth/sessions/", &ann).await;
    let all: Vec<Value> = all
        .as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(all.len(), 5);
    let walked = walk(&app, "/auth/sessions/?limit=2&cursor=", &ann, "id").await;
    assert_eq!(walked, all);
    let first = page(&app, "/auth/sessions/?limit=2", &ann).await;
    assert_eq!(first["count"], 5, "paged by offset, a page too");
}

async fn rows_added_while_paging_neither_repeat_nor_go_missing(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, ann) = app.approved_user(&admin, "ann@example.com").await;
    let deposit = |cents: u32| json!({"action": "in", "value_type": "real", "value": format!("0.{cents:02}")});
    for cents in 1..=6 {
        app.patch("/balance/", deposit(cents), &ann).await;
    }
    let first = page(&app, "/balance/transactions/?limit=3&cursor=", &ann).await;
    let by_offset = page(&app, "/balance/transactions/?limit=3", &ann).await;
    // Two new entries land at the head of the list, newest first.
    for cents in 7..=8 {
        app.patch("/balance/", deposit(cents), &ann).await;
    }
    let second = page(&app, &link(&first, "next").unwrap(), &ann).await;
    let mut seen = ids(&first, "id");
    seen.extend(ids(&second, "id"));
    let mut oldest_six: Vec<i64> = seen.iter().map(|id| id.as_i64().unwrap()).collect();
    oldest_six.sort_unstable();
    oldest_six.dedup();
    assert_eq!(
        oldest_six.len(),
        6,
        "no entry twice, none skipped: {seen:?}"
    );
    assert_eq!(second["next"], Value::Null);
    assert_eq!(second["count"], 8, "the count is the list's as it is now");

    // An offset page has shifted under the same change: the reason cursors exist.
    let shifted = page(&app, "/balance/transactions/?limit=3&offset=3", &ann).await;
    assert_eq!(ids(&shifted, "id")[0], ids(&by_offset, "id")[1]);
}

async fn a_cursor_that_is_not_this_lists_own_is_a_400_naming_it(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    for n in 0..3 {
        app.register(&format!("user{n}@example.com")).await;
    }
    let first = page(&app, "/auth/users/?limit=1&cursor=", &admin).await;
    let next = link(&first, "next").unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap().to_owned();

    let refused = |path: String, field: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            let response = app.get(&path, admin).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["code"], "validation_failed", "{path}: {body}");
            assert!(
                body["errors"][field].is_array(),
                "{path} names {field}: {body}"
            );
            body
        }
    };
    // Tampered: one character of the payload, then of the tag, changed.
    let flip = |at: usize| {
        let mut bytes = cursor.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    refused(format!("/auth/users/?cursor={}", flip(3)), "cursor").await;
    refused(
        format!("/auth/users/?cursor={}", flip(cursor.len() - 2)),
        "cursor",
    )
    .await;
    // Made up, or not even text of ours.
    for forged in [
        "eyJ2IjoxLCJsIjoidXNlcnMifQ.AAAAAAAAAAAAAAAAAAAAAA",
        "1",
        "%00",
        "..",
        "é",
    ] {
        refused(format!("/auth/users/?cursor={forged}"), "cursor").await;
    }
    refused(
        format!("/auth/users/?cursor={}", "A".repeat(5000)),
        "cursor",
    )
    .await;
    // Another list's, or the same list with other filters.
    let body = refused(format!("/confirm-users/?cursor={cursor}"), "cursor").await;
    assert!(body["errors"]["cursor"][0]
        .as_str()
        .unwrap()
        .contains("another list"));
    refused(
        format!("/auth/users/?search=user&cursor={cursor}"),
        "cursor",
    )
    .await;
    refused(format!("/balance/transactions/?cursor={cursor}"), "cursor").await;
    // Not with an offset.
    refused(format!("/auth/users/?offset=1&cursor={cursor}"), "offset").await;
    // The cursor itself still works.
    assert_eq!(app.get(&next, &admin).await.status(), StatusCode::OK);

    // A service with other keys opens none of this one's cursors.
    let other = TestApp::spawn_with(db, |settings| {
        settings.jwt = JwtSettings::with_secret("another-secret-that-is-long-enough-for-hs256");
    })
    .await;
    let other_admin = access(&other.tokens_for(ADMIN_EMAIL, ADMIN_PASSWORD).await);
    let response = other.get(&next, &other_admin).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

async fn a_search_pages_by_cursor_within_its_matches(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    for n in 0..9 {
        let domain = if n % 2 == 0 { "even" } else { "odd" };
        app.register(&format!("user{n}@{domain}.example")).await;
    }
    let all = page(&app, "/auth/users/?search=EVEN.ex&limit=500", &admin).await;
    assert_eq!(all["count"], 5);
    let walked = walk(
        &app,
        "/auth/users/?search=EVEN.ex&limit=2&cursor=",
        &admin,
        "email",
    )
    .await;
    assert_eq!(walked, ids(&all, "email"));
    let first = page(&app, "/auth/users/?search=EVEN.ex&limit=2&cursor=", &admin).await;
    assert!(first["next"].as_str().unwrap().contains("search=EVEN.ex"));
}
