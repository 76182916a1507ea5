//! The balance operations: read the balances and the ledger, and apply
//! `in`, `out` and `convert` exactly once per idempotency key.

mod ports;

use std::sync::Arc;

use chrono::Duration;

use crate::balance::{
    BalanceChange, BalanceOperation, Balances, BonusPolicy, IdempotencyKey, LedgerEntry,
};
use crate::clock::Clock;
use crate::money::MoneyError;
use crate::storage::RepositoryError;
use crate::{Page, PageRequest, User};

#[cfg(any(test, feature = "mocks"))]
pub use ports::MockBalanceRepository;
pub use ports::{
    ApplyBalanceError, BalanceCommand, BalanceOutcome, BalanceRepository, RecordedOutcome,
};

/// How long an idempotency key is remembered, at least.
pub const DEFAULT_KEY_RETENTION_HOURS: i64 = 24;

#[derive(Debug, thiserror::Error)]
pub enum ChangeBalanceError {
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error("the user does not exist")]
    UserNotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    /// A rule the money types guarantee did not hold.
    #[error("the balance change cannot be computed")]
    Invariant(#[source] MoneyError),
}

impl From<ApplyBalanceError> for ChangeBalanceError {
    fn from(error: ApplyBalanceError) -> Self {
        match error {
            ApplyBalanceError::UserNotFound => Self::UserNotFound,
            ApplyBalanceError::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            ApplyBalanceError::Repository(e) => Self::Repository(e),
        }
    }
}

#[derive(Clone)]
pub struct Wallet {
    balances: Arc<dyn BalanceRepository>,
    clock: Arc<dyn Clock>,
    policy: BonusPolicy,
    key_retention: Duration,
}

impl Wallet {
    pub fn new(
        balances: Arc<dyn BalanceRepository>,
        clock: Arc<dyn Clock>,
        policy: BonusPolicy,
        key_retention: Duration,
    ) -> Self {
        Self {
            balances,
            clock,
            policy,
            key_retention,
        }
    }

    /// Forgets the idempotency keys older than their retention (the
    /// background worker's job; a key past it answers for nothing anyway).
    pub async fn prune_expired_keys(&self) -> Result<u64, RepositoryError> {
        self.balances
            .prune_idempotency_keys(self.clock.now() - self.key_retention)
            .await
    }

    pub async fn balances(&self, user: &User) -> Result<Balances, ChangeBalanceError> {
        self.balances
            .balances(user.id)
            .await?
            .ok_or(ChangeBalanceError::UserNotFound)
    }

    pub async fn ledger(
        &self,
        user: &User,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, RepositoryError> {
        self.balances.ledger(user.id, page).await
    }

    /// Applies `operation` once: again under the same `idempotency_key`,
    /// the recorded outcome is answered instead.
    #[tracing::instrument(name = "change_balance", skip_all, fields(user = %user.id))]
    pub async fn change(
        &self,
        user: &User,
        operation: BalanceOperation,
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<RecordedOutcome, ChangeBalanceError> {
        let now = self.clock.now();
        let command = BalanceCommand {
            user: user.id,
            operation,
            change: BalanceChange::of(operation, &self.policy)
                .map_err(ChangeBalanceError::Invariant)?,
            at: now,
            idempotency_key,
            keys_valid_since: now - self.key_retention,
        };
        Ok(self.balances.apply(command).await?)
    }
}

#[cfg(test)]
mod tests;
