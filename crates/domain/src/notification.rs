//! The e-mails the service sends, composed here so that their wording is a
//! rule of the domain, not of a mail adapter.

use chrono::Duration;

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

/// One paragraph of a message: text, or a link shown as its own address.
enum Paragraph<'a> {
    Text(&'a str),
    Link(&'a str),
}

impl OutgoingEmail {
    /// A greeting, then `paragraphs`, as plain text and as HTML. The
    /// greeting names the user only when their address has proved itself:
    /// anyone may register someone else's address with a "name" such as
    /// "Visit evil.example now", and this service must not carry that text
    /// to a stranger's inbox.
    fn compose(
        to: &Email,
        user: &User,
        subject: &str,
        language: Language,
        paragraphs: &[Paragraph<'_>],
    ) -> Self {
        let hello = match language {
            Language::English => "Hello",
            Language::Russian => "Здравствуйте",
        };
        let greeting = match greeting_name(user) {
            Some(name) => format!("{hello}, {name}!"),
            None => format!("{hello}!"),
        };
        let mut text_body = format!("{greeting}\n");
        let mut html_body = format!(
            "<!DOCTYPE html>\n<html><body><p>{}</p>",
            escape_html(&greeting)
        );
        for paragraph in paragraphs {
            match paragraph {
                Paragraph::Text(text) => {
                    text_body.push_str(&format!("\n{text}\n"));
                    html_body.push_str(&format!("<p>{}</p>", escape_html(text)));
                }
                Paragraph::Link(url) => {
                    text_body.push_str(&format!("\n{url}\n"));
                    let url = escape_html(url);
                    html_body.push_str(&format!("<p><a href=\"{url}\">{url}</a></p>"));
                }
            }
        }
        html_body.push_str("</body></html>\n");
        Self {
            to: to.clone(),
            subject: subject.to_owned(),
            text_body,
            html_body,
        }
    }

    /// The message telling `user` how their registration was decided.
    pub fn registration_decision(user: &User, decision: Decision, language: Language) -> Self {
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
        Self::compose(
            &user.email,
            user,
            subject,
            language,
            &[Paragraph::Text(line)],
        )
    }

    /// The link that lets `user` choose a new password, valid for `ttl`.
    pub fn password_reset(user: &User, link: &str, ttl: Duration, language: Language) -> Self {
        let within = human_duration(ttl, language);
        let (subject, ask, open, once) = match language {
            Language::English => (
                "Reset your password",
                "Someone, hopefully you, asked to reset the password of your account.".to_owned(),
                format!("To choose a new password, open this link within {within}:"),
                "The link works once. If you did not ask for it, ignore this message: \
                 your password stays as it is.",
            ),
            Language::Russian => (
                "Сброс пароля",
                "Кто-то, надеемся, что вы, попросил сбросить пароль вашей учётной записи."
                    .to_owned(),
                format!("Чтобы выбрать новый пароль, откройте эту ссылку в течение {within}:"),
                "Ссылка работает один раз. Если вы не просили о сбросе, не обращайте \
                 внимания на это письмо: ваш пароль останется прежним.",
            ),
        };
        Self::compose(
            &user.email,
            user,
            subject,
            language,
            &[
                Paragraph::Text(&ask),
                Paragraph::Text(&open),
                Paragraph::Link(link),
                Paragraph::Text(once),
            ],
        )
    }

    /// The link that confirms a new registration's address, valid for
    /// `ttl`; only then does the registration reach the administrators.
    pub fn activation(user: &User, link: &str, ttl: Duration, language: Language) -> Self {
        let within = human_duration(ttl, language);
        let (subject, asked, open, ignore) = match language {
            Language::English => (
                "Confirm your e-mail address",
                "Someone, hopefully you, registered an account with this address.".to_owned(),
                format!("To confirm the address, open this link within {within}:"),
                "Once it is confirmed, an administrator will look at the registration. \
                 If you did not register, ignore this message: nothing happens without \
                 the link.",
            ),
            Language::Russian => (
                "Подтвердите адрес электронной почты",
                "Кто-то, надеемся, что вы, зарегистрировал учётную запись с этим адресом."
                    .to_owned(),
                format!("Чтобы подтвердить адрес, откройте эту ссылку в течение {within}:"),
                "После подтверждения регистрацию рассмотрит администратор. Если вы не \
                 регистрировались, не обращайте внимания на это письмо: без ссылки \
                 ничего не произойдёт.",
            ),
        };
        Self::compose(
            &user.email,
            user,
            subject,
            language,
            &[
                Paragraph::Text(&asked),
                Paragraph::Text(&open),
                Paragraph::Link(link),
                Paragraph::Text(ignore),
            ],
        )
    }

    /// A notice to `user` of a change to their account: what happened, and
    /// what to do if it was not them.
    fn notice(
        user: &User,
        subject: &str,
        language: Language,
        happened: &str,
        warning: &str,
    ) -> Self {
        Self::compose(
            &user.email,
            user,
            subject,
            language,
            &[Paragraph::Text(happened), Paragraph::Text(warning)],
        )
    }

    /// The notice to the old address of `user` that the account moved to
    /// `new_email`, shown masked: the old address may have changed hands.
    pub fn email_changed(user: &User, new_email: &Email, language: Language) -> Self {
        let masked = mask_email(new_email);
        let (subject, changed, warning) = match language {
            Language::English => (
                "Your e-mail address was changed",
                format!("The e-mail address of your account was changed to {masked}."),
                "If you did not do this, contact the administrators at once: \
                 whoever did it knows your password.",
            ),
            Language::Russian => (
                "Ваш адрес электронной почты изменён",
                format!("Адрес электронной почты вашей учётной записи изменён на {masked}."),
                "Если это сделали не вы, немедленно свяжитесь с администраторами: \
                 тот, кто это сделал, знает ваш пароль.",
            ),
        };
        Self::notice(user, subject, language, &changed, warning)
    }
}

/// Who changed a user's second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorChangedBy {
    TheUser,
    AnAdministrator,
}

impl OutgoingEmail {
    /// The notice that a second factor was turned on: the user's other
    /// sessions have ended.
    pub fn second_factor_enabled(user: &User, language: Language) -> Self {
        let (subject, done, warning) = match language {
            Language::English => (
                "Two-step sign-in is on",
                "Two-step sign-in was turned on for your account: signing in now \
                 takes a code from your authenticator app, and your other sessions \
                 have ended.",
                "If you did not do this, reset your password and contact the \
                 administrators at once.",
            ),
            Language::Russian => (
                "Двухэтапный вход включён",
                "Для вашей учётной записи включён двухэтапный вход: теперь для входа \
                 нужен код из приложения-аутентификатора, а другие ваши сеансы \
                 завершены.",
                "Если это сделали не вы, смените пароль и немедленно свяжитесь с \
                 администраторами.",
            ),
        };
        Self::notice(user, subject, language, done, warning)
    }

    /// The notice that a second factor was turned off, by the user or by
    /// an administrator (who also ended the user's sessions).
    pub fn second_factor_removed(user: &User, by: FactorChangedBy, language: Language) -> Self {
        let (subject, done, warning) = match (language, by) {
            (Language::English, FactorChangedBy::TheUser) => (
                "Two-step sign-in is off",
                "Two-step sign-in was turned off for your account: signing in takes \
                 your password only, and your recovery codes no longer work.",
                "If you did not do this, reset your password and contact the \
                 administrators at once.",
            ),
            (Language::English, FactorChangedBy::AnAdministrator) => (
                "Two-step sign-in is off",
                "An administrator turned two-step sign-in off for your account and \
                 ended your sessions: sign in with your password and turn it on again \
                 with your new device.",
                "If you did not ask for this, contact the administrators at once.",
            ),
            (Language::Russian, FactorChangedBy::TheUser) => (
                "Двухэтапный вход выключен",
                "Для вашей учётной записи выключен двухэтапный вход: для входа нужен \
                 только пароль, а коды восстановления больше не действуют.",
                "Если это сделали не вы, смените пароль и немедленно свяжитесь с \
                 администраторами.",
            ),
            (Language::Russian, FactorChangedBy::AnAdministrator) => (
                "Двухэтапный вход выключен",
                "Администратор выключил двухэтапный вход для вашей учётной записи и \
                 завершил ваши сеансы: войдите с паролем и включите его снова на новом \
                 устройстве.",
                "Если вы об этом не просили, немедленно свяжитесь с администраторами.",
            ),
        };
        Self::notice(user, subject, language, done, warning)
    }
}

/// `a***@example.org`: the first character of the local part and the
/// domain.
fn mask_email(email: &Email) -> String {
    let domain = email
        .as_str()
        .rsplit_once('@')
        .map_or("", |(_, domain)| domain);
    let first: String = email.local_part().chars().take(1).collect();
    format!("{first}***@{domain}")
}

/// "60 minutes", "2 hours", "1 day"; in Russian with its plural forms.
fn human_duration(duration: Duration, language: Language) -> String {
    let minutes = duration.num_minutes().max(1);
    let (count, unit) = if minutes % (24 * 60) == 0 {
        (minutes / (24 * 60), 2)
    } else if minutes % 60 == 0 && minutes >= 120 {
        (minutes / 60, 1)
    } else {
        (minutes, 0)
    };
    let word = match language {
        Language::English => {
            let [one, many] = [["minute", "minutes"], ["hour", "hours"], ["day", "days"]][unit];
            if count == 1 {
                one
            } else {
                many
            }
        }
        Language::Russian => {
            // Genitive after "в течение": 1 минуты, 2 минут, 5 минут.
            let [one, many] = [["минуты", "минут"], ["часа", "часов"], ["суток", "суток"]][unit];
            if count % 10 == 1 && count % 100 != 11 {
                one
            } else {
                many
            }
        }
    };
    format!("{count} {word}")
}

/// First and last name when known, otherwise the e-mail's local part; none
/// for an address that has not proved itself.
fn greeting_name(user: &User) -> Option<String> {
    if !user.address_proven() {
        return None;
    }
    let full = format!("{} {}", user.first_name, user.last_name);
    let full = full.trim();
    Some(if full.is_empty() {
        user.email.local_part().to_owned()
    } else {
        full.to_owned()
    })
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(raw: &str) -> String {
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
    use crate::testing::user;
    use crate::{PersonName, UserStatus};

    /// A user whose address proved itself.
    fn proven(mut user: User) -> User {
        user.email_verified_at = Some(crate::testing::at(1));
        user
    }

    #[test]
    fn acceptance_greets_a_user_whose_address_proved_itself_by_name() {
        let user = proven(user(1, UserStatus::Approved));
        let mail = OutgoingEmail::registration_decision(&user, Decision::Accept, Language::English);
        assert_eq!(mail.to, user.email);
        assert_eq!(mail.subject, "Your registration has been accepted");
        assert!(mail.text_body.starts_with("Hello, Ada Lovelace!"));
        assert!(mail.html_body.contains("<p>Hello, Ada Lovelace!</p>"));
    }

    #[test]
    fn mail_to_an_address_that_has_not_proved_itself_carries_no_typed_name() {
        let mut stranger = user(1, UserStatus::Pending);
        stranger.first_name = PersonName::parse("Visit https://evil.example/verify now").unwrap();
        let link = "https://app.example.com/activate/MQ/abc";
        for mail in [
            OutgoingEmail::registration_decision(&stranger, Decision::Accept, Language::English),
            OutgoingEmail::registration_decision(&stranger, Decision::Reject, Language::Russian),
            OutgoingEmail::password_reset(&stranger, link, Duration::hours(1), Language::English),
            OutgoingEmail::activation(&stranger, link, Duration::days(3), Language::English),
            OutgoingEmail::activation(&stranger, link, Duration::days(3), Language::Russian),
            OutgoingEmail::email_changed(
                &stranger,
                &Email::parse("new@example.org").unwrap(),
                Language::English,
            ),
        ] {
            for body in [&mail.text_body, &mail.html_body] {
                assert!(!body.contains("evil"), "{body}");
                assert!(!body.contains("Lovelace"), "{body}");
            }
            assert!(
                mail.text_body.starts_with("Hello!\n")
                    || mail.text_body.starts_with("Здравствуйте!\n"),
                "{}",
                mail.text_body
            );
        }
    }

    #[test]
    fn an_activation_mail_carries_its_link() {
        let user = user(1, UserStatus::Pending);
        let link = "https://app.example.com/activate/MQ/abc?x=1&y=2";
        let mail = OutgoingEmail::activation(&user, link, Duration::days(3), Language::English);
        assert_eq!(mail.to, user.email);
        assert_eq!(mail.subject, "Confirm your e-mail address");
        assert!(mail.text_body.contains(&format!("\n{link}\n")));
        assert!(mail.text_body.contains("within 3 days"));
        assert!(mail
            .html_body
            .contains("href=\"https://app.example.com/activate/MQ/abc?x=1&amp;y=2\""));
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
        let mut nameless = proven(user(7, UserStatus::Approved));
        nameless.first_name = PersonName::default();
        nameless.last_name = PersonName::default();
        let mail =
            OutgoingEmail::registration_decision(&nameless, Decision::Accept, Language::English);
        assert!(mail.text_body.starts_with("Hello, user7!"));

        let mut odd = proven(user(8, UserStatus::Approved));
        odd.first_name = PersonName::parse("<b>Eve</b>").unwrap();
        let mail = OutgoingEmail::registration_decision(&odd, Decision::Accept, Language::English);
        assert!(mail.html_body.contains("&lt;b&gt;Eve&lt;/b&gt;"));
        assert!(!mail.html_body.contains("<b>Eve"));
    }

    #[test]
    fn a_reset_mail_carries_the_link_in_text_and_html() {
        let user = user(1, UserStatus::Approved);
        let link = "https://app.example.com/reset/MQ/abc?x=1&y=2";
        let mail =
            OutgoingEmail::password_reset(&user, link, Duration::hours(1), Language::English);
        assert_eq!(mail.to, user.email);
        assert_eq!(mail.subject, "Reset your password");
        assert!(mail.text_body.contains(&format!("\n{link}\n")));
        assert!(mail.text_body.contains("within 60 minutes"));
        assert!(mail
            .html_body
            .contains("href=\"https://app.example.com/reset/MQ/abc?x=1&amp;y=2\""));
        let russian =
            OutgoingEmail::password_reset(&user, link, Duration::hours(2), Language::Russian);
        assert_eq!(russian.subject, "Сброс пароля");
        assert!(russian.text_body.contains("в течение 2 часов"));
        assert!(russian.text_body.contains(link));
    }

    #[test]
    fn durations_read_naturally() {
        let en = |d| human_duration(d, Language::English);
        let ru = |d| human_duration(d, Language::Russian);
        assert_eq!(en(Duration::minutes(1)), "1 minute");
        assert_eq!(en(Duration::minutes(90)), "90 minutes");
        assert_eq!(en(Duration::hours(3)), "3 hours");
        assert_eq!(en(Duration::days(1)), "1 day");
        assert_eq!(ru(Duration::minutes(21)), "21 минуты");
        assert_eq!(ru(Duration::minutes(11)), "11 минут");
        assert_eq!(ru(Duration::hours(5)), "5 часов");
    }

    #[test]
    fn the_change_notice_goes_to_the_old_address_and_masks_the_new_one() {
        let user = user(1, UserStatus::Approved);
        let new = Email::parse("zed.new@example.org").unwrap();
        let mail = OutgoingEmail::email_changed(&user, &new, Language::English);
        assert_eq!(mail.to.as_str(), "user1@example.com");
        assert!(mail.text_body.contains("z***@example.org"));
        assert!(!mail.text_body.contains("zed.new"));
        let russian = OutgoingEmail::email_changed(&user, &new, Language::Russian);
        assert_eq!(russian.subject, "Ваш адрес электронной почты изменён");
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
