use authusers_api_actix::app::config::Settings;
use authusers_domain::sessions::SessionTokens;
use authusers_infra_jwt::TokenService;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use authusers_api_actix::app::startup::{Application, Migrations, Stopper};
use authusers_domain::accounts::{Accounts, CreateAdminRequest};
use authusers_domain::clock::Clock;
use authusers_domain::sessions::SessionGrant;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::DatabaseConfig;
use chrono::{DateTime, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "tangerine-orbit-77";
pub const USER_PASSWORD: &str = "violet-kettle-93";
pub const TEST_SECRET: &str = "test-secret-that-is-long-enough-for-hs256";
/// The key the tests seal second factors' secrets with.
pub const TEST_MFA_KEY: &str = "dGVzdHMtc2VhbC0ybmQtZmFjdG9ycy13aXRoLWl0ISE=";

/// The defaults, signing with [`TEST_SECRET`] and sealing with
/// [`TEST_MFA_KEY`]: with no keys at all, development would generate them
/// into `var/` of the working directory.
pub fn test_settings() -> Settings {
    Settings::from_lookup(|name| match name {
        "JWT_SECRET" => Some(TEST_SECRET.to_owned()),
        "MFA_SECRET_KEY" => Some(TEST_MFA_KEY.to_owned()),
        _ => None,
    })
    .expect("default settings")
}

/// The wall clock, moved forward at will: what the application reads as
/// "now", so that a test can let a link expire without waiting.
#[derive(Debug, Default)]
pub struct TestClock {
    offset_seconds: AtomicI64,
}

impl TestClock {
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::SeqCst))
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub accounts: Accounts,
    pub settings: Settings,
    pub clock: Arc<TestClock>,
    /// `http://127.0.0.1:PORT` of `METRICS_ADDRESS`, when it is set.
    pub metrics_address: Option<String>,
    stopper: Stopper,
}

/// The test's database goes right after its app: the app stops first, so
/// that no query of its outbox worker waits on a vanished database.
impl Drop for TestApp {
    fn drop(&mut self) {
        self.stopper.stop();
    }
}

impl TestApp {
    pub async fn spawn(db: &TestDatabase) -> Self {
        Self::spawn_with(db, |_| {}).await
    }

    /// Starts the app after `configure` has adjusted the test settings.
    pub async fn spawn_with(db: &TestDatabase, configure: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = test_settings();
        settings.port = 0;
        settings.bcrypt_cost = 4;
        settings.database = DatabaseConfig::new(db.url().clone());
        settings.database.pool_size = 8;
        // Tests race dozens of requests that hash at cost 4: room for them
        // all, unless a test of the queue itself says otherwise.
        settings.abuse.hashing.queue = Some(64);
        configure(&mut settings);
        let clock = Arc::new(TestClock::default());
        let app = Application::build_with_clock(&settings, Migrations::Apply, clock.clone())
            .await
            .expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let accounts = app.accounts().clone();
        let stopper = app.stopper();
        let metrics_address = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            client: reqwest::Client::new(),
            accounts,
            settings,
            clock,
            metrics_address,
            stopper,
        }
    }

    pub fn tokens(&self) -> TokenService {
        TokenService::new(&self.settings.jwt.tokens)
    }

    /// The session a login's answer (`{access, refresh}`) belongs to, as
    /// its first generation.
    pub fn grant_of(&self, pair: &Value) -> SessionGrant {
        let claim = self
            .tokens()
            .verify_access(&access(pair), self.clock.now())
            .expect("an access token of this app");
        SessionGrant {
            session: claim.session,
            user: claim.user,
            generation: 1,
            expires_at: Utc::now() + chrono::Duration::days(1),
            authentication: claim.authentication,
        }
    }

    /// A token this app could have signed for `grant`, issued `at`.
    pub fn token_issued_at(
        &self,
        grant: &SessionGrant,
        kind: TokenKind,
        at: DateTime<Utc>,
    ) -> String {
        let pair = self.tokens().issue_pair(grant, at).unwrap();
        match kind {
            TokenKind::Access => pair.access,
            TokenKind::Refresh => pair.refresh,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("the request is sent")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(body), None).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, None, Some(token)).await
    }

    pub async fn patch(&self, path: &str, body: Value, token: &str) -> Response {
        self.request(Method::PATCH, path, Some(body), Some(token))
            .await
    }

    /// A request with a body on behalf of the holder of `token`.
    pub async fn send(&self, method: Method, path: &str, body: Value, token: &str) -> Response {
        self.request(method, path, Some(body), Some(token)).await
    }

    pub async fn register(&self, email: &str) -> Value {
        let response = self
            .post(
                "/auth/users/",
                json!({"email": email, "password": USER_PASSWORD, "first_name": "Ann", "last_name": "Lee"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Response {
        self.log_in_with(email, password, &[]).await
    }

    /// A login sent with `headers` (`User-Agent`, `X-Forwarded-For`...).
    pub async fn log_in_with(
        &self,
        email: &str,
        password: &str,
        headers: &[(&str, &[u8])],
    ) -> Response {
        let request = headers.iter().fold(
            self.client
                .post(format!("{}/auth/jwt/create/", self.address)),
            |request, (name, value)| {
                request.header(
                    *name,
                    reqwest::header::HeaderValue::from_bytes(value).expect("a header value"),
                )
            },
        );
        request
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("send the login")
    }

    pub async fn tokens_for(&self, email: &str, password: &str) -> Value {
        let response = self.log_in(email, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Creates the administrator and returns its access token.
    pub async fn admin_token(&self) -> String {
        self.accounts
            .create_admin(CreateAdminRequest {
                email: ADMIN_EMAIL.into(),
                password: ADMIN_PASSWORD.into(),
            })
            .await
            .unwrap();
        access(&self.tokens_for(ADMIN_EMAIL, ADMIN_PASSWORD).await)
    }

    /// `PATCH /confirm-users/{id}/` with `action` (`accept` or `reject`),
    /// as `admin`.
    pub async fn decide(&self, admin: &str, id: impl std::fmt::Display, action: &str) -> Response {
        self.patch(
            &format!("/confirm-users/{id}/"),
            json!({ "action": action }),
            admin,
        )
        .await
    }

    /// Registers `email`, has the administrator accept it, and returns the
    /// user's id and access token.
    pub async fn approved_user(&self, admin: &str, email: &str) -> (i64, String) {
        let id = self.register(email).await["id"].as_i64().unwrap();
        let response = self.decide(admin, id, "accept").await;
        assert_eq!(response.status(), StatusCode::OK);
        (id, access(&self.tokens_for(email, USER_PASSWORD).await))
    }
}

pub fn access(pair: &Value) -> String {
    pair["access"].as_str().expect("an access token").to_owned()
}

/// Asserts a problem+json answer with `status` and `code`; returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["type"], format!("urn:authusers:problem:{code}"));
    assert!(body["title"].is_string() && body["detail"].is_string());
    body
}

/// Which of a pair's tokens `TestApp::token_issued_at` signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}
