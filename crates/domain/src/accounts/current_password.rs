//! The current password, asked for again before a credential changes or an
//! account goes (`set_password`, `set_email`, `DELETE /auth/users/me/`).
//! Each check counts as a login of the account from the caller's address:
//! a wrong password is a failure under `LOGIN_MAX_FAILURES_PER_ACCOUNT`
//! and `LOGIN_MAX_FAILURES_PER_ADDRESS`, a right one clears the account's
//! count, and past the limit the check is refused before any hashing. So a
//! stolen access token is no faster a password oracle than the login form.

use super::ports::HashingError;
use super::Accounts;
use crate::storage::RepositoryError;
use crate::throttling::{ClientAddress, Throttled};
use crate::{FieldError, FieldErrors, User};

/// `From<PasswordCheckError>` for the error enum of an operation that
/// checks the current password: one with `Throttled`, `Hashing` and
/// `Repository` variants.
macro_rules! password_check_error_into {
    ($error:ty) => {
        impl From<$crate::accounts::PasswordCheckError> for $error {
            fn from(error: $crate::accounts::PasswordCheckError) -> Self {
                match error {
                    $crate::accounts::PasswordCheckError::Throttled(t) => Self::Throttled(t),
                    $crate::accounts::PasswordCheckError::Hashing(e) => Self::Hashing(e),
                    $crate::accounts::PasswordCheckError::Repository(e) => Self::Repository(e),
                }
            }
        }
    };
}
pub(super) use password_check_error_into;

/// Why the current password could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum PasswordCheckError {
    /// Too many failures for this account from this address, or from this
    /// address: nothing was checked.
    #[error(transparent)]
    Throttled(Throttled),
    #[error(transparent)]
    Hashing(HashingError),
    #[error(transparent)]
    Repository(RepositoryError),
}

crate::throttling::admit_error_into!(PasswordCheckError);

impl Accounts {
    /// Records `current_password` as wrong in `errors` unless it is the
    /// user's password, counting the check against the login limits of
    /// the account from `client`. The hasher runs bcrypt off the executor.
    pub async fn check_current_password(
        &self,
        user: &User,
        candidate: &str,
        client: ClientAddress,
        errors: &mut FieldErrors,
    ) -> Result<(), PasswordCheckError> {
        let admission = match &self.throttle {
            Some(throttle) => Some(throttle.admit_login(user.email.as_str(), client).await?),
            None => None,
        };
        let verified = self.hasher.verify(candidate, &user.password_hash).await;
        if let (Some(throttle), Some(admission)) = (&self.throttle, admission) {
            match verified {
                Ok(true) => throttle.succeeded(admission).await,
                Ok(false) => throttle.counts(admission),
                Err(_) => throttle.withdraw(admission).await,
            }
        }
        if !verified.map_err(PasswordCheckError::Hashing)? {
            errors.add("current_password", FieldError::WrongPassword);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{user, Ports};
    use crate::throttling::{AttemptId, Counter, CounterKey, MockAttemptLog, Recording};
    use crate::UserStatus;
    use chrono::Duration;

    fn client() -> ClientAddress {
        ClientAddress::new([198, 51, 100, 7].into())
    }

    async fn check(ports: Ports, log: MockAttemptLog, candidate: &str) -> (FieldErrors, bool) {
        let mut errors = FieldErrors::new();
        let result = ports
            .into_accounts_limited_by(log)
            .check_current_password(
                &user(4, UserStatus::Approved),
                candidate,
                client(),
                &mut errors,
            )
            .await;
        let throttled = matches!(result, Err(PasswordCheckError::Throttled(_)));
        assert!(result.is_ok() || throttled, "{result:?}");
        (errors, throttled)
    }

    fn recorded_under_the_accounts_login_keys(log: &mut MockAttemptLog) {
        log.expect_record()
            .withf(|checks, _| {
                checks.len() == 2
                    && checks[0].key == CounterKey::login_account("user4@example.com", client())
                    && checks[1].key == CounterKey::login_address(client())
            })
            .times(1)
            .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(7), AttemptId(8)])));
    }

    #[tokio::test]
    async fn a_wrong_current_password_counts_as_a_failed_login_of_the_account() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let mut log = MockAttemptLog::new();
        // Recorded, and neither cleared nor taken back.
        recorded_under_the_accounts_login_keys(&mut log);
        let (errors, throttled) = check(ports, log, "a-guess").await;
        assert!(!throttled);
        assert!(errors.fields().contains_key("current_password"));
    }

    #[tokio::test]
    async fn the_right_current_password_clears_the_accounts_count_as_a_login_does() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let mut log = MockAttemptLog::new();
        recorded_under_the_accounts_login_keys(&mut log);
        log.expect_clear()
            .withf(|key| *key == CounterKey::login_account("user4@example.com", client()))
            .times(1)
            .returning(|_| Ok(()));
        log.expect_take_back().times(1).returning(|_| Ok(()));
        let (errors, throttled) = check(ports, log, "old-secret-words").await;
        assert!(!throttled);
        assert!(errors.is_empty());
    }

    #[tokio::test]
    async fn past_the_limit_nothing_is_hashed_even_the_right_password() {
        // No expectation on verify: it may not run.
        let ports = Ports::new();
        let mut log = MockAttemptLog::new();
        log.expect_record().times(1).returning(|_, _| {
            Ok(Recording::Refused(Throttled {
                counter: Counter::LoginAccount,
                retry_after: Duration::seconds(120),
            }))
        });
        let (errors, throttled) = check(ports, log, "old-secret-words").await;
        assert!(throttled);
        assert!(errors.is_empty());
    }
}
