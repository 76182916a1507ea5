use authusers_domain::notification::OutgoingEmail;
use authusers_domain::ports::MailerError;
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MAIL_FROM {0:?} is not a valid sender: use an address or `Name <address>`")]
pub struct SenderError(pub String);

/// Parses the configured sender, such as `AuthUsers <no-reply@example.com>`.
pub fn parse_sender(raw: &str) -> Result<Mailbox, SenderError> {
    raw.trim().parse().map_err(|_| SenderError(raw.to_owned()))
}

/// The MIME message: plain text and HTML alternatives, under `message_id`.
pub(crate) fn build(
    from: &Mailbox,
    message_id: &str,
    email: &OutgoingEmail,
) -> Result<Message, MailerError> {
    let to: Mailbox = email.to.as_str().parse().map_err(|e| MailerError {
        message: format!("recipient: {e}"),
        permanent: true,
    })?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(message_id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            email.text_body.clone(),
            email.html_body.clone(),
        ))
        .map_err(|e| MailerError {
            message: format!("building the message: {e}"),
            permanent: true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use authusers_domain::Email;

    #[test]
    fn builds_both_alternatives_under_the_message_id() {
        let from = parse_sender("AuthUsers <no-reply@example.com>").unwrap();
        let email = OutgoingEmail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Your registration has been accepted".into(),
            text_body: "Hello, Ann!".into(),
            html_body: "<p>Hello, Ann!</p>".into(),
        };
        let message = build(&from, "<abc@authusers>", &email).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <abc@authusers>"), "{raw}");
        assert!(raw.contains("To: ann@example.com"));
        assert!(raw.contains("Subject: Your registration has been accepted"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
    }

    #[test]
    fn refuses_a_bad_sender() {
        assert!(parse_sender("not an address").is_err());
    }
}
