use authusers_domain::balance::{
    BalanceAction, BalanceKind, BalanceRefusal, Balances, IdempotencyKey, LedgerEntry,
};
use authusers_domain::wallet::{BalanceOutcome, RecordedOutcome};
use authusers_domain::{Money, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::error::StorageError;
use crate::schema::{balance_transactions, idempotency_keys};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = balance_transactions)]
pub(crate) struct LedgerRow {
    id: i64,
    user_id: i64,
    action: String,
    value_type: String,
    amount_cents: i64,
    bonus_cents: i64,
    real_balance_after_cents: i64,
    virtual_balance_after_cents: i64,
    created_at: NaiveDateTime,
    idempotency_key: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = balance_transactions)]
pub(crate) struct NewLedgerRow<'a> {
    pub user_id: i64,
    pub action: &'static str,
    pub value_type: &'static str,
    pub amount_cents: i64,
    pub bonus_cents: i64,
    pub real_balance_after_cents: i64,
    pub virtual_balance_after_cents: i64,
    pub created_at: NaiveDateTime,
    pub idempotency_key: Option<&'a str>,
}

pub(crate) fn balances(real: i64, virtual_: i64) -> Result<Balances, StorageError> {
    let money = |cents| {
        Money::from_minor_units(cents)
            .map_err(|e| StorageError::CorruptRow(format!("balance {cents}: {e}")))
    };
    Ok(Balances {
        real: money(real)?,
        virtual_: money(virtual_)?,
    })
}

impl TryFrom<LedgerRow> for LedgerEntry {
    type Error = StorageError;

    fn try_from(row: LedgerRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| StorageError::CorruptRow(format!("ledger {}: {what}", row.id));
        Ok(LedgerEntry {
            id: row.id,
            user: UserId(row.user_id),
            action: BalanceAction::parse(&row.action).ok_or_else(|| corrupt("action"))?,
            kind: BalanceKind::parse(&row.value_type).ok_or_else(|| corrupt("value type"))?,
            amount: Money::from_minor_units(row.amount_cents).map_err(|_| corrupt("amount"))?,
            bonus: Money::from_minor_units(row.bonus_cents).map_err(|_| corrupt("bonus"))?,
            balances_after: balances(
                row.real_balance_after_cents,
                row.virtual_balance_after_cents,
            )?,
            created_at: row.created_at.and_utc(),
            idempotency_key: row
                .idempotency_key
                .map(|key| IdempotencyKey::parse(&key).map_err(|_| corrupt("idempotency key")))
                .transpose()?,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub(crate) struct IdempotencyRow {
    pub fingerprint: String,
    outcome: Option<String>,
    real_balance_cents: Option<i64>,
    virtual_balance_cents: Option<i64>,
}

impl IdempotencyRow {
    /// The stored answer, replayed.
    pub fn replay(&self) -> Result<RecordedOutcome, StorageError> {
        let incomplete = || StorageError::CorruptRow("idempotency record without outcome".into());
        let outcome = match self.outcome.as_deref().ok_or_else(incomplete)? {
            "applied" => BalanceOutcome::Applied(balances(
                self.real_balance_cents.ok_or_else(incomplete)?,
                self.virtual_balance_cents.ok_or_else(incomplete)?,
            )?),
            other => BalanceOutcome::Refused(BalanceRefusal::parse(other).ok_or_else(incomplete)?),
        };
        Ok(RecordedOutcome {
            outcome,
            replayed: true,
        })
    }
}

/// How an outcome is stored beside its key.
pub(crate) fn outcome_columns(
    outcome: &BalanceOutcome,
) -> (&'static str, Option<i64>, Option<i64>) {
    match outcome {
        BalanceOutcome::Applied(balances) => (
            "applied",
            Some(balances.real.minor_units()),
            Some(balances.virtual_.minor_units()),
        ),
        BalanceOutcome::Refused(refusal) => (refusal.as_str(), None, None),
    }
}
