//! Anti-automation that does not allow malicious lockout: failed logins
//! are counted per account and client address and per client address,
//! registrations per client address, reset mails per e-mail address, all
//! in one log shared by every server process. A refused attempt costs one
//! look at the log and no password hashing.

mod counters;
mod model;
mod ports;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::Duration;

use crate::clock::Clock;
use crate::storage::RepositoryError;
use crate::{Email, UserId};

pub use counters::ThrottleCounters;
pub use model::{
    AbuseLimits, AttemptId, Check, ClientAddress, Counter, CounterKey, Limit, Throttled,
    ACTIVATION_MAILS_PER_HOUR, ACTIVATION_MAIL_WINDOW, DEFAULT_LOGIN_FAILURE_WINDOW,
    DEFAULT_LOGIN_MAX_FAILURES_PER_ACCOUNT, DEFAULT_LOGIN_MAX_FAILURES_PER_ADDRESS,
    DEFAULT_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR, DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR,
    REGISTRATION_WINDOW, RESET_ADDRESS_WINDOW, RESET_MAIL_WINDOW, SECOND_FACTOR_FAILURES,
    SECOND_FACTOR_FAILURE_WINDOW,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockAttemptLog;
pub use ports::{AttemptLog, Recording};

/// `From<AdmitError>` for an operation's error enum that has a
/// `Throttled(Throttled)` and a `Repository(RepositoryError)` variant.
macro_rules! admit_error_into {
    ($error:ty) => {
        impl From<$crate::throttling::AdmitError> for $error {
            fn from(error: $crate::throttling::AdmitError) -> Self {
                match error {
                    $crate::throttling::AdmitError::Throttled(throttled) => {
                        Self::Throttled(throttled)
                    }
                    $crate::throttling::AdmitError::Repository(error) => Self::Repository(error),
                }
            }
        }
    };
}
pub(crate) use admit_error_into;

#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    #[error(transparent)]
    Throttled(#[from] Throttled),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// An attempt the limits let through. It is recorded as soon as it is
/// admitted, so that attempts racing each other all count; the caller then
/// says how it went: [`Throttle::counts`], [`Throttle::succeeded`] or
/// [`Throttle::withdraw`].
#[must_use = "say how the attempt went"]
#[derive(Debug, Default)]
pub struct Admission {
    recorded: Vec<AttemptId>,
    /// The key a success starts again (the account from this address).
    reset_on_success: Option<CounterKey>,
}

/// The limits, kept in an [`AttemptLog`].
#[derive(Clone)]
pub struct Throttle {
    log: Arc<dyn AttemptLog>,
    clock: Arc<dyn Clock>,
    limits: AbuseLimits,
    counters: Arc<ThrottleCounters>,
}

impl Throttle {
    pub fn new(log: Arc<dyn AttemptLog>, clock: Arc<dyn Clock>, limits: AbuseLimits) -> Self {
        Self {
            log,
            clock,
            limits,
            counters: Arc::default(),
        }
    }

    pub fn limits(&self) -> &AbuseLimits {
        &self.limits
    }

    /// How many attempts were refused, by counter.
    pub fn counters(&self) -> Arc<ThrottleCounters> {
        Arc::clone(&self.counters)
    }

    /// Admits a login for the account typed as `typed_email` from `client`,
    /// unless either of its counts is at its limit.
    pub async fn admit_login(
        &self,
        typed_email: &str,
        client: ClientAddress,
    ) -> Result<Admission, AdmitError> {
        let pair = CounterKey::login_account(typed_email, client);
        let mut checks = Vec::with_capacity(2);
        if let Some(limit) = self.limits.login_per_account {
            checks.push(Check {
                key: pair.clone(),
                limit,
            });
        }
        if let Some(limit) = self.limits.login_per_address {
            checks.push(Check {
                key: CounterKey::login_address(client),
                limit,
            });
        }
        let recorded = self.record(checks, client).await?;
        Ok(Admission {
            recorded,
            reset_on_success: self.limits.login_per_account.map(|_| pair),
        })
    }

    /// Admits a registration from `client`, unless the address has had its
    /// share this hour.
    pub async fn admit_registration(&self, client: ClientAddress) -> Result<Admission, AdmitError> {
        let check = self.limits.registrations_per_address.map(|limit| Check {
            key: CounterKey::registration(client),
            limit,
        });
        self.admit_one(check, client).await
    }

    /// Admits a `reset_password` request from `client`, whatever the
    /// e-mail it names, unless the address has had its share this hour.
    pub async fn admit_reset_request(
        &self,
        client: ClientAddress,
    ) -> Result<Admission, AdmitError> {
        let check = self.limits.resets_per_address.map(|limit| Check {
            key: CounterKey::reset_address(client),
            limit,
        });
        self.admit_one(check, client).await
    }

    /// Admits one more activation mail to `email` this hour, asked for
    /// from `client`.
    pub async fn admit_activation_mail(
        &self,
        email: &Email,
        client: ClientAddress,
    ) -> Result<Admission, AdmitError> {
        let check =
            Limit::new(ACTIVATION_MAILS_PER_HOUR, ACTIVATION_MAIL_WINDOW).map(|limit| Check {
                key: CounterKey::activation_mail(email),
                limit,
            });
        self.admit_one(check, client).await
    }

    /// Admits one more second-factor code for `user`'s account, from
    /// `client`, unless the account has had its share of wrong ones; a
    /// right one is withdrawn.
    pub async fn admit_second_factor(
        &self,
        user: UserId,
        client: ClientAddress,
    ) -> Result<Admission, AdmitError> {
        let check =
            Limit::new(SECOND_FACTOR_FAILURES, SECOND_FACTOR_FAILURE_WINDOW).map(|limit| Check {
                key: CounterKey::second_factor(user),
                limit,
            });
        self.admit_one(check, client).await
    }

    /// Admits an attempt held to at most one limit (none when it is off);
    /// a success resets nothing.
    async fn admit_one(
        &self,
        check: Option<Check>,
        client: ClientAddress,
    ) -> Result<Admission, AdmitError> {
        let recorded = self.record(check.into_iter().collect(), client).await?;
        Ok(Admission {
            recorded,
            reset_on_success: None,
        })
    }

    async fn record(
        &self,
        checks: Vec<Check>,
        client: ClientAddress,
    ) -> Result<Vec<AttemptId>, AdmitError> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        match self.log.record(checks, self.clock.now()).await? {
            Recording::Recorded(attempts) => Ok(attempts),
            Recording::Refused(throttled) => {
                self.counters.count(throttled.counter);
                tracing::warn!(
                    reason = throttled.counter.as_str(),
                    client = %client,
                    retry_after_seconds = throttled.retry_after.num_seconds(),
                    "attempt throttled"
                );
                Err(throttled.into())
            }
        }
    }

    /// The attempt counts against its limits (a wrong password, a
    /// registration made): it stays recorded.
    pub fn counts(&self, admission: Admission) {
        drop(admission);
    }

    /// The attempt proved the password: it does not count, and the
    /// account's count from this address starts again. A failure here is
    /// logged; it never fails the login.
    pub async fn succeeded(&self, admission: Admission) {
        if let Some(key) = admission.reset_on_success.clone() {
            if let Err(error) = self.log.clear(key).await {
                tracing::warn!(%error, "a login's failure count was not reset");
            }
        }
        self.withdraw(admission).await;
    }

    /// The attempt was never judged (hashing or the database failed): it
    /// does not count.
    pub async fn withdraw(&self, admission: Admission) {
        if admission.recorded.is_empty() {
            return;
        }
        if let Err(error) = self.log.take_back(admission.recorded).await {
            tracing::warn!(%error, "an attempt that does not count was not taken back");
        }
    }

    /// Forgets attempts too old to count, for every counter: the
    /// background worker's work. A counter whose limit is off keeps none.
    pub async fn prune(&self) -> Result<u64, RepositoryError> {
        let now = self.clock.now();
        let mut pruned = 0;
        for counter in Counter::ALL {
            let window = self.limits.window_of(counter);
            let before = now - window.unwrap_or_else(Duration::zero);
            pruned += self.log.prune(counter, before).await?;
        }
        Ok(pruned)
    }
}
