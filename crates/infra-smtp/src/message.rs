use authusers_domain::notification::OutgoingEmail;
use authusers_domain::outbox::MailerError;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MAIL_FROM {0:?} is not a valid sender: use an address or `Name <address>`")]
pub struct SenderError(pub String);

/// Parses the configured sender, such as `AuthUsers <no-reply@example.com>`.
pub fn parse_sender(raw: &str) -> Result<Mailbox, SenderError> {
    raw.trim().parse().map_err(|_| SenderError(raw.to_owned()))
}

/// The longest line RFC 5322 allows, without its CRLF.
const MAX_LINE_BYTES: usize = 998;

/// A text part as it reads: 7-bit with its lines untouched when it is ASCII
/// and every line is within RFC 5322's limit, so that a long link stays
/// whole even in the raw message (lettre alone would quote-print any line
/// over 76 characters and split it). Anything else gets lettre's choice.
fn readable_body(text: &str) -> Body {
    let seven_bit = text.is_ascii()
        && !text.contains(['\0', '\r'])
        && text.lines().all(|line| line.len() <= MAX_LINE_BYTES);
    if !seven_bit {
        return Body::new(text.to_owned());
    }
    let mut crlf = text.lines().collect::<Vec<_>>().join("\r\n");
    if text.ends_with('\n') {
        crlf.push_str("\r\n");
    }
    Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
}

fn part(content_type: ContentType, text: &str) -> SinglePart {
    SinglePart::builder()
        .header(content_type)
        .body(readable_body(text))
}

/// The MIME message: plain text and HTML alternatives, under `message_id`.
pub(crate) fn build(
    from: &Mailbox,
    message_id: &str,
    email: &OutgoingEmail,
) -> Result<Message, MailerError> {
    let to: Mailbox = email
        .to
        .as_str()
        .parse()
        .map_err(|e| MailerError::permanent("recipient", e))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .message_id(Some(message_id.to_owned()))
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &email.text_body))
                .singlepart(part(ContentType::TEXT_HTML, &email.html_body)),
        )
        .map_err(|e| MailerError::permanent("building the message", e))
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
    fn a_long_link_stays_whole_in_the_raw_message() {
        let from = parse_sender("AuthUsers <no-reply@example.com>").unwrap();
        let link = format!(
            "https://app.example.com/password/reset/confirm/Mg/{}/",
            "x".repeat(43)
        );
        let email = OutgoingEmail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Reset your password".into(),
            text_body: format!("Hello, Ann!\n\nOpen this link:\n\n{link}\n"),
            html_body: format!("<p><a href=\"{link}\">{link}</a></p>"),
        };
        let raw = String::from_utf8(build(&from, "<a@b>", &email).unwrap().formatted()).unwrap();
        assert!(raw.contains(&format!("\r\n{link}\r\n")), "{raw}");
        assert!(raw.contains(&format!("href=\"{link}\"")), "{raw}");
        assert!(!raw.contains("quoted-printable"));
    }

    #[test]
    fn a_line_over_998_bytes_is_encoded() {
        let long = "a".repeat(MAX_LINE_BYTES + 1);
        assert_ne!(
            readable_body(&long).encoding(),
            ContentTransferEncoding::SevenBit
        );
        let longest = "a".repeat(MAX_LINE_BYTES);
        assert_eq!(
            readable_body(&longest).encoding(),
            ContentTransferEncoding::SevenBit
        );
    }

    #[test]
    fn text_that_is_not_ascii_is_still_encoded() {
        let from = parse_sender("AuthUsers <no-reply@example.com>").unwrap();
        let email = OutgoingEmail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Сброс пароля".into(),
            text_body: "Здравствуйте, Анна!".into(),
            html_body: "<p>Здравствуйте, Анна!</p>".into(),
        };
        let raw = String::from_utf8(build(&from, "<a@b>", &email).unwrap().formatted()).unwrap();
        assert!(raw.is_ascii());
        assert!(!raw.contains("7bit"));
    }

    #[test]
    fn refuses_a_bad_sender() {
        assert!(parse_sender("not an address").is_err());
    }
}
