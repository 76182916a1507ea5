//! The abuse limits' attempts on Diesel: one table shared by every process.

use async_trait::async_trait;
use authusers_domain::storage::RepositoryError;
use authusers_domain::throttling::{
    AttemptId, AttemptLog, Check, Counter, CounterKey, Recording, Throttled,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::{PgConnection, SqliteConnection};

use crate::database::{on_connection, with_connection, Database};
use crate::schema::throttle_attempts;
use crate::write_transaction::WriteTransaction;

/// How many rows one pruning statement deletes, so that a backlog never
/// holds the write lock for long.
const PRUNE_BATCH: i64 = 1000;

#[derive(Clone)]
pub struct DieselAttemptLog {
    db: Database,
}

impl DieselAttemptLog {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Insertable)]
#[diesel(table_name = throttle_attempts)]
pub(crate) struct NewAttemptRow<'a> {
    pub counter: &'a str,
    pub key_digest: &'a str,
    pub attempted_at: NaiveDateTime,
}

/// Makes two transactions about one key take turns until they end.
pub(crate) trait KeyLock {
    fn lock_keys<'a>(&mut self, keys: impl Iterator<Item = &'a CounterKey>) -> QueryResult<()>;
}

impl KeyLock for SqliteConnection {
    fn lock_keys<'a>(&mut self, _keys: impl Iterator<Item = &'a CounterKey>) -> QueryResult<()> {
        // The immediate transaction already holds SQLite's only write lock.
        Ok(())
    }
}

impl KeyLock for PgConnection {
    fn lock_keys<'a>(&mut self, keys: impl Iterator<Item = &'a CounterKey>) -> QueryResult<()> {
        // A transaction-scoped advisory lock per key, taken in one order
        // so that two transactions never wait for each other in a circle.
        // Two keys sharing a lock number only take turns needlessly.
        let mut numbers: Vec<i64> = keys.map(lock_number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        for number in numbers {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(number)
                .execute(self)?;
        }
        Ok(())
    }
}

/// The first 64 bits of the key's digest.
fn lock_number(key: &CounterKey) -> i64 {
    let prefix = key.digest().get(..16).unwrap_or_default();
    u64::from_str_radix(prefix, 16).map_or(0, |n| n as i64)
}

/// The refusal, if a key of `$checks` is at its limit at `$at`: compiled
/// for each backend's connection type. The limit of a key is reached when
/// it has a `max`-th newest attempt inside the window; it lifts when that
/// attempt leaves the window. Of several keys, the one that lifts last.
macro_rules! refusal {
    ($conn:ident, $checks:expr, $at:expr) => {{
        let checks: &[Check] = $checks;
        let at: DateTime<Utc> = $at;
        let mut refusal: Option<Throttled> = None;
        for check in checks {
            let window_start = (at - check.limit.window).naive_utc();
            let oldest_counted: Option<NaiveDateTime> = throttle_attempts::table
                .filter(throttle_attempts::key_digest.eq(check.key.digest()))
                .filter(throttle_attempts::attempted_at.gt(window_start))
                .order(throttle_attempts::attempted_at.desc())
                .offset(i64::from(check.limit.max.get()) - 1)
                .select(throttle_attempts::attempted_at)
                .first($conn)
                .optional()?;
            if let Some(oldest) = oldest_counted {
                let retry_after = oldest.and_utc() + check.limit.window - at;
                if refusal.is_none_or(|r: Throttled| r.retry_after < retry_after) {
                    refusal = Some(Throttled {
                        counter: check.key.counter(),
                        retry_after,
                    });
                }
            }
        }
        refusal
    }};
}
pub(crate) use refusal;

/// Checks and, unless `$check_only`, records, in the caller's write
/// transaction, with the keys locked so that racing calls take turns.
macro_rules! record_attempts {
    ($conn:ident, $checks:expr, $at:expr) => {
        record_attempts!($conn, $checks, $at, false)
    };
    ($conn:ident, $checks:expr, $at:expr, $check_only:expr) => {{
        let checks: &[Check] = $checks;
        let at: DateTime<Utc> = $at;
        $conn.lock_keys(checks.iter().map(|check| &check.key))?;
        match refusal!($conn, checks, at) {
            Some(throttled) => Recording::Refused(throttled),
            None if $check_only => Recording::Recorded(Vec::new()),
            None => {
                let mut recorded = Vec::with_capacity(checks.len());
                for check in checks {
                    let id: i64 = diesel::insert_into(throttle_attempts::table)
                        .values(&NewAttemptRow {
                            counter: check.key.counter().as_str(),
                            key_digest: check.key.digest(),
                            attempted_at: at.naive_utc(),
                        })
                        .returning(throttle_attempts::id)
                        .get_result($conn)?;
                    recorded.push(AttemptId(id));
                }
                Recording::Recorded(recorded)
            }
        }
    }};
}
pub(crate) use record_attempts;

#[async_trait]
impl AttemptLog for DieselAttemptLog {
    async fn record(
        &self,
        checks: Vec<Check>,
        at: DateTime<Utc>,
    ) -> Result<Recording, RepositoryError> {
        // A key already at its limit is refused by a plain read, without
        // the write lock: a guesser held back costs one look and never
        // queues behind writers. A count falls only by a success or a
        // take-back, so a refusal read here stands; a pass is checked again
        // under the lock.
        let refused = {
            let checks = checks.clone();
            self.db
                .run(move |pools| Ok(with_connection!(pools, |conn| refusal!(conn, &checks, at))))
                .await?
        };
        if let Some(throttled) = refused {
            return Ok(Recording::Refused(throttled));
        }
        let recording = self
            .db
            .write(move |conn| {
                let recording = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        Ok::<_, diesel::result::Error>(record_attempts!(conn, &checks, at))
                    })?
                });
                Ok(recording)
            })
            .await?;
        Ok(recording)
    }

    async fn take_back(&self, attempts: Vec<AttemptId>) -> Result<(), RepositoryError> {
        let ids: Vec<i64> = attempts.iter().map(|attempt| attempt.0).collect();
        self.db
            .write(move |conn| {
                on_connection!(conn, |conn| {
                    diesel::delete(
                        throttle_attempts::table.filter(throttle_attempts::id.eq_any(&ids)),
                    )
                    .execute(conn)?
                });
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn clear(&self, key: CounterKey) -> Result<(), RepositoryError> {
        self.db
            .write(move |conn| {
                on_connection!(conn, |conn| {
                    diesel::delete(
                        throttle_attempts::table
                            .filter(throttle_attempts::key_digest.eq(key.digest())),
                    )
                    .execute(conn)?
                });
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn prune(&self, counter: Counter, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let before = before.naive_utc();
        let pruned = self
            .db
            .delete_in_batches(PRUNE_BATCH, move |conn| {
                let deleted = on_connection!(conn, |conn| {
                    let old: Vec<i64> = throttle_attempts::table
                        .filter(throttle_attempts::counter.eq(counter.as_str()))
                        .filter(throttle_attempts::attempted_at.le(before))
                        .select(throttle_attempts::id)
                        .limit(PRUNE_BATCH)
                        .load(conn)?;
                    diesel::delete(
                        throttle_attempts::table.filter(throttle_attempts::id.eq_any(&old)),
                    )
                    .execute(conn)?
                });
                Ok(deleted)
            })
            .await?;
        Ok(pruned)
    }
}
