use async_trait::async_trait;
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::ports::{Mailer, MailerError};

/// Development transport: writes each message to the log instead of sending
/// it. The body is logged at `debug` only, so production-level logs never
/// carry message contents.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailerError> {
        tracing::info!(to = %email.to, subject = %email.subject, "e-mail written to the log");
        tracing::debug!(body = %email.text_body, "e-mail body");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authusers_domain::Email;

    #[tokio::test]
    async fn accepts_every_message() {
        let email = OutgoingEmail {
            to: Email::parse("a@example.com").unwrap(),
            subject: "Subject".into(),
            text_body: "Body".into(),
            html_body: "<p>Body</p>".into(),
        };
        assert!(LogMailer.send(&email).await.is_ok());
    }
}
