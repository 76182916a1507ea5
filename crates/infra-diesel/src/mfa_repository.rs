//! Second factors on Diesel: a user's TOTP (sealed secret, enrolment,
//! last accepted step) and recovery code digests.

use async_trait::async_trait;
use authusers_domain::mfa::{
    MfaRepository, RecoveryCodeDigest, SealedSecret, StoredTotp, TimeStep,
};
use authusers_domain::storage::RepositoryError;
use authusers_domain::UserId;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::database::{on_connection, with_connection, Database};
use crate::schema::{mfa_recovery_codes, mfa_totp};
use crate::write_transaction::WriteTransaction;

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
    ) -> Result<bool, RepositoryError> {
        let (created_after, at) = (created_after.naive_utc(), at.naive_utc());
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

    async fn remove(&self, user: UserId) -> Result<bool, RepositoryError> {
        let removed = self
            .db
            .write(move |conn| {
                Ok(on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        diesel::delete(
                            mfa_recovery_codes::table
                                .filter(mfa_recovery_codes::user_id.eq(user.0)),
                        )
                        .execute(conn)?;
                        diesel::delete(
                            mfa_totp::table
                                .filter(mfa_totp::user_id.eq(user.0))
                                .filter(mfa_totp::confirmed_at.is_not_null()),
                        )
                        .execute(conn)
                        .map(|removed| removed == 1)
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
}
