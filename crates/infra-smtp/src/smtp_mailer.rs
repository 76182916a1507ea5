use std::time::Duration;

use async_trait::async_trait;
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::outbox::{Mailer, MailerError};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::message;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SMTP_URL is not valid ({0}): use smtp://host:25, smtp://user:password@host:587?tls=required (STARTTLS) or smtps://user:password@host:465 (TLS)")]
pub struct SmtpUrlError(String);

/// Sends over SMTP with lettre on tokio, TLS by rustls. Create and drop it
/// on the tokio runtime: its connection pool lives there.
pub struct SmtpMailer {
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// `SMTP_TIMEOUT_SECONDS`: the most a whole send may take.
    timeout: Duration,
}

impl SmtpMailer {
    /// `url` as lettre reads it: `smtp://` (plain, or STARTTLS with
    /// `?tls=required` / `?tls=opportunistic`), `smtps://` (implicit TLS),
    /// with optional `user:password@`.
    /// Whether lettre accepts `url`, without connecting or starting a pool.
    pub fn check_url(url: &str) -> Result<(), SmtpUrlError> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map(|_| ())
            .map_err(|e| SmtpUrlError(without_url(&e.to_string())))
    }

    pub fn new(url: &str, from: Mailbox, timeout: Duration) -> Result<Self, SmtpUrlError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            // Never echo the URL: it may hold a password.
            .map_err(|e| SmtpUrlError(without_url(&e.to_string())))?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            from,
            transport,
            timeout,
        })
    }
}

fn without_url(message: &str) -> String {
    message.split("://").next().unwrap_or(message).to_owned()
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message_id: &str, email: &OutgoingEmail) -> Result<(), MailerError> {
        let message = message::build(&self.from, message_id, email)?;
        // lettre's own time-out covers connecting and some exchanges, not
        // all: a server that accepts the connection and never greets would
        // hold the send, and every message behind it, for good. The whole
        // conversation is bounded here; running out is worth a retry.
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(sent) => sent
                .map(|_| ())
                .map_err(|e| MailerError::new("sending over SMTP", e.is_permanent(), e)),
            Err(elapsed) => Err(MailerError::transient(
                format!(
                    "the SMTP server did not finish the conversation within {} s",
                    self.timeout.as_secs_f64()
                ),
                elapsed,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "no-reply@example.com".parse().unwrap()
    }

    // The pooled transport lives on the tokio runtime.
    #[tokio::test]
    async fn accepts_each_kind_of_url() {
        for url in [
            "smtp://localhost:2525",
            "smtp://user:secret@mail.example.com:587?tls=required",
            "smtps://user:secret@mail.example.com:465",
        ] {
            assert!(
                SmtpMailer::new(url, from(), Duration::from_secs(5)).is_ok(),
                "{url}"
            );
        }
    }

    /// A server that accepts the connection and never says a word: the
    /// send gives up at the time-out, as a failure worth a retry.
    #[tokio::test]
    async fn a_server_that_never_greets_fails_the_send_at_the_time_out() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = std::thread::spawn(move || {
            let accepted: Vec<_> = silent.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(5));
            drop(accepted);
        });
        let mailer = SmtpMailer::new(
            &format!("smtp://127.0.0.1:{port}"),
            from(),
            Duration::from_secs(1),
        )
        .unwrap();
        let email = OutgoingEmail {
            to: authusers_domain::Email::parse("ann@example.com").unwrap(),
            subject: "Hello".into(),
            text_body: "Hello".into(),
            html_body: "<p>Hello</p>".into(),
        };
        let started = std::time::Instant::now();
        let error = mailer.send("<id@example.com>", &email).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(!error.permanent, "{error}");
        assert!(error.to_string().contains("within 1 s"), "{error}");
        held.join().unwrap();
    }

    #[tokio::test]
    async fn refuses_other_schemes_without_echoing_secrets() {
        let error = SmtpMailer::new("http://user:secret@host", from(), Duration::from_secs(5))
            .err()
            .unwrap();
        assert!(!error.to_string().contains("secret"));
    }
}
