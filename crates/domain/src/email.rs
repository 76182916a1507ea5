use std::fmt;

/// An e-mail address that passed validation and was normalised: surrounding
/// white space trimmed and the domain lower-cased. The local part keeps its
/// case (it may be significant to the receiving server); uniqueness is
/// decided case-insensitively over the whole address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// The most the database column and RFC 5321's path limit allow.
const MAX_LENGTH: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("This field may not be blank.")]
    Blank,
    #[error("Ensure this field has no more than {MAX_LENGTH} characters.")]
    TooLong,
    #[error("Enter a valid email address.")]
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
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let normalised = format!("{local}@{}", domain.to_lowercase());
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal();
        if email_address::EmailAddress::parse_with_options(&normalised, options).is_err()
            || !domain.contains('.')
        {
            return Err(EmailError::Invalid);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form under which two addresses count as the same account.
    pub fn canonical(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn local_part(&self) -> &str {
        self.0
            .rsplit_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
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
    fn trims_and_lowercases_the_domain_only() {
        let email = Email::parse("  John.Doe@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "John.Doe@example.com");
        assert_eq!(email.canonical(), "john.doe@example.com");
        assert_eq!(email.local_part(), "John.Doe");
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
        ] {
            assert_eq!(Email::parse(raw), Err(EmailError::Invalid), "{raw}");
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let raw = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&raw), Err(EmailError::TooLong));
    }
}
