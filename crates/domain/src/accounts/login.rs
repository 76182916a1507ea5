use super::ports::HashingError;
use crate::storage::RepositoryError;
use crate::throttling::{ClientAddress, Throttled};
use crate::{Email, User, UserStatus};

use super::Accounts;

#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Where the attempt comes from: failures are counted per account and
    /// address, and per address.
    pub client: ClientAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown e-mail and wrong password alike, so that a caller cannot
    /// learn which addresses have accounts.
    #[error("no active account found with the given credentials")]
    InvalidCredentials,
    #[error("the registration is waiting for an administrator")]
    AccountPending,
    /// The registration's address is not confirmed yet (activation is
    /// required): said only to the right password, as `AccountPending` is.
    #[error("the registration's address is not confirmed yet")]
    AccountNotActivated,
    #[error("the registration was rejected")]
    AccountRejected,
    /// Too many failures for this account from this address, or from this
    /// address: refused before any password is checked, the right one too.
    #[error(transparent)]
    Throttled(Throttled),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

crate::throttling::admit_error_into!(LoginError);

impl Accounts {
    /// Checks credentials; only an approved user is let in. Refused at once
    /// when the limits on failures are reached; otherwise every path that
    /// refuses the credentials costs one password verification, and a wrong
    /// password counts as a failure.
    #[tracing::instrument(name = "log_in", skip_all)]
    pub async fn log_in(&self, request: LoginRequest) -> Result<User, LoginError> {
        let Some(throttle) = &self.throttle else {
            return self.check_credentials(&request).await;
        };
        let admission = throttle.admit_login(&request.email, request.client).await?;
        let outcome = self.check_credentials(&request).await;
        match &outcome {
            Ok(_)
            | Err(
                LoginError::AccountPending
                | LoginError::AccountNotActivated
                | LoginError::AccountRejected,
            ) => throttle.succeeded(admission).await,
            Err(LoginError::InvalidCredentials) => throttle.counts(admission),
            Err(_) => throttle.withdraw(admission).await,
        }
        outcome
    }

    async fn check_credentials(&self, request: &LoginRequest) -> Result<User, LoginError> {
        let user = match Email::for_lookup(&request.email) {
            Some(email) => self.users.find_by_email(&email).await?,
            None => None,
        };
        // How long a password may be is the stored hash's to say: a user
        // moved in from Django may have one longer than bcrypt's 72 bytes.
        let Some(user) = user else {
            self.hasher.verify_decoy(&request.password).await?;
            return Err(LoginError::InvalidCredentials);
        };
        if !self
            .hasher
            .verify(&request.password, &user.password_hash)
            .await?
        {
            return Err(LoginError::InvalidCredentials);
        }
        self.upgrade_hash(&user, &request.password).await;
        if !user.is_active {
            // As simplejwt answers an inactive account: the credentials
            // are no good here, and that is all anyone learns.
            return Err(LoginError::InvalidCredentials);
        }
        match user.status {
            UserStatus::Approved => Ok(user),
            UserStatus::Pending if user.awaiting_activation => Err(LoginError::AccountNotActivated),
            UserStatus::Pending => Err(LoginError::AccountPending),
            UserStatus::Rejected => Err(LoginError::AccountRejected),
        }
    }
}

impl Accounts {
    /// Re-hashes a verified password whose hash predates the current cost,
    /// as Django does on login: otherwise old accounts would stay cheaper to
    /// check than the decoy of an unknown address. A failure here is
    /// logged and never fails the login.
    async fn upgrade_hash(&self, user: &User, password: &str) {
        if !self.hasher.needs_rehash(&user.password_hash) {
            return;
        }
        let upgraded = match self.hasher.rehash(password).await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::warn!(user = %user.id, %error, "password re-hash failed");
                return;
            }
        };
        match self
            .users
            .upgrade_password_hash(user.id, &user.password_hash, upgraded)
            .await
        {
            Ok(_) => tracing::info!(user = %user.id, "password re-hashed at the current cost"),
            Err(error) => tracing::warn!(user = %user.id, %error, "password re-hash not stored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{user, Ports};
    use crate::PasswordHash;

    fn request(email: &str, password: &str) -> LoginRequest {
        LoginRequest {
            email: email.into(),
            password: password.into(),
            client: crate::throttling::ClientAddress::new([203, 0, 113, 9].into()),
        }
    }

    fn ports_with(stored: Option<User>, password_matches: bool) -> Ports {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_email()
            .withf(|email| email.as_str() == "user2@example.com")
            .returning(move |_| Ok(stored.clone()));
        ports
            .hasher
            .expect_verify()
            .returning(move |_, _| Ok(password_matches));
        ports.hasher.expect_needs_rehash().return_const(false);
        ports
    }

    #[tokio::test]
    async fn the_right_password_of_an_approved_user_returns_the_user() {
        let ports = ports_with(Some(user(2, UserStatus::Approved)), true);
        let user = ports
            .into_accounts()
            .log_in(request("user2@EXAMPLE.com", "right"))
            .await
            .unwrap();
        assert_eq!(user.id.0, 2);
    }

    #[tokio::test]
    async fn a_wrong_password_is_invalid_credentials() {
        let ports = ports_with(Some(user(2, UserStatus::Approved)), false);
        let result = ports
            .into_accounts()
            .log_in(request("user2@example.com", "wrong"))
            .await;
        assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn an_unknown_email_costs_a_decoy_verification_and_says_the_same() {
        let mut ports = ports_with(None, false);
        ports
            .hasher
            .expect_verify_decoy()
            .times(1)
            .returning(|_| Ok(()));
        let result = ports
            .into_accounts()
            .log_in(request("user2@example.com", "whatever"))
            .await;
        assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn a_malformed_email_costs_a_decoy_verification_too() {
        let mut ports = Ports::new();
        ports
            .hasher
            .expect_verify_decoy()
            .times(1)
            .returning(|_| Ok(()));
        let result = ports
            .into_accounts()
            .log_in(request("not an email", "whatever"))
            .await;
        assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    }

    /// How long a password may be is the stored hash's to say (bcrypt keys
    /// on 72 bytes, a hash moved in from Django on any length): the hasher
    /// judges a long candidate, and its "no" is a wrong password. That a
    /// 73-byte candidate never matches a bcrypt hash is the bcrypt
    /// adapter's test.
    #[tokio::test]
    async fn a_long_password_is_judged_by_the_hasher() {
        for (hasher_says, expected_ok) in [(false, false), (true, true)] {
            let mut ports = Ports::new();
            ports
                .users
                .expect_find_by_email()
                .returning(|_| Ok(Some(user(2, UserStatus::Approved))));
            ports
                .hasher
                .expect_verify()
                .withf(|candidate, _| candidate.len() == 100)
                .times(1)
                .returning(move |_, _| Ok(hasher_says));
            ports.hasher.expect_needs_rehash().return_const(false);
            let result = ports
                .into_accounts()
                .log_in(request("user2@example.com", &"a".repeat(100)))
                .await;
            assert_eq!(result.is_ok(), expected_ok, "{result:?}");
        }
    }

    fn ports_with_an_outdated_hash(password_matches: bool) -> Ports {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_email()
            .returning(|_| Ok(Some(user(2, UserStatus::Approved))));
        ports
            .hasher
            .expect_verify()
            .returning(move |_, _| Ok(password_matches));
        ports
            .hasher
            .expect_needs_rehash()
            .withf(|hash| hash.as_str() == "hash-of-user-2")
            .return_const(true);
        ports
    }

    #[tokio::test]
    async fn a_verified_password_with_an_outdated_hash_is_rehashed() {
        let mut ports = ports_with_an_outdated_hash(true);
        ports
            .hasher
            .expect_rehash()
            .withf(|candidate| candidate == "right")
            .times(1)
            .returning(|_| Ok(PasswordHash::new("$2b$13$new".into())));
        ports
            .users
            .expect_upgrade_password_hash()
            .withf(|id, outdated, upgraded| {
                id.0 == 2
                    && outdated.as_str() == "hash-of-user-2"
                    && upgraded.as_str() == "$2b$13$new"
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        let logged_in = ports
            .into_accounts()
            .log_in(request("user2@example.com", "right"))
            .await;
        assert!(logged_in.is_ok());
    }

    #[tokio::test]
    async fn a_wrong_password_is_never_rehashed() {
        // No rehash or upgrade is expected.
        let ports = ports_with_an_outdated_hash(false);
        let result = ports
            .into_accounts()
            .log_in(request("user2@example.com", "wrong"))
            .await;
        assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn a_failed_rehash_does_not_fail_the_login() {
        let mut ports = ports_with_an_outdated_hash(true);
        ports
            .hasher
            .expect_rehash()
            .returning(|_| Err(HashingError::Failed("no thread".into())));
        let logged_in = ports
            .into_accounts()
            .log_in(request("user2@example.com", "right"))
            .await;
        assert!(logged_in.is_ok());
    }

    #[tokio::test]
    async fn pending_and_rejected_users_are_told_so_only_with_the_right_password() {
        let pending = ports_with(Some(user(2, UserStatus::Pending)), true);
        let result = pending
            .into_accounts()
            .log_in(request("user2@example.com", "right"))
            .await;
        assert!(matches!(result, Err(LoginError::AccountPending)));

        let rejected = ports_with(Some(user(2, UserStatus::Rejected)), true);
        let result = rejected
            .into_accounts()
            .log_in(request("user2@example.com", "right"))
            .await;
        assert!(matches!(result, Err(LoginError::AccountRejected)));

        let not_activated = ports_with(
            Some(User {
                awaiting_activation: true,
                ..user(2, UserStatus::Pending)
            }),
            true,
        );
        let result = not_activated
            .into_accounts()
            .log_in(request("user2@example.com", "right"))
            .await;
        assert!(matches!(result, Err(LoginError::AccountNotActivated)));

        let wrong = ports_with(Some(user(2, UserStatus::Pending)), false);
        let result = wrong
            .into_accounts()
            .log_in(request("user2@example.com", "wrong"))
            .await;
        assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    }

    mod limited {
        use super::*;
        use crate::throttling::{AttemptId, Counter, MockAttemptLog, Recording};
        use chrono::Duration;

        fn recorded(log: &mut MockAttemptLog) {
            log.expect_record()
                .times(1)
                .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1), AttemptId(2)])));
        }

        #[tokio::test]
        async fn a_throttled_login_costs_no_hashing_even_with_the_right_password() {
            // No expectation on the user repository or verify: neither may run.
            let ports = Ports::new();
            let mut log = MockAttemptLog::new();
            log.expect_record().times(1).returning(|_, _| {
                Ok(Recording::Refused(Throttled {
                    counter: Counter::LoginAccount,
                    retry_after: Duration::seconds(300),
                }))
            });
            let result = ports
                .into_accounts_limited_by(log)
                .log_in(request("user2@example.com", "right"))
                .await;
            assert!(matches!(
                result,
                Err(LoginError::Throttled(t)) if t.retry_after == Duration::seconds(300)
            ));
        }

        #[tokio::test]
        async fn a_wrong_password_stays_counted() {
            let ports = ports_with(Some(user(2, UserStatus::Approved)), false);
            let mut log = MockAttemptLog::new();
            recorded(&mut log); // and neither cleared nor taken back
            let result = ports
                .into_accounts_limited_by(log)
                .log_in(request("user2@example.com", "wrong"))
                .await;
            assert!(matches!(result, Err(LoginError::InvalidCredentials)));
        }

        #[tokio::test]
        async fn the_right_password_resets_the_count_of_the_account_from_this_address() {
            let ports = ports_with(Some(user(2, UserStatus::Approved)), true);
            let mut log = MockAttemptLog::new();
            recorded(&mut log);
            log.expect_clear()
                .withf(|key| {
                    *key == crate::throttling::CounterKey::login_account(
                        "user2@example.com",
                        request("", "").client,
                    )
                })
                .times(1)
                .returning(|_| Ok(()));
            log.expect_take_back().times(1).returning(|_| Ok(()));
            let result = ports
                .into_accounts_limited_by(log)
                .log_in(request("user2@example.com", "right"))
                .await;
            assert!(result.is_ok());
        }

        #[tokio::test]
        async fn an_attempt_whose_hashing_failed_does_not_count() {
            let mut ports = Ports::new();
            ports
                .users
                .expect_find_by_email()
                .returning(|_| Ok(Some(user(2, UserStatus::Approved))));
            ports
                .hasher
                .expect_verify()
                .returning(|_, _| Err(HashingError::Failed("no thread".into())));
            let mut log = MockAttemptLog::new();
            recorded(&mut log);
            log.expect_take_back()
                .withf(|attempts| attempts == &[AttemptId(1), AttemptId(2)])
                .times(1)
                .returning(|_| Ok(()));
            let result = ports
                .into_accounts_limited_by(log)
                .log_in(request("user2@example.com", "right"))
                .await;
            assert!(matches!(result, Err(LoginError::Hashing(_))));
        }

        #[tokio::test]
        async fn an_unknown_account_counts_like_a_wrong_password() {
            let mut ports = ports_with(None, false);
            ports
                .hasher
                .expect_verify_decoy()
                .times(1)
                .returning(|_| Ok(()));
            let mut log = MockAttemptLog::new();
            recorded(&mut log);
            let result = ports
                .into_accounts_limited_by(log)
                .log_in(request("user2@example.com", "whatever"))
                .await;
            assert!(matches!(result, Err(LoginError::InvalidCredentials)));
        }
    }
}
