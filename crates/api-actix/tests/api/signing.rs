//! Tokens other services verify from the published keys alone: each
//! algorithm checked by an independent verifier (PyJWT, through the Python
//! example in docs/), and by the Rust example; key rotation; forged
//! `kid`, `alg`, `iss` and `aud`.

use std::path::{Path, PathBuf};
use std::process::Command;

use authusers_api_actix::app::config::{JwtSettings, Settings};
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_jwt::{read_key_file, write_new_key_file, SigningAlgorithm};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{access, assert_problem, TestApp, TEST_SECRET, USER_PASSWORD};

#[path = "../../examples/verify_token.rs"]
#[allow(dead_code)]
mod verify_token_example;

const ISSUER: &str = "https://auth.example.test";
const AUDIENCE: &str = "orders-service";
const PYTHON_ENV: &str = "AUTHUSERS_TEST_PYJWT";
const PYTHON_EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/examples/verify_token.py"
);

/// A folder of key files, removed when dropped.
struct KeyFolder(PathBuf);

impl KeyFolder {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!("authusers-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn key(&self, name: &str, algorithm: SigningAlgorithm) -> PathBuf {
        let path = self.0.join(name);
        write_new_key_file(&path, algorithm).unwrap();
        path
    }
}

impl Drop for KeyFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Token settings read as the service reads its environment.
fn jwt_settings(vars: &[(&str, &str)]) -> JwtSettings {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .expect("valid key settings")
        .jwt
}

fn signing_with(key: &Path, previous: &[&Path]) -> JwtSettings {
    let previous: Vec<String> = previous.iter().map(|p| p.display().to_string()).collect();
    jwt_settings(&[
        ("JWT_PRIVATE_KEY_FILE", &key.display().to_string()),
        ("JWT_PREVIOUS_KEY_FILES", &previous.join(",")),
        ("JWT_ISSUER", ISSUER),
        ("JWT_AUDIENCE", AUDIENCE),
    ])
}

async fn spawn(db: &TestDatabase, jwt: JwtSettings) -> TestApp {
    TestApp::spawn_with(db, move |settings| settings.jwt = jwt).await
}

fn header_of(token: &str) -> Header {
    jsonwebtoken::decode_header(token).unwrap()
}

pub fn claims_of(token: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .unwrap()
        .claims
}

async fn published_keys(app: &TestApp) -> Value {
    let response = app
        .client
        .get(format!("{}/.well-known/jwks.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

fn kids(keys: &Value) -> Vec<String> {
    keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The Python example run with PyJWT: `Ok(claims)` or `Err(reason)`.
/// `None` when PyJWT is not installed here (never under CI).
fn python_verifies(base_url: &str, token: &str, audience: &str) -> Option<Result<Value, String>> {
    let Ok(python) = std::env::var(PYTHON_ENV).map(|p| p.trim().to_owned()) else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI must verify tokens with PyJWT: {PYTHON_ENV} is not set"
        );
        eprintln!(
            "skipping the PyJWT check: {PYTHON_ENV} is not set (`make test` installs PyJWT into .venv-pyjwt)"
        );
        return None;
    };
    if python.is_empty() {
        return python_verifies_missing();
    }
    let output = Command::new(python)
        .args([PYTHON_EXAMPLE, base_url, token, audience])
        .output()
        .expect("run the Python example");
    Some(if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("claims as JSON"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    })
}

fn python_verifies_missing() -> Option<Result<Value, String>> {
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "CI must verify tokens with PyJWT, which could not be installed"
    );
    eprintln!("skipping the PyJWT check: PyJWT could not be installed");
    None
}

/// Runs the blocking Python check off the test's runtime.
async fn python(base_url: &str, token: &str, audience: &str) -> Option<Result<Value, String>> {
    let (base_url, token, audience) = (base_url.to_owned(), token.to_owned(), audience.to_owned());
    tokio::task::spawn_blocking(move || python_verifies(&base_url, &token, &audience))
        .await
        .unwrap()
}

async fn tokens_verify_from_the_published_keys_alone(
    db: &TestDatabase,
    algorithm: SigningAlgorithm,
) {
    let keys = KeyFolder::new();
    let app = spawn(db, signing_with(&keys.key("signing.pem", algorithm), &[])).await;
    let admin = app.admin_token().await;
    let (id, _) = app.approved_user(&admin, "ann@example.com").await;
    let pair = app.tokens_for("ann@example.com", USER_PASSWORD).await;
    let token = access(&pair);

    let published = published_keys(&app).await;
    let header = header_of(&token);
    assert_eq!(header.alg, algorithm.jwt());
    assert_eq!(kids(&published), [header.kid.clone().unwrap()]);
    let key = &published["keys"][0];
    assert_eq!(
        (key["alg"].as_str(), key["use"].as_str()),
        (Some(algorithm.as_str()), Some("sig"))
    );
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(key.get(private).is_none(), "{private} published: {key}");
    }
    let claims = claims_of(&token);
    assert_eq!(
        (claims["iss"].as_str(), claims["aud"].as_str()),
        (Some(ISSUER), Some(AUDIENCE))
    );
    assert_eq!(
        app.get("/auth/users/me/", &token).await.status(),
        StatusCode::OK
    );

    // The Rust example, from the discovery document.
    let (issuer, key_set) = verify_token_example::discover(&app.address).await.unwrap();
    assert_eq!(issuer, ISSUER);
    let verified = verify_token_example::verify(&token, &issuer, &key_set, Some(AUDIENCE)).unwrap();
    assert_eq!(verified["user_id"], id);
    let refresh = pair["refresh"].as_str().unwrap();
    let refused = verify_token_example::verify(refresh, &issuer, &key_set, Some(AUDIENCE));
    assert_eq!(refused.unwrap_err().to_string(), "not an access token");
    assert!(verify_token_example::verify(&token, &issuer, &key_set, Some("billing")).is_err());

    // PyJWT, which shares no code with this service.
    if let Some(verified) = python(&app.address, &token, AUDIENCE).await {
        let claims = verified.expect("PyJWT accepts the token");
        assert_eq!(
            (claims["user_id"].as_i64(), claims["iss"].as_str()),
            (Some(id), Some(ISSUER))
        );
        let refresh = python(&app.address, refresh, AUDIENCE).await.unwrap();
        assert!(refresh.unwrap_err().contains("not an access token"));
        let other_audience = python(&app.address, &token, "billing").await.unwrap();
        let reason = other_audience.unwrap_err().to_lowercase();
        assert!(reason.contains("audience"), "{reason}");
    }
}

async fn eddsa_tokens_verify_from_the_published_keys_alone(db: &TestDatabase) {
    tokens_verify_from_the_published_keys_alone(db, SigningAlgorithm::EdDSA).await;
}

async fn es256_tokens_verify_from_the_published_keys_alone(db: &TestDatabase) {
    tokens_verify_from_the_published_keys_alone(db, SigningAlgorithm::ES256).await;
}

async fn rs256_tokens_verify_from_the_published_keys_alone(db: &TestDatabase) {
    tokens_verify_from_the_published_keys_alone(db, SigningAlgorithm::RS256).await;
}

/// The documented rotation: the new key signs and the old one is listed
/// as previous (here from EdDSA to ES256, an algorithm change too); a
/// token of the old key works until the old key is dropped.
async fn a_retired_key_verifies_until_it_is_dropped(db: &TestDatabase) {
    let keys = KeyFolder::new();
    let (old, new) = (
        keys.key("old.pem", SigningAlgorithm::EdDSA),
        keys.key("new.pem", SigningAlgorithm::ES256),
    );
    let before = spawn(db, signing_with(&old, &[])).await;
    let admin = before.admin_token().await;
    before.approved_user(&admin, "ann@example.com").await;
    let old_pair = before.tokens_for("ann@example.com", USER_PASSWORD).await;
    let old_kid = header_of(&access(&old_pair)).kid.unwrap();

    let rotated = spawn(db, signing_with(&new, &[&old])).await;
    let published = published_keys(&rotated).await;
    let new_kid = kids(&published)[0].clone();
    assert_eq!(kids(&published), [new_kid.clone(), old_kid.clone()]);
    let me = rotated.get("/auth/users/me/", &access(&old_pair)).await;
    assert_eq!(me.status(), StatusCode::OK, "nobody is logged out");
    if let Some(verified) = python(&rotated.address, &access(&old_pair), AUDIENCE).await {
        verified.expect("PyJWT accepts the old key's token from the new key set");
    }
    let refreshed = rotated
        .post(
            "/auth/jwt/refresh/",
            json!({"refresh": old_pair["refresh"]}),
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let new_pair: Value = refreshed.json().await.unwrap();
    assert_eq!(header_of(&access(&new_pair)).kid.unwrap(), new_kid);
    assert_eq!(header_of(&access(&new_pair)).alg, Algorithm::ES256);
    let fresh = rotated.tokens_for("ann@example.com", USER_PASSWORD).await;
    assert_eq!(
        header_of(&access(&fresh)).kid.unwrap(),
        new_kid,
        "the old key never signs"
    );

    let dropped = spawn(db, signing_with(&new, &[])).await;
    assert_eq!(kids(&published_keys(&dropped).await), [new_kid]);
    let refused = dropped.get("/auth/users/me/", &access(&old_pair)).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let still = dropped.get("/auth/users/me/", &access(&new_pair)).await;
    assert_eq!(still.status(), StatusCode::OK);
}

/// Moving from a shared secret to a key pair: the secret, kept as
/// JWT_SECRET beside the key, verifies the tokens it signed (those issued
/// before tokens named their key too) but signs nothing and is never
/// published.
async fn a_retired_shared_secret_keeps_everyone_logged_in(db: &TestDatabase) {
    let keys = KeyFolder::new();
    let key = keys.key("signing.pem", SigningAlgorithm::EdDSA);
    let before = TestApp::spawn(db).await;
    let admin = before.admin_token().await;
    before.approved_user(&admin, "ann@example.com").await;
    let pair = before.tokens_for("ann@example.com", USER_PASSWORD).await;
    assert_eq!(header_of(&access(&pair)).alg, Algorithm::HS256);
    assert!(header_of(&access(&pair)).kid.is_some());
    assert_eq!(kids(&published_keys(&before).await), Vec::<String>::new());
    // As an earlier version signed: no `kid`.
    let without_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims_of(&access(&pair)),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .unwrap();

    let key_path = key.display().to_string();
    let moving = spawn(
        db,
        jwt_settings(&[
            ("JWT_PRIVATE_KEY_FILE", &key_path),
            ("JWT_SECRET", TEST_SECRET),
        ]),
    )
    .await;
    for token in [access(&pair), without_kid.clone()] {
        assert_eq!(
            moving.get("/auth/users/me/", &token).await.status(),
            StatusCode::OK
        );
    }
    let published = published_keys(&moving).await;
    assert_eq!(published["keys"].as_array().unwrap().len(), 1);
    assert_eq!(
        published["keys"][0]["kty"], "OKP",
        "the secret is never published"
    );
    let fresh = moving.tokens_for("ann@example.com", USER_PASSWORD).await;
    assert_eq!(header_of(&access(&fresh)).alg, Algorithm::EdDSA);

    let moved = spawn(db, jwt_settings(&[("JWT_PRIVATE_KEY_FILE", &key_path)])).await;
    for token in [access(&pair), without_kid] {
        let refused = moved.get("/auth/users/me/", &token).await;
        assert_problem(refused, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    }
    assert_eq!(
        moved.get("/auth/users/me/", &access(&fresh)).await.status(),
        StatusCode::OK
    );
}

/// Tokens signed with the service's own key but with a wrong claim or
/// header, and tokens that name or use another key: each refused, while
/// the same claims signed properly pass (so each forgery is the only
/// difference).
async fn forged_kid_alg_iss_and_aud_are_refused(db: &TestDatabase) {
    let keys = KeyFolder::new();
    let key_path = keys.key("signing.pem", SigningAlgorithm::EdDSA);
    let app = spawn(db, signing_with(&key_path, &[])).await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    let token = access(&app.tokens_for("ann@example.com", USER_PASSWORD).await);
    let claims = claims_of(&token);
    let kid = header_of(&token).kid.unwrap();
    let own_key = read_key_file(&key_path, None).unwrap().encoding;
    let sign = |header: &Header, claims: &Value, key: &EncodingKey| {
        jsonwebtoken::encode(header, claims, key).unwrap()
    };
    let mut own_header = Header::new(Algorithm::EdDSA);
    own_header.kid = Some(kid.clone());

    let resigned = sign(&own_header, &claims, &own_key);
    assert_eq!(
        app.get("/auth/users/me/", &resigned).await.status(),
        StatusCode::OK
    );

    let with = |name: &str, value: Value| {
        let mut claims = claims.clone();
        claims[name] = value;
        sign(&own_header, &claims, &own_key)
    };
    let without = |name: &str| {
        let mut claims = claims.clone();
        claims.as_object_mut().unwrap().remove(name);
        sign(&own_header, &claims, &own_key)
    };
    let unknown_kid = {
        let mut header = own_header.clone();
        header.kid = Some("no-such-key".into());
        sign(&header, &claims, &own_key)
    };
    let no_kid = sign(&Header::new(Algorithm::EdDSA), &claims, &own_key);
    let another_key = {
        let path = keys.key("another.pem", SigningAlgorithm::EdDSA);
        let other = read_key_file(&path, None).unwrap().encoding;
        sign(&own_header, &claims, &other)
    };
    // The public key used as an HMAC secret: the classic confusion.
    let published = published_keys(&app).await;
    let public_x = published["keys"][0]["x"].as_str().unwrap().to_owned();
    let confused = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        sign(
            &header,
            &claims,
            &EncodingKey::from_secret(public_x.as_bytes()),
        )
    };
    let unsigned = {
        let payload = resigned.split('.').nth(1).unwrap();
        let header = base64_url(&json!({"alg": "none", "kid": kid}).to_string());
        format!("{header}.{payload}.")
    };
    let forgeries = [
        ("another issuer", with("iss", json!("https://evil.example"))),
        ("another audience", with("aud", json!("billing"))),
        ("audiences without ours", with("aud", json!(["billing"]))),
        ("no issuer", without("iss")),
        ("no audience", without("aud")),
        ("an unknown kid", unknown_kid),
        ("no kid", no_kid),
        ("another key under our kid", another_key),
        ("HS256 keyed with the public key", confused),
        ("alg none", unsigned),
    ];
    for (what, forged) in forgeries {
        let response = app.get("/auth/users/me/", &forged).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let verify = app
            .post("/auth/jwt/verify/", json!({"token": forged}))
            .await;
        assert_eq!(verify.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// With a shared secret there is nothing to publish; discovery still
/// answers, its URLs from the listening address (no `Host` is believed).
async fn a_shared_secret_publishes_no_key(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    assert_eq!(published_keys(&app).await, json!({"keys": []}));
    let response = app
        .client
        .get(format!("{}/.well-known/openid-configuration", app.address))
        .header("Host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let discovery: Value = response.json().await.unwrap();
    assert_eq!(discovery["issuer"], app.address);
    assert_eq!(
        discovery["jwks_uri"],
        format!("{}/.well-known/jwks.json", app.address)
    );
    assert_eq!(
        discovery["token_endpoint"],
        format!("{}/auth/jwt/create/", app.address)
    );
}

on_both_backends!(
    eddsa_tokens_verify_from_the_published_keys_alone,
    es256_tokens_verify_from_the_published_keys_alone,
    rs256_tokens_verify_from_the_published_keys_alone,
    a_retired_key_verifies_until_it_is_dropped,
    a_retired_shared_secret_keeps_everyone_logged_in,
    forged_kid_alg_iss_and_aud_are_refused,
    a_shared_secret_publishes_no_key,
);

/// docs/verifying-tokens.md shows the examples these tests run, verbatim.
#[test]
fn the_documented_examples_are_the_tested_ones() {
    let doc = include_str!("../../../../docs/verifying-tokens.md");
    assert!(doc.contains(include_str!("../../../../docs/examples/verify_token.py")));
    assert!(doc.contains(include_str!("../../examples/verify_token.rs")));
}
