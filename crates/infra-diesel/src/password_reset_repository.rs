use async_trait::async_trait;
use authusers_domain::password_reset::{
    LiveResetLink, PasswordResetRepository, ResetRequestOutcome, ResetRequestRecord, TokenDigest,
};
use authusers_domain::sessions::EndReason;
use authusers_domain::storage::RepositoryError;
use authusers_domain::throttling::{AttemptId, Check, Recording, Throttled};
use authusers_domain::{PasswordHash, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::attempt_log::{record_attempts, refusal, KeyLock, NewAttemptRow};
use crate::credentials::CredentialChange;
use crate::database::{on_connection, with_connection, Database};
use crate::live_users::live_users;
use crate::outbox_row::NewOutboxRow;
use crate::schema::{outbox_messages, password_reset_requests, throttle_attempts, users};
use crate::write_transaction::WriteTransaction;

/// Password-reset requests and links on Diesel.
#[derive(Clone)]
pub struct DieselPasswordResetRepository {
    db: Database,
}

impl DieselPasswordResetRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Insertable)]
#[diesel(table_name = password_reset_requests)]
struct NewRequestRow<'a> {
    address_digest: &'a str,
    user_id: Option<i64>,
    token_digest: Option<&'a str>,
    created_at: NaiveDateTime,
    expires_at: Option<NaiveDateTime>,
}

/// One request, compiled for each backend's connection type: forget what
/// is too old to matter, check the address's mail limit, and store the
/// request, with its link and mail when within the limit. Every request
/// runs the same statements but for the lock and the mail.
macro_rules! record_in_transaction {
    ($conn:ident, $record:expr) => {{
        let record: &ResetRequestRecord = $record;
        let at = record.at.naive_utc();
        diesel::delete(
            password_reset_requests::table
                .filter(password_reset_requests::created_at.lt(record.forget_before.naive_utc())),
        )
        .execute($conn)?;
        // Two requests for one account take turns here, so that they
        // cannot both pass the limit.
        let link = match &record.link {
            Some(link) if $conn.lock_user(link.user.0)? => Some(link),
            _ => None,
        };
        // The mail counts under the address's key, with every other
        // limit. Without an account the limit is looked at all the same.
        let within_limit = match &record.mail_limit {
            Some(check) => matches!(
                record_attempts!(
                    $conn,
                    std::slice::from_ref(check),
                    record.at,
                    link.is_none()
                ),
                Recording::Recorded(_)
            ),
            None => true,
        };
        let mailed = link.filter(|_| within_limit);
        diesel::insert_into(password_reset_requests::table)
            .values(&NewRequestRow {
                address_digest: record.address.as_str(),
                user_id: link.map(|link| link.user.0),
                token_digest: mailed.map(|link| link.digest.as_str()),
                created_at: at,
                expires_at: mailed.map(|link| link.expires_at.naive_utc()),
            })
            .execute($conn)?;
        let outcome = match (link, mailed) {
            (_, Some(link)) => {
                diesel::insert_into(outbox_messages::table)
                    .values(&NewOutboxRow::new(&link.mail, link.user, at))
                    .execute($conn)?;
                ResetRequestOutcome::Mailed
            }
            (Some(_), None) => ResetRequestOutcome::LimitReached,
            (None, None) => ResetRequestOutcome::NoAccount,
        };
        Ok::<_, diesel::result::Error>(outcome)
    }};
}

#[async_trait]
impl PasswordResetRepository for DieselPasswordResetRepository {
    async fn record_request(
        &self,
        record: ResetRequestRecord,
    ) -> Result<ResetRequestOutcome, RepositoryError> {
        let outcome = self
            .db
            .write(move |conn| {
                let outcome = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| record_in_transaction!(conn, &record))?
                });
                Ok(outcome)
            })
            .await?;
        Ok(outcome)
    }

    async fn live_links(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<LiveResetLink>, RepositoryError> {
        let now = now.naive_utc();
        let links = self
            .db
            .run(move |pools| {
                let rows: Vec<(i64, Option<String>)> = with_connection!(pools, |conn| {
                    password_reset_requests::table
                        .filter(password_reset_requests::user_id.eq(user.0))
                        .filter(password_reset_requests::token_digest.is_not_null())
                        .filter(password_reset_requests::ended_at.is_null())
                        .filter(password_reset_requests::expires_at.gt(now))
                        .select((
                            password_reset_requests::id,
                            password_reset_requests::token_digest,
                        ))
                        .load(conn)?
                });
                Ok(rows
                    .into_iter()
                    .filter_map(|(id, digest)| {
                        digest.map(|digest| LiveResetLink {
                            id,
                            digest: TokenDigest::from_stored(digest),
                        })
                    })
                    .collect())
            })
            .await?;
        Ok(links)
    }

    async fn reset_password(
        &self,
        link: i64,
        user: UserId,
        password_hash: PasswordHash,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let at = at.naive_utc();
        let reset = self
            .db
            .write(move |conn| {
                let reset = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        // Guarded: of two requests with one link, the second
                        // finds it ended and changes nothing.
                        let used = diesel::update(
                            password_reset_requests::table
                                .find(link)
                                .filter(password_reset_requests::user_id.eq(user.0))
                                .filter(password_reset_requests::ended_at.is_null())
                                .filter(password_reset_requests::expires_at.gt(at)),
                        )
                        .set(password_reset_requests::ended_at.eq(Some(at)))
                        .execute(conn)?;
                        if used == 0 {
                            return Ok(false);
                        }
                        // Following the mailed link proved the address.
                        let changed = diesel::update(live_users().filter(users::id.eq(user.0)))
                            .set((
                                users::password_hash.eq(password_hash.as_str()),
                                users::email_verified_at.eq(Some(at)),
                            ))
                            .execute(conn)?;
                        conn.revoke_credentials(user.0, at, EndReason::CredentialsChanged)?;
                        Ok::<_, diesel::result::Error>(changed == 1)
                    })?
                });
                Ok(reset)
            })
            .await?;
        Ok(reset)
    }
}
