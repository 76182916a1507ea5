//! Moving in from the Django service, on SQLite and PostgreSQL, with
//! fixtures made by Django 5.2 itself (`deploy/django-fixtures/`): the
//! import through the binary, then every user logs in over HTTP with the
//! password they had, with their money, status and rights; a re-run
//! changes nothing; conflicts and bad input are reported and skipped; a
//! run killed half-way goes on; and the old service's tokens keep everyone
//! logged in through the switch, until the bridge closes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use authusers_api_actix::app::config::LegacyTokenSettings;
use authusers_api_actix::app::config::Secret;
use authusers_domain::accounts::{UserFilter, UserRepository};
use authusers_domain::search_term::SearchTerm;
use authusers_domain::{PageRequest, UserId};
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::DieselUserRepository;
use authusers_infra_smtp::test_support::TestSmtpServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{access, assert_problem, TestApp};

const BINARY: &str = env!("CARGO_BIN_EXE_authusers");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/django");

fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

pub(crate) fn fixture_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

/// `authusers import django ARGS…` on `db`.
fn import(db: &TestDatabase, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(["import", "django"])
        .args(args)
        .current_dir(crate::process::scratch_folder())
        .env_clear()
        .env("DATABASE_URL", db.url().to_string())
        .env("JWT_SECRET", crate::helpers::TEST_SECRET)
        .output()
        .expect("run authusers import")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Migrates `db` (as `serve` would) and imports `users.json` into it.
pub(crate) async fn imported(db: &TestDatabase) -> Output {
    db.connect().await;
    let output = import(db, &[fixture("users.json").to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    output
}

/// Each user of the dump: pk → (email, fields).
fn users_of_the_dump() -> HashMap<i64, Value> {
    fixture_json("users.json")
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record["model"] == "users.user")
        .map(|record| (record["pk"].as_i64().unwrap(), record["fields"].clone()))
        .collect()
}

fn email_of(pk: i64) -> String {
    users_of_the_dump()[&pk]["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn stored_hash(db: &TestDatabase, pk: i64) -> String {
    let users = DieselUserRepository::new(db.connect().await);
    let user = users.find_by_id(UserId(pk)).await.unwrap().expect("stored");
    user.password_hash.as_str().to_owned()
}

async fn every_django_user_logs_in_with_the_password_they_had(db: &TestDatabase) {
    let output = imported(db).await;
    let summary = text(&output.stdout);
    assert!(
        summary.starts_with("read 19, imported 18, unchanged 0, skipped 0, other models 1"),
        "{summary}"
    );
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, crate::mail::smtp_to(smtp.url())).await;
    let passwords = fixture_json("passwords.json");
    let dump = users_of_the_dump();
    for (pk, known) in passwords.as_object().unwrap() {
        let pk: i64 = pk.parse().unwrap();
        let fields = &dump[&pk];
        let password = known["password"].as_str().unwrap();
        let login = app
            .log_in(fields["email"].as_str().unwrap(), password)
            .await;
        match (
            fields["status"].as_str().unwrap(),
            fields["is_active"].as_bool().unwrap(),
        ) {
            ("approved", true) => {
                assert_eq!(login.status(), StatusCode::OK, "user {pk}");
                // The hash is bcrypt from the first correct login on, but
                // for a password longer than bcrypt keys on.
                let hash = stored_hash(db, pk).await;
                if password.len() <= 72 {
                    assert!(hash.starts_with("$2b$04$"), "user {pk}: {hash}");
                } else {
                    assert!(hash.starts_with("pbkdf2_sha256$"), "user {pk}: {hash}");
                }
                let again = app
                    .log_in(fields["email"].as_str().unwrap(), password)
                    .await;
                assert_eq!(again.status(), StatusCode::OK, "user {pk}, again");
                let wrong = app
                    .log_in(fields["email"].as_str().unwrap(), &format!("{password}!"))
                    .await;
                assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "user {pk}");
            }
            ("pending", _) => {
                assert_problem(login, StatusCode::FORBIDDEN, "account_pending").await;
            }
            ("rejected", _) => {
                assert_problem(login, StatusCode::FORBIDDEN, "account_rejected").await;
            }
            (_, false) => {
                // As simplejwt answers an inactive account.
                assert_problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
            }
            other => panic!("user {pk}: {other:?}"),
        }
    }

    // Money, names, dates and rights as Django had them.
    let alice = access(
        &app.tokens_for(&email_of(3), passwords["3"]["password"].as_str().unwrap())
            .await,
    );
    let profile: Value = app
        .get("/auth/users/me/", &alice)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["id"], 3);
    assert_eq!(profile["email"], "alice.default@example.com");
    assert_eq!(
        (&profile["first_name"], &profile["last_name"]),
        (&json!("Alice"), &json!("Default"))
    );
    assert_eq!(profile["real_balance"], "150.25");
    assert_eq!(profile["virtual_balance"], "10.00");
    assert_eq!(profile["is_admin"], false);
    assert!(
        profile["date_joined"]
            .as_str()
            .unwrap()
            .starts_with("2024-01-01T10:00:00"),
        "{profile}"
    );
    let ledger: Value = app
        .get("/balance/transactions/", &alice)
        .await
        .json()
        .await
        .unwrap();
    let entries: Vec<(String, String, String)> = ledger["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["value_type"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(ledger["count"], 2, "{ledger}");
    assert!(entries.contains(&("opening".into(), "real".into(), "150.25".into())));
    assert!(entries.contains(&("opening".into(), "virtual".into(), "10.00".into())));
    // Money moves on from there.
    let spent = app
        .patch(
            "/balance/",
            json!({"action": "out", "value_type": "real", "value": "50.25"}),
            &alice,
        )
        .await;
    assert_eq!(spent.status(), StatusCode::OK);

    // is_staff (pk 21) and is_superuser (pk 20) are administrators here.
    for admin in [20, 21] {
        let token = access(
            &app.tokens_for(
                &email_of(admin),
                passwords[admin.to_string()]["password"].as_str().unwrap(),
            )
            .await,
        );
        let pending: Value = app
            .get("/confirm-users/", &token)
            .await
            .json()
            .await
            .unwrap();
        let ids: Vec<i64> = pending["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [30], "administrator {admin}: {pending}");
    }

    // A registration after the import gets a fresh id.
    let registered = app.register("new.after.import@example.com").await;
    assert!(registered["id"].as_i64().unwrap() > 1000, "{registered}");

    // The unusable password answers like a wrong one, and reset by mail
    // works for it; the inactive account gets no mail.
    let unusable = email_of(41);
    let login = app.log_in(&unusable, "anything-at-all-1").await;
    assert_problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    for email in [unusable.clone(), email_of(40)] {
        let asked = app
            .post("/auth/users/reset_password/", json!({ "email": email }))
            .await;
        assert_eq!(asked.status(), StatusCode::NO_CONTENT);
    }
    smtp.wait_for(1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails: Vec<_> = smtp
        .received()
        .into_iter()
        .filter(|m| m.subject().as_deref() == Some("Reset your password"))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, [unusable]);
}

async fn importing_again_changes_nothing_in_either_format(db: &TestDatabase) {
    imported(db).await;
    let count = |sql: &'static str| db.number(sql);
    let users = count("SELECT COUNT(*) AS value FROM users").await;
    let ledger = count("SELECT COUNT(*) AS value FROM balance_transactions").await;
    for dump in ["users.json", "users.jsonl", "users-compact.json"] {
        let again = import(db, &[fixture(dump).to_str().unwrap()]);
        assert!(again.status.success(), "{dump}: {again:?}");
        let summary = text(&again.stdout);
        assert!(
            summary.starts_with("read 19, imported 0, unchanged 18, skipped 0"),
            "{dump}: {summary}"
        );
        assert!(
            summary.trim_end().ends_with("nothing to change"),
            "{summary}"
        );
    }
    assert_eq!(count("SELECT COUNT(*) AS value FROM users").await, users);
    assert_eq!(
        count("SELECT COUNT(*) AS value FROM balance_transactions").await,
        ledger
    );
    // Every balance is what its opening entries sum to.
    assert_eq!(unbalanced(db).await, 0);
    // A dry run on an empty database would import all, and writes nothing.
    let empty = if db.url().to_string().starts_with("postgres") {
        TestDatabase::postgres().unwrap()
    } else {
        TestDatabase::sqlite()
    };
    empty.connect().await;
    let dry = import(
        &empty,
        &["--dry-run", fixture("users.json").to_str().unwrap()],
    );
    assert!(dry.status.success(), "{dry:?}");
    assert!(
        text(&dry.stdout).starts_with("read 19, would import 18"),
        "{}",
        text(&dry.stdout)
    );
    assert_eq!(empty.number("SELECT COUNT(*) AS value FROM users").await, 0);
}

/// The import ends by settling the search index (SQLite merges its
/// segments, PostgreSQL moves its pending entries in): the administrators'
/// search finds every imported user by a part of the address, at once.
async fn imported_users_are_found_by_the_search_at_once(db: &TestDatabase) {
    let output = imported(db).await;
    assert!(
        text(&output.stdout).starts_with("read 19, imported 18"),
        "{output:?}"
    );
    let users = DieselUserRepository::new(db.connect().await);
    let mut searched = 0;
    for (pk, fields) in users_of_the_dump() {
        let email = fields["email"].as_str().unwrap().to_lowercase();
        let Some(local) = email.split('@').next().filter(|l| l.chars().count() >= 3) else {
            continue;
        };
        // The part before '@' in upper case: the indexed, case-blind path.
        let term = SearchTerm::parse(&local.to_uppercase()).unwrap();
        let filter = UserFilter {
            search: term,
            ..UserFilter::default()
        };
        let found = users.list(filter, PageRequest::default()).await.unwrap();
        let ids: Vec<i64> = found.items.iter().map(|user| user.id.0).collect();
        assert!(ids.contains(&pk), "{local}: {ids:?}");
        searched += 1;
    }
    assert!(searched >= 10, "{searched} users searched");
}

/// Users whose balances differ from what their ledger sums to.
async fn unbalanced(db: &TestDatabase) -> i64 {
    db.number(
        "SELECT COUNT(*) AS value FROM users u WHERE \
         u.real_balance_cents <> COALESCE((SELECT CAST(SUM(CASE \
             WHEN t.action IN ('in', 'opening') THEN t.amount_cents ELSE -t.amount_cents END) AS BIGINT) \
             FROM balance_transactions t WHERE t.user_id = u.id AND t.value_type = 'real'), 0) \
         OR u.virtual_balance_cents <> COALESCE((SELECT CAST(SUM(CASE \
             WHEN t.action IN ('in', 'opening') THEN t.amount_cents ELSE -t.amount_cents END) AS BIGINT) \
             FROM balance_transactions t WHERE t.user_id = u.id AND t.value_type = 'virtual'), 0)",
    )
    .await
}

async fn conflicts_and_bad_records_are_reported_and_skipped(db: &TestDatabase) {
    imported(db).await;
    let report = crate::process::scratch_folder().join("report.jsonl");
    let output = import(
        db,
        &[
            "--report",
            report.to_str().unwrap(),
            fixture("conflicts.json").to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("9 record(s) skipped"), "{stderr}");
    let reasons: HashMap<i64, String> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["reason"].is_string())
        .map(|line| {
            (
                line["pk"].as_i64().unwrap(),
                line["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: HashMap<i64, String> = [
        (5, "id_taken"),
        (51, "duplicate_address"),
        (52, "address_taken"),
        (53, "invalid_balance"),
        (54, "invalid_balance"),
        (55, "invalid_balance"),
        (56, "missing_email"),
        (57, "missing_password"),
        (58, "invalid_date"),
    ]
    .into_iter()
    .map(|(pk, reason)| (pk, reason.to_owned()))
    .collect();
    assert_eq!(reasons, expected);
    for (pk, reason) in &expected {
        assert!(
            stderr.contains(&format!("(pk {pk}): skipped, {reason}")),
            "{pk}: {stderr}"
        );
    }
    // Nothing of a skipped user was written; the rest was imported.
    let stored = |pk: i64| {
        db.number(Box::leak(
            format!("SELECT COUNT(*) AS value FROM users WHERE id = {pk}").into_boxed_str(),
        ))
    };
    for pk in [50, 59] {
        assert_eq!(stored(pk).await, 1, "{pk}");
    }
    for pk in [51, 52, 53, 54, 55, 56, 57, 58] {
        assert_eq!(stored(pk).await, 0, "{pk}");
    }
    // pk 5 keeps the address it had.
    let users = DieselUserRepository::new(db.connect().await);
    let five = users.find_by_id(UserId(5)).await.unwrap().unwrap();
    assert_eq!(five.email.as_str(), "bob.lowiter@example.com");
    // With --allow-skips the same run exits 0.
    let allowed = import(
        db,
        &["--allow-skips", fixture("conflicts.json").to_str().unwrap()],
    );
    assert!(allowed.status.success(), "{allowed:?}");
}

async fn a_cut_off_or_foreign_file_stops_with_one_clear_line(db: &TestDatabase) {
    db.connect().await;
    let cut = import(db, &[fixture("truncated.json").to_str().unwrap()]);
    assert_eq!(cut.status.code(), Some(1));
    let stderr = text(&cut.stderr);
    assert!(
        stderr.contains("the input stops after record 4")
            && stderr.contains("ends in the middle of a record"),
        "{stderr}"
    );
    // What came before the cut is imported.
    assert_eq!(db.number("SELECT COUNT(*) AS value FROM users").await, 4);
    for (name, expected) in [
        ("garbage.json", "not a dump of manage.py dumpdata"),
        ("not-a-dump.json", "not_a_record"),
    ] {
        let output = import(db, &[fixture(name).to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let missing = import(db, &["/nonexistent/dump.json"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot open /nonexistent/dump.json"));
}

/// A dump of `count` users made here, in Django's json layout, with the
/// pbkdf2 hash of pk 5 for every one of them and a balance for most.
fn generated_dump(count: i64) -> PathBuf {
    let hash = users_of_the_dump()[&5]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = crate::process::scratch_folder().join("big.json");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    use std::io::Write;
    writeln!(out, "[").unwrap();
    for pk in 1..=count {
        let record = json!({
            "model": "users.user",
            "pk": pk,
            "fields": {
                "password": hash, "last_login": null, "is_superuser": false,
                "email": format!("bulk{pk}@example.com"), "first_name": "Bulk", "last_name": "User",
                "is_staff": false, "is_active": true, "date_joined": "2024-01-01T10:00:00Z",
                "status": if pk % 10 == 0 { "pending" } else { "approved" },
                "real_balance": format!("{}.{:02}", pk % 1000, pk % 100),
                "virtual_balance": if pk % 3 == 0 { "0.00".to_owned() } else { format!("{}.50", pk % 7) },
                "groups": [], "user_permissions": [],
            }
        });
        let comma = if pk == count { "" } else { "," };
        writeln!(out, "{record}{comma}").unwrap();
    }
    writeln!(out, "]").unwrap();
    out.flush().unwrap();
    path
}

async fn a_run_killed_half_way_goes_on_where_it_stopped(db: &TestDatabase) {
    // Enough that the run is still going when the first batches are seen,
    // even on a busy machine.
    const USERS: i64 = 60_000;
    db.connect().await;
    let dump = generated_dump(USERS);
    let mut child = Command::new(BINARY)
        .args(["import", "django", "--batch-size", "100"])
        .arg(&dump)
        .current_dir(crate::process::scratch_folder())
        .env_clear()
        .env("DATABASE_URL", db.url().to_string())
        .env("JWT_SECRET", crate::helpers::TEST_SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL) once some batches are in, well before the end.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let stored = db.number("SELECT COUNT(*) AS value FROM users").await;
        if stored >= 1_000 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no batch arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = db.number("SELECT COUNT(*) AS value FROM users").await;
    assert!(after_kill < USERS, "the run ended before it was killed");
    assert_eq!(after_kill % 100, 0, "a batch was half-written");

    let again = import(db, &[dump.to_str().unwrap()]);
    assert!(again.status.success(), "{again:?}");
    let summary = text(&again.stdout);
    assert!(
        summary.starts_with(&format!(
            "read {USERS}, imported {}, unchanged {after_kill}, skipped 0",
            USERS - after_kill
        )),
        "{summary}"
    );
    assert_eq!(
        db.number("SELECT COUNT(*) AS value FROM users").await,
        USERS
    );
    // Every balance exactly once: what the ledger sums to, one opening
    // entry per balance above zero.
    assert_eq!(unbalanced(db).await, 0);
    let openings = db
        .number("SELECT COUNT(*) AS value FROM balance_transactions WHERE action = 'opening'")
        .await;
    let above_zero = db
        .number(
            "SELECT CAST(SUM(CASE WHEN real_balance_cents > 0 THEN 1 ELSE 0 END \
             + CASE WHEN virtual_balance_cents > 0 THEN 1 ELSE 0 END) AS BIGINT) AS value FROM users",
        )
        .await;
    assert_eq!(openings, above_zero);
}

/// An app that believes the old service's tokens until `until`.
async fn bridged(db: &TestDatabase, until: chrono::DateTime<chrono::Utc>) -> TestApp {
    let key = fixture_json("tokens.json")["signing_key"]
        .as_str()
        .unwrap()
        .to_owned();
    TestApp::spawn_with(db, move |settings| {
        settings.legacy_tokens = Some(LegacyTokenSettings {
            signing_key: Secret::new(key),
            until,
        });
    })
    .await
}

fn legacy_token(name: &str, kind: &str) -> String {
    let tokens = fixture_json("tokens.json");
    let token = match kind {
        "" => &tokens[name],
        kind => &tokens[name][kind],
    };
    token.as_str().unwrap().to_owned()
}

async fn the_old_services_tokens_keep_users_logged_in_through_the_switch(db: &TestDatabase) {
    imported(db).await;
    let open_until = chrono::Utc::now() + chrono::Duration::days(1);
    let app = bridged(db, open_until).await;
    let me = |token: String| {
        let app = &app;
        async move { app.get("/auth/users/me/", &token).await }
    };
    // Access tokens of imported users work on every route, as long as
    // their own exp; simplejwt's user_id as a string or a number.
    let alice: Value = me(legacy_token("3", "access")).await.json().await.unwrap();
    assert_eq!(alice["id"], 3);
    assert_eq!(
        me(legacy_token("int_user_id_access", "")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/balance/", &legacy_token("13", "access"))
            .await
            .status(),
        StatusCode::OK
    );
    for refused in [
        legacy_token("expired_access", ""),
        legacy_token("unknown_user_access", ""),
        legacy_token("wrong_key_access", ""),
        // The inactive account's.
        legacy_token("40", "access"),
        // A refresh token is no access token.
        legacy_token("3", "refresh"),
    ] {
        assert_problem(
            me(refused).await,
            StatusCode::UNAUTHORIZED,
            "token_not_valid",
        )
        .await;
    }
    let verified = app
        .post(
            "/auth/jwt/verify/",
            json!({"token": legacy_token("3", "access")}),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::OK);

    // A refresh token is exchanged once, for a session here.
    let refresh = legacy_token("13", "refresh");
    let exchanged = app
        .post("/auth/jwt/refresh/", json!({ "refresh": refresh }))
        .await;
    assert_eq!(exchanged.status(), StatusCode::OK);
    let pair: Value = exchanged.json().await.unwrap();
    let sessions: Value = app
        .get("/auth/sessions/", &access(&pair))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(sessions[0]["current"], true);
    let renewed = app
        .post("/auth/jwt/refresh/", json!({"refresh": pair["refresh"]}))
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let second = app
        .post("/auth/jwt/refresh/", json!({ "refresh": refresh }))
        .await;
    assert_problem(second, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let verify_used = app
        .post("/auth/jwt/verify/", json!({ "token": refresh }))
        .await;
    assert_eq!(verify_used.status(), StatusCode::UNAUTHORIZED);

    // A password change ends the old tokens of that user.
    let alice_password = fixture_json("passwords.json")["3"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = app
        .send(
            Method::POST,
            "/auth/users/set_password/",
            json!({"current_password": alice_password, "new_password": "amber-lighthouse-58"}),
            &legacy_token("3", "access"),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_problem(
        me(legacy_token("3", "access")).await,
        StatusCode::UNAUTHORIZED,
        "token_not_valid",
    )
    .await;
    let refresh_after_change = app
        .post(
            "/auth/jwt/refresh/",
            json!({"refresh": legacy_token("3", "refresh")}),
        )
        .await;
    assert_problem(
        refresh_after_change,
        StatusCode::UNAUTHORIZED,
        "token_not_valid",
    )
    .await;
}

async fn the_old_services_tokens_are_refused_once_the_bridge_closes(db: &TestDatabase) {
    imported(db).await;
    let closed = bridged(db, chrono::Utc::now() - chrono::Duration::seconds(1)).await;
    let access_token = legacy_token("3", "access");
    assert_problem(
        closed.get("/auth/users/me/", &access_token).await,
        StatusCode::UNAUTHORIZED,
        "token_not_valid",
    )
    .await;
    let refresh = closed
        .post(
            "/auth/jwt/refresh/",
            json!({"refresh": legacy_token("13", "refresh")}),
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    // Without a bridge at all, likewise.
    let none = TestApp::spawn(db).await;
    assert_eq!(
        none.get("/auth/users/me/", &access_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

on_both_backends!(
    every_django_user_logs_in_with_the_password_they_had,
    importing_again_changes_nothing_in_either_format,
    imported_users_are_found_by_the_search_at_once,
    conflicts_and_bad_records_are_reported_and_skipped,
    a_cut_off_or_foreign_file_stops_with_one_clear_line,
    a_run_killed_half_way_goes_on_where_it_stopped,
    the_old_services_tokens_keep_users_logged_in_through_the_switch,
    the_old_services_tokens_are_refused_once_the_bridge_closes,
);
