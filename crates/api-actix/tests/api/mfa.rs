//! The second factor over HTTP, on SQLite and PostgreSQL, with codes
//! computed by an independent implementation (Debian's `oathtool`, else
//! `pyotp` in the Python `make test` prepares), never by the service's own:
//! enrolment, the two-step login, every refusal, replay (also across two
//! servers), recovery codes, the limits, the notices, step-up, the
//! administrators' rule and reset, and a secret sealed with another key.

use std::process::Command;
use std::sync::OnceLock;

use authusers_domain::clock::Clock;
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_smtp::test_support::TestSmtpServer;
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::activation::mails_with;
use crate::helpers::{access, assert_problem, TestApp, USER_PASSWORD};
use crate::mail::smtp_to;
use crate::signing::claims_of;

const ANN: &str = "ann@example.com";

/// What computes the codes: not the service.
enum TotpTool {
    Oathtool,
    /// A Python with pyotp (`AUTHUSERS_TEST_PYJWT`, which `make test` sets).
    Pyotp(String),
}

/// The tool, or `None` (with a note on stderr) when neither is there
/// outside CI; CI must run these tests.
fn totp_tool() -> Option<&'static TotpTool> {
    static TOOL: OnceLock<Option<TotpTool>> = OnceLock::new();
    TOOL.get_or_init(|| {
        let runs = |command: &mut Command| command.output().is_ok_and(|out| out.status.success());
        if runs(Command::new("oathtool").arg("--version")) {
            return Some(TotpTool::Oathtool);
        }
        if let Some(python) = std::env::var("AUTHUSERS_TEST_PYJWT")
            .ok()
            .filter(|python| runs(Command::new(python).args(["-c", "import pyotp"])))
        {
            return Some(TotpTool::Pyotp(python));
        }
        assert!(
            std::env::var("CI").map_or(true, |ci| ci != "true"),
            "neither oathtool nor pyotp: CI must run the second factor's tests"
        );
        eprintln!("skipping the second factor's tests: neither oathtool (Debian's oathtool) nor pyotp (`make test` installs it)");
        None
    })
    .as_ref()
}

/// RFC 6238's code of the base-32 `secret` at `at`, by the tool.
pub fn code_at(secret: &str, at: DateTime<Utc>) -> String {
    let seconds = at.timestamp().to_string();
    let out = match totp_tool().expect("a TOTP tool") {
        TotpTool::Oathtool => Command::new("oathtool")
            .args([
                "--totp",
                "--base32",
                "--now",
                &format!("@{seconds}"),
                secret,
            ])
            .output(),
        TotpTool::Pyotp(python) => Command::new(python)
            .args([
                "-c",
                "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
                secret,
                &seconds,
            ])
            .output(),
    }
    .expect("the TOTP tool runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The code of the app's present step, after moving its clock on by a
/// step, so that no step is offered twice.
fn next_code(app: &TestApp, secret: &str) -> String {
    app.clock.advance(Duration::seconds(30));
    code_at(secret, app.clock.now())
}

/// A six-digit code that is none of the codes of the steps around now.
fn wrong_code(app: &TestApp, secret: &str) -> String {
    let now = app.clock.now();
    let near: Vec<String> = (-2..=2)
        .map(|steps| code_at(secret, now + Duration::seconds(30 * steps)))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 7_919) % 1_000_000))
        .find(|code| !near.contains(code))
        .unwrap()
}

async fn json_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

/// Ann, approved, with TOTP on: her access token (of the session that
/// turned it on), the secret, and her recovery codes.
async fn enrolled(app: &TestApp) -> (String, String, Vec<String>) {
    let admin = app.admin_token().await;
    enrolled_with(app, &admin).await
}

/// As [`enrolled`], with `admin`'s token to approve Ann.
async fn enrolled_with(app: &TestApp, admin: &str) -> (String, String, Vec<String>) {
    let (_, token) = app.approved_user(admin, ANN).await;
    let enrolment = json_of(
        app.send(
            Method::POST,
            "/auth/mfa/totp/",
            json!({"current_password": USER_PASSWORD}),
            &token,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let code = next_code(app, &secret);
    let confirmed = json_of(
        app.send(
            Method::POST,
            "/auth/mfa/totp/confirm/",
            json!({ "code": code }),
            &token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let codes = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (token, secret, codes)
}

/// The `mfa_token` of a login with Ann's right password.
async fn mfa_token(app: &TestApp) -> String {
    let body = assert_problem(
        app.log_in(ANN, USER_PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "mfa_required",
    )
    .await;
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, body: Value) -> Response {
    app.post("/auth/jwt/create/mfa/", body).await
}

async fn a_user_turns_totp_on_and_logs_in_in_two_steps(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, ANN).await;
    let other_session = access(&app.tokens_for(ANN, USER_PASSWORD).await);
    let off = json_of(app.get("/auth/mfa/", &token).await, StatusCode::OK).await;
    assert_eq!(
        off,
        json!({"totp": {"enabled": false, "enabled_at": null}, "recovery_codes_left": 0})
    );

    let wrong = app
        .send(
            Method::POST,
            "/auth/mfa/totp/",
            json!({"current_password": "not-her-password"}),
            &token,
        )
        .await;
    let wrong = assert_problem(wrong, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(wrong["errors"]["current_password"].is_array(), "{wrong}");

    let enrolment = json_of(
        app.send(
            Method::POST,
            "/auth/mfa/totp/",
            json!({"current_password": USER_PASSWORD}),
            &token,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/AuthUsers:ann%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    // Not on until confirmed: the password alone still logs in.
    assert_eq!(
        app.log_in(ANN, USER_PASSWORD).await.status(),
        StatusCode::OK
    );

    let refused = app
        .send(
            Method::POST,
            "/auth/mfa/totp/confirm/",
            json!({ "code": wrong_code(&app, &secret) }),
            &token,
        )
        .await;
    assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_code").await;
    let code = next_code(&app, &secret);
    let confirmed = json_of(
        app.send(
            Method::POST,
            "/auth/mfa/totp/confirm/",
            json!({ "code": code }),
            &token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let codes = confirmed["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let mut distinct: Vec<&str> = codes.iter().map(|c| c.as_str().unwrap()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);

    // The account's other sessions ended; the one that turned it on goes on.
    assert_problem(
        app.get("/auth/users/me/", &other_session).await,
        StatusCode::UNAUTHORIZED,
        "token_not_valid",
    )
    .await;
    let on = json_of(app.get("/auth/mfa/", &token).await, StatusCode::OK).await;
    assert_eq!(on["totp"]["enabled"], true);
    assert!(on["totp"]["enabled_at"].is_string());
    assert_eq!(on["recovery_codes_left"], 10);

    // A wrong password answers exactly as before: no step, no token.
    let wrong = assert_problem(
        app.log_in(ANN, "not-her-password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert!(wrong.get("mfa_token").is_none(), "{wrong}");

    let step = mfa_token(&app).await;
    let code = next_code(&app, &secret);
    let pair = json_of(
        second_step(&app, json!({"mfa_token": step, "code": code})).await,
        StatusCode::OK,
    )
    .await;
    let claims = claims_of(&access(&pair));
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    assert!(claims["auth_time"].is_i64());
    let me = json_of(
        app.get("/auth/users/me/", &access(&pair)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["email"], ANN);
    // The refreshed pair says the same.
    let refreshed = json_of(
        app.post("/auth/jwt/refresh/", json!({"refresh": pair["refresh"]}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(claims_of(&access(&refreshed))["amr"], json!(["pwd", "otp"]));

    // The same code, again, with a new step: refused.
    let again = mfa_token(&app).await;
    let replay = second_step(&app, json!({"mfa_token": again, "code": code})).await;
    assert_problem(replay, StatusCode::BAD_REQUEST, "invalid_code").await;
    // A login without the second factor says so.
    let before = claims_of(&token);
    assert_eq!(before["amr"], json!(["pwd"]));
}

async fn every_refusal_of_the_second_step_is_clear_and_opens_nothing(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn(db).await;
    let (_, secret, _) = enrolled(&app).await;

    let step = mfa_token(&app).await;
    for (body, field) in [
        (json!({"mfa_token": step, "code": "12345"}), "code"),
        (json!({"mfa_token": step, "code": "1234567"}), "code"),
        (json!({"mfa_token": step, "code": "12a456"}), "code"),
        (json!({"mfa_token": step, "code": "١٢٣٤٥٦"}), "code"),
        (json!({"mfa_token": step}), "code"),
        (
            json!({"mfa_token": step, "code": "123456", "recovery_code": "abcde-fghjk"}),
            "recovery_code",
        ),
        (
            json!({"mfa_token": step, "recovery_code": "abc"}),
            "recovery_code",
        ),
        (json!({"code": "123456"}), "mfa_token"),
    ] {
        let refused = assert_problem(
            second_step(&app, body.clone()).await,
            StatusCode::BAD_REQUEST,
            "validation_failed",
        )
        .await;
        assert!(refused["errors"][field].is_array(), "{body}: {refused}");
    }
    for forged in ["", "not-a-token", &"A".repeat(43), &format!("{step}x")] {
        let refused = second_step(&app, json!({"mfa_token": forged, "code": "123456"})).await;
        assert_problem(refused, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    }

    // Five tries per token, right or wrong; then even the right code is
    // refused.
    for _ in 0..5 {
        let wrong = second_step(
            &app,
            json!({"mfa_token": step, "code": wrong_code(&app, &secret)}),
        )
        .await;
        assert_problem(wrong, StatusCode::BAD_REQUEST, "invalid_code").await;
    }
    let code = next_code(&app, &secret);
    let dead = second_step(&app, json!({"mfa_token": step, "code": code})).await;
    assert_problem(dead, StatusCode::UNAUTHORIZED, "token_not_valid").await;

    // A token lives five minutes.
    let step = mfa_token(&app).await;
    app.clock
        .advance(Duration::minutes(5) + Duration::seconds(1));
    let code = code_at(&secret, app.clock.now());
    let expired = second_step(&app, json!({"mfa_token": step, "code": code})).await;
    assert_problem(expired, StatusCode::UNAUTHORIZED, "token_not_valid").await;

    // And works once.
    let step = mfa_token(&app).await;
    let code = next_code(&app, &secret);
    let first = second_step(&app, json!({"mfa_token": step, "code": code})).await;
    assert_eq!(first.status(), StatusCode::OK);
    let code = next_code(&app, &secret);
    let reused = second_step(&app, json!({"mfa_token": step, "code": code})).await;
    assert_problem(reused, StatusCode::UNAUTHORIZED, "token_not_valid").await;
}

async fn enrolment_refusals_name_their_field(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn(db).await;
    let admin = app.admin_token().await;
    let (_, token) = app.approved_user(&admin, ANN).await;
    // Nothing waiting, nothing on.
    let confirm = app
        .send(
            Method::POST,
            "/auth/mfa/totp/confirm/",
            json!({"code": "123456"}),
            &token,
        )
        .await;
    let body = assert_problem(confirm, StatusCode::BAD_REQUEST, "no_pending_enrolment").await;
    assert!(body["errors"]["code"].is_array());
    let remove = app
        .send(
            Method::DELETE,
            "/auth/mfa/totp/",
            json!({"current_password": USER_PASSWORD, "code": "123456"}),
            &token,
        )
        .await;
    let body = assert_problem(remove, StatusCode::BAD_REQUEST, "mfa_not_enabled").await;
    assert!(body["errors"]["code"].is_array());
    let missing = app
        .send(Method::POST, "/auth/mfa/totp/confirm/", json!({}), &token)
        .await;
    let body = assert_problem(missing, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(body["errors"]["code"].is_array());

    // An enrolment waits ten minutes for its first code.
    let enrolment = json_of(
        app.send(
            Method::POST,
            "/auth/mfa/totp/",
            json!({"current_password": USER_PASSWORD}),
            &token,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    app.clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    // (The access token has expired meanwhile: a fresh one.)
    let token = access(&app.tokens_for(ANN, USER_PASSWORD).await);
    let late = app
        .send(
            Method::POST,
            "/auth/mfa/totp/confirm/",
            json!({ "code": code_at(&secret, app.clock.now()) }),
            &token,
        )
        .await;
    assert_problem(late, StatusCode::BAD_REQUEST, "no_pending_enrolment").await;
    // Without credentials, nothing.
    let anonymous = app.request(Method::GET, "/auth/mfa/", None, None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

async fn recovery_codes_work_once_each_and_a_new_set_voids_the_old(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn(db).await;
    let (token, secret, codes) = enrolled(&app).await;
    let step = mfa_token(&app).await;
    let signed_in = second_step(
        &app,
        json!({"mfa_token": step, "recovery_code": codes[0].to_uppercase()}),
    )
    .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let step = mfa_token(&app).await;
    let used = second_step(&app, json!({"mfa_token": step, "recovery_code": codes[0]})).await;
    assert_problem(used, StatusCode::BAD_REQUEST, "invalid_code").await;
    let left = json_of(app.get("/auth/mfa/", &token).await, StatusCode::OK).await;
    assert_eq!(left["recovery_codes_left"], 9);

    let code = next_code(&app, &secret);
    let fresh = json_of(
        app.send(
            Method::POST,
            "/auth/mfa/recovery_codes/",
            json!({"current_password": USER_PASSWORD, "code": code}),
            &token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let fresh: Vec<String> = fresh["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let step = mfa_token(&app).await;
    let old = second_step(&app, json!({"mfa_token": step, "recovery_code": codes[1]})).await;
    assert_problem(old, StatusCode::BAD_REQUEST, "invalid_code").await;
    let new = second_step(&app, json!({"mfa_token": step, "recovery_code": fresh[0]})).await;
    assert_eq!(new.status(), StatusCode::OK);
}

async fn wrong_codes_for_an_account_are_limited_whatever_the_token(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn(db).await;
    let (_, secret, _) = enrolled(&app).await;
    // Ten wrong codes in a quarter of an hour, over several tokens.
    for _ in 0..2 {
        let step = mfa_token(&app).await;
        for _ in 0..5 {
            let wrong = second_step(
                &app,
                json!({"mfa_token": step, "code": wrong_code(&app, &secret)}),
            )
            .await;
            assert_problem(wrong, StatusCode::BAD_REQUEST, "invalid_code").await;
        }
    }
    let step = mfa_token(&app).await;
    let code = next_code(&app, &secret);
    let limited = second_step(&app, json!({"mfa_token": step, "code": code})).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    // Once the window has passed, the right code is taken.
    app.clock.advance(Duration::minutes(15));
    let step = mfa_token(&app).await;
    let code = next_code(&app, &secret);
    let taken = second_step(&app, json!({"mfa_token": step, "code": code})).await;
    assert_eq!(taken.status(), StatusCode::OK);
}

async fn turning_it_on_and_off_is_mailed_and_off_needs_the_password_and_a_code(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, smtp_to(smtp.url())).await;
    let (token, secret, _) = enrolled(&app).await;
    let on = mails_with(&smtp, "Two-step sign-in is on", 1).await;
    assert_eq!(on[0].to, vec![ANN.to_owned()]);

    let code = next_code(&app, &secret);
    let wrong_password = app
        .send(
            Method::DELETE,
            "/auth/mfa/totp/",
            json!({"current_password": "not-hers", "code": code}),
            &token,
        )
        .await;
    let body = assert_problem(wrong_password, StatusCode::BAD_REQUEST, "validation_failed").await;
    assert!(body["errors"]["current_password"].is_array(), "{body}");
    let wrong_code = app
        .send(
            Method::DELETE,
            "/auth/mfa/totp/",
            json!({"current_password": USER_PASSWORD, "code": wrong_code(&app, &secret)}),
            &token,
        )
        .await;
    assert_problem(wrong_code, StatusCode::BAD_REQUEST, "invalid_code").await;
    let code = next_code(&app, &secret);
    let removed = app
        .send(
            Method::DELETE,
            "/auth/mfa/totp/",
            json!({"current_password": USER_PASSWORD, "code": code}),
            &token,
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    mails_with(&smtp, "Two-step sign-in is off", 1).await;
    let off = json_of(app.get("/auth/mfa/", &token).await, StatusCode::OK).await;
    assert_eq!(off["totp"]["enabled"], false);
    assert_eq!(off["recovery_codes_left"], 0);
    assert_eq!(
        app.log_in(ANN, USER_PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn a_secret_sealed_with_another_key_is_503_never_a_way_in(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn(db).await;
    let (_, secret, _) = enrolled(&app).await;
    const OTHER_KEY: &str = "YW5vdGhlci1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE=";
    let other = TestApp::spawn_with(db, |settings| {
        settings.mfa.key = authusers_infra_crypto::SealingKey::from_base64(OTHER_KEY).unwrap();
    })
    .await;
    let step = mfa_token(&other).await;
    other.clock.advance(Duration::seconds(60));
    let code = code_at(&secret, other.clock.now());
    let refused = second_step(&other, json!({"mfa_token": step, "code": code})).await;
    assert_problem(refused, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;

    // The key rotated: the old one, retired, still opens what it sealed.
    let rotated = TestApp::spawn_with(db, |settings| {
        let old = settings.mfa.key.clone();
        settings.mfa.key = authusers_infra_crypto::SealingKey::from_base64(OTHER_KEY).unwrap();
        settings.mfa.previous_keys = vec![old];
    })
    .await;
    let step = mfa_token(&rotated).await;
    rotated.clock.advance(Duration::seconds(120));
    let code = code_at(&secret, rotated.clock.now());
    let taken = second_step(&rotated, json!({"mfa_token": step, "code": code})).await;
    assert_eq!(taken.status(), StatusCode::OK);
}

/// Two servers on one database, given the same code at once: one accepts
/// it.
async fn two_servers_accept_one_code_once(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let first = TestApp::spawn(db).await;
    let (_, secret, _) = enrolled(&first).await;
    let second = TestApp::spawn(db).await;
    let steps = [mfa_token(&first).await, mfa_token(&second).await];
    // Both servers' clocks at the same step, ahead of any used.
    let lag = (first.clock.now() - second.clock.now()).num_milliseconds();
    first.clock.advance(Duration::seconds(60));
    second
        .clock
        .advance(Duration::seconds(60 + (lag + 500).div_euclid(1000)));
    let code = code_at(&secret, first.clock.now());
    let (a, b) = tokio::join!(
        second_step(&first, json!({"mfa_token": steps[0], "code": code})),
        second_step(&second, json!({"mfa_token": steps[1], "code": code})),
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
}

on_both_backends!(
    a_user_turns_totp_on_and_logs_in_in_two_steps,
    every_refusal_of_the_second_step_is_clear_and_opens_nothing,
    enrolment_refusals_name_their_field,
    recovery_codes_work_once_each_and_a_new_set_voids_the_old,
    wrong_codes_for_an_account_are_limited_whatever_the_token,
    turning_it_on_and_off_is_mailed_and_off_needs_the_password_and_a_code,
    a_secret_sealed_with_another_key_is_503_never_a_way_in,
    two_servers_accept_one_code_once,
);

async fn out(app: &TestApp, token: &str, value: &str) -> Response {
    app.patch(
        "/balance/",
        json!({"action": "out", "value_type": "real", "value": value}),
        token,
    )
    .await
}

async fn real_balance(app: &TestApp, token: &str) -> String {
    let balances = json_of(app.get("/balance/", token).await, StatusCode::OK).await;
    balances["real_balance"].as_str().unwrap().to_owned()
}

async fn money_above_the_threshold_leaves_only_after_a_fresh_code(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn_with(db, |settings| {
        settings.mfa.step_up_out_above = Some(authusers_domain::Amount::parse("1000.00").unwrap());
        settings.mfa.step_up_window = Duration::seconds(300);
    })
    .await;
    let (token, secret, _) = enrolled(&app).await;
    let deposit = app
        .patch(
            "/balance/",
            json!({"action": "in", "value_type": "real", "value": "10000"}),
            &token,
        )
        .await;
    assert_eq!(deposit.status(), StatusCode::OK);
    // At the threshold: no second factor asked.
    assert_eq!(out(&app, &token, "1000.00").await.status(), StatusCode::OK);
    // Above it, from a session that proved the password only: refused,
    // nothing changed.
    let refused = out(&app, &token, "1000.01").await;
    assert_problem(refused, StatusCode::FORBIDDEN, "step_up_required").await;
    assert_eq!(real_balance(&app, &token).await, "9000.00");

    let wrong = app
        .send(
            Method::POST,
            "/auth/jwt/step-up/",
            json!({ "code": wrong_code(&app, &secret) }),
            &token,
        )
        .await;
    assert_problem(wrong, StatusCode::BAD_REQUEST, "invalid_code").await;
    let code = next_code(&app, &secret);
    let stepped = json_of(
        app.send(
            Method::POST,
            "/auth/jwt/step-up/",
            json!({ "code": code }),
            &token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let fresh = stepped["access"].as_str().unwrap().to_owned();
    let claims = claims_of(&fresh);
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    assert_eq!(claims["sid"], claims_of(&token)["sid"]);
    assert_eq!(out(&app, &fresh, "1000.01").await.status(), StatusCode::OK);
    assert_eq!(real_balance(&app, &fresh).await, "7999.99");

    // A login in two steps counts as fresh, for the window only: past it,
    // the refreshed token of that session is refused until a new code.
    let step = mfa_token(&app).await;
    let code = next_code(&app, &secret);
    let pair = json_of(
        second_step(&app, json!({"mfa_token": step, "code": code})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        out(&app, &access(&pair), "2000").await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::seconds(301));
    let refreshed = json_of(
        app.post("/auth/jwt/refresh/", json!({"refresh": pair["refresh"]}))
            .await,
        StatusCode::OK,
    )
    .await;
    let stale = out(&app, &access(&refreshed), "2000").await;
    assert_problem(stale, StatusCode::FORBIDDEN, "step_up_required").await;

    // An account without a second factor is never asked.
    let admin = access(
        &app.tokens_for(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
    );
    let (_, bob) = app.approved_user(&admin, "bob@example.com").await;
    app.patch(
        "/balance/",
        json!({"action": "in", "value_type": "real", "value": "5000"}),
        &bob,
    )
    .await;
    assert_eq!(out(&app, &bob, "5000").await.status(), StatusCode::OK);
}

async fn administrators_must_enrol_before_anything_else(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let app = TestApp::spawn_with(db, |settings| settings.mfa.required_for_admins = true).await;
    let admin = app.admin_token().await;
    let blocked = app.get("/confirm-users/", &admin).await;
    assert_problem(blocked, StatusCode::FORBIDDEN, "mfa_enrollment_required").await;
    let blocked = app.get("/auth/sessions/", &admin).await;
    assert_problem(blocked, StatusCode::FORBIDDEN, "mfa_enrollment_required").await;
    assert_eq!(
        app.get("/auth/users/me/", &admin).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.get("/auth/mfa/", &admin).await.status(), StatusCode::OK);
    // Without the trailing slash too (the same route).
    assert_eq!(app.get("/auth/mfa", &admin).await.status(), StatusCode::OK);

    let enrolment = json_of(
        app.send(
            Method::POST,
            "/auth/mfa/totp/",
            json!({"current_password": crate::helpers::ADMIN_PASSWORD}),
            &admin,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let code = next_code(&app, &secret);
    let confirmed = app
        .send(
            Method::POST,
            "/auth/mfa/totp/confirm/",
            json!({ "code": code }),
            &admin,
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(
        app.get("/confirm-users/", &admin).await.status(),
        StatusCode::OK
    );
    // A user who is no administrator is not held to it.
    let (_, ann) = app.approved_user(&admin, ANN).await;
    assert_eq!(
        app.get("/auth/sessions/", &ann).await.status(),
        StatusCode::OK
    );
}

async fn an_administrator_turns_off_a_lost_factor_ending_the_users_sessions(db: &TestDatabase) {
    if totp_tool().is_none() {
        return;
    }
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, smtp_to(smtp.url())).await;
    let (token, _, _) = enrolled(&app).await;
    let me = json_of(app.get("/auth/users/me/", &token).await, StatusCode::OK).await;
    let id = me["id"].as_i64().unwrap();
    let admin = access(
        &app.tokens_for(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
    );

    let not_admin = app
        .request(
            Method::DELETE,
            &format!("/auth/users/{id}/mfa/"),
            None,
            Some(&token),
        )
        .await;
    assert_problem(not_admin, StatusCode::FORBIDDEN, "permission_denied").await;
    let unknown = app
        .request(
            Method::DELETE,
            "/auth/users/987654/mfa/",
            None,
            Some(&admin),
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;

    let reset = app
        .request(
            Method::DELETE,
            &format!("/auth/users/{id}/mfa/"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/auth/users/me/", &token).await,
        StatusCode::UNAUTHORIZED,
        "token_not_valid",
    )
    .await;
    let notice = mails_with(&smtp, "Two-step sign-in is off", 1).await;
    assert!(notice[0]
        .text_body()
        .unwrap()
        .contains("An administrator turned two-step sign-in off"));
    // The password alone signs in again.
    assert_eq!(
        app.log_in(ANN, USER_PASSWORD).await.status(),
        StatusCode::OK
    );
    let again = app
        .request(
            Method::DELETE,
            &format!("/auth/users/{id}/mfa/"),
            None,
            Some(&admin),
        )
        .await;
    assert_problem(again, StatusCode::BAD_REQUEST, "mfa_not_enabled").await;
}

on_both_backends!(
    money_above_the_threshold_leaves_only_after_a_fresh_code,
    administrators_must_enrol_before_anything_else,
    an_administrator_turns_off_a_lost_factor_ending_the_users_sessions,
);

/// In Chromium: an administrator held to `MFA_REQUIRED_FOR_ADMINS` signs in,
/// is sent to set up the second factor, scans nothing but types the key's
/// code, keeps the recovery codes, reaches the console; signs out, and
/// signs in again in two steps, a wrong code refused on the way; and turns
/// a user's lost factor off with the button on the user's page.
async fn the_console_enrols_an_administrator_and_signs_in_in_two_steps(db: &TestDatabase) {
    use crate::browser::Browser;
    use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};
    use authusers_infra_diesel::DatabaseUrl;
    use fantoccini::Locator;

    if totp_tool().is_none() {
        return;
    }
    let Some(browser) = Browser::start().await else {
        return;
    };
    let backend = match db.url() {
        DatabaseUrl::Postgres { .. } => "postgres",
        DatabaseUrl::Sqlite { .. } => "sqlite",
    };
    let app = TestApp::spawn_with(db, |settings| settings.mfa.required_for_admins = true).await;
    app.admin_token().await;
    browser
        .client
        .set_window_size(1280, 1000)
        .await
        .expect("a window size");
    browser
        .client
        .goto(&format!("{}/admin/", app.address))
        .await
        .expect("open the console");
    browser.type_into("email", ADMIN_EMAIL).await;
    browser.type_into("password", ADMIN_PASSWORD).await;
    browser.click("#sign-in").await;
    // Nothing but the enrolment until it is done.
    assert_eq!(browser.heading().await, "Two-step sign-in");
    let text = browser.body_text().await;
    assert!(
        text.contains("Administrators must turn on two-step sign-in"),
        "{text}"
    );
    browser
        .client
        .goto(&format!("{}/admin/users/", app.address))
        .await
        .unwrap();
    assert_eq!(browser.heading().await, "Two-step sign-in");

    browser.type_into("current_password", ADMIN_PASSWORD).await;
    browser.click("#begin-mfa").await;
    let qr = browser
        .client
        .find(Locator::Css("#qr svg"))
        .await
        .expect("the QR code, drawn on the page");
    let size = qr.rectangle().await.expect("its size");
    assert!(size.2 >= 150.0 && size.3 >= 150.0, "{size:?}");
    screenshot_of(&browser, backend, "mfa-enrolment").await;
    let secret = browser
        .client
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    browser.type_into("code", &wrong_code(&app, &secret)).await;
    browser.click("#confirm-mfa").await;
    assert!(browser.body_text().await.contains("That code is wrong"));
    browser.type_into("code", &next_code(&app, &secret)).await;
    browser.click("#confirm-mfa").await;
    let codes = browser
        .client
        .find_all(Locator::Css("#recovery-codes li"))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    browser.click("a[href='/admin/']").await;
    assert_eq!(browser.heading().await, "Pending registrations");

    // Signing in again takes a code.
    browser.click("#sign-out").await;
    browser.type_into("email", ADMIN_EMAIL).await;
    browser.type_into("password", ADMIN_PASSWORD).await;
    browser.click("#sign-in").await;
    assert_eq!(browser.heading().await, "Two-step sign-in");
    screenshot_of(&browser, backend, "mfa-sign-in").await;
    browser.type_into("code", &wrong_code(&app, &secret)).await;
    browser.click("#verify").await;
    assert!(browser.body_text().await.contains("The code is wrong"));
    browser.type_into("code", &next_code(&app, &secret)).await;
    browser.click("#verify").await;
    assert_eq!(browser.heading().await, "Pending registrations");

    // A user's lost factor, turned off from their page.
    let (token, _, _) = {
        let admin = access(
            &app.client
                .post(format!("{}/auth/jwt/create/mfa/", app.address))
                .json(&json!({
                    "mfa_token": admin_mfa_token(&app).await,
                    "code": next_code(&app, &secret),
                }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap(),
        );
        enrolled_with(&app, &admin).await
    };
    let me = json_of(app.get("/auth/users/me/", &token).await, StatusCode::OK).await;
    browser
        .client
        .goto(&format!("{}/admin/users/{}/", app.address, me["id"]))
        .await
        .unwrap();
    assert!(browser.body_text().await.contains("on since"));
    browser.click("#reset-mfa").await;
    let text = browser.body_text().await;
    assert!(text.contains("Two-step sign-in turned off"), "{text}");
    assert_problem(
        app.get("/auth/users/me/", &token).await,
        StatusCode::UNAUTHORIZED,
        "token_not_valid",
    )
    .await;
    browser
        .client
        .clone()
        .close()
        .await
        .expect("close the browser");
}

async fn screenshot_of(browser: &crate::browser::Browser, backend: &str, name: &str) {
    crate::console::screenshot(browser, backend, name).await;
}

/// The `mfa_token` of the administrator's login.
async fn admin_mfa_token(app: &TestApp) -> String {
    let body = assert_problem(
        app.log_in(crate::helpers::ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD)
            .await,
        StatusCode::UNAUTHORIZED,
        "mfa_required",
    )
    .await;
    body["mfa_token"].as_str().unwrap().to_owned()
}

on_both_backends!(the_console_enrols_an_administrator_and_signs_in_in_two_steps);
