//! The account operations. Each lives in its own file with its own request
//! and error types; `Accounts` holds the ports they share.

mod admin;
mod approval;
mod current_password;
mod deletion;
mod directory;
mod email_change;
mod enabling;
mod login;
mod password_change;
mod ports;
mod profile;
mod registration;

use std::sync::Arc;

use crate::clock::Clock;
use crate::notification::Language;
use crate::outbox::{MailQueued, NobodyListening};
use crate::throttling::Throttle;
use crate::{FieldError, FieldErrors, Retyped};

pub use admin::{CreateAdminError, CreateAdminRequest};
pub use approval::{DecideError, ListPendingError};
pub use current_password::PasswordCheckError;
pub use deletion::{DeleteAccountError, DeleteAccountRequest};
pub use directory::{ListUsersError, ListUsersRequest, ReadUserError, UserFilter};
pub use email_change::{ChangeEmailError, ChangeEmailRequest};
pub use enabling::EnableError;
pub use login::{LoginError, LoginRequest};
pub use password_change::{ChangePasswordError, ChangePasswordRequest};
pub use ports::{
    ActivationLinks, EraseOutcome, HashingError, InsertUserError, NewUser, PasswordHasher,
    StoreEmailError, UserRepository,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockActivationLinks, MockPasswordHasher, MockUserRepository};
pub use profile::{ProfileError, UpdateProfileRequest};
pub use registration::{RegisterError, RegistrationRequest};
// Where the filter of a user list has always been found.
pub use crate::search_term::{SearchTerm, SearchTermError, MAX_SEARCH_CHARS};

/// djoser's `*_RETYPE` settings: when the client sends the value a second
/// time, the two must agree.
pub fn check_retyped(errors: &mut FieldErrors, what: Retyped, same: bool) {
    if !same {
        errors.add(FieldErrors::WHOLE_REQUEST, FieldError::Mismatch(what));
    }
}

#[derive(Clone)]
pub struct Accounts {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    mail_language: Language,
    /// The limits on failed logins and on registrations; none without it.
    throttle: Option<Throttle>,
    /// Set when registrations must confirm their address before an
    /// administrator sees them.
    activation: Option<Arc<dyn ActivationLinks>>,
    /// Told when a decision or a notice has queued mail.
    mail_queued: Arc<dyn MailQueued>,
}

impl Accounts {
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
        mail_language: Language,
    ) -> Self {
        Self {
            users,
            hasher,
            clock,
            mail_language,
            throttle: None,
            activation: None,
            mail_queued: Arc::new(NobodyListening),
        }
    }

    /// Tells `listener` each time mail is queued.
    pub fn with_mail_listener(mut self, listener: Arc<dyn MailQueued>) -> Self {
        self.mail_queued = listener;
        self
    }

    /// Holds logins and registrations to `throttle`'s limits.
    pub fn with_throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Has every registration confirm its address with a mailed link
    /// before it reaches the administrators.
    pub fn with_activation(mut self, activation: Arc<dyn ActivationLinks>) -> Self {
        self.activation = Some(activation);
        self
    }
}
