//! Decision e-mails through the outbox, to a real SMTP server on a local
//! port, to files, and through a mail outage.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use authusers_api_actix::app::config::{MailTransport, Secret, Settings};
use authusers_api_actix::app::startup::outbox_delivery;
use authusers_api_actix::app::system_clock::SystemClock;
use authusers_domain::outbox::OutboxRepository;
use authusers_infra_diesel::test_support::{self, TestDatabase};
use authusers_infra_diesel::{on_both_backends, Database, DatabaseConfig, DieselOutboxRepository};
use authusers_infra_smtp::test_support::TestSmtpServer;
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

const WAIT: Duration = Duration::from_secs(15);

/// Mail to `url` over SMTP, with a fast worker and fast retries.
pub fn smtp_to(url: String) -> impl FnOnce(&mut Settings) {
    move |settings| {
        settings.mail.transport = MailTransport::Smtp {
            url: Secret::new(url),
        };
        settings.mail.smtp_timeout = Duration::from_secs(2);
        settings.mail.poll_interval = Duration::from_millis(50);
        settings.mail.retry.first_delay = chrono::Duration::milliseconds(100);
        settings.mail.retry.max_delay = chrono::Duration::milliseconds(400);
        settings.mail.retry.max_attempts = 1_000;
    }
}

async fn decide(app: &TestApp, admin: &str, email: &str, action: &str) {
    let id = app.register(email).await["id"].as_i64().unwrap();
    let response = app
        .patch(
            &format!("/confirm-users/{id}/"),
            json!({"action": action}),
            admin,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// The domain says when it has queued mail, and the worker goes at once:
/// with a poll an hour apart, a decision's mail still arrives within the
/// wait.
async fn queued_mail_wakes_the_worker_without_waiting_for_its_poll(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, |settings| {
        smtp_to(smtp.url())(settings);
        settings.mail.poll_interval = Duration::from_secs(3600);
    })
    .await;
    let admin = app.admin_token().await;
    // The worker's first look, at start-up, is behind it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    decide(&app, &admin, "ann@example.com", "accept").await;
    let received = smtp.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1, "the decision's mail waited for the poll");
    assert_eq!(received[0].to, ["ann@example.com"]);
}

async fn accept_and_reject_each_deliver_one_message(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, smtp_to(smtp.url())).await;
    let admin = app.admin_token().await;
    decide(&app, &admin, "ann@example.com", "accept").await;
    decide(&app, &admin, "bob@example.com", "reject").await;

    let received = smtp.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2);
    let to_ann = received
        .iter()
        .find(|m| m.to == ["ann@example.com"])
        .unwrap();
    assert_eq!(
        to_ann.header("Subject").as_deref(),
        Some("Your registration has been accepted")
    );
    // Anyone may register anyone's address: until it proves itself, mail
    // to it greets plainly, never by the names the registrant typed.
    let text = to_ann.text_body().unwrap();
    assert!(text.starts_with("Hello!"), "{text}");
    assert!(!text.contains("Ann Lee"), "{text}");
    assert!(to_ann.data.contains("You can now log in."));
    let to_bob = received
        .iter()
        .find(|m| m.to == ["bob@example.com"])
        .unwrap();
    assert_eq!(
        to_bob.header("Subject").as_deref(),
        Some("Your registration has been rejected")
    );
    assert!(to_bob.data.contains("your registration has been rejected"));

    // Nothing is sent twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 2);
}

async fn a_mail_outage_delays_the_message_but_never_the_decision(db: &TestDatabase) {
    let port = TestSmtpServer::reserve_port();
    let app = TestApp::spawn_with(db, smtp_to(format!("smtp://127.0.0.1:{port}"))).await;
    let admin = app.admin_token().await;
    // The mail server is down: the decision still succeeds.
    decide(&app, &admin, "ann@example.com", "accept").await;
    let login = app
        .log_in("ann@example.com", crate::helpers::USER_PASSWORD)
        .await;
    assert_eq!(login.status(), StatusCode::OK);

    let outbox = DieselOutboxRepository::new(db.connect().await);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let unsent = outbox.unsent(10).await.unwrap();
        if unsent.first().is_some_and(|m| m.attempts >= 2) {
            assert!(unsent[0].last_error.is_some());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no retry was recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The server comes back: the message arrives, once.
    let smtp = TestSmtpServer::start_on(port);
    let received = smtp.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, ["ann@example.com"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(outbox.backlog().await.unwrap().pending, 0);
}

/// A mail server that accepts connections and never greets: each attempt
/// ends at `SMTP_TIMEOUT_SECONDS` and is recorded as a retry, every queued
/// message gets its attempts, and all arrive once a real server answers.
async fn a_mail_server_that_never_greets_is_retried_not_waited_for(db: &TestDatabase) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    silent.set_nonblocking(true).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let holder = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            // Accept and hold every connection, saying nothing.
            let mut held = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok((stream, _)) = silent.accept() {
                    held.push(stream);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    });
    let app = TestApp::spawn_with(db, |settings| {
        smtp_to(format!("smtp://127.0.0.1:{port}"))(settings);
        settings.mail.smtp_timeout = Duration::from_secs(1);
    })
    .await;
    let admin = app.admin_token().await;
    decide(&app, &admin, "ann@example.com", "accept").await;
    decide(&app, &admin, "bob@example.com", "reject").await;

    let outbox = DieselOutboxRepository::new(db.connect().await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let unsent = outbox.unsent(10).await.unwrap();
        if unsent.len() == 2 && unsent.iter().all(|m| m.attempts >= 2) {
            for message in &unsent {
                let error = message.last_error.as_deref().unwrap_or_default();
                assert!(error.contains("within 1 s"), "{error}");
            }
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "attempts were not recorded: {unsent:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    holder.join().unwrap();
    let smtp = TestSmtpServer::start_on(port);
    let received = smtp.wait_for(2, WAIT).await;
    assert_eq!(received.len(), 2);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.received().len(), 2);
}

async fn the_file_transport_writes_the_decision_as_eml(db: &TestDatabase) {
    let folder = std::env::temp_dir().join(format!("authusers-eml-{}", unique_suffix()));
    let target = folder.clone();
    let app = TestApp::spawn_with(db, move |settings| {
        settings.mail.transport = MailTransport::File { folder: target };
        settings.mail.poll_interval = Duration::from_millis(50);
    })
    .await;
    let admin = app.admin_token().await;
    decide(&app, &admin, "ann@example.com", "accept").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let file = loop {
        let found = std::fs::read_dir(&folder)
            .ok()
            .and_then(|mut entries| entries.next())
            .and_then(Result::ok);
        if let Some(entry) = found {
            break entry.path();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no .eml was written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(file.extension().is_some_and(|e| e == "eml"));
    assert!(text.contains("To: ann@example.com"));
    assert!(text.contains("Subject: Your registration has been accepted"));
    std::fs::remove_dir_all(&folder).unwrap();
}

fn unique_suffix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

async fn two_workers_deliver_a_hundred_messages_without_duplicates(db: &TestDatabase) {
    test_support::queue_decision_emails(&db.connect().await, 100).await;
    let smtp = TestSmtpServer::start();
    let mut settings = crate::helpers::test_settings();
    smtp_to(smtp.url())(&mut settings);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let settings = settings.clone();
            // A pool of its own on the same database, as a second process has.
            let database = Database::connect(&DatabaseConfig::new(db.url().clone())).unwrap();
            tokio::spawn(async move {
                let delivery = outbox_delivery(&settings, database, Arc::new(SystemClock)).unwrap();
                let mut sent = 0;
                loop {
                    let report = delivery.deliver_due().await.unwrap();
                    if report.attempted() == 0 {
                        return sent;
                    }
                    sent += report.sent;
                }
            })
        })
        .collect();
    let mut sent = 0;
    for worker in workers {
        sent += worker.await.unwrap();
    }
    assert_eq!(sent, 100);
    let received = smtp.wait_for(100, WAIT).await;
    assert_eq!(received.len(), 100);
    let ids: HashSet<String> = received
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 100, "a message was delivered twice");
}

on_both_backends!(
    queued_mail_wakes_the_worker_without_waiting_for_its_poll,
    mail_goes_to_the_stored_address,
    accept_and_reject_each_deliver_one_message,
    a_mail_outage_delays_the_message_but_never_the_decision,
    a_mail_server_that_never_greets_is_retried_not_waited_for,
    the_file_transport_writes_the_decision_as_eml,
    two_workers_deliver_a_hundred_messages_without_duplicates,
);

/// Mail goes to exactly the address stored: the IDNA form of the domain.
async fn mail_goes_to_the_stored_address(db: &TestDatabase) {
    let smtp = TestSmtpServer::start();
    let app = TestApp::spawn_with(db, smtp_to(smtp.url())).await;
    let admin = app.admin_token().await;
    decide(&app, &admin, "Dora@BÜCHER.example", "accept").await;
    let received = smtp.wait_for(1, WAIT).await;
    assert_eq!(received[0].to, ["Dora@xn--bcher-kva.example"]);
}
