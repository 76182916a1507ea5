//! The e-mails the service sends, composed here so that their wording is a
//! rule of the domain, not of a mail adapter.

use crate::{Decision, Email, User};

/// The language of outgoing mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    English,
    Russian,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Russian => "ru",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "en" | "english" => Some(Self::English),
            "ru" | "russian" => Some(Self::Russian),
            _ => None,
        }
    }
}

/// A message ready for any mail transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: Email,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
}

impl OutgoingEmail {
    /// The message telling `user` how their registration was decided.
    pub fn registration_decision(user: &User, decision: Decision, language: Language) -> Self {
        let name = greeting_name(user);
        let (subject, line) = match (language, decision) {
            (Language::English, Decision::Accept) => (
                "Your registration has been accepted",
                "Your registration has been accepted. You can now log in.",
            ),
            (Language::English, Decision::Reject) => (
                "Your registration has been rejected",
                "We are sorry: your registration has been rejected.",
            ),
            (Language::Russian, Decision::Accept) => (
                "Ваша регистрация одобрена",
                "Ваша регистрация одобрена. Теперь вы можете войти.",
            ),
            (Language::Russian, Decision::Reject) => (
                "Ваша регистрация отклонена",
                "К сожалению, ваша регистрация отклонена.",
            ),
        };
        let hello = match language {
            Language::English => "Hello",
            Language::Russian => "Здравствуйте",
        };
        let text_body = format!("{hello}, {name}!\n\n{line}\n");
        let html_body = format!(
            "<!DOCTYPE html>\n<html><body><p>{hello}, {}!</p><p>{}</p></body></html>\n",
            escape_html(&name),
            escape_html(line)
        );
        Self {
            to: user.email.clone(),
            subject: subject.to_owned(),
            text_body,
            html_body,
        }
    }
}

/// First and last name when known, otherwise the e-mail's local part.
fn greeting_name(user: &User) -> String {
    let full = format!("{} {}", user.first_name, user.last_name);
    let full = full.trim();
    if full.is_empty() {
        user.email.local_part().to_owned()
    } else {
        full.to_owned()
    }
}

fn escape_html(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::fixtures::user;
    use crate::{PersonName, UserStatus};

    #[test]
    fn acceptance_greets_the_user_by_name() {
        let user = user(1, UserStatus::Approved);
        let mail = OutgoingEmail::registration_decision(&user, Decision::Accept, Language::English);
        assert_eq!(mail.to, user.email);
        assert_eq!(mail.subject, "Your registration has been accepted");
        assert!(mail.text_body.starts_with("Hello, Ada Lovelace!"));
        assert!(mail.html_body.contains("<p>Hello, Ada Lovelace!</p>"));
    }

    #[test]
    fn rejection_in_russian() {
        let user = user(1, UserStatus::Rejected);
        let mail = OutgoingEmail::registration_decision(&user, Decision::Reject, Language::Russian);
        assert_eq!(mail.subject, "Ваша регистрация отклонена");
        assert!(mail.text_body.contains("отклонена"));
    }

    #[test]
    fn falls_back_to_the_local_part_and_escapes_html() {
        let mut nameless = user(7, UserStatus::Approved);
        nameless.first_name = PersonName::default();
        nameless.last_name = PersonName::default();
        let mail =
            OutgoingEmail::registration_decision(&nameless, Decision::Accept, Language::English);
        assert!(mail.text_body.starts_with("Hello, user7!"));

        let mut odd = user(8, UserStatus::Approved);
        odd.first_name = PersonName::parse("<b>Eve</b>").unwrap();
        let mail = OutgoingEmail::registration_decision(&odd, Decision::Accept, Language::English);
        assert!(mail.html_body.contains("&lt;b&gt;Eve&lt;/b&gt;"));
        assert!(!mail.html_body.contains("<b>Eve"));
    }

    #[test]
    fn languages_parse_from_their_codes() {
        assert_eq!(Language::parse("RU"), Some(Language::Russian));
        assert_eq!(Language::parse("en"), Some(Language::English));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(
            Language::parse(Language::Russian.code()),
            Some(Language::Russian)
        );
    }
}
