//! How each domain error reads over HTTP.

use crate::http::field_messages::FieldMessages;
use actix_web::http::StatusCode;
use authusers_domain::accounts::PasswordCheckError;
use authusers_domain::accounts::{
    ChangeEmailError, ChangePasswordError, DecideError, DeleteAccountError, EnableError,
    HashingError, ListPendingError, ListUsersError, LoginError, ProfileError, ReadUserError,
    RegisterError,
};
use authusers_domain::activation::{ActivateError, ResendError};
use authusers_domain::mfa::EnrolError;
use authusers_domain::outbox::MailroomError;
use authusers_domain::password_reset::{ConfirmResetError, RequestResetError};
use authusers_domain::sessions::SignInError;
use authusers_domain::sessions::{EndSessionError, EndUserSessionsError, SessionError};
use authusers_domain::wallet::ChangeBalanceError;

use crate::http::problem::{causes, Problem};

/// A hash that could not start in time is the client's cue to come back;
/// any other hashing failure is ours, and the log shows its cause.
fn hashing(error: HashingError) -> Problem {
    match error {
        HashingError::Overloaded { retry_after } => Problem::overloaded(retry_after),
        failed @ HashingError::Failed(_) => Problem::internal(&causes(&failed)),
    }
}

/// The answer to an address another account has, under the field that
/// carried it: the same for registration and for an e-mail change.
fn email_taken(field: &str) -> Problem {
    Problem::field_errors(
        "email_taken",
        FieldMessages::single(field, "A user with this email address already exists."),
    )
}

impl From<RegisterError> for Problem {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::Invalid(errors) => Problem::validation(errors),
            RegisterError::EmailTaken => email_taken("email"),
            RegisterError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            RegisterError::Hashing(e) => hashing(e),
            RegisterError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<SignInError> for Problem {
    fn from(error: SignInError) -> Self {
        match error {
            SignInError::Login(error) => error.into(),
            SignInError::NotAdministrator => Problem::permission_denied(),
            SignInError::Session(error) => Problem::storage(&error),
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
            LoginError::AccountNotActivated => Problem::new(
                StatusCode::FORBIDDEN,
                "account_not_activated",
                "Account not activated",
                "Confirm the e-mail address with the link mailed to it first.",
            ),
            LoginError::AccountRejected => Problem::new(
                StatusCode::FORBIDDEN,
                "account_rejected",
                "Account rejected",
                "The registration was rejected by an administrator.",
            ),
            LoginError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            LoginError::Hashing(e) => hashing(e),
            LoginError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ProfileError> for Problem {
    fn from(error: ProfileError) -> Self {
        match error {
            ProfileError::NotFound => Problem::token_not_valid(),
            ProfileError::Invalid(errors) => Problem::validation(errors),
            ProfileError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ListPendingError> for Problem {
    fn from(error: ListPendingError) -> Self {
        match error {
            ListPendingError::Forbidden => Problem::permission_denied(),
            ListPendingError::Repository(e) => Problem::storage(&e),
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
            DecideError::NotActivated => Problem::new(
                StatusCode::CONFLICT,
                "not_activated",
                "Not activated",
                "This registration's e-mail address is not confirmed yet.",
            ),
            DecideError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ChangeBalanceError> for Problem {
    fn from(error: ChangeBalanceError) -> Self {
        match error {
            ChangeBalanceError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
                "This Idempotency-Key was already used for a different request.",
            ),
            ChangeBalanceError::UserNotFound => Problem::token_not_valid(),
            ChangeBalanceError::Repository(e) => Problem::storage(&e),
            invariant @ ChangeBalanceError::Invariant(_) => Problem::internal(&causes(&invariant)),
        }
    }
}

impl From<ChangePasswordError> for Problem {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            ChangePasswordError::Invalid(errors) => Problem::validation(errors),
            ChangePasswordError::NotFound => Problem::token_not_valid(),
            ChangePasswordError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            ChangePasswordError::Hashing(e) => hashing(e),
            ChangePasswordError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ChangeEmailError> for Problem {
    fn from(error: ChangeEmailError) -> Self {
        match error {
            ChangeEmailError::Invalid(errors) => Problem::validation(errors),
            ChangeEmailError::EmailTaken => email_taken("new_email"),
            ChangeEmailError::NotFound => Problem::token_not_valid(),
            ChangeEmailError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            ChangeEmailError::Hashing(e) => hashing(e),
            ChangeEmailError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<DeleteAccountError> for Problem {
    fn from(error: DeleteAccountError) -> Self {
        match error {
            DeleteAccountError::Invalid(errors) => Problem::validation(errors),
            DeleteAccountError::BalanceNotEmpty => Problem::new(
                StatusCode::CONFLICT,
                "balance_not_empty",
                "Balance not empty",
                "Both balances must be zero before the account is deleted; nothing was changed.",
            ),
            DeleteAccountError::NotFound => Problem::token_not_valid(),
            DeleteAccountError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            DeleteAccountError::Hashing(e) => hashing(e),
            DeleteAccountError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<EnableError> for Problem {
    fn from(error: EnableError) -> Self {
        match error {
            EnableError::Forbidden => Problem::permission_denied(),
            EnableError::NotFound => Problem::not_found("No user with this id."),
            EnableError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ListUsersError> for Problem {
    fn from(error: ListUsersError) -> Self {
        match error {
            ListUsersError::Invalid(errors) => Problem::validation(errors),
            ListUsersError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ReadUserError> for Problem {
    fn from(error: ReadUserError) -> Self {
        match error {
            ReadUserError::NotFound => Problem::not_found("No user with this id."),
            ReadUserError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<RequestResetError> for Problem {
    fn from(error: RequestResetError) -> Self {
        match error {
            RequestResetError::Invalid(errors) => Problem::validation(errors),
            RequestResetError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            RequestResetError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ConfirmResetError> for Problem {
    fn from(error: ConfirmResetError) -> Self {
        match error {
            ConfirmResetError::Invalid(errors) => Problem::validation(errors),
            ConfirmResetError::Hashing(e) => hashing(e),
            ConfirmResetError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ActivateError> for Problem {
    fn from(error: ActivateError) -> Self {
        match error {
            ActivateError::Invalid(errors) => Problem::validation(errors),
            ActivateError::Stale => Problem::new(
                StatusCode::FORBIDDEN,
                "stale_token",
                "Stale token",
                "Stale token for given user.",
            ),
            ActivateError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<ResendError> for Problem {
    fn from(error: ResendError) -> Self {
        match error {
            ResendError::NotRequired => Problem::new(
                StatusCode::BAD_REQUEST,
                "activation_not_required",
                "Activation not required",
                "Registrations need no activation here.",
            ),
            ResendError::Invalid(errors) => Problem::validation(errors),
            ResendError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            ResendError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<SessionError> for Problem {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::NotValid => Problem::token_not_valid(),
            SessionError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<EndSessionError> for Problem {
    fn from(error: EndSessionError) -> Self {
        match error {
            EndSessionError::NotFound => Problem::not_found("No open session with this id."),
            EndSessionError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<MailroomError> for Problem {
    fn from(error: MailroomError) -> Self {
        match error {
            MailroomError::Forbidden => Problem::permission_denied(),
            MailroomError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<EndUserSessionsError> for Problem {
    fn from(error: EndUserSessionsError) -> Self {
        match error {
            EndUserSessionsError::Forbidden => Problem::permission_denied(),
            EndUserSessionsError::NotFound => Problem::not_found("No user with this id."),
            EndUserSessionsError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<PasswordCheckError> for Problem {
    fn from(error: PasswordCheckError) -> Self {
        match error {
            PasswordCheckError::Throttled(t) => Problem::too_many_attempts(t.retry_after),
            PasswordCheckError::Hashing(e) => hashing(e),
            PasswordCheckError::Repository(e) => Problem::storage(&e),
        }
    }
}

impl From<EnrolError> for Problem {
    fn from(error: EnrolError) -> Self {
        match error {
            EnrolError::AlreadyOn => Problem::new(
                actix_web::http::StatusCode::BAD_REQUEST,
                "mfa_already_enabled",
                "Invalid request",
                "Two-step sign-in is already on: turn it off first to enrol another device.",
            ),
            EnrolError::Seal(e) => Problem::internal(&e),
            EnrolError::Repository(e) => Problem::storage(&e),
        }
    }
}
