//! The mail transports against a real SMTP server and a real folder.

use std::time::Duration;

use authusers_domain::notification::OutgoingEmail;
use authusers_domain::outbox::Mailer;
use authusers_domain::Email;
use authusers_infra_smtp::test_support::TestSmtpServer;
use authusers_infra_smtp::{parse_sender, FileMailer, SmtpMailer};

fn email() -> OutgoingEmail {
    OutgoingEmail {
        to: Email::parse("ann@example.com").unwrap(),
        subject: "Your registration has been accepted".into(),
        text_body: "Hello, Ann Lee!\n\nYour registration has been accepted.\n".into(),
        html_body: "<p>Hello, Ann Lee!</p>".into(),
    }
}

fn sender() -> lettre::message::Mailbox {
    parse_sender("AuthUsers <no-reply@example.com>").unwrap()
}

#[tokio::test]
async fn smtp_delivers_to_the_recipient_with_subject_body_and_message_id() {
    let server = TestSmtpServer::start();
    let mailer = SmtpMailer::new(&server.url(), sender(), Duration::from_secs(5)).unwrap();
    mailer.send("<m-1@authusers>", &email()).await.unwrap();
    let received = server.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail.to, ["ann@example.com"]);
    assert_eq!(mail.from, "no-reply@example.com");
    assert_eq!(
        mail.header("Message-ID").as_deref(),
        Some("<m-1@authusers>")
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Your registration has been accepted")
    );
    assert!(mail.data.contains("Hello, Ann Lee!"), "{}", mail.data);
    assert!(mail.data.contains("<p>Hello, Ann Lee!</p>"));
}

#[tokio::test]
async fn a_server_that_is_down_is_a_transient_failure() {
    let port = TestSmtpServer::reserve_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let mailer = SmtpMailer::new(&url, sender(), Duration::from_secs(2)).unwrap();
    let error = mailer.send("<m-2@authusers>", &email()).await.unwrap_err();
    assert!(!error.permanent, "{error}");
    // lettre's error is kept as the cause, and the recorded text shows it.
    let cause = std::error::Error::source(&error).expect("lettre's error");
    assert!(
        error
            .chain()
            .starts_with(&format!("sending over SMTP: {cause}")),
        "{}",
        error.chain()
    );
}

#[tokio::test]
async fn the_file_transport_writes_a_readable_eml() {
    let folder = std::env::temp_dir().join(format!("authusers-mail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let mailer = FileMailer::new(&folder, sender()).unwrap();
    mailer.send("<m-3@authusers>", &email()).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("To: ann@example.com"), "{text}");
    assert!(text.contains("Subject: Your registration has been accepted"));
    assert!(text.contains("Message-ID: <m-3@authusers>"));
    assert!(text.contains("Hello, Ann Lee!"));
    std::fs::remove_dir_all(&folder).unwrap();
}
