use async_trait::async_trait;
use authusers_domain::balance::{Balances, LedgerEntry};
use authusers_domain::pagination::Position;
use authusers_domain::storage::RepositoryError;
use authusers_domain::wallet::{
    ApplyBalanceError, BalanceCommand, BalanceOutcome, BalanceRepository, RecordedOutcome,
};
use authusers_domain::{Page, PageRequest, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::balance_statements::ChangeAndRecord;
use crate::database::{on_connection, with_connection, Database};
use crate::error::StorageError;
use crate::ledger_row::{balances, outcome_columns, IdempotencyRow, LedgerRow, NewLedgerRow};
use crate::list_read::ListRead;
use crate::live_users::live_users;
use crate::paging::{id_key, page_of, Walk};
use crate::schema::{balance_transactions, idempotency_keys, ledger_counts, users};
use crate::write_transaction::WriteTransaction;

/// Balances, the ledger and idempotency records on Diesel.
#[derive(Clone)]
pub struct DieselBalanceRepository {
    db: Database,
}

impl DieselBalanceRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Why a balance transaction ended without an outcome.
enum Failure {
    Storage(StorageError),
    UserNotFound,
    KeyReused,
}

impl From<diesel::result::Error> for Failure {
    fn from(error: diesel::result::Error) -> Self {
        Self::Storage(StorageError::Query(error))
    }
}

impl From<StorageError> for Failure {
    fn from(error: StorageError) -> Self {
        Self::Storage(error)
    }
}

#[async_trait]
impl BalanceRepository for DieselBalanceRepository {
    async fn balances(&self, user: UserId) -> Result<Option<Balances>, RepositoryError> {
        let found = self
            .db
            .run(move |pools| {
                let row: Option<(i64, i64)> = with_connection!(pools, |conn| {
                    live_users()
                        .filter(users::id.eq(user.0))
                        .select((users::real_balance_cents, users::virtual_balance_cents))
                        .get_result(conn)
                        .optional()?
                });
                row.map(|(real, virtual_)| balances(real, virtual_))
                    .transpose()
            })
            .await?;
        Ok(found)
    }

    async fn apply(&self, command: BalanceCommand) -> Result<RecordedOutcome, ApplyBalanceError> {
        let result = self
            .db
            .write(move |conn| {
                let outcome = on_connection!(conn, |conn| {
                    if command.idempotency_key.is_some() {
                        conn.write_transaction(|conn| apply_in_transaction!(conn, &command))
                    } else {
                        // Without a key the change and its ledger row are
                        // the only writes, and they are already whole: one
                        // statement on PostgreSQL, the writer's savepoint on
                        // SQLite. A transaction would only add round trips.
                        (|| apply_in_transaction!(conn, &command))()
                    }
                });
                Ok(outcome)
            })
            .await;
        match result {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(Failure::UserNotFound)) => Err(ApplyBalanceError::UserNotFound),
            Ok(Err(Failure::KeyReused)) => Err(ApplyBalanceError::IdempotencyKeyReused),
            Ok(Err(Failure::Storage(error))) | Err(error) => {
                Err(ApplyBalanceError::Repository(error.into()))
            }
        }
    }

    async fn ledger(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, RepositoryError> {
        // Newest first: after an entry come older ones.
        let walk = Walk::of(&page, id_key)?;
        let rows_to_read = walk.rows_to_read(&page);
        let listed = self
            .db
            .run(move |pools| {
                let (rows, total): (Vec<LedgerRow>, Option<i64>) =
                    with_connection!(pools, |conn| {
                        conn.list_read(|conn| {
                            let query = balance_transactions::table
                                .filter(balance_transactions::user_id.eq(user.0))
                                .into_boxed();
                            let query = match walk {
                                Walk::Offset(offset) => {
                                    query.order(balance_transactions::id.desc()).offset(offset)
                                }
                                Walk::After(None) => query.order(balance_transactions::id.desc()),
                                Walk::After(Some(id)) => query
                                    .filter(balance_transactions::id.lt(id))
                                    .order(balance_transactions::id.desc()),
                                Walk::Before(id) => query
                                    .filter(balance_transactions::id.gt(id))
                                    .order(balance_transactions::id.asc()),
                            };
                            let rows = query
                                .limit(rows_to_read)
                                .select(LedgerRow::as_select())
                                .load(conn)?;
                            // Kept by the ledger's triggers with every entry.
                            let total = ledger_counts::table
                                .find(user.0)
                                .select(ledger_counts::entries)
                                .get_result(conn)
                                .optional()?;
                            Ok::<_, diesel::result::Error>((rows, total))
                        })?
                    });
                page_of(rows, total.unwrap_or(0), page, |entry: &LedgerEntry| {
                    Position::Id(entry.id)
                })
            })
            .await?;
        Ok(listed)
    }

    async fn prune_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let before = before.naive_utc();
        let pruned = self
            .db
            .delete_in_batches(PRUNE_BATCH, move |conn| {
                let deleted = on_connection!(conn, |conn| {
                    // The batch's newest creation time bounds the delete
                    // (keys created at the same instant may add a few).
                    let newest: Option<NaiveDateTime> = idempotency_keys::table
                        .filter(idempotency_keys::created_at.lt(before))
                        .order(idempotency_keys::created_at.asc())
                        .select(idempotency_keys::created_at)
                        .offset(PRUNE_BATCH - 1)
                        .first(conn)
                        .optional()?;
                    let bound = newest.unwrap_or(before);
                    diesel::delete(
                        idempotency_keys::table
                            .filter(idempotency_keys::created_at.lt(before))
                            .filter(idempotency_keys::created_at.le(bound)),
                    )
                    .execute(conn)?
                });
                Ok(deleted)
            })
            .await?;
        Ok(pruned)
    }
}

/// How often a balance change is tried when the balances keep moving
/// between its guarded update and the read that explains a refusal.
const GUARDED_UPDATE_TRIES: u32 = 16;

/// Idempotency records deleted per statement by the background worker.
const PRUNE_BATCH: i64 = 1000;

/// The body of one balance transaction, compiled for each backend's
/// connection type. In order: claim the idempotency key (or answer with
/// what it recorded), apply the change as one guarded update, write the
/// ledger row, and record the outcome beside the key.
macro_rules! apply_in_transaction {
    ($conn:ident, $command:expr) => {{
        let command: &BalanceCommand = $command;
        let user = command.user.0;
        let at = command.at.naive_utc();
        let key = command.idempotency_key.as_ref().map(|k| k.as_str());
        let fingerprint = command.operation.fingerprint();

        if let Some(key) = key {
            // This key, if it has outlived its retention: it no longer
            // answers for anything (the background worker deletes the rest).
            diesel::delete(
                idempotency_keys::table
                    .filter(idempotency_keys::user_id.eq(user))
                    .filter(idempotency_keys::idempotency_key.eq(key))
                    .filter(idempotency_keys::created_at.lt(command.keys_valid_since.naive_utc())),
            )
            .execute($conn)?;
            // A concurrent holder of the same key makes this wait for its
            // commit, then insert nothing.
            let claimed = diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::user_id.eq(user),
                    idempotency_keys::idempotency_key.eq(key),
                    idempotency_keys::fingerprint.eq(&fingerprint),
                    idempotency_keys::created_at.eq(at),
                ))
                .on_conflict_do_nothing()
                .execute($conn)?;
            if claimed == 0 {
                let record: IdempotencyRow = idempotency_keys::table
                    .find((user, key))
                    .select(IdempotencyRow::as_select())
                    .get_result($conn)?;
                if record.fingerprint != fingerprint {
                    return Err(Failure::KeyReused);
                }
                return Ok(record.replay()?);
            }
        }

        let change = command.change;
        let ledger = NewLedgerRow {
            user_id: user,
            action: command.operation.action().as_str(),
            value_type: command.operation.kind().as_str(),
            amount_cents: command.operation.amount().money().minor_units(),
            bonus_cents: change.bonus.minor_units(),
            // Taken from the update by `change_and_record`.
            real_balance_after_cents: 0,
            virtual_balance_after_cents: 0,
            created_at: at,
            idempotency_key: key,
        };
        // Never on an erased account: money would land where nobody can
        // reach it.
        let mut tries = 0;
        let outcome = loop {
            tries += 1;
            let updated =
                $conn.change_and_record(change.real_delta, change.virtual_delta, &ledger)?;
            if let Some((real_after, virtual_after)) = updated {
                break BalanceOutcome::Applied(balances(real_after, virtual_after)?);
            }
            let current: Option<(i64, i64)> = live_users()
                .filter(users::id.eq(user))
                .select((users::real_balance_cents, users::virtual_balance_cents))
                .get_result($conn)
                .optional()?;
            let (real_now, virtual_now) = current.ok_or(Failure::UserNotFound)?;
            // The guarded update refused the change; the rule it enforces
            // names why, from the balances as they are now.
            match change.apply_to(balances(real_now, virtual_now)?) {
                Err(refusal) => break BalanceOutcome::Refused(refusal),
                // Another transaction moved the balances between the update
                // and this read (PostgreSQL reads each statement's own
                // committed state): the change fits now, so try it again.
                Ok(_) if tries < GUARDED_UPDATE_TRIES => continue,
                Ok(_) => {
                    return Err(Failure::Storage(StorageError::CorruptRow(format!(
                        "user {user}: the balances changed under {tries} guarded updates in a row"
                    ))))
                }
            }
        };

        if let Some(key) = key {
            let (stored, real_after, virtual_after) = outcome_columns(&outcome);
            diesel::update(idempotency_keys::table.find((user, key)))
                .set((
                    idempotency_keys::outcome.eq(stored),
                    idempotency_keys::real_balance_cents.eq(real_after),
                    idempotency_keys::virtual_balance_cents.eq(virtual_after),
                ))
                .execute($conn)?;
        }
        Ok::<_, Failure>(RecordedOutcome {
            outcome,
            replayed: false,
        })
    }};
}
use apply_in_transaction;
