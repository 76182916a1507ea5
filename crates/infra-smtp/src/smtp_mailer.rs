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
        Ok(Self { from, transport })
    }
}

fn without_url(message: &str) -> String {
    message.split("://").next().unwrap_or(message).to_owned()
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message_id: &str, email: &OutgoingEmail) -> Result<(), MailerError> {
        let message = message::build(&self.from, message_id, email)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailerError::new("sending over SMTP", e.is_permanent(), e))
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

    #[tokio::test]
    async fn refuses_other_schemes_without_echoing_secrets() {
        let error = SmtpMailer::new("http://user:secret@host", from(), Duration::from_secs(5))
            .err()
            .unwrap();
        assert!(!error.to_string().contains("secret"));
    }
}
