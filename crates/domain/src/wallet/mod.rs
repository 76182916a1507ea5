//! The balance operations: read the balances and the ledger, and apply
//! `in`, `out` and `convert` exactly once per idempotency key.

mod ports;

use std::sync::Arc;

use chrono::Duration;

use crate::balance::{
    BalanceAction, BalanceChange, BalanceKind, BalanceOperation, Balances, BonusPolicy,
    IdempotencyKey, LedgerEntry,
};
use crate::clock::Clock;
use crate::money::{Amount, MoneyError};
use crate::storage::RepositoryError;
use crate::{FieldErrors, Page, PageRequest, User};

#[cfg(any(test, feature = "mocks"))]
pub use ports::MockBalanceRepository;
pub use ports::{
    ApplyBalanceError, BalanceCommand, BalanceOutcome, BalanceRepository, RecordedOutcome,
};

/// How long an idempotency key is remembered, at least.
pub const DEFAULT_KEY_RETENTION_HOURS: i64 = 24;

/// The value of a request, as the client sent it: the exact text of a JSON
/// number or string, or something that is neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueInput {
    Missing,
    Text(String),
    WrongType,
}

/// A `PATCH /balance/` request as received.
#[derive(Debug, Clone)]
pub struct BalanceRequest {
    pub action: Option<String>,
    pub value_type: Option<String>,
    pub value: ValueInput,
    pub idempotency_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeBalanceError {
    #[error(transparent)]
    Invalid(FieldErrors),
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

    /// Validates the request, then applies it once.
    #[tracing::instrument(name = "change_balance", skip_all, fields(user = %user.id))]
    pub async fn change(
        &self,
        user: &User,
        request: BalanceRequest,
    ) -> Result<RecordedOutcome, ChangeBalanceError> {
        let (operation, idempotency_key) =
            parse_request(&request).map_err(ChangeBalanceError::Invalid)?;
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

fn parse_request(
    request: &BalanceRequest,
) -> Result<(BalanceOperation, Option<IdempotencyKey>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let action = match request.action.as_deref() {
        None => {
            errors.add("action", "This field is required.");
            None
        }
        Some(raw) => errors.collect(
            "action",
            BalanceAction::parse(raw).ok_or_else(|| {
                format!("\"{raw}\" is not a valid choice: use \"in\", \"out\" or \"convert\".")
            }),
        ),
    };
    let kind = match (action, request.value_type.as_deref()) {
        (Some(BalanceAction::Convert), None | Some("real")) => Some(BalanceKind::Real),
        (Some(BalanceAction::Convert), Some(_)) => {
            errors.add(
                "value_type",
                "A convert goes from \"real\"; omit value_type or send \"real\".",
            );
            None
        }
        (_, None) => {
            errors.add("value_type", "This field is required.");
            None
        }
        (_, Some(raw)) => errors.collect(
            "value_type",
            BalanceKind::parse(raw).ok_or_else(|| {
                format!("\"{raw}\" is not a valid choice: use \"real\" or \"virtual\".")
            }),
        ),
    };
    let amount = match &request.value {
        ValueInput::Missing => {
            errors.add("value", "This field is required.");
            None
        }
        ValueInput::WrongType => {
            errors.add("value", "A valid number is required.");
            None
        }
        ValueInput::Text(raw) => errors.collect("value", Amount::parse(raw)),
    };
    let key = match request.idempotency_key.as_deref() {
        None => None,
        Some(raw) => errors.collect("Idempotency-Key", IdempotencyKey::parse(raw)),
    };
    let operation = match (action, kind, amount) {
        (Some(BalanceAction::In), Some(kind), Some(amount)) => {
            BalanceOperation::Deposit { kind, amount }
        }
        (Some(BalanceAction::Out), Some(kind), Some(amount)) => {
            BalanceOperation::Withdraw { kind, amount }
        }
        (Some(BalanceAction::Convert), Some(_), Some(amount)) => {
            BalanceOperation::Convert { amount }
        }
        _ => return Err(errors),
    };
    errors.into_result()?;
    Ok((operation, key))
}

#[cfg(test)]
mod tests;
