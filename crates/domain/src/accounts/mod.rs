//! The account operations. Each lives in its own file with its own request
//! and error types; `Accounts` holds the ports they share.

mod admin;
mod approval;
mod login;
mod profile;
mod registration;

use std::sync::Arc;

use crate::notification::Language;
use crate::ports::{Clock, PasswordHasher, UserRepository};

pub use admin::{CreateAdminError, CreateAdminRequest};
pub use approval::{DecideError, ListPendingError};
pub use login::{LoginError, LoginRequest};
pub use profile::{ProfileError, UpdateProfileRequest};
pub use registration::{RegisterError, RegistrationRequest};

#[derive(Clone)]
pub struct Accounts {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    mail_language: Language,
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
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::ports::{MockClock, MockPasswordHasher, MockUserRepository};
    use crate::user::fixtures::at;

    /// The mocks an operation test sets expectations on before building
    /// `Accounts`; a port nobody expects a call on fails the test if called.
    pub struct Ports {
        pub users: MockUserRepository,
        pub hasher: MockPasswordHasher,
        pub clock: MockClock,
    }

    impl Ports {
        pub fn new() -> Self {
            let mut clock = MockClock::new();
            clock.expect_now().returning(|| at(3600));
            Self {
                users: MockUserRepository::new(),
                hasher: MockPasswordHasher::new(),
                clock,
            }
        }

        pub fn into_accounts(self) -> Accounts {
            Accounts::new(
                Arc::new(self.users),
                Arc::new(self.hasher),
                Arc::new(self.clock),
                Language::English,
            )
        }
    }
}
