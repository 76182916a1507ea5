//! The guarded balance update and its ledger row, in as few statements as
//! each backend allows.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use diesel::{PgConnection, SqliteConnection};

use authusers_domain::money::MAX_MONEY_MINOR_UNITS;

use crate::ledger_row::NewLedgerRow;
use crate::live_users::live_users;
use crate::schema::{balance_transactions, users};

/// Adds `real_delta` and `virtual_delta` to a live user's balances only
/// if both stay within 0 ..= the bound, and writes `ledger` (its balances
/// after taken from the update) only then. The balances after, or `None`
/// when the guard refused (or there is no such live user).
pub(crate) trait ChangeAndRecord {
    fn change_and_record(
        &mut self,
        real_delta: i64,
        virtual_delta: i64,
        ledger: &NewLedgerRow<'_>,
    ) -> QueryResult<Option<(i64, i64)>>;
}

impl ChangeAndRecord for SqliteConnection {
    /// Two statements: SQLite has no data-modifying CTE. The caller's
    /// transaction (the writer's savepoint) keeps them together; they are
    /// calls into the library, not round trips.
    fn change_and_record(
        &mut self,
        real_delta: i64,
        virtual_delta: i64,
        ledger: &NewLedgerRow<'_>,
    ) -> QueryResult<Option<(i64, i64)>> {
        let real = users::real_balance_cents;
        let virtual_ = users::virtual_balance_cents;
        let updated: Option<(i64, i64)> = diesel::update(
            live_users()
                .filter(users::id.eq(ledger.user_id))
                .filter((real + real_delta).ge(0_i64))
                .filter((real + real_delta).le(MAX_MONEY_MINOR_UNITS))
                .filter((virtual_ + virtual_delta).ge(0_i64))
                .filter((virtual_ + virtual_delta).le(MAX_MONEY_MINOR_UNITS)),
        )
        .set((
            real.eq(real + real_delta),
            virtual_.eq(virtual_ + virtual_delta),
        ))
        .returning((real, virtual_))
        .get_result(self)
        .optional()?;
        if let Some((real_after, virtual_after)) = updated {
            diesel::insert_into(balance_transactions::table)
                .values(&NewLedgerRow {
                    real_balance_after_cents: real_after,
                    virtual_balance_after_cents: virtual_after,
                    ..*ledger
                })
                .execute(self)?;
        }
        Ok(updated)
    }
}

#[derive(QueryableByName)]
struct BalancesAfter {
    #[diesel(sql_type = BigInt)]
    real_balance_after_cents: i64,
    #[diesel(sql_type = BigInt)]
    virtual_balance_after_cents: i64,
}

impl ChangeAndRecord for PgConnection {
    /// One statement, so one round trip and atomic without a transaction:
    /// the update in a data-modifying CTE feeds the ledger insert.
    fn change_and_record(
        &mut self,
        real_delta: i64,
        virtual_delta: i64,
        ledger: &NewLedgerRow<'_>,
    ) -> QueryResult<Option<(i64, i64)>> {
        let after: Option<BalancesAfter> = diesel::sql_query(
            "WITH changed AS ( \
               UPDATE users \
                  SET real_balance_cents = real_balance_cents + $2, \
                      virtual_balance_cents = virtual_balance_cents + $3 \
                WHERE id = $1 AND erased_at IS NULL \
                  AND real_balance_cents + $2 BETWEEN 0 AND $4 \
                  AND virtual_balance_cents + $3 BETWEEN 0 AND $4 \
               RETURNING real_balance_cents, virtual_balance_cents) \
             INSERT INTO balance_transactions (user_id, action, value_type, amount_cents, \
                 bonus_cents, real_balance_after_cents, virtual_balance_after_cents, \
                 created_at, idempotency_key) \
             SELECT $1, $5, $6, $7, $8, real_balance_cents, virtual_balance_cents, $9, $10 \
               FROM changed \
             RETURNING real_balance_after_cents, virtual_balance_after_cents",
        )
        .bind::<BigInt, _>(ledger.user_id)
        .bind::<BigInt, _>(real_delta)
        .bind::<BigInt, _>(virtual_delta)
        .bind::<BigInt, _>(MAX_MONEY_MINOR_UNITS)
        .bind::<Text, _>(ledger.action)
        .bind::<Text, _>(ledger.value_type)
        .bind::<BigInt, _>(ledger.amount_cents)
        .bind::<BigInt, _>(ledger.bonus_cents)
        .bind::<Timestamp, _>(ledger.created_at)
        .bind::<Nullable<Text>, _>(ledger.idempotency_key)
        .get_result(self)
        .optional()?;
        Ok(after.map(|row| {
            (
                row.real_balance_after_cents,
                row.virtual_balance_after_cents,
            )
        }))
    }
}
