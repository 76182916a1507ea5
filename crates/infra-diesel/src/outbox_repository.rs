use std::time::{Duration, Instant};

use async_trait::async_trait;
use authusers_domain::outbox::{
    AttemptOutcome, AttemptRecord, LeaseToken, OutboxBacklog, OutboxEntry, OutboxFilter,
    OutboxRepository, QueuedEmail,
};
use authusers_domain::pagination::Position;
use authusers_domain::storage::RepositoryError;
use authusers_domain::{Page, PageRequest};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::database::{on_connection, with_connection, Database};
use crate::list_read::ListRead;
use crate::outbox_row::OutboxRow;
use crate::paging::{id_key, page_of, stored_count, Walk};
use crate::schema::{outbox_attempts, outbox_messages};
use crate::write_transaction::WriteTransaction;

const PENDING: &str = "pending";

/// How long recording a delivery attempt waits for an unavailable database:
/// well within a claim's lease (two minutes), so that no other worker
/// claims a message that has in fact gone.
const RECORD_RETRY_LIMIT: Duration = Duration::from_secs(60);
const RECORD_RETRY_FIRST_PAUSE: Duration = Duration::from_millis(250);
const RECORD_RETRY_MAX_PAUSE: Duration = Duration::from_secs(2);

/// The e-mail outbox on Diesel.
#[derive(Clone)]
pub struct DieselOutboxRepository {
    db: Database,
}

impl DieselOutboxRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Selects the ids of due, unleased messages and locks them for the
/// current transaction, skipping rows other workers hold.
trait LockDueMessages {
    fn lock_due_ids(&mut self, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>>;
}

macro_rules! due_ids_query {
    ($now:expr, $limit:expr) => {
        outbox_messages::table
            .filter(outbox_messages::status.eq(PENDING))
            .filter(outbox_messages::next_attempt_at.le($now))
            .filter(
                outbox_messages::locked_until
                    .is_null()
                    .or(outbox_messages::locked_until.le($now)),
            )
            .order(outbox_messages::id.asc())
            .limit($limit)
            .select(outbox_messages::id)
    };
}

impl LockDueMessages for PgConnection {
    fn lock_due_ids(&mut self, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
        due_ids_query!(now, limit)
            .for_update()
            .skip_locked()
            .load(self)
    }
}

impl LockDueMessages for SqliteConnection {
    /// SQLite has one writer at a time: the immediate transaction around
    /// this call is the lock.
    fn lock_due_ids(&mut self, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
        due_ids_query!(now, limit).load(self)
    }
}

/// The messages an `OutboxFilter` selects, as a boxed query for the
/// connection's backend (used twice: for the page and for the count).
macro_rules! filtered_messages {
    ($filter:expr) => {{
        let filter: &OutboxFilter = $filter;
        let mut query = outbox_messages::table.into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(outbox_messages::status.eq(status.as_str()));
        }
        if let Some(user) = filter.user {
            query = query.filter(outbox_messages::user_id.eq(user.0));
        }
        query
    }};
}

#[async_trait]
impl OutboxRepository for DieselOutboxRepository {
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<QueuedEmail>, RepositoryError> {
        let now = now.naive_utc();
        let lease_until = lease_until.naive_utc();
        let lease = uuid::Uuid::new_v4().simple().to_string();
        let token = lease.clone();
        let claimed = self
            .db
            .write(move |conn| {
                let rows: Vec<OutboxRow> = on_connection!(conn, |conn| {
                    // A plain read first, so that an idle poll takes no
                    // write lock (SQLite has only one).
                    let any_due: Vec<i64> = due_ids_query!(now, 1).load(conn)?;
                    if any_due.is_empty() {
                        return Ok(Vec::new());
                    }
                    conn.write_transaction(|conn| {
                        let ids = conn.lock_due_ids(now, i64::from(limit))?;
                        if ids.is_empty() {
                            return Ok::<_, diesel::result::Error>(Vec::new());
                        }
                        diesel::update(
                            outbox_messages::table.filter(outbox_messages::id.eq_any(&ids)),
                        )
                        .set((
                            outbox_messages::locked_until.eq(lease_until),
                            outbox_messages::lease_token.eq(&token),
                        ))
                        .returning(OutboxRow::as_returning())
                        .get_results(conn)
                    })?
                });
                let mut messages: Vec<QueuedEmail> = rows
                    .into_iter()
                    .map(|row| row.claimed(LeaseToken(lease.clone())))
                    .collect::<Result<_, _>>()?;
                messages.sort_by_key(|m| m.id);
                Ok(messages)
            })
            .await?;
        Ok(claimed)
    }

    async fn record_attempt(
        &self,
        id: i64,
        lease: &LeaseToken,
        attempt: u32,
        at: DateTime<Utc>,
        outcome: &AttemptOutcome,
    ) -> Result<AttemptRecord, RepositoryError> {
        let at = at.naive_utc();
        let attempt = i32::try_from(attempt).map_err(|_| {
            RepositoryError::failed(format!("attempt {attempt} of message {id} is out of range"))
        })?;
        // The mail has gone (or failed) already: its outcome must be kept,
        // or the message would be sent again once its lease ends. A database
        // that is unavailable (a failover: seconds) is waited for, well
        // within the lease.
        let started = Instant::now();
        let mut pause = RECORD_RETRY_FIRST_PAUSE;
        loop {
            let lease = lease.0.clone();
            let outcome = outcome.clone();
            let written = self
                .db
                .write(move |conn| {
                    let (label, error) = match &outcome {
                        AttemptOutcome::Sent => ("sent", None),
                        AttemptOutcome::Retry { error, .. } => ("retry", Some(error.as_str())),
                        AttemptOutcome::Failed { error } => ("failed", Some(error.as_str())),
                    };
                    // The message only while this claim still holds it.
                    let held = outbox_messages::table
                        .filter(outbox_messages::id.eq(id))
                        .filter(outbox_messages::status.eq(PENDING))
                        .filter(outbox_messages::lease_token.eq(&lease));
                    let released = (
                        outbox_messages::attempts.eq(attempt),
                        outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                        outbox_messages::lease_token.eq(None::<String>),
                    );
                    let recorded = on_connection!(conn, |conn| {
                        conn.write_transaction(|conn| {
                            let updated = match &outcome {
                                AttemptOutcome::Sent => diesel::update(held)
                                    .set((
                                        released,
                                        outbox_messages::status.eq("sent"),
                                        outbox_messages::sent_at.eq(Some(at)),
                                        outbox_messages::last_error.eq(None::<String>),
                                    ))
                                    .execute(conn)?,
                                AttemptOutcome::Retry {
                                    error,
                                    next_attempt_at,
                                } => diesel::update(held)
                                    .set((
                                        released,
                                        outbox_messages::next_attempt_at
                                            .eq(next_attempt_at.naive_utc()),
                                        outbox_messages::last_error.eq(Some(error.as_str())),
                                    ))
                                    .execute(conn)?,
                                AttemptOutcome::Failed { error } => diesel::update(held)
                                    .set((
                                        released,
                                        outbox_messages::status.eq("failed"),
                                        outbox_messages::last_error.eq(Some(error.as_str())),
                                    ))
                                    .execute(conn)?,
                            };
                            if updated == 0 {
                                return Ok::<_, diesel::result::Error>(AttemptRecord::LeaseLost);
                            }
                            diesel::insert_into(outbox_attempts::table)
                                .values((
                                    outbox_attempts::outbox_id.eq(id),
                                    outbox_attempts::attempt.eq(attempt),
                                    outbox_attempts::attempted_at.eq(at),
                                    outbox_attempts::outcome.eq(label),
                                    outbox_attempts::error.eq(error),
                                ))
                                .execute(conn)?;
                            Ok(AttemptRecord::Recorded)
                        })?
                    });
                    Ok(recorded)
                })
                .await;
            match written {
                Err(error) if error.is_unavailable() && started.elapsed() < RECORD_RETRY_LIMIT => {
                    tracing::warn!(outbox_id = id, %error, "recording a delivery attempt: the database is unavailable; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RECORD_RETRY_MAX_PAUSE);
                }
                written => return Ok(written?),
            }
        }
    }

    async fn backlog(&self) -> Result<OutboxBacklog, RepositoryError> {
        let backlog = self
            .db
            .run(|pools| {
                let (pending, failed): (i64, i64) = with_connection!(pools, |conn| {
                    let count = |status: &'static str, conn: &mut _| {
                        outbox_messages::table
                            .filter(outbox_messages::status.eq(status))
                            .count()
                            .get_result::<i64>(conn)
                    };
                    (count(PENDING, conn)?, count("failed", conn)?)
                });
                Ok(OutboxBacklog {
                    pending: stored_count(pending, "the pending mail's count")?,
                    failed: stored_count(failed, "the failed mail's count")?,
                })
            })
            .await?;
        Ok(backlog)
    }

    async fn requeue_failed(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let now = now.naive_utc();
        let requeued = self
            .db
            .write(move |conn| {
                let changed = on_connection!(conn, |conn| {
                    diesel::update(
                        outbox_messages::table.filter(outbox_messages::status.eq("failed")),
                    )
                    .set((
                        outbox_messages::status.eq(PENDING),
                        outbox_messages::attempts.eq(0),
                        outbox_messages::next_attempt_at.eq(now),
                        outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                    ))
                    .execute(conn)?
                });
                stored_count(changed, "the requeued mail's count")
            })
            .await?;
        Ok(requeued)
    }

    async fn unsent(&self, limit: u32) -> Result<Vec<OutboxEntry>, RepositoryError> {
        let entries = self
            .db
            .run(move |pools| {
                let rows: Vec<OutboxRow> = with_connection!(pools, |conn| {
                    outbox_messages::table
                        .filter(outbox_messages::status.ne("sent"))
                        .order(outbox_messages::id.asc())
                        .limit(i64::from(limit))
                        .select(OutboxRow::as_select())
                        .load(conn)?
                });
                rows.into_iter().map(OutboxEntry::try_from).collect()
            })
            .await?;
        Ok(entries)
    }

    async fn list(
        &self,
        filter: OutboxFilter,
        page: PageRequest,
    ) -> Result<Page<OutboxEntry>, RepositoryError> {
        // Newest first: after a message come older ones.
        let walk = Walk::of(&page, id_key)?;
        let rows_to_read = walk.rows_to_read(&page);
        let listed = self
            .db
            .run(move |pools| {
                let (rows, total): (Vec<OutboxRow>, i64) = with_connection!(pools, |conn| {
                    conn.list_read(|conn| {
                        let query = filtered_messages!(&filter);
                        let query = match walk {
                            Walk::Offset(offset) => {
                                query.order(outbox_messages::id.desc()).offset(offset)
                            }
                            Walk::After(None) => query.order(outbox_messages::id.desc()),
                            Walk::After(Some(id)) => query
                                .filter(outbox_messages::id.lt(id))
                                .order(outbox_messages::id.desc()),
                            Walk::Before(id) => query
                                .filter(outbox_messages::id.gt(id))
                                .order(outbox_messages::id.asc()),
                        };
                        let rows = query
                            .limit(rows_to_read)
                            .select(OutboxRow::as_select())
                            .load(conn)?;
                        let total = filtered_messages!(&filter).count().get_result(conn)?;
                        Ok::<_, diesel::result::Error>((rows, total))
                    })?
                });
                page_of(rows, total, page, |entry: &OutboxEntry| {
                    Position::Id(entry.id)
                })
            })
            .await?;
        Ok(listed)
    }
}
