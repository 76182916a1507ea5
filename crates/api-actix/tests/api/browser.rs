//! The pages people look at, in a real browser: headless Chromium driven
//! through WebDriver (chromedriver).
//!
//! Without Chromium and chromedriver (Debian's `chromium` and
//! `chromium-driver`) these tests say they are skipped, except under
//! `CI=true`, where that is a failure.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_smtp::test_support::TestSmtpServer;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, USER_PASSWORD};
use crate::mail::smtp_to;

const CHROMEDRIVER_ENV: &str = "AUTHUSERS_TEST_CHROMEDRIVER";
const CHROMIUM_ENV: &str = "AUTHUSERS_TEST_CHROMIUM";

/// The first of `candidates` that exists, or the path named by `env`.
fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// A chromedriver process on a free port and its browser profile, both
/// gone when dropped.
pub struct Browser {
    driver: Child,
    profile: PathBuf,
    pub client: Client,
}

impl Browser {
    /// `None` (with a note on stderr) when no browser is installed outside
    /// CI.
    pub async fn start() -> Option<Self> {
        let driver = find(
            CHROMEDRIVER_ENV,
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let chromium = find(
            CHROMIUM_ENV,
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let (Some(driver), Some(chromium)) = (driver, chromium) else {
            assert!(
                std::env::var("CI").map_or(true, |ci| ci != "true"),
                "chromium and chromedriver are missing: the browser tests are compulsory in CI"
            );
            eprintln!(
                "skipping a browser test: no chromium and chromedriver \
                 (install Debian's chromium and chromium-driver)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = std::env::temp_dir().join(format!("authusers-chromium-{port}"));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let client = loop {
            let attempt = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(error) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "chromedriver did not start: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        Some(Self {
            driver,
            profile,
            client,
        })
    }

    pub async fn heading(&self) -> String {
        self.client
            .find(Locator::Css("h1"))
            .await
            .expect("a heading")
            .text()
            .await
            .expect("its text")
    }

    pub async fn type_into(&self, id: &str, text: &str) {
        let field = self.client.find(Locator::Id(id)).await.expect("the field");
        field.clear().await.expect("clear it");
        field.send_keys(text).await.expect("type");
    }

    /// Submits the form and waits for the page that answers it.
    async fn submit(&self) {
        self.click("button[type=submit]").await;
    }

    /// Clicks `selector` and waits for the page that answers.
    pub async fn click(&self, selector: &str) {
        let page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("a page");
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
            .click()
            .await
            .expect("click");
        self.wait_for_new_page(page).await;
    }

    /// The background colour the browser computed for the first element
    /// `selector` finds: whether a stylesheet applied.
    pub async fn background_colour(&self, selector: &str) -> serde_json::Value {
        self.client
            .execute(
                &format!(
                    "return getComputedStyle(document.querySelector('{selector}')).backgroundColor"
                ),
                vec![],
            )
            .await
            .expect("read a style")
    }

    /// Waits until `page` (the old document's root) has been replaced.
    pub async fn wait_for_new_page(&self, page: fantoccini::elements::Element) {
        // The old document goes stale once the answer replaces it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while page.tag_name().await.is_ok() {
            assert!(tokio::time::Instant::now() < deadline, "no answer page");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.client
            .wait()
            .for_element(Locator::Css("h1"))
            .await
            .expect("the answer page");
    }

    pub async fn body_text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .expect("its text")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Ann asks for a reset, opens the link from her mail, is told her first
/// choice is too weak, sets a good one, and logs in with it; the link then
/// no longer works.
async fn the_reset_page_works_in_a_browser(db: &TestDatabase) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, smtp_to(smtp.url())).await;
    let admin = app.admin_token().await;
    app.approved_user(&admin, "ann@example.com").await;
    let asked = app
        .post(
            "/auth/users/reset_password/",
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::NO_CONTENT);
    let received = smtp.wait_for(2, Duration::from_secs(15)).await;
    let mail = received
        .iter()
        .find(|m| m.subject().as_deref() == Some("Reset your password"))
        .expect("the reset mail");
    let text = mail.text_body().expect("a text part");
    let link = text
        .lines()
        .find(|line| line.starts_with("http"))
        .expect("a link")
        .trim();

    browser.client.goto(link).await.expect("open the link");
    assert_eq!(browser.heading().await, "Choose a new password");
    // The stylesheet applied: the page's own Content-Security-Policy let
    // exactly it through.
    assert_eq!(
        browser.background_colour("button").await,
        json!("rgb(26, 95, 180)")
    );

    browser.type_into("new_password", "12345678").await;
    browser.type_into("re_new_password", "12345678").await;
    browser.submit().await;
    assert_eq!(browser.heading().await, "Choose a new password");
    assert!(browser
        .body_text()
        .await
        .contains("This password is entirely numeric."));

    browser.type_into("new_password", "quartz-lantern-61").await;
    browser
        .type_into("re_new_password", "quartz-lantern-61")
        .await;
    browser.submit().await;
    assert_eq!(browser.heading().await, "Password changed");

    assert_eq!(
        app.log_in("ann@example.com", "quartz-lantern-61")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.log_in("ann@example.com", USER_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    browser
        .client
        .goto(link)
        .await
        .expect("open the link again");
    assert_eq!(browser.heading().await, "This link does not work");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("close the browser");
}

/// The documentation page is Swagger UI, and under the page's own policy
/// (scripts and requests from this origin only) "Try it out" sends a real
/// request and shows its answer.
async fn the_docs_page_tries_a_request_in_a_browser(db: &TestDatabase) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(db).await;
    browser
        .client
        .goto(&format!("{}/docs/", app.address))
        .await
        .expect("open /docs/");
    let wait = |selector: &'static str| {
        let client = browser.client.clone();
        async move {
            client
                .wait()
                .at_most(Duration::from_secs(15))
                .for_element(Locator::Css(selector))
                .await
                .unwrap_or_else(|e| panic!("{selector}: {e}"))
        }
    };
    // The document was read: the contract's title and an operation of it.
    let title = wait(".info .title").await.text().await.expect("the title");
    assert!(title.starts_with("AuthUsers"), "{title}");
    wait("#operations-operations-healthz .opblock-summary")
        .await
        .click()
        .await
        .expect("open GET /healthz");
    wait("#operations-operations-healthz .execute")
        .await
        .click()
        .await
        .expect("execute");
    let status =
        wait("#operations-operations-healthz .live-responses-table .response .response-col_status")
            .await
            .text()
            .await
            .expect("the status");
    assert_eq!(status.trim(), "200");
    let body = wait(
        "#operations-operations-healthz .live-responses-table .response .response-col_description",
    )
    .await
    .text()
    .await
    .expect("the body");
    assert!(body.contains("ok"), "{body}");
    browser
        .client
        .clone()
        .close()
        .await
        .expect("close the browser");
}

on_both_backends!(
    the_reset_page_works_in_a_browser,
    the_docs_page_tries_a_request_in_a_browser
);
