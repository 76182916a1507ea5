use async_trait::async_trait;
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::outbox::{Mailer, MailerError};

/// Development transport: notes each message in the log instead of sending
/// it. Bodies are never logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, message_id: &str, email: &OutgoingEmail) -> Result<(), MailerError> {
        tracing::info!(message_id, to = %email.to, subject = %email.subject, "e-mail written to the log");
        Ok(())
    }
}
