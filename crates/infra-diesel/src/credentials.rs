//! What every credential change does inside its own transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use authusers_domain::sessions::EndReason;

use crate::live_users::live_users;
use crate::schema::{mfa_challenges, password_reset_requests, sessions, users};

/// Credential changes (a password set or reset, an e-mail change, an
/// erasure) call these inside the transaction that makes the change.
pub(crate) trait CredentialChange {
    /// Ends everything issued against the user's current credentials:
    /// their live password-reset links, sign-ins waiting for their second
    /// step, and every open session, for
    /// `reason`, and notes when (`credentials_changed_at`), which ends the
    /// old service's tokens of a user moved in from it. Whatever else must not outlive a credential change belongs
    /// here, so that every change ends it.
    fn revoke_credentials(
        &mut self,
        user: i64,
        at: NaiveDateTime,
        reason: EndReason,
    ) -> QueryResult<()>;

    /// Holds the user's row until the transaction ends, so that two
    /// transactions about one user take turns. SQLite's immediate
    /// transaction already holds the only write lock.
    fn lock_user(&mut self, user: i64) -> QueryResult<bool>;
}

macro_rules! revoke_credentials_body {
    ($conn:expr, $user:expr, $at:expr, $reason:expr) => {{
        diesel::update(users::table.filter(users::id.eq($user)))
            .set(users::credentials_changed_at.eq(Some($at)))
            .execute($conn)?;
        diesel::update(
            password_reset_requests::table
                .filter(password_reset_requests::user_id.eq(Some($user)))
                .filter(password_reset_requests::token_digest.is_not_null())
                .filter(password_reset_requests::ended_at.is_null()),
        )
        .set(password_reset_requests::ended_at.eq(Some($at)))
        .execute($conn)?;
        // A sign-in waiting for its second step proved the old password.
        diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq($user)))
            .execute($conn)?;
        diesel::update(
            sessions::table
                .filter(sessions::user_id.eq($user))
                .filter(sessions::ended_at.is_null()),
        )
        .set((
            sessions::ended_at.eq(Some($at)),
            sessions::end_reason.eq(Some($reason.as_str())),
        ))
        .execute($conn)?;
        Ok(())
    }};
}

/// The id of the user, if live.
macro_rules! live_user_id {
    ($user:expr) => {
        live_users().filter(users::id.eq($user)).select(users::id)
    };
}

impl CredentialChange for SqliteConnection {
    fn revoke_credentials(
        &mut self,
        user: i64,
        at: NaiveDateTime,
        reason: EndReason,
    ) -> QueryResult<()> {
        revoke_credentials_body!(self, user, at, reason)
    }

    fn lock_user(&mut self, user: i64) -> QueryResult<bool> {
        live_user_id!(user)
            .get_result::<i64>(self)
            .optional()
            .map(|found| found.is_some())
    }
}

impl CredentialChange for PgConnection {
    fn revoke_credentials(
        &mut self,
        user: i64,
        at: NaiveDateTime,
        reason: EndReason,
    ) -> QueryResult<()> {
        revoke_credentials_body!(self, user, at, reason)
    }

    fn lock_user(&mut self, user: i64) -> QueryResult<bool> {
        live_user_id!(user)
            .for_update()
            .get_result::<i64>(self)
            .optional()
            .map(|found| found.is_some())
    }
}
