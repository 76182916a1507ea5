//! The guarded balance update and its ledger row, in as few statements as
//! each backend allows.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
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

impl ChangeAndRecord for PgConnection {
    /// One statement, so one round trip and atomic without a transaction:
    /// the update in a data-modifying CTE feeds the ledger insert. Built as
    /// a query of its own (not `sql_query`) so that each connection
    /// prepares it once and PostgreSQL does not plan it at every call.
    fn change_and_record(
        &mut self,
        real_delta: i64,
        virtual_delta: i64,
        ledger: &NewLedgerRow<'_>,
    ) -> QueryResult<Option<(i64, i64)>> {
        ChangeAndRecordQuery {
            real_delta,
            virtual_delta,
            max: MAX_MONEY_MINOR_UNITS,
            ledger,
        }
        .get_result(self)
        .optional()
    }
}

/// The guarded update and its ledger row as one PostgreSQL statement.
struct ChangeAndRecordQuery<'a> {
    real_delta: i64,
    virtual_delta: i64,
    max: i64,
    ledger: &'a NewLedgerRow<'a>,
}

/// Its SQL is the same at every call, so a connection's prepared-statement
/// cache may keep it by this type.
impl QueryId for ChangeAndRecordQuery<'_> {
    type QueryId = ChangeAndRecordQuery<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for ChangeAndRecordQuery<'_> {
    type SqlType = (BigInt, BigInt);
}

impl RunQueryDsl<PgConnection> for ChangeAndRecordQuery<'_> {}

impl QueryFragment<Pg> for ChangeAndRecordQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let ledger = self.ledger;
        out.push_sql(
            "WITH changed AS (UPDATE users SET real_balance_cents = real_balance_cents + ",
        );
        out.push_bind_param::<BigInt, _>(&self.real_delta)?;
        out.push_sql(", virtual_balance_cents = virtual_balance_cents + ");
        out.push_bind_param::<BigInt, _>(&self.virtual_delta)?;
        out.push_sql(" WHERE id = ");
        out.push_bind_param::<BigInt, _>(&ledger.user_id)?;
        out.push_sql(" AND erased_at IS NULL AND real_balance_cents + ");
        out.push_bind_param::<BigInt, _>(&self.real_delta)?;
        out.push_sql(" BETWEEN 0 AND ");
        out.push_bind_param::<BigInt, _>(&self.max)?;
        out.push_sql(" AND virtual_balance_cents + ");
        out.push_bind_param::<BigInt, _>(&self.virtual_delta)?;
        out.push_sql(" BETWEEN 0 AND ");
        out.push_bind_param::<BigInt, _>(&self.max)?;
        out.push_sql(
            " RETURNING real_balance_cents, virtual_balance_cents) \
             INSERT INTO balance_transactions (user_id, action, value_type, amount_cents, \
             bonus_cents, real_balance_after_cents, virtual_balance_after_cents, created_at, \
             idempotency_key) SELECT ",
        );
        out.push_bind_param::<BigInt, _>(&ledger.user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(ledger.action)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(ledger.value_type)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&ledger.amount_cents)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&ledger.bonus_cents)?;
        out.push_sql(", real_balance_cents, virtual_balance_cents, ");
        out.push_bind_param::<Timestamp, _>(&ledger.created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&ledger.idempotency_key)?;
        out.push_sql(
            " FROM changed RETURNING real_balance_after_cents, virtual_balance_after_cents",
        );
        Ok(())
    }
}
