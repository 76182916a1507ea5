use std::fmt;

use crate::text::is_invisible;

/// An e-mail address that passed validation and was normalised: white space
/// around it trimmed, the local part as typed, the domain in its ASCII form
/// (IDNA, UTS #46: lower-cased, full-width letters mapped, Unicode labels
/// as `xn--` Punycode), a trailing root dot dropped. Mail goes to exactly
/// this form.
///
/// The local part must be ASCII without quotes, as the service this one
/// replaces (Django's `EmailValidator`) had it: quoted and non-ASCII local
/// parts have look-alikes that mail servers treat differently. So every
/// address is ASCII, and its canonical form, which decides whether two
/// addresses are the same account, is the same on every backend.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// The most the database column and RFC 5321's path limit allow.
pub const MAX_LENGTH: usize = 254;
/// RFC 5321's limit on a local part.
const MAX_LOCAL_LENGTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the address is blank")]
    Blank,
    #[error("the address is longer than {MAX_LENGTH} characters")]
    TooLong,
    #[error("not an e-mail address")]
    Invalid,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Blank);
        }
        if trimmed.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || is_invisible(c))
        {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if !is_dot_atom(local) {
            return Err(EmailError::Invalid);
        }
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| EmailError::Invalid)?;
        if !domain.contains('.') {
            return Err(EmailError::Invalid);
        }
        let address = format!("{local}@{domain}");
        if address.len() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal();
        email_address::EmailAddress::parse_with_options(&address, options)
            .map_err(|_| EmailError::Invalid)?;
        Ok(Self(address))
    }

    /// An address as stored, taken as it is: a rule tightened since it was
    /// written must not make its user unreadable, and mail goes where it
    /// was stored.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// An address to look an account up by, as typed at login or in a
    /// reset request: parsed as at registration or, when today's rules
    /// refuse it, as typed (trimmed) if it could still be an address that
    /// was stored before them (one `@` with something either side, no
    /// white space, control or invisible character, at most 254
    /// characters), so that users moved in from another service with such
    /// an address can log in. `None` for anything else.
    pub fn for_lookup(raw: &str) -> Option<Self> {
        if let Ok(email) = Self::parse(raw) {
            return Some(email);
        }
        let trimmed = raw.trim();
        let (local, domain) = trimmed.split_once('@')?;
        let plausible = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && trimmed.chars().count() <= MAX_LENGTH
            && !trimmed
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || is_invisible(c));
        plausible.then(|| Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form under which two addresses count as the same account: the
    /// whole address lower-cased (it is ASCII, so that is its case folding).
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn local_part(&self) -> &str {
        self.0
            .rsplit_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

/// RFC 5322's dot-atom in ASCII: atoms of letters, digits and
/// ``!#$%&'*+-/=?^_`{|}~``, joined by single dots. No quotes, no comments.
fn is_dot_atom(local: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    (1..=MAX_LOCAL_LENGTH).contains(&local.len())
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_takes_what_registration_takes_and_older_plausible_addresses() {
        assert_eq!(
            Email::for_lookup(" Ann@Example.COM ").unwrap().as_str(),
            "Ann@example.com"
        );
        let older = Email::for_lookup(" odd..dots@example.com ").unwrap();
        assert_eq!(older.as_str(), "odd..dots@example.com");
        for refused in [
            "",
            "no-at-sign",
            "@example.com",
            "ann@",
            "a@b@c",
            "ann smith@example.com",
            "ann\u{200b}@example.com",
            "ann\t@example.com",
        ] {
            assert!(Email::for_lookup(refused).is_none(), "{refused:?}");
        }
        assert!(Email::for_lookup(&format!("{}@example.com", "a".repeat(250))).is_none());
    }

    #[test]
    fn trims_and_lowercases_the_domain_only() {
        let email = Email::parse("  John.Doe@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "John.Doe@example.com");
        assert_eq!(email.canonical(), "john.doe@example.com");
        assert_eq!(email.local_part(), "John.Doe");
    }

    #[test]
    fn reads_domains_through_idna() {
        let cases = [
            ("ann@bücher.example", "ann@xn--bcher-kva.example"),
            ("ann@BÜCHER.EXAMPLE", "ann@xn--bcher-kva.example"),
            ("ann@ｅｘａｍｐｌｅ.com", "ann@example.com"),
            ("ann@EXAMPLE.com.", "ann@example.com"),
            ("ann@xn--bcher-kva.example", "ann@xn--bcher-kva.example"),
        ];
        for (raw, stored) in cases {
            assert_eq!(Email::parse(raw).unwrap().as_str(), stored, "{raw}");
        }
    }

    #[test]
    fn one_canonical_form_for_every_spelling() {
        let spellings = [
            "ann@example.com",
            "ANN@EXAMPLE.COM",
            "Ann@ｅｘａｍｐｌｅ.ｃｏｍ",
        ];
        for spelling in spellings {
            assert_eq!(
                Email::parse(spelling).unwrap().canonical(),
                "ann@example.com",
                "{spelling}"
            );
        }
    }

    #[test]
    fn refuses_blank() {
        assert_eq!(Email::parse("   "), Err(EmailError::Blank));
    }

    #[test]
    fn refuses_malformed_addresses() {
        for raw in [
            "plainaddress",
            "@example.com",
            "user@",
            "user@@example.com",
            "user@localhost",
            "user name@example.com",
            "User <user@example.com>",
            "user@[127.0.0.1]",
            ".ann@example.com",
            "ann.@example.com",
            "a..nn@example.com",
            "ann@-example.com",
            "ann@exa_mple.com",
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Invalid), "{raw}");
        }
    }

    #[test]
    fn refuses_look_alikes() {
        for raw in [
            "\"ann\"@example.com",
            "\"a nn\"@example.com",
            "ÄNN@example.com",
            "änn@example.com",
            "ａｎｎ@example.com",
            "ann\u{200B}@example.com",
            "ann@exa\u{200B}mple.com",
            "ann@exa\u{00AD}mple.com",
            "ann@example.com\u{202E}",
            "ann\u{0}@example.com",
            "ann@exam\u{FE0F}ple.com",
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Invalid), "{raw:?}");
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let raw = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&raw), Err(EmailError::TooLong));
        let local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(Email::parse(&local), Err(EmailError::Invalid));
        let longest_local = format!("{}@example.com", "a".repeat(64));
        assert!(Email::parse(&longest_local).is_ok());
    }
}
