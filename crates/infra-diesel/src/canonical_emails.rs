//! The canonical form of every stored address, computed by the domain's
//! rules so that it is the same on every backend.

use authusers_domain::Email;
use diesel::prelude::*;

use crate::database::{on_connection, Database};
use crate::error::StorageError;
use crate::live_users::live_users;
use crate::schema::users;

impl Database {
    /// Gives every live account without one its canonical address: rows
    /// written before the column existed. An address that no longer parses
    /// (a rule tightened since) gets its plain lower case. One that would
    /// collide with another account's stays without, and is logged by id:
    /// that account cannot log in until its address is changed.
    pub(crate) async fn backfill_canonical_emails(&self) -> Result<usize, StorageError> {
        self.write(|conn| {
            on_connection!(conn, |conn| {
                let missing: Vec<(i64, String)> = live_users()
                    .filter(users::email_canonical.is_null())
                    .order(users::id.asc())
                    .select((users::id, users::email))
                    .load(conn)?;
                let mut filled = 0;
                for (id, email) in missing {
                    let canonical = Email::parse(&email)
                        .map_or_else(|_| email.to_lowercase(), |parsed| parsed.canonical());
                    let updated = diesel::update(users::table.find(id))
                        .set(users::email_canonical.eq(Some(canonical)))
                        .execute(conn);
                    match updated.map_err(StorageError::from) {
                        Ok(_) => filled += 1,
                        Err(error) if error.is_unique_violation() => tracing::warn!(
                            user = id,
                            "this account's address is the same as another's once made canonical; \
                             it cannot log in until its address is changed"
                        ),
                        Err(error) => return Err(error),
                    }
                }
                Ok(filled)
            })
        })
        .await
    }
}
