use async_trait::async_trait;
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::ports::{InsertUserError, NewUser, RepositoryError, UserRepository};
use authusers_domain::{Email, Page, PageRequest, PersonName, User, UserId, UserStatus};
use diesel::prelude::*;

use crate::database::{with_connection, Database};
use crate::error::StorageError;
use crate::outbox_row::NewOutboxRow;
use crate::paging::{limit_offset, page_of};
use crate::schema::{lower, outbox_messages, users};
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

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError> {
        let row = NewUserRow::from(user);
        let inserted = self
            .db
            .run(move |pools| {
                let row: UserRow = with_connection!(pools, |conn| {
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
        let email = email.as_str().to_owned();
        let found = self
            .db
            .run(move |pools| {
                let row = with_connection!(pools, |conn| {
                    users::table
                        .filter(lower(users::email).eq(lower(&email)))
                        .select(UserRow::as_select())
                        .first(conn)
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
                    users::table
                        .find(id.0)
                        .select(UserRow::as_select())
                        .first(conn)
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
                        let rows = users::table
                            .filter(users::status.eq(pending))
                            .order((users::date_joined.asc(), users::id.asc()))
                            .limit(limit)
                            .offset(offset)
                            .select(UserRow::as_select())
                            .load(conn)?;
                        let total = users::table
                            .filter(users::status.eq(pending))
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

    async fn update_names(
        &self,
        id: UserId,
        first_name: PersonName,
        last_name: PersonName,
    ) -> Result<Option<User>, RepositoryError> {
        let updated = self
            .db
            .run(move |pools| {
                let row = with_connection!(pools, |conn| {
                    diesel::update(users::table.find(id.0))
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
        let decided_by = user.decision.and_then(|d| d.decided_by).map(|id| id.0);
        let decided_at = user.decision.map(|d| d.decided_at.naive_utc());
        let pending = UserStatus::Pending.as_str();
        let message = NewOutboxRow::new(notification, decided_at.unwrap_or_default());
        let changed = self
            .db
            .run(move |pools| {
                // Guarded by `status = 'pending'`: of two racing decisions,
                // the second matches no row and changes nothing. The e-mail
                // is queued in the same transaction, so a committed decision
                // always has its message, and a lost race has none.
                let changed = with_connection!(pools, |conn| {
                    conn.write_transaction(|conn| {
                        let changed =
                            diesel::update(users::table.find(id).filter(users::status.eq(pending)))
                                .set((
                                    users::status.eq(status),
                                    users::decided_by.eq(decided_by),
                                    users::decided_at.eq(decided_at),
                                ))
                                .execute(conn)?;
                        if changed == 1 {
                            diesel::insert_into(outbox_messages::table)
                                .values(&message)
                                .execute(conn)?;
                        }
                        Ok::<_, diesel::result::Error>(changed == 1)
                    })?
                });
                Ok(changed)
            })
            .await?;
        Ok(changed)
    }
}
