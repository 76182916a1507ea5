//! How each domain error reads over HTTP.

use actix_web::http::StatusCode;
use authusers_domain::accounts::{
    DecideError, ListPendingError, LoginError, ProfileError, RegisterError,
};
use authusers_domain::wallet::ChangeBalanceError;
use authusers_domain::FieldErrors;

use crate::problem::Problem;

impl From<RegisterError> for Problem {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::Invalid(errors) => Problem::validation(errors),
            RegisterError::EmailTaken => Problem::field_errors(
                "email_taken",
                FieldErrors::single("email", "A user with this email address already exists."),
            ),
            RegisterError::Hashing(e) => Problem::internal(&e),
            RegisterError::Repository(e) => Problem::internal(&e),
        }
    }
}

impl From<LoginError> for Problem {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid credentials",
                "No active account found with the given credentials.",
            ),
            LoginError::AccountPending => Problem::new(
                StatusCode::FORBIDDEN,
                "account_pending",
                "Account pending",
                "The registration is waiting for an administrator's approval.",
            ),
            LoginError::AccountRejected => Problem::new(
                StatusCode::FORBIDDEN,
                "account_rejected",
                "Account rejected",
                "The registration was rejected by an administrator.",
            ),
            LoginError::Hashing(e) => Problem::internal(&e),
            LoginError::Repository(e) => Problem::internal(&e),
        }
    }
}

impl From<ProfileError> for Problem {
    fn from(error: ProfileError) -> Self {
        match error {
            ProfileError::NotFound => Problem::token_not_valid(),
            ProfileError::Invalid(errors) => Problem::validation(errors),
            ProfileError::Repository(e) => Problem::internal(&e),
        }
    }
}

impl From<ListPendingError> for Problem {
    fn from(error: ListPendingError) -> Self {
        match error {
            ListPendingError::Forbidden => Problem::permission_denied(),
            ListPendingError::Repository(e) => Problem::internal(&e),
        }
    }
}

impl From<DecideError> for Problem {
    fn from(error: DecideError) -> Self {
        match error {
            DecideError::Forbidden => Problem::permission_denied(),
            DecideError::NotFound => Problem::not_found("No user with this id."),
            DecideError::AlreadyDecided(status) => Problem::new(
                StatusCode::CONFLICT,
                "already_decided",
                "Already decided",
                format!("This registration was already {}.", status.as_str()),
            ),
            DecideError::Repository(e) => Problem::internal(&e),
        }
    }
}

impl From<ChangeBalanceError> for Problem {
    fn from(error: ChangeBalanceError) -> Self {
        match error {
            ChangeBalanceError::Invalid(errors) => Problem::validation(errors),
            ChangeBalanceError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
                "This Idempotency-Key was already used for a different request.",
            ),
            ChangeBalanceError::UserNotFound => Problem::token_not_valid(),
            ChangeBalanceError::Repository(e) => Problem::internal(&e),
        }
    }
}
