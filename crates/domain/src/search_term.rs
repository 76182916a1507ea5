//! The text a user list is searched for.

/// The most characters a search term may have: the longest e-mail.
pub const MAX_SEARCH_CHARS: usize = 254;

/// Text that an e-mail or a name contains, case-insensitively. Never
/// empty; the repository matches it literally (`%` and `_` are not
/// wildcards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchTermError {
    #[error("the search term is longer than {MAX_SEARCH_CHARS} characters")]
    TooLong,
    #[error("the search term holds a control character")]
    ControlCharacter,
}

impl SearchTerm {
    /// `None` for a blank term: no filter.
    pub fn parse(raw: &str) -> Result<Option<Self>, SearchTermError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_SEARCH_CHARS {
            return Err(SearchTermError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(SearchTermError::ControlCharacter);
        }
        Ok((!trimmed.is_empty()).then(|| Self(trimmed.to_lowercase())))
    }

    /// The term, lower-cased.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_at_the_limit() {
        let longest = "я".repeat(MAX_SEARCH_CHARS);
        assert!(SearchTerm::parse(&longest).unwrap().is_some());
        assert_eq!(
            SearchTerm::parse(&format!("{longest}я")),
            Err(SearchTermError::TooLong)
        );
        assert_eq!(
            SearchTerm::parse("a\u{0}b"),
            Err(SearchTermError::ControlCharacter)
        );
    }
}
