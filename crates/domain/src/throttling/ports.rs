//! What the limits need from the outside world: a log of attempts that
//! every server process shares.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{AttemptId, Check, Counter, CounterKey, Throttled};
use crate::storage::RepositoryError;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// What [`AttemptLog::record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recording {
    /// Every key was under its limit: one attempt is recorded under each,
    /// in the order of the checks.
    Recorded(Vec<AttemptId>),
    /// A key had reached its limit: nothing was recorded. Of several, the
    /// one that lifts last.
    Refused(Throttled),
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait AttemptLog: Send + Sync {
    /// In one transaction: if any key has `limit.max` attempts in the
    /// `limit.window` before `at`, refuses, saying when the oldest of those
    /// leaves the window; otherwise records an attempt at `at` under every
    /// key. Two calls on one key take turns, on every process, so that
    /// they never both pass the last place.
    async fn record(
        &self,
        checks: Vec<Check>,
        at: DateTime<Utc>,
    ) -> Result<Recording, RepositoryError>;

    /// Takes back attempts that turned out not to count.
    async fn take_back(&self, attempts: Vec<AttemptId>) -> Result<(), RepositoryError>;

    /// Forgets every attempt under `key` (a success resets its count).
    async fn clear(&self, key: CounterKey) -> Result<(), RepositoryError>;

    /// Forgets attempts of `counter` recorded before `before`, in batches;
    /// how many went.
    async fn prune(&self, counter: Counter, before: DateTime<Utc>) -> Result<u64, RepositoryError>;
}
