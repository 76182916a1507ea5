use std::fmt;

/// A first or last name: trimmed, at most 150 characters, possibly empty
/// (both names are optional at registration, as in Django's user model).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName(String);

pub const MAX_NAME_CHARS: usize = 150;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("Ensure this field has no more than {MAX_NAME_CHARS} characters.")]
    TooLong,
    #[error("Names may not contain control characters.")]
    ControlCharacter,
}

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, PersonNameError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(PersonNameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(PersonNameError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_up_to_150_characters() {
        assert_eq!(PersonName::parse("  Ann ").unwrap().as_str(), "Ann");
        let longest = "я".repeat(MAX_NAME_CHARS);
        assert_eq!(PersonName::parse(&longest).unwrap().as_str(), longest);
        assert!(PersonName::parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_151_characters() {
        let raw = "a".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(PersonName::parse(&raw), Err(PersonNameError::TooLong));
    }

    #[test]
    fn refuses_control_characters() {
        assert_eq!(
            PersonName::parse("Ann\u{0}Lee"),
            Err(PersonNameError::ControlCharacter)
        );
    }
}
