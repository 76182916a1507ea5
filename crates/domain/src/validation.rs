use std::collections::BTreeMap;

use crate::email::EmailError;
use crate::password::PasswordError;
use crate::person_name::PersonNameError;
use crate::search_term::SearchTermError;

/// Why one field of a request was refused, as the rules see it. How a
/// client reads it is the adapter's to word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    PersonName(#[from] PersonNameError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    SearchTerm(#[from] SearchTermError),
    /// A user status filter that names no status.
    #[error("{0:?} is not pending, approved or rejected")]
    UnknownStatus(String),
    /// The current password, checked before a credential changes, is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A value sent twice to rule out a typo differs from the first.
    #[error("the two {0} values differ")]
    Mismatch(Retyped),
    /// A reset link is malformed, wrong, used or expired, or its user id
    /// names no one: one error for all, so that ids are not told.
    #[error("the token is not valid for the user")]
    InvalidToken,
}

/// The values a client may be asked to send twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retyped {
    Password,
    Email,
}

impl Retyped {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Email => "email",
        }
    }
}

impl std::fmt::Display for Retyped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The errors per request field, collected so that a client learns about
/// every bad field at once rather than one per round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<FieldError>>);

impl FieldErrors {
    /// The key of errors about the request as a whole rather than one of
    /// its fields (two values that should match and do not).
    pub const WHOLE_REQUEST: &'static str = "request";

    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, error: impl Into<FieldError>) -> Self {
        let mut errors = Self::new();
        errors.add(field, error);
        errors
    }

    pub fn add(&mut self, field: &str, error: impl Into<FieldError>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(error.into());
    }

    /// Keeps `value` if it parsed, records its error under `field` otherwise.
    pub fn collect<T, E: Into<FieldError>>(
        &mut self,
        field: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e)).ok()
    }

    /// As [`Self::collect`], for rules that report every failure at once.
    pub fn collect_each<T, E: Into<FieldError>>(
        &mut self,
        field: &str,
        parsed: Result<T, Vec<E>>,
    ) -> Option<T> {
        parsed
            .map_err(|problems| {
                for problem in problems {
                    self.add(field, problem);
                }
            })
            .ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, Vec<FieldError>> {
        &self.0
    }

    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl IntoIterator for FieldErrors {
    type Item = (String, Vec<FieldError>);
    type IntoIter = std::collections::btree_map::IntoIter<String, Vec<FieldError>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = self.0.keys().map(String::as_str).collect();
        write!(f, "invalid fields: {}", fields.join(", "))
    }
}

impl std::error::Error for FieldErrors {}
