use authusers_domain::accounts::NewUser;
use authusers_domain::user::DecisionRecord;
use authusers_domain::{Email, Money, PasswordHash, PersonName, User, UserId, UserStatus};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::error::StorageError;
use crate::schema::users;

/// A `users` row as stored. Times are UTC.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    password_hash: String,
    status: String,
    is_admin: bool,
    date_joined: NaiveDateTime,
    decided_by: Option<i64>,
    decided_at: Option<NaiveDateTime>,
    real_balance_cents: i64,
    virtual_balance_cents: i64,
    email_verified_at: Option<NaiveDateTime>,
    awaiting_activation: bool,
    is_active: bool,
    last_login: Option<NaiveDateTime>,
    imported_at: Option<NaiveDateTime>,
    credentials_changed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow {
    email: String,
    email_canonical: String,
    first_name: String,
    last_name: String,
    password_hash: String,
    status: &'static str,
    is_admin: bool,
    date_joined: NaiveDateTime,
    decided_by: Option<i64>,
    decided_at: Option<NaiveDateTime>,
    real_balance_cents: i64,
    virtual_balance_cents: i64,
    email_verified_at: Option<NaiveDateTime>,
    awaiting_activation: bool,
}

impl From<NewUser> for NewUserRow {
    fn from(user: NewUser) -> Self {
        Self {
            email: user.email.as_str().to_owned(),
            email_canonical: user.email.canonical(),
            first_name: user.first_name.as_str().to_owned(),
            last_name: user.last_name.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            status: user.status.as_str(),
            is_admin: user.is_admin,
            date_joined: user.date_joined.naive_utc(),
            decided_by: user.decision.and_then(|d| d.decided_by).map(|id| id.0),
            decided_at: user.decision.map(|d| d.decided_at.naive_utc()),
            real_balance_cents: user.real_balance.minor_units(),
            virtual_balance_cents: user.virtual_balance.minor_units(),
            email_verified_at: user.email_verified_at.map(|at| at.naive_utc()),
            awaiting_activation: user.awaiting_activation,
        }
    }
}

impl TryFrom<UserRow> for User {
    type Error = StorageError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| StorageError::CorruptRow(format!("user {}: {what}", row.id));
        let decision = row.decided_at.map(|at| DecisionRecord {
            decided_by: row.decided_by.map(UserId),
            decided_at: at.and_utc(),
        });
        Ok(User {
            id: UserId(row.id),
            email: Email::from_stored(row.email),
            first_name: PersonName::from_stored(row.first_name),
            last_name: PersonName::from_stored(row.last_name),
            password_hash: PasswordHash::new(row.password_hash),
            status: UserStatus::parse(&row.status).ok_or_else(|| corrupt("status"))?,
            is_admin: row.is_admin,
            date_joined: row.date_joined.and_utc(),
            decision,
            real_balance: Money::from_minor_units(row.real_balance_cents)
                .map_err(|_| corrupt("real balance"))?,
            virtual_balance: Money::from_minor_units(row.virtual_balance_cents)
                .map_err(|_| corrupt("virtual balance"))?,
            email_verified_at: row.email_verified_at.map(|at| at.and_utc()),
            awaiting_activation: row.awaiting_activation,
            is_active: row.is_active,
            last_login: row.last_login.map(|at| at.and_utc()),
            imported_at: row.imported_at.map(|at| at.and_utc()),
            credentials_changed_at: row.credentials_changed_at.map(|at| at.and_utc()),
        })
    }
}
