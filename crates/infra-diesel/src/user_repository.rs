use async_trait::async_trait;
use authusers_domain::accounts::{
    EraseOutcome, InsertUserError, NewUser, StoreEmailError, UserFilter, UserRepository,
};
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::sessions::EndReason;
use authusers_domain::storage::RepositoryError;
use authusers_domain::{
    Email, Page, PageRequest, PasswordHash, PersonName, User, UserId, UserStatus,
};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::credentials::CredentialChange;
use crate::database::{on_connection, with_connection, Database};
use crate::error::StorageError;
use crate::live_users::live_users;
use crate::outbox_row::NewOutboxRow;
use crate::paging::{limit_offset, page_of};
use crate::schema::{
    activation_links, idempotency_keys, lower, outbox_attempts, outbox_messages,
    password_reset_requests, users,
};
use crate::user_row::{NewUserRow, UserRow};
use crate::write_transaction::WriteTransaction;

/// The user repository on whichever backend `Database` was opened with.
#[derive(Clone)]
pub struct DieselUserRepository {
    db: Database,
}

impl DieselUserRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

fn to_user(row: Option<UserRow>) -> Result<Option<User>, StorageError> {
    row.map(User::try_from).transpose()
}

/// `text` as a `LIKE` pattern that matches it literally anywhere: `%`, `_`
/// and the escape character itself lose their meaning.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The live users a `UserFilter` selects, as a boxed query for the
/// connection's backend (used twice: for the page and for the count).
macro_rules! filtered_users {
    ($filter:expr) => {{
        let filter: &UserFilter = $filter;
        let mut query = live_users().into_boxed();
        if let Some(id) = filter.only {
            query = query.filter(users::id.eq(id.0));
        }
        if let Some(status) = filter.status {
            query = query.filter(users::status.eq(status.as_str()));
        }
        if let Some(term) = &filter.search {
            // The term is lower-cased already; SQLite's lower() folds ASCII
            // letters only, PostgreSQL's every letter its locale knows.
            let pattern = contains_pattern(term.as_str());
            query = query.filter(
                lower(users::email)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(users::first_name).like(pattern.clone()).escape('\\'))
                    .or(lower(users::last_name).like(pattern.clone()).escape('\\'))
                    .or(
                        lower(users::first_name.concat(" ").concat(users::last_name))
                            .like(pattern)
                            .escape('\\'),
                    ),
            );
        }
        query
    }};
}

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError> {
        let row = NewUserRow::from(user);
        let inserted = self
            .db
            .write(move |conn| {
                let row: UserRow = on_connection!(conn, |conn| {
                    diesel::insert_into(users::table)
                        .values(&row)
                        .returning(UserRow::as_returning())
                        .get_result(conn)?
                });
                User::try_from(row)
            })
            .await;
        inserted.map_err(|error| {
            if error.is_unique_violation() {
                InsertUserError::EmailTaken
            } else {
                InsertUserError::Repository(error.into())
            }
        })
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        let canonical = email.canonical();
        let found = self
            .db
            .run(move |pools| {
                let row = with_connection!(pools, |conn| {
                    live_users()
                        .filter(users::email_canonical.eq(&canonical))
                        .select(UserRow::as_select())
                        .get_result(conn)
                        .optional()?
                });
                to_user(row)
            })
            .await?;
        Ok(found)
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        let found = self
            .db
            .run(move |pools| {
                let row = with_connection!(pools, |conn| {
                    live_users()
                        .filter(users::id.eq(id.0))
                        .select(UserRow::as_select())
                        .get_result(conn)
                        .optional()?
                });
                to_user(row)
            })
            .await?;
        Ok(found)
    }

    async fn list_pending(&self, page: PageRequest) -> Result<Page<User>, RepositoryError> {
        let pending = UserStatus::Pending.as_str();
        let (limit, offset) = limit_offset(page);
        let listed = self
            .db
            .run(move |pools| {
                let (rows, total): (Vec<UserRow>, i64) = with_connection!(pools, |conn| {
                    conn.transaction(|conn| {
                        let rows = live_users()
                            .filter(users::status.eq(pending))
                            .filter(users::awaiting_activation.eq(false))
                            .order((users::date_joined.asc(), users::id.asc()))
                            .limit(limit)
                            .offset(offset)
                            .select(UserRow::as_select())
                            .load(conn)?;
                        let total = live_users()
                            .filter(users::status.eq(pending))
                            .filter(users::awaiting_activation.eq(false))
                            .count()
                            .get_result(conn)?;
                        Ok::<_, diesel::result::Error>((rows, total))
                    })?
                });
                page_of(rows, total, page)
            })
            .await?;
        Ok(listed)
    }

    async fn list(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, RepositoryError> {
        let (limit, offset) = limit_offset(page);
        let listed = self
            .db
            .run(move |pools| {
                let (rows, total): (Vec<UserRow>, i64) = with_connection!(pools, |conn| {
                    conn.transaction(|conn| {
                        let rows = filtered_users!(&filter)
                            .order(users::id.asc())
                            .limit(limit)
                            .offset(offset)
                            .select(UserRow::as_select())
                            .load(conn)?;
                        let total = filtered_users!(&filter).count().get_result(conn)?;
                        Ok::<_, diesel::result::Error>((rows, total))
                    })?
                });
                page_of(rows, total, page)
            })
            .await?;
        Ok(listed)
    }

    async fn update_names(
        &self,
        id: UserId,
        first_name: PersonName,
        last_name: PersonName,
    ) -> Result<Option<User>, RepositoryError> {
        let updated = self
            .db
            .write(move |conn| {
                let row = on_connection!(conn, |conn| {
                    diesel::update(live_users().filter(users::id.eq(id.0)))
                        .set((
                            users::first_name.eq(first_name.as_str()),
                            users::last_name.eq(last_name.as_str()),
                        ))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .optional()?
                });
                to_user(row)
            })
            .await?;
        Ok(updated)
    }

    async fn save_decision(
        &self,
        user: &User,
        notification: &OutgoingEmail,
    ) -> Result<bool, RepositoryError> {
        let id = user.id.0;
        let status = user.status.as_str();
        let approved = user.is_approved();
        let decision = user.decision.ok_or_else(|| {
            RepositoryError::failed(format!(
                "user {id}: a decision to save has no decision record"
            ))
        })?;
        let decided_by = decision.decided_by.map(|id| id.0);
        let decided_at = decision.decided_at.naive_utc();
        let pending = UserStatus::Pending.as_str();
        let message = NewOutboxRow::new(notification, user.id, decided_at);
        let changed = self
            .db
            .write(move |conn| {
                // Guarded by `status = 'pending'`: of two racing decisions,
                // the second matches no row and changes nothing. The e-mail
                // is queued in the same transaction, so a committed decision
                // always has its message, and a lost race has none.
                let changed = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        let changed = diesel::update(
                            live_users()
                                .filter(users::id.eq(id))
                                .filter(users::status.eq(pending)),
                        )
                        .set((
                            users::status.eq(status),
                            users::decided_by.eq(decided_by),
                            users::decided_at.eq(Some(decided_at)),
                        ))
                        .execute(conn)?;
                        if changed == 1 {
                            diesel::insert_into(outbox_messages::table)
                                .values(&message)
                                .execute(conn)?;
                            if !approved {
                                conn.revoke_credentials(
                                    id,
                                    decided_at,
                                    EndReason::AccountRejected,
                                )?;
                            }
                        }
                        Ok::<_, diesel::result::Error>(changed == 1)
                    })?
                });
                Ok(changed)
            })
            .await?;
        Ok(changed)
    }

    async fn enable(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        let enabled = self
            .db
            .write(move |conn| {
                let row = on_connection!(conn, |conn| {
                    diesel::update(live_users().filter(users::id.eq(id.0)))
                        .set(users::is_active.eq(true))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                        .optional()?
                });
                to_user(row)
            })
            .await?;
        Ok(enabled)
    }

    async fn upgrade_password_hash(
        &self,
        id: UserId,
        outdated: &PasswordHash,
        upgraded: PasswordHash,
    ) -> Result<bool, RepositoryError> {
        let outdated = outdated.as_str().to_owned();
        let changed = self
            .db
            .write(move |conn| {
                let changed = on_connection!(conn, |conn| {
                    diesel::update(
                        live_users()
                            .filter(users::id.eq(id.0))
                            .filter(users::password_hash.eq(&outdated)),
                    )
                    .set(users::password_hash.eq(upgraded.as_str()))
                    .execute(conn)?
                });
                Ok(changed == 1)
            })
            .await?;
        Ok(changed)
    }

    async fn set_password(
        &self,
        id: UserId,
        password_hash: PasswordHash,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let at = at.naive_utc();
        let changed = self
            .db
            .write(move |conn| {
                let changed = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        let changed = diesel::update(live_users().filter(users::id.eq(id.0)))
                            .set(users::password_hash.eq(password_hash.as_str()))
                            .execute(conn)?;
                        if changed == 1 {
                            conn.revoke_credentials(id.0, at, EndReason::CredentialsChanged)?;
                        }
                        Ok::<_, diesel::result::Error>(changed == 1)
                    })?
                });
                Ok(changed)
            })
            .await?;
        Ok(changed)
    }

    async fn change_email(
        &self,
        id: UserId,
        email: Email,
        notice: &OutgoingEmail,
        at: DateTime<Utc>,
    ) -> Result<(), StoreEmailError> {
        let at = at.naive_utc();
        let message = NewOutboxRow::new(notice, id, at);
        let changed = self
            .db
            .write(move |conn| {
                let changed = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        // The unique index refuses an address another live
                        // account has, however close the race.
                        // The new address has proved nothing yet.
                        let changed = diesel::update(live_users().filter(users::id.eq(id.0)))
                            .set((
                                users::email.eq(email.as_str()),
                                users::email_canonical.eq(email.canonical()),
                                users::email_verified_at.eq(None::<NaiveDateTime>),
                            ))
                            .execute(conn)?;
                        if changed == 1 {
                            diesel::insert_into(outbox_messages::table)
                                .values(&message)
                                .execute(conn)?;
                            conn.revoke_credentials(id.0, at, EndReason::CredentialsChanged)?;
                        }
                        Ok::<_, diesel::result::Error>(changed == 1)
                    })?
                });
                Ok(changed)
            })
            .await;
        match changed {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreEmailError::NotFound),
            Err(error) if error.is_unique_violation() => Err(StoreEmailError::EmailTaken),
            Err(error) => Err(StoreEmailError::Repository(error.into())),
        }
    }

    async fn erase(&self, id: UserId, at: DateTime<Utc>) -> Result<EraseOutcome, RepositoryError> {
        let at = at.naive_utc();
        let outcome = self
            .db
            .write(move |conn| {
                let outcome = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| erase_in_transaction!(conn, id.0, at))?
                });
                Ok(outcome)
            })
            .await?;
        Ok(outcome)
    }
}

/// Erasure, compiled for each backend's connection type. The user's row is
/// locked first, so that a balance change cannot slip in between the check
/// of the balances and the erasure.
macro_rules! erase_in_transaction {
    ($conn:ident, $id:expr, $at:expr) => {{
        let id: i64 = $id;
        let at: NaiveDateTime = $at;
        if !$conn.lock_user(id)? {
            return Ok::<_, diesel::result::Error>(EraseOutcome::NotFound);
        }
        let (real, virtual_): (i64, i64) = users::table
            .find(id)
            .select((users::real_balance_cents, users::virtual_balance_cents))
            .get_result($conn)?;
        if real != 0 || virtual_ != 0 {
            return Ok(EraseOutcome::BalanceNotEmpty);
        }
        diesel::update(users::table.find(id))
            .set((
                users::email.eq(""),
                users::email_canonical.eq(None::<String>),
                users::first_name.eq(""),
                users::last_name.eq(""),
                users::password_hash.eq("!erased"),
                users::erased_at.eq(Some(at)),
                users::email_verified_at.eq(None::<NaiveDateTime>),
            ))
            .execute($conn)?;
        $conn.revoke_credentials(id, at, EndReason::AccountErased)?;
        diesel::delete(
            password_reset_requests::table.filter(password_reset_requests::user_id.eq(id)),
        )
        .execute($conn)?;
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::user_id.eq(id)))
            .execute($conn)?;
        diesel::delete(activation_links::table.filter(activation_links::user_id.eq(id)))
            .execute($conn)?;
        // Mail about the user: what is not sent yet (and not being sent
        // right now) is dropped; what was sent keeps its subject and dates
        // but loses its address and text.
        let unsent = outbox_messages::table
            .filter(outbox_messages::user_id.eq(id))
            .filter(outbox_messages::status.ne("sent"))
            .filter(
                outbox_messages::locked_until
                    .is_null()
                    .or(outbox_messages::locked_until.le(at)),
            )
            .select(outbox_messages::id);
        let unsent: Vec<i64> = unsent.load($conn)?;
        diesel::delete(outbox_attempts::table.filter(outbox_attempts::outbox_id.eq_any(&unsent)))
            .execute($conn)?;
        diesel::delete(outbox_messages::table.filter(outbox_messages::id.eq_any(&unsent)))
            .execute($conn)?;
        diesel::update(
            outbox_messages::table
                .filter(outbox_messages::user_id.eq(id))
                .filter(outbox_messages::status.eq("sent")),
        )
        .set((
            outbox_messages::recipient.eq(""),
            outbox_messages::text_body.eq(""),
            outbox_messages::html_body.eq(""),
        ))
        .execute($conn)?;
        Ok(EraseOutcome::Erased)
    }};
}
use erase_in_transaction;

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn search_patterns_match_literally() {
        assert_eq!(contains_pattern("ann"), "%ann%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
