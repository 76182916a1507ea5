use async_trait::async_trait;
use authusers_domain::pagination::Position;
use authusers_domain::sessions::{
    AccessClaim, ClientInfo, EndReason, NewSession, RefreshClaim, Rotation, Session, SessionEnd,
    SessionId, SessionRepository,
};
use authusers_domain::storage::RepositoryError;
use authusers_domain::{Page, PageRequest, User, UserId, UserStatus};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::database::{on_connection, with_connection, Database};
use crate::error::StorageError;
use crate::list_read::ListRead;
use crate::paging::{page_of, Walk};
use crate::schema::{legacy_refresh_tokens, sessions, users};
use crate::user_row::UserRow;
use crate::write_transaction::WriteTransaction;

/// Sessions on Diesel.
#[derive(Clone)]
pub struct DieselSessionRepository {
    db: Database,
    prune_batch: i64,
}

/// How many rows one pruning statement deletes: each batch is its own short
/// write, so logins are never held behind one long delete.
const PRUNE_BATCH: i64 = 1000;

impl DieselSessionRepository {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            prune_batch: PRUNE_BATCH,
        }
    }

    /// The same, pruning `rows` at a time.
    pub fn with_prune_batch(self, rows: i64) -> Self {
        Self {
            prune_batch: rows.max(1),
            ..self
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    id: String,
    user_id: i64,
    generation: i64,
    created_at: NaiveDateTime,
    last_used_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    user_agent: Option<String>,
    client_address: Option<String>,
    ended_at: Option<NaiveDateTime>,
    end_reason: Option<String>,
    second_factor_at: Option<NaiveDateTime>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StorageError;

    fn try_from(row: SessionRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| StorageError::CorruptRow(format!("session {}: {what}", row.id));
        let id = SessionId::parse(&row.id).ok_or_else(|| corrupt("id"))?;
        let generation = u32::try_from(row.generation).map_err(|_| corrupt("generation"))?;
        let ended = match (row.ended_at, row.end_reason.as_deref()) {
            (None, None) => None,
            (Some(at), Some(reason)) => Some(SessionEnd {
                at: at.and_utc(),
                reason: EndReason::parse(reason).ok_or_else(|| corrupt("end reason"))?,
            }),
            _ => return Err(corrupt("end")),
        };
        Ok(Session {
            id,
            user: UserId(row.user_id),
            generation,
            created_at: row.created_at.and_utc(),
            last_used_at: row.last_used_at.and_utc(),
            expires_at: row.expires_at.and_utc(),
            client: ClientInfo {
                user_agent: row.user_agent,
                address: row.client_address,
            },
            ended,
            second_factor_at: row.second_factor_at.map(|at| at.and_utc()),
        })
    }
}

/// What a rotation did, as the transaction saw it.
enum Stored {
    Rotated(SessionRow),
    Reused,
    NotLive,
}

/// The open sessions (not ended, not expired at `$now`) with id `$id` of
/// user `$user`.
macro_rules! open_session {
    ($id:expr, $user:expr, $now:expr) => {
        sessions::table
            .filter(sessions::id.eq($id))
            .filter(sessions::user_id.eq($user))
            .filter(sessions::ended_at.is_null())
            .filter(sessions::expires_at.gt($now))
    };
}

/// Stores a new session at generation 1, compiled for each backend.
macro_rules! insert_session {
    ($conn:expr, $session:expr) => {{
        let session: &NewSession = $session;
        let at = session.created_at.naive_utc();
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(session.id.as_str()),
                sessions::user_id.eq(session.user.0),
                sessions::generation.eq(1_i64),
                sessions::created_at.eq(at),
                sessions::last_used_at.eq(at),
                sessions::expires_at.eq(session.expires_at.naive_utc()),
                sessions::user_agent.eq(session.client.user_agent.as_deref()),
                sessions::client_address.eq(session.client.address.as_deref()),
                sessions::second_factor_at.eq(session.second_factor.then_some(at)),
            ))
            .returning(SessionRow::as_returning())
            .get_result::<SessionRow>($conn)
    }};
}

#[async_trait]
impl SessionRepository for DieselSessionRepository {
    async fn open(&self, session: NewSession) -> Result<Session, RepositoryError> {
        let opened = self
            .db
            .write(move |conn| {
                let row = on_connection!(conn, |conn| insert_session!(conn, &session)?);
                Session::try_from(row)
            })
            .await?;
        Ok(opened)
    }

    async fn legacy_refresh_exchanged(&self, jti: &str) -> Result<bool, RepositoryError> {
        let jti = jti.to_owned();
        let exchanged = self
            .db
            .run(move |pools| {
                let found: Option<String> = with_connection!(pools, |conn| {
                    legacy_refresh_tokens::table
                        .find(&jti)
                        .select(legacy_refresh_tokens::jti)
                        .get_result(conn)
                        .optional()?
                });
                Ok(found.is_some())
            })
            .await?;
        Ok(exchanged)
    }

    async fn open_for_legacy_refresh(
        &self,
        jti: &str,
        session: NewSession,
    ) -> Result<Option<Session>, RepositoryError> {
        let jti = jti.to_owned();
        let opened = self
            .db
            .write(move |conn| {
                let at = session.created_at.naive_utc();
                let row = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        // The primary key refuses a token exchanged before,
                        // by any process; nothing is opened then.
                        let recorded = diesel::insert_into(legacy_refresh_tokens::table)
                            .values((
                                legacy_refresh_tokens::jti.eq(&jti),
                                legacy_refresh_tokens::user_id.eq(session.user.0),
                                legacy_refresh_tokens::exchanged_at.eq(at),
                            ))
                            .on_conflict_do_nothing()
                            .execute(conn)?;
                        if recorded == 0 {
                            return Ok(None);
                        }
                        insert_session!(conn, &session).map(Some)
                    })?
                });
                row.map(Session::try_from).transpose()
            })
            .await?;
        Ok(opened)
    }

    async fn authenticate(
        &self,
        claim: &AccessClaim,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError> {
        let id = claim.session.as_str().to_owned();
        let user = claim.user.0;
        let now = now.naive_utc();
        let found = self
            .db
            .run(move |pools| {
                let row: Option<UserRow> = with_connection!(pools, |conn| {
                    open_session!(&id, user, now)
                        .inner_join(users::table)
                        .filter(users::erased_at.is_null())
                        .select(UserRow::as_select())
                        .get_result(conn)
                        .optional()?
                });
                row.map(User::try_from).transpose()
            })
            .await?;
        Ok(found)
    }

    async fn rotate(
        &self,
        claim: &RefreshClaim,
        now: DateTime<Utc>,
    ) -> Result<Rotation, RepositoryError> {
        let id = claim.session.as_str().to_owned();
        let user = claim.user.0;
        let generation = i64::from(claim.generation);
        let now = now.naive_utc();
        let rotation = self
            .db
            .write(move |conn| {
                let rotation = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        let approved = users::table
                            .filter(users::erased_at.is_null())
                            .filter(users::status.eq(UserStatus::Approved.as_str()))
                            .select(users::id);
                        // Guarded by the generation: of two refreshes with
                        // one token, the second finds it moved on.
                        let rotated: Option<SessionRow> = diesel::update(
                            open_session!(&id, user, now)
                                .filter(sessions::generation.eq(generation))
                                .filter(sessions::user_id.eq_any(approved)),
                        )
                        .set((
                            sessions::generation.eq(sessions::generation + 1),
                            sessions::last_used_at.eq(now),
                        ))
                        .returning(SessionRow::as_returning())
                        .get_result(conn)
                        .optional()?;
                        if let Some(row) = rotated {
                            return Ok::<_, diesel::result::Error>(Stored::Rotated(row));
                        }
                        // An older generation of an open session: reused.
                        let reused = diesel::update(
                            open_session!(&id, user, now)
                                .filter(sessions::generation.gt(generation)),
                        )
                        .set((
                            sessions::ended_at.eq(Some(now)),
                            sessions::end_reason.eq(Some(EndReason::RefreshReused.as_str())),
                        ))
                        .execute(conn)?;
                        Ok(if reused == 1 {
                            Stored::Reused
                        } else {
                            Stored::NotLive
                        })
                    })?
                });
                Ok(match rotation {
                    Stored::Rotated(row) => {
                        let session = Session::try_from(row)?;
                        Rotation::Rotated {
                            generation: session.generation,
                            expires_at: session.expires_at,
                            authentication: session.authentication(),
                        }
                    }
                    Stored::Reused => Rotation::Reused,
                    Stored::NotLive => Rotation::NotLive,
                })
            })
            .await?;
        Ok(rotation)
    }

    async fn live_generation(
        &self,
        session: &SessionId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<u32>, RepositoryError> {
        let id = session.as_str().to_owned();
        let now = now.naive_utc();
        let generation = self
            .db
            .run(move |pools| {
                let stored: Option<i64> = with_connection!(pools, |conn| {
                    open_session!(&id, user.0, now)
                        .select(sessions::generation)
                        .get_result(conn)
                        .optional()?
                });
                stored
                    .map(|generation| {
                        u32::try_from(generation).map_err(|_| {
                            StorageError::CorruptRow(format!("session {id}: generation"))
                        })
                    })
                    .transpose()
            })
            .await?;
        Ok(generation)
    }

    async fn prove_second_factor(
        &self,
        session: &SessionId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<Session>, RepositoryError> {
        let id = session.as_str().to_owned();
        let at = at.naive_utc();
        let proved = self
            .db
            .write(move |conn| {
                let row: Option<SessionRow> = on_connection!(conn, |conn| {
                    diesel::update(open_session!(&id, user.0, at))
                        .set((
                            sessions::second_factor_at.eq(Some(at)),
                            sessions::last_used_at.eq(at),
                        ))
                        .returning(SessionRow::as_returning())
                        .get_result(conn)
                        .optional()?
                });
                row.map(Session::try_from).transpose()
            })
            .await?;
        Ok(proved)
    }

    async fn end(
        &self,
        session: &SessionId,
        user: UserId,
        reason: EndReason,
        now: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let id = session.as_str().to_owned();
        let now = now.naive_utc();
        let ended = self
            .db
            .write(move |conn| {
                let ended = on_connection!(conn, |conn| {
                    diesel::update(open_session!(&id, user.0, now))
                        .set((
                            sessions::ended_at.eq(Some(now)),
                            sessions::end_reason.eq(Some(reason.as_str())),
                        ))
                        .execute(conn)?
                });
                Ok(ended == 1)
            })
            .await?;
        Ok(ended)
    }

    async fn end_all(
        &self,
        user: UserId,
        reason: EndReason,
        now: DateTime<Utc>,
    ) -> Result<u64, RepositoryError> {
        let now = now.naive_utc();
        let ended = self
            .db
            .write(move |conn| {
                let ended = on_connection!(conn, |conn| {
                    diesel::update(
                        sessions::table
                            .filter(sessions::user_id.eq(user.0))
                            .filter(sessions::ended_at.is_null()),
                    )
                    .set((
                        sessions::ended_at.eq(Some(now)),
                        sessions::end_reason.eq(Some(reason.as_str())),
                    ))
                    .execute(conn)?
                });
                Ok(u64::try_from(ended).unwrap_or(u64::MAX))
            })
            .await?;
        Ok(ended)
    }

    async fn open_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, RepositoryError> {
        let now = now.naive_utc();
        let listed = self
            .db
            .run(move |pools| {
                let rows: Vec<SessionRow> = with_connection!(pools, |conn| {
                    sessions::table
                        .filter(sessions::user_id.eq(user.0))
                        .filter(sessions::ended_at.is_null())
                        .filter(sessions::expires_at.gt(now))
                        .order((sessions::created_at.desc(), sessions::id.asc()))
                        .select(SessionRow::as_select())
                        .load(conn)?
                });
                rows.into_iter().map(Session::try_from).collect()
            })
            .await?;
        Ok(listed)
    }

    async fn open_sessions_page(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<Session>, RepositoryError> {
        let now = now.naive_utc();
        let walk = Walk::of(&page, |position| match position {
            Position::TimeAndKey(at, id) => Some((at.naive_utc(), id.clone())),
            Position::Id(_) | Position::TimeAndId(..) => None,
        })?;
        let rows_to_read = walk.rows_to_read(&page);
        let listed = self
            .db
            .run(move |pools| {
                let (rows, total): (Vec<SessionRow>, i64) = with_connection!(pools, |conn| {
                    conn.list_read(|conn| {
                        // A user's open sessions, from `sessions_open_by_user`.
                        macro_rules! open {
                            () => {
                                sessions::table
                                    .filter(sessions::user_id.eq(user.0))
                                    .filter(sessions::ended_at.is_null())
                                    .filter(sessions::expires_at.gt(now))
                                    .into_boxed()
                            };
                        }
                        let newest_first = (sessions::created_at.desc(), sessions::id.asc());
                        let query = match &walk {
                            Walk::Offset(offset) => open!().order(newest_first).offset(*offset),
                            Walk::After(None) => open!().order(newest_first),
                            Walk::After(Some((at, id))) => open!()
                                .filter(sessions::created_at.le(*at))
                                .filter(
                                    sessions::created_at.lt(*at).or(sessions::id.gt(id.clone())),
                                )
                                .order(newest_first),
                            Walk::Before((at, id)) => open!()
                                .filter(sessions::created_at.ge(*at))
                                .filter(
                                    sessions::created_at.gt(*at).or(sessions::id.lt(id.clone())),
                                )
                                .order((sessions::created_at.asc(), sessions::id.desc())),
                        };
                        let rows = query
                            .limit(rows_to_read)
                            .select(SessionRow::as_select())
                            .load(conn)?;
                        let total = open!().count().get_result(conn)?;
                        Ok::<_, diesel::result::Error>((rows, total))
                    })?
                });
                page_of(rows, total, page, |session: &Session| {
                    Position::TimeAndKey(session.created_at, session.id.to_string())
                })
            })
            .await?;
        Ok(listed)
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let before = before.naive_utc();
        let batch = self.prune_batch;
        let pruned = self
            .db
            .delete_in_batches(batch, move |conn| {
                let deleted = on_connection!(conn, |conn| {
                    let old: Vec<String> = sessions::table
                        .filter(
                            sessions::ended_at
                                .lt(before)
                                .or(sessions::expires_at.lt(before)),
                        )
                        .select(sessions::id)
                        .limit(batch)
                        .load(conn)?;
                    // Deleting an old row twice (two workers) is harmless.
                    diesel::delete(sessions::table.filter(sessions::id.eq_any(&old)))
                        .execute(conn)?
                });
                Ok(deleted)
            })
            .await?;
        Ok(pruned)
    }
}
