use async_trait::async_trait;
use authusers_domain::accounts::{
    EraseOutcome, InsertUserError, NewUser, StoreEmailError, UserFilter, UserRepository,
};
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::pagination::Position;
use authusers_domain::sessions::EndReason;
use authusers_domain::storage::RepositoryError;
use authusers_domain::{
    Email, Page, PageRequest, PasswordHash, PersonName, User, UserId, UserStatus,
};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::credentials::CredentialChange;
use crate::database::{on_connection, with_connection, Database};
use crate::error::StorageError;
use crate::list_read::ListRead;
use crate::live_users::live_users;
use crate::outbox_row::NewOutboxRow;
use crate::paging::{id_key, page_of, Walk};
use crate::schema::{
    activation_links, idempotency_keys, mfa_challenges, mfa_recovery_codes, mfa_totp,
    outbox_attempts, outbox_messages, password_reset_requests, user_counts, users,
};
use crate::trigram_sample::TrigramSample;
use crate::user_row::{NewUserRow, UserRow};
use crate::user_search::{SearchPlan, UserCondition, UserSearch};
use crate::write_transaction::WriteTransaction;

/// The user repository on whichever backend `Database` was opened with.
#[derive(Clone)]
pub struct DieselUserRepository {
    db: Database,
    /// How common each trigram is, for searches.
    trigrams: Arc<Mutex<TrigramSample>>,
}

impl DieselUserRepository {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            trigrams: Arc::default(),
        }
    }
}

fn to_user(row: Option<UserRow>) -> Result<Option<User>, StorageError> {
    row.map(User::try_from).transpose()
}

/// The live users a `UserFilter` selects, as a boxed query for the
/// connection's backend (used twice: for the page and for the count).
macro_rules! filtered_users {
    ($conn:expr, $filter:expr, $search:expr) => {{
        let filter: &UserFilter = $filter;
        let mut query = live_users().into_boxed();
        if let Some(id) = filter.only {
            query = query.filter(users::id.eq(id.0));
        }
        if let Some(status) = filter.status {
            query = query.filter(users::status.eq(status.as_str()));
        }
        if let Some(plan) = $search {
            query = query.filter(search_condition(&*$conn, plan));
        }
        query
    }};
}

fn search_condition<C: UserSearch>(_: &C, plan: &SearchPlan) -> UserCondition<C::Backend> {
    C::matching(plan)
}

/// How many live users have `status` (any, for `None`) and, when given,
/// this activation state: from the counts the triggers keep, a handful of
/// rows whatever the number of users.
macro_rules! counted_users {
    ($conn:expr, $status:expr, $awaiting:expr) => {{
        let status: Option<&str> = $status;
        let awaiting: Option<bool> = $awaiting;
        let mut query = user_counts::table.select(user_counts::users).into_boxed();
        if let Some(status) = status {
            query = query.filter(user_counts::status.eq(status));
        }
        if let Some(awaiting) = awaiting {
            query = query.filter(user_counts::awaiting_activation.eq(awaiting));
        }
        let counts: Vec<i64> = query.load($conn)?;
        counts.into_iter().sum::<i64>()
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
        let walk = Walk::of(&page, |position| match position {
            Position::TimeAndId(at, id) => Some((at.naive_utc(), *id)),
            Position::Id(_) | Position::TimeAndKey(..) => None,
        })?;
        let rows_to_read = walk.rows_to_read(&page);
        let listed = self
            .db
            .run(move |pools| {
                let (rows, total): (Vec<UserRow>, i64) = with_connection!(pools, |conn| {
                    conn.list_read(|conn| {
                        // Oldest first, along the `users_queue` index.
                        macro_rules! queue {
                            () => {
                                live_users()
                                    .filter(users::status.eq(pending))
                                    .filter(users::awaiting_activation.eq(false))
                                    .into_boxed()
                            };
                        }
                        let oldest_first = (users::date_joined.asc(), users::id.asc());
                        let newest_first = (users::date_joined.desc(), users::id.desc());
                        // A page resumes in two seeks: the rest of the rows
                        // of the same time (by id), then the later times.
                        // One condition on both would leave a backend to
                        // walk every row of an equal time (an import's
                        // users often share one) before the position.
                        let (same_time, later) = match walk {
                            Walk::Offset(offset) => {
                                (queue!().order(oldest_first).offset(offset), None)
                            }
                            Walk::After(None) => (queue!().order(oldest_first), None),
                            Walk::After(Some((at, id))) => (
                                queue!()
                                    .filter(users::date_joined.eq(at))
                                    .filter(users::id.gt(id))
                                    .order(users::id.asc()),
                                Some(
                                    queue!()
                                        .filter(users::date_joined.gt(at))
                                        .order(oldest_first),
                                ),
                            ),
                            Walk::Before((at, id)) => (
                                queue!()
                                    .filter(users::date_joined.eq(at))
                                    .filter(users::id.lt(id))
                                    .order(users::id.desc()),
                                Some(
                                    queue!()
                                        .filter(users::date_joined.lt(at))
                                        .order(newest_first),
                                ),
                            ),
                        };
                        let mut rows: Vec<UserRow> = same_time
                            .limit(rows_to_read)
                            .select(UserRow::as_select())
                            .load(conn)?;
                        let wanted = usize::try_from(rows_to_read).unwrap_or(usize::MAX);
                        if let Some(later) = later.filter(|_| rows.len() < wanted) {
                            let left = rows_to_read - i64::try_from(rows.len()).unwrap_or(0);
                            rows.extend(
                                later
                                    .limit(left)
                                    .select(UserRow::as_select())
                                    .load::<UserRow>(conn)?,
                            );
                        }
                        let total = counted_users!(conn, Some(pending), Some(false));
                        Ok::<_, diesel::result::Error>((rows, total))
                    })?
                });
                page_of(rows, total, page, |user: &User| {
                    Position::TimeAndId(user.date_joined, user.id.0)
                })
            })
            .await?;
        Ok(listed)
    }

    async fn list(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, RepositoryError> {
        let walk = Walk::of(&page, id_key)?;
        let rows_to_read = walk.rows_to_read(&page);
        let trigrams = self.trigrams.clone();
        let listed = self
            .db
            .run(move |pools| {
                let (rows, total): (Vec<UserRow>, i64) = with_connection!(pools, |conn| {
                    conn.list_read(|conn| {
                        let search = match &filter.search {
                            Some(term) => Some(conn.plan_search(term, &trigrams)?),
                            None => None,
                        };
                        let query = filtered_users!(conn, &filter, &search);
                        let query = match walk {
                            Walk::Offset(offset) => query.order(users::id.asc()).offset(offset),
                            Walk::After(None) => query.order(users::id.asc()),
                            Walk::After(Some(id)) => {
                                query.filter(users::id.gt(id)).order(users::id.asc())
                            }
                            Walk::Before(id) => {
                                query.filter(users::id.lt(id)).order(users::id.desc())
                            }
                        };
                        let rows = query
                            .limit(rows_to_read)
                            .select(UserRow::as_select())
                            .load(conn)?;
                        // A whole list or a status is counted from the kept
                        // counts. A search or a single user is counted from
                        // the index that found it, unless the page from the
                        // start already holds all of it (most searches).
                        let read = i64::try_from(rows.len()).unwrap_or(i64::MAX);
                        let whole_list_read = read < rows_to_read
                            && matches!(walk, Walk::Offset(0) | Walk::After(None));
                        let total = if filter.search.is_none() && filter.only.is_none() {
                            counted_users!(conn, filter.status.map(UserStatus::as_str), None)
                        } else if whole_list_read {
                            read
                        } else {
                            filtered_users!(conn, &filter, &search)
                                .count()
                                .get_result(conn)?
                        };
                        Ok::<_, diesel::result::Error>((rows, total))
                    })?
                });
                page_of(rows, total, page, |user: &User| Position::Id(user.id.0))
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
        // The second factor: its sealed secret and its recovery codes.
        diesel::delete(mfa_recovery_codes::table.filter(mfa_recovery_codes::user_id.eq(id)))
            .execute($conn)?;
        diesel::delete(mfa_totp::table.filter(mfa_totp::user_id.eq(id))).execute($conn)?;
        diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(id)))
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
