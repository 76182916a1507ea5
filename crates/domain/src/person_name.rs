use std::fmt;

use crate::text::is_invisible;

/// A first or last name: trimmed, at most 150 characters, possibly empty
/// (both names are optional at registration, as in Django's user model).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonName(String);

pub const MAX_NAME_CHARS: usize = 150;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    TooLong,
    #[error("the name holds a control character")]
    ControlCharacter,
    #[error("the name holds an invisible or direction-changing character")]
    InvisibleCharacter,
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
        if trimmed.chars().any(is_invisible) {
            return Err(PersonNameError::InvisibleCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A name as stored, taken as it is: a rule tightened since it was
    /// written must not make its user unreadable.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
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
    fn refuses_invisible_and_direction_changing_characters() {
        for raw in [
            "Ann\u{202E}eeL", // right-to-left override
            "Ann\u{2066}Lee", // left-to-right isolate
            "Ann\u{200F}",    // right-to-left mark
            "A\u{200B}nn",    // zero-width space
            "A\u{200D}nn",    // zero-width joiner
            "A\u{2060}nn",    // word joiner
            "\u{FEFF}Ann",    // byte-order mark
            "Ann\u{2028}Lee", // line separator
            "Ann\u{2029}Lee", // paragraph separator
        ] {
            assert_eq!(
                PersonName::parse(raw),
                Err(PersonNameError::InvisibleCharacter),
                "{raw:?}"
            );
        }
        assert!(PersonName::parse("Zoë O'Brien-Łukasz").is_ok());
        assert!(PersonName::parse("محمد").is_ok());
    }

    #[test]
    fn refuses_control_characters() {
        assert_eq!(
            PersonName::parse("Ann\u{0}Lee"),
            Err(PersonNameError::ControlCharacter)
        );
    }
}
