//! Second factors on Diesel: a user's TOTP (sealed secret, enrolment,
//! last accepted step) and recovery code digests.

use async_trait::async_trait;
use authusers_domain::mfa::{
    FactorChange, MfaRepository, RecoveryCodeDigest, SealedSecret, StoredTotp, TimeStep,
};
use authusers_domain::password_reset::TokenDigest;
use authusers_domain::storage::RepositoryError;
use authusers_domain::UserId;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::database::{on_connection, with_connection, Database};
use crate::outbox_row::NewOutboxRow;
use crate::schema::{mfa_challenges, mfa_recovery_codes, mfa_totp, outbox_messages, sessions};
use crate::write_transaction::WriteTransaction;

/// A factor change's notice and the sessions it ends, ready to write.
struct ChangeRows {
    notice: NewOutboxRow,
    /// The reason, and the session that goes on.
    ending: Option<(&'static str, Option<String>)>,
}

impl ChangeRows {
    fn of(change: &FactorChange, user: UserId, at: NaiveDateTime) -> Self {
        Self {
            notice: NewOutboxRow::new(&change.notice, user, at),
            ending: change.ending.as_ref().map(|ending| {
                (
                    ending.reason.as_str(),
                    ending.except.as_ref().map(|id| id.as_str().to_owned()),
                )
            }),
        }
    }
}

/// Inside a transaction: the change's notice queued and its sessions ended.
macro_rules! make_change {
    ($conn:expr, $user:expr, $at:expr, $rows:expr) => {{
        let rows: &ChangeRows = $rows;
        diesel::insert_into(outbox_messages::table)
            .values(&rows.notice)
            .execute($conn)?;
        if let Some((reason, except)) = &rows.ending {
            let open = sessions::table
                .filter(sessions::user_id.eq($user.0))
                .filter(sessions::ended_at.is_null())
                .filter(sessions::id.ne(except.as_deref().unwrap_or("")));
            diesel::update(open)
                .set((
                    sessions::ended_at.eq(Some($at)),
                    sessions::end_reason.eq(Some(*reason)),
                ))
                .execute($conn)?;
        }
    }};
}

/// Inside a transaction: the user's recovery codes replaced by `codes`.
macro_rules! replace_codes {
    ($conn:expr, $user:expr, $codes:expr) => {{
        diesel::delete(mfa_recovery_codes::table.filter(mfa_recovery_codes::user_id.eq($user.0)))
            .execute($conn)?;
        let rows: Vec<_> = $codes
            .iter()
            .map(|digest| {
                (
                    mfa_recovery_codes::user_id.eq($user.0),
                    mfa_recovery_codes::digest.eq(digest.0.as_str()),
                )
            })
            .collect();
        diesel::insert_into(mfa_recovery_codes::table)
            .values(&rows)
            .execute($conn)?;
    }};
}

/// Second factors on Diesel.
#[derive(Clone)]
pub struct DieselMfaRepository {
    db: Database,
}

impl DieselMfaRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = mfa_totp)]
struct TotpRow {
    sealed_secret: String,
    created_at: NaiveDateTime,
    confirmed_at: Option<NaiveDateTime>,
    last_step: Option<i64>,
}

#[async_trait]
impl MfaRepository for DieselMfaRepository {
    async fn totp(&self, user: UserId) -> Result<Option<StoredTotp>, RepositoryError> {
        let row: Option<TotpRow> = self
            .db
            .run(move |pools| {
                Ok(with_connection!(pools, |conn| {
                    mfa_totp::table
                        .filter(mfa_totp::user_id.eq(user.0))
                        .select(TotpRow::as_select())
                        .first(conn)
                        .optional()?
                }))
            })
            .await?;
        Ok(row.map(|row| StoredTotp {
            sealed: SealedSecret(row.sealed_secret),
            created_at: row.created_at.and_utc(),
            confirmed_at: row.confirmed_at.map(|at| at.and_utc()),
            last_step: row.last_step.map(TimeStep),
        }))
    }

    async fn begin_enrolment(
        &self,
        user: UserId,
        sealed: SealedSecret,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let at = at.naive_utc();
        let begun = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        diesel::delete(
                            mfa_totp::table
                                .filter(mfa_totp::user_id.eq(user.0))
                                .filter(mfa_totp::confirmed_at.is_null()),
                        )
                        .execute(conn)?;
                        diesel::insert_into(mfa_totp::table)
                            .values((
                                mfa_totp::user_id.eq(user.0),
                                mfa_totp::sealed_secret.eq(&sealed.0),
                                mfa_totp::created_at.eq(at),
                            ))
                            .on_conflict_do_nothing()
                            .execute(conn)
                            .map(|inserted| inserted == 1)
                    })?
                }))
            })
            .await?;
        Ok(begun)
    }

    async fn confirm(
        &self,
        user: UserId,
        created_after: DateTime<Utc>,
        step: TimeStep,
        at: DateTime<Utc>,
        codes: Vec<RecoveryCodeDigest>,
        change: FactorChange,
    ) -> Result<bool, RepositoryError> {
        let (created_after, at) = (created_after.naive_utc(), at.naive_utc());
        let change = ChangeRows::of(&change, user, at);
        let confirmed = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        let confirmed = diesel::update(
                            mfa_totp::table
                                .filter(mfa_totp::user_id.eq(user.0))
                                .filter(mfa_totp::confirmed_at.is_null())
                                .filter(mfa_totp::created_at.gt(created_after)),
                        )
                        .set((
                            mfa_totp::confirmed_at.eq(Some(at)),
                            mfa_totp::last_step.eq(Some(step.0)),
                        ))
                        .execute(conn)?;
                        if confirmed == 0 {
                            return Ok::<_, diesel::result::Error>(false);
                        }
                        replace_codes!(conn, user, &codes);
                        make_change!(conn, user, at, &change);
                        Ok(true)
                    })?
                }))
            })
            .await?;
        Ok(confirmed)
    }

    async fn accept_step(&self, user: UserId, step: TimeStep) -> Result<bool, RepositoryError> {
        let accepted = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    diesel::update(
                        mfa_totp::table
                            .filter(mfa_totp::user_id.eq(user.0))
                            .filter(mfa_totp::confirmed_at.is_not_null())
                            .filter(
                                mfa_totp::last_step
                                    .is_null()
                                    .or(mfa_totp::last_step.lt(step.0)),
                            ),
                    )
                    .set(mfa_totp::last_step.eq(Some(step.0)))
                    .execute(conn)?
                        == 1
                }))
            })
            .await?;
        Ok(accepted)
    }

    async fn remove(
        &self,
        user: UserId,
        at: DateTime<Utc>,
        change: FactorChange,
    ) -> Result<bool, RepositoryError> {
        let at = at.naive_utc();
        let change = ChangeRows::of(&change, user, at);
        let removed = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        let removed = diesel::delete(
                            mfa_totp::table
                                .filter(mfa_totp::user_id.eq(user.0))
                                .filter(mfa_totp::confirmed_at.is_not_null()),
                        )
                        .execute(conn)?;
                        if removed == 0 {
                            return Ok::<_, diesel::result::Error>(false);
                        }
                        diesel::delete(
                            mfa_recovery_codes::table
                                .filter(mfa_recovery_codes::user_id.eq(user.0)),
                        )
                        .execute(conn)?;
                        make_change!(conn, user, at, &change);
                        Ok(true)
                    })?
                }))
            })
            .await?;
        Ok(removed)
    }

    async fn unused_recovery_codes(
        &self,
        user: UserId,
    ) -> Result<Vec<RecoveryCodeDigest>, RepositoryError> {
        let digests: Vec<String> = self
            .db
            .run(move |pools| {
                Ok(with_connection!(pools, |conn| {
                    mfa_recovery_codes::table
                        .filter(mfa_recovery_codes::user_id.eq(user.0))
                        .filter(mfa_recovery_codes::used_at.is_null())
                        .select(mfa_recovery_codes::digest)
                        .load(conn)?
                }))
            })
            .await?;
        Ok(digests.into_iter().map(RecoveryCodeDigest).collect())
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        digest: RecoveryCodeDigest,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let at = at.naive_utc();
        let used = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    diesel::update(
                        mfa_recovery_codes::table
                            .filter(mfa_recovery_codes::user_id.eq(user.0))
                            .filter(mfa_recovery_codes::digest.eq(&digest.0))
                            .filter(mfa_recovery_codes::used_at.is_null()),
                    )
                    .set(mfa_recovery_codes::used_at.eq(Some(at)))
                    .execute(conn)?
                        == 1
                }))
            })
            .await?;
        Ok(used)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: Vec<RecoveryCodeDigest>,
    ) -> Result<(), RepositoryError> {
        self.db
            .write(move |conn| {
                on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        replace_codes!(conn, user, &codes);
                        Ok::<_, diesel::result::Error>(())
                    })?
                });
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn open_challenge(
        &self,
        token: TokenDigest,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let expires_at = expires_at.naive_utc();
        self.db
            .write(move |conn| {
                on_connection!(conn, |conn| {
                    diesel::insert_into(mfa_challenges::table)
                        .values((
                            mfa_challenges::token_digest.eq(token.as_str()),
                            mfa_challenges::user_id.eq(user.0),
                            mfa_challenges::expires_at.eq(expires_at),
                        ))
                        .execute(conn)?
                });
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn take_challenge_attempt(
        &self,
        token: TokenDigest,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<Option<UserId>, RepositoryError> {
        let now = now.naive_utc();
        let max_attempts = i32::try_from(max_attempts).unwrap_or(i32::MAX);
        let user: Option<i64> = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    diesel::update(
                        mfa_challenges::table
                            .filter(mfa_challenges::token_digest.eq(token.as_str()))
                            .filter(mfa_challenges::used_at.is_null())
                            .filter(mfa_challenges::expires_at.gt(now))
                            .filter(mfa_challenges::attempts.lt(max_attempts)),
                    )
                    .set(mfa_challenges::attempts.eq(mfa_challenges::attempts + 1))
                    .returning(mfa_challenges::user_id)
                    .get_result(conn)
                    .optional()?
                }))
            })
            .await?;
        Ok(user.map(UserId))
    }

    async fn finish_challenge(
        &self,
        token: TokenDigest,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let at = at.naive_utc();
        let finished = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    diesel::update(
                        mfa_challenges::table
                            .filter(mfa_challenges::token_digest.eq(token.as_str()))
                            .filter(mfa_challenges::used_at.is_null()),
                    )
                    .set(mfa_challenges::used_at.eq(Some(at)))
                    .execute(conn)?
                        == 1
                }))
            })
            .await?;
        Ok(finished)
    }

    async fn prune_challenges(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError> {
        let before = before.naive_utc();
        let pruned = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    diesel::delete(
                        mfa_challenges::table.filter(mfa_challenges::expires_at.lt(before)),
                    )
                    .execute(conn)?
                }))
            })
            .await?;
        Ok(u64::try_from(pruned).unwrap_or(u64::MAX))
    }
}
