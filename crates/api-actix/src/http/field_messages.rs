//! Field errors as the contract words them: Django REST framework's and
//! djoser's sentences, for the domain's typed errors and for the checks
//! this adapter makes itself.

use std::collections::BTreeMap;

use authusers_domain::accounts::{SearchTermError, MAX_SEARCH_CHARS};
use authusers_domain::balance::IdempotencyKeyError;
use authusers_domain::email::{self, EmailError};
use authusers_domain::money::AmountError;
use authusers_domain::pagination::{PageRequestError, MAX_PAGE_LIMIT, MAX_PAGE_OFFSET};
use authusers_domain::password::{PasswordError, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use authusers_domain::person_name::{PersonNameError, MAX_NAME_CHARS};
use authusers_domain::{FieldError, FieldErrors};

/// DRF's key for errors about a request as a whole, not one field.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// Messages per request field, so that one answer names every bad field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMessages(BTreeMap<String, Vec<String>>);

impl FieldMessages {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, error: impl Wording) -> Self {
        let mut messages = Self::new();
        messages.add(field, error);
        messages
    }

    pub fn add(&mut self, field: &str, error: impl Wording) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(error.wording());
    }

    /// Keeps `value` if it parsed, records its error under `field` otherwise.
    pub fn collect<T, E: Wording>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|e| self.add(field, e)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> &BTreeMap<String, Vec<String>> {
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

impl From<FieldErrors> for FieldMessages {
    fn from(errors: FieldErrors) -> Self {
        let mut messages = Self::new();
        for (field, errors) in errors {
            // DRF's key for errors about the request as a whole.
            let field = if field == FieldErrors::WHOLE_REQUEST {
                NON_FIELD_ERRORS
            } else {
                &field
            };
            for error in errors {
                messages.add(field, error);
            }
        }
        messages
    }
}

/// How a client reads an error: the contract's sentence for it.
pub trait Wording {
    fn wording(&self) -> String;
}

/// This adapter's own messages, already worded.
impl Wording for &str {
    fn wording(&self) -> String {
        (*self).to_owned()
    }
}

impl Wording for String {
    fn wording(&self) -> String {
        self.clone()
    }
}

impl Wording for FieldError {
    fn wording(&self) -> String {
        match self {
            Self::Email(e) => e.wording(),
            Self::PersonName(e) => e.wording(),
            Self::Password(e) => e.wording(),
            Self::SearchTerm(e) => e.wording(),
            Self::UnknownStatus(raw) => {
                format!(
                    "Select a valid choice. \"{raw}\" is not one of pending, approved, rejected."
                )
            }
            Self::WrongPassword => "Invalid password.".into(),
            Self::Mismatch(what) => format!("The two {what} fields didn't match."),
            Self::InvalidToken => "Invalid token for given user.".into(),
        }
    }
}

impl Wording for EmailError {
    fn wording(&self) -> String {
        match self {
            Self::Blank => "This field may not be blank.".into(),
            Self::TooLong => format!(
                "Ensure this field has no more than {} characters.",
                email::MAX_LENGTH
            ),
            Self::Invalid => "Enter a valid email address.".into(),
        }
    }
}

impl Wording for PersonNameError {
    fn wording(&self) -> String {
        match self {
            Self::TooLong => {
                format!("Ensure this field has no more than {MAX_NAME_CHARS} characters.")
            }
            Self::ControlCharacter => "Names may not contain control characters.".into(),
            Self::InvisibleCharacter => {
                "Names may not contain invisible or direction-changing characters.".into()
            }
        }
    }
}

impl Wording for PasswordError {
    fn wording(&self) -> String {
        match self {
            Self::TooShort => format!(
                "This password is too short. It must contain at least {MIN_PASSWORD_CHARS} characters."
            ),
            Self::TooLong => {
                format!("This password is too long. It must be at most {MAX_PASSWORD_BYTES} bytes.")
            }
            Self::EntirelyNumeric => "This password is entirely numeric.".into(),
            Self::TooCommon => "This password is too common.".into(),
            Self::TooSimilar(attribute) => {
                format!("The password is too similar to the {attribute}.")
            }
        }
    }
}

impl Wording for SearchTermError {
    fn wording(&self) -> String {
        match self {
            Self::TooLong => {
                format!("Ensure this field has no more than {MAX_SEARCH_CHARS} characters.")
            }
            Self::ControlCharacter => "Search terms may not contain control characters.".into(),
        }
    }
}

impl Wording for AmountError {
    fn wording(&self) -> String {
        match self {
            Self::NotANumber => "A valid number is required.",
            Self::NotPositive => "Ensure this value is greater than 0.",
            Self::TooManyDecimalPlaces => "Ensure that there are no more than 2 decimal places.",
            Self::TooLarge => "Ensure this value is less than or equal to 1000000000.00.",
        }
        .into()
    }
}

impl Wording for IdempotencyKeyError {
    fn wording(&self) -> String {
        "Use 1 to 255 visible ASCII characters.".into()
    }
}

impl Wording for PageRequestError {
    fn wording(&self) -> String {
        match self {
            Self::LimitTooSmall => "Ensure this value is greater than or equal to 1.".into(),
            Self::LimitTooLarge => {
                format!("Ensure this value is less than or equal to {MAX_PAGE_LIMIT}.")
            }
            Self::OffsetTooLarge => {
                format!("Ensure this value is less than or equal to {MAX_PAGE_OFFSET}.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authusers_domain::Retyped;

    #[test]
    fn domain_errors_read_as_the_contract_words_them() {
        let mut errors = FieldErrors::new();
        errors.add("email", EmailError::Invalid);
        errors.add("password", PasswordError::TooSimilar("email address"));
        errors.add("password", PasswordError::TooShort);
        errors.add(
            FieldErrors::WHOLE_REQUEST,
            FieldError::Mismatch(Retyped::Password),
        );
        let messages = FieldMessages::from(errors);
        assert_eq!(messages.fields()["email"], ["Enter a valid email address."]);
        assert_eq!(
            messages.fields()["password"],
            [
                "The password is too similar to the email address.",
                "This password is too short. It must contain at least 8 characters."
            ]
        );
        assert_eq!(
            messages.fields()["non_field_errors"],
            ["The two password fields didn't match."]
        );
        assert_eq!(
            EmailError::TooLong.wording(),
            "Ensure this field has no more than 254 characters."
        );
        assert_eq!(
            PageRequestError::LimitTooLarge.wording(),
            "Ensure this value is less than or equal to 500."
        );
    }
}
