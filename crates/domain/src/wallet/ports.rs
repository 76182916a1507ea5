//! What the balance operations need from the outside world: where
//! balances, the ledger and idempotency records are stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::balance::{
    BalanceChange, BalanceOperation, BalanceRefusal, Balances, IdempotencyKey, LedgerEntry,
};
use crate::storage::RepositoryError;
use crate::{Page, PageRequest, UserId};

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// One balance operation to apply for a user, as a single transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceCommand {
    pub user: UserId,
    pub operation: BalanceOperation,
    pub change: BalanceChange,
    pub at: DateTime<Utc>,
    pub idempotency_key: Option<IdempotencyKey>,
    /// Keys recorded before this instant have expired and are forgotten.
    pub keys_valid_since: DateTime<Utc>,
}

/// What became of a balance operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceOutcome {
    Applied(Balances),
    Refused(BalanceRefusal),
}

/// An outcome, and whether it is the stored answer to an earlier request
/// with the same idempotency key rather than a new application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedOutcome {
    pub outcome: BalanceOutcome,
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyBalanceError {
    #[error("the user does not exist")]
    UserNotFound,
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait BalanceRepository: Send + Sync {
    async fn balances(&self, user: UserId) -> Result<Option<Balances>, RepositoryError>;

    /// Applies `command` in one transaction: the balance change as a single
    /// guarded update (never below zero, never above the bound), its ledger
    /// row, and its idempotency record. With a key already recorded for the
    /// same request, returns the recorded outcome and changes nothing.
    async fn apply(&self, command: BalanceCommand) -> Result<RecordedOutcome, ApplyBalanceError>;

    /// The user's ledger, newest first.
    async fn ledger(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, RepositoryError>;

    /// Deletes the idempotency records created before `before`, a bounded
    /// batch per statement; returns how many.
    async fn prune_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError>;
}
