use std::collections::HashMap;

use async_trait::async_trait;
use authusers_domain::import::{ImportConflict, ImportOutcome, ImportRepository, ImportedUser};
use authusers_domain::storage::RepositoryError;
use authusers_domain::UserId;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};

use crate::database::{on_connection, with_connection, Database};
use crate::schema::{balance_transactions, users};
use crate::write_transaction::WriteTransaction;

/// Users moved in on Diesel, a batch a transaction.
#[derive(Clone)]
pub struct DieselImportRepository {
    db: Database,
}

impl DieselImportRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

/// Rows one `INSERT` carries, well under SQLite's and PostgreSQL's limits
/// on bound values (a user row binds 18).
const ROWS_PER_INSERT: usize = 1_000;

// Every column is written, `None` as NULL: a row fits PostgreSQL's COPY
// and SQLite's multi-row INSERT alike.
#[derive(Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
struct ImportedUserRow<'a> {
    id: i64,
    email: &'a str,
    email_canonical: String,
    first_name: &'a str,
    last_name: &'a str,
    password_hash: &'a str,
    status: &'static str,
    is_admin: bool,
    date_joined: NaiveDateTime,
    real_balance_cents: i64,
    virtual_balance_cents: i64,
    is_active: bool,
    last_login: Option<NaiveDateTime>,
    imported_at: Option<NaiveDateTime>,
}

impl<'a> ImportedUserRow<'a> {
    fn new(user: &'a ImportedUser, at: NaiveDateTime) -> Self {
        Self {
            id: user.id.0,
            email: user.email.as_str(),
            email_canonical: user.email.canonical(),
            first_name: user.first_name.as_str(),
            last_name: user.last_name.as_str(),
            password_hash: user.password_hash.as_str(),
            status: user.status.as_str(),
            is_admin: user.is_admin,
            date_joined: user.date_joined.naive_utc(),
            real_balance_cents: user.real_balance.minor_units(),
            virtual_balance_cents: user.virtual_balance.minor_units(),
            is_active: user.is_active,
            last_login: user.last_login.map(|at| at.naive_utc()),
            imported_at: Some(at),
        }
    }
}

/// An opening entry of a moved-in user's ledger.
#[derive(Insertable)]
#[diesel(table_name = balance_transactions, treat_none_as_default_value = false)]
struct OpeningRow {
    user_id: i64,
    action: &'static str,
    value_type: &'static str,
    amount_cents: i64,
    bonus_cents: i64,
    real_balance_after_cents: i64,
    virtual_balance_after_cents: i64,
    created_at: NaiveDateTime,
}

/// The opening entries of a user's ledger: one per balance above zero, the
/// real one first, each saying what the balances are after it.
fn opening_entries(user: &ImportedUser, at: NaiveDateTime) -> Vec<OpeningRow> {
    let real = user.real_balance.minor_units();
    let virtual_ = user.virtual_balance.minor_units();
    let entry = |value_type, amount, virtual_after| OpeningRow {
        user_id: user.id.0,
        action: "opening",
        value_type,
        amount_cents: amount,
        bonus_cents: 0,
        real_balance_after_cents: real,
        virtual_balance_after_cents: virtual_after,
        created_at: at,
    };
    let mut entries = Vec::new();
    if real > 0 {
        entries.push(entry("real", real, 0));
    }
    if virtual_ > 0 {
        entries.push(entry("virtual", virtual_, virtual_));
    }
    entries
}

/// Who is here already, under the batch's ids and addresses.
#[derive(Default)]
struct Present {
    /// Each id's canonical address; `None` for an erased account.
    by_id: HashMap<i64, Option<String>>,
    by_address: HashMap<String, i64>,
}

/// The users here under `users`' ids or addresses, compiled for each
/// backend.
macro_rules! present {
    ($conn:expr, $users:expr) => {{
        let users: &[ImportedUser] = $users;
        let ids: Vec<i64> = users.iter().map(|u| u.id.0).collect();
        let addresses: Vec<String> = users.iter().map(|u| u.email.canonical()).collect();
        let by_id: Vec<(i64, Option<String>)> = users::table
            .filter(users::id.eq_any(&ids))
            .select((users::id, users::email_canonical))
            .load($conn)?;
        let by_address: Vec<(i64, Option<String>)> = users::table
            .filter(users::email_canonical.eq_any(&addresses))
            .select((users::id, users::email_canonical))
            .load($conn)?;
        Ok::<_, diesel::result::Error>(Present {
            by_id: by_id.into_iter().collect(),
            by_address: by_address
                .into_iter()
                .filter_map(|(id, address)| address.map(|address| (address, id)))
                .collect(),
        })
    }};
}

/// What becomes of each user, given who is here.
fn judge(users: &[ImportedUser], present: &Present) -> Vec<ImportOutcome> {
    let mut claimed: HashMap<String, UserId> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    users
        .iter()
        .map(|user| {
            if !ids.insert(user.id) {
                return ImportOutcome::Conflict(ImportConflict::DuplicateId);
            }
            let address = user.email.canonical();
            match present.by_id.get(&user.id.0) {
                Some(Some(stored)) if *stored == address => return ImportOutcome::Unchanged,
                Some(_) => return ImportOutcome::Conflict(ImportConflict::IdTaken),
                None => {}
            }
            if let Some(by) = present.by_address.get(&address) {
                return ImportOutcome::Conflict(ImportConflict::AddressTaken { by: UserId(*by) });
            }
            match claimed.get(&address) {
                Some(first) => {
                    ImportOutcome::Conflict(ImportConflict::DuplicateAddress { first: *first })
                }
                None => {
                    claimed.insert(address, user.id);
                    ImportOutcome::Imported
                }
            }
        })
        .collect()
}

/// What differs between the backends around an import.
trait ImportBackend {
    /// Stores the users and their opening entries: the fastest way each
    /// backend has.
    fn insert_rows(
        &mut self,
        users: &[ImportedUserRow<'_>],
        openings: &[OpeningRow],
    ) -> QueryResult<()>;

    /// Moves the id generator past every stored id, so that the next
    /// registration cannot take an id a user was moved in with.
    fn ids_past_the_largest(&mut self) -> QueryResult<()>;

    /// What a bulk load leaves for later, done now.
    fn settle(&mut self) -> QueryResult<()>;
}

impl ImportBackend for SqliteConnection {
    /// Multi-row INSERTs, within SQLite's limit on bound values.
    fn insert_rows(
        &mut self,
        users: &[ImportedUserRow<'_>],
        openings: &[OpeningRow],
    ) -> QueryResult<()> {
        for chunk in users.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(users::table)
                .values(chunk)
                .execute(self)?;
        }
        for chunk in openings.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(balance_transactions::table)
                .values(chunk)
                .execute(self)?;
        }
        Ok(())
    }

    /// AUTOINCREMENT keeps `sqlite_sequence` at the largest id ever
    /// inserted, explicit ones included.
    fn ids_past_the_largest(&mut self) -> QueryResult<()> {
        Ok(())
    }

    /// Merges the search index's segments into one: each batch's users
    /// went into segments of their own, which every search would read in
    /// turn (a million imported users: a search that hits 30% faster
    /// merged). About a second a million users, holding the write lock.
    fn settle(&mut self) -> QueryResult<()> {
        diesel::sql_query("INSERT INTO users_search (users_search) VALUES ('optimize')")
            .execute(self)
            .map(drop)
    }
}

impl ImportBackend for PgConnection {
    /// COPY, in PostgreSQL's binary format: several times faster than
    /// INSERTs of as many rows.
    fn insert_rows(
        &mut self,
        users: &[ImportedUserRow<'_>],
        openings: &[OpeningRow],
    ) -> QueryResult<()> {
        if !users.is_empty() {
            diesel::copy_from(users::table)
                .from_insertable(users)
                .execute(self)?;
        }
        if !openings.is_empty() {
            diesel::copy_from(balance_transactions::table)
                .from_insertable(openings)
                .execute(self)?;
        }
        Ok(())
    }

    fn ids_past_the_largest(&mut self) -> QueryResult<()> {
        // Never backwards: the sequence may be ahead already.
        diesel::sql_query(
            "SELECT setval(seq, GREATEST(largest, COALESCE(pg_sequence_last_value(seq), 0))) \
             FROM (SELECT pg_get_serial_sequence('users', 'id')::regclass AS seq, \
                          MAX(id) AS largest FROM users) AS ids \
             WHERE largest IS NOT NULL",
        )
        .execute(self)
        .map(drop)
    }

    /// Moves the search index's pending entries (GIN's fast-update list,
    /// which every search reads through) into the index, and gathers the
    /// users' statistics the planner reads: what autovacuum does some time
    /// after a load.
    fn settle(&mut self) -> QueryResult<()> {
        diesel::sql_query("SELECT gin_clean_pending_list('users_search_text'::regclass)")
            .execute(self)?;
        diesel::sql_query("ANALYZE users").execute(self).map(drop)
    }
}

/// One batch in one transaction, compiled for each backend.
macro_rules! import_in_transaction {
    ($conn:expr, $users:expr, $at:expr) => {{
        let users: &[ImportedUser] = $users;
        let at: NaiveDateTime = $at;
        let present = present!($conn, users)?;
        let outcomes = judge(users, &present);
        let moving_in: Vec<&ImportedUser> = users
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| **outcome == ImportOutcome::Imported)
            .map(|(user, _)| user)
            .collect();
        let rows: Vec<ImportedUserRow<'_>> = moving_in
            .iter()
            .map(|user| ImportedUserRow::new(user, at))
            .collect();
        let openings: Vec<OpeningRow> = moving_in
            .iter()
            .flat_map(|user| opening_entries(user, at))
            .collect();
        $conn.insert_rows(&rows, &openings)?;
        if !moving_in.is_empty() {
            $conn.ids_past_the_largest()?;
        }
        Ok::<_, diesel::result::Error>(outcomes)
    }};
}

#[async_trait]
impl ImportRepository for DieselImportRepository {
    async fn import(
        &self,
        users: Vec<ImportedUser>,
        at: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<ImportOutcome>, RepositoryError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let at = at.naive_utc();
        let outcomes = if dry_run {
            self.db
                .run(move |pools| {
                    let present = with_connection!(pools, |conn| present!(conn, &users)?);
                    Ok(judge(&users, &present))
                })
                .await?
        } else {
            self.db
                .write(move |conn| {
                    let outcomes = on_connection!(conn, |conn| {
                        conn.write_transaction(|conn| import_in_transaction!(conn, &users, at))?
                    });
                    Ok(outcomes)
                })
                .await?
        };
        Ok(outcomes)
    }

    async fn settle(&self) -> Result<(), RepositoryError> {
        self.db
            .write(|conn| {
                on_connection!(conn, |conn| conn.settle()?);
                Ok(())
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authusers_domain::{Email, Money, PasswordHash, PersonName, UserStatus};

    fn user(id: i64, email: &str) -> ImportedUser {
        ImportedUser {
            id: UserId(id),
            email: Email::parse(email).unwrap(),
            first_name: PersonName::default(),
            last_name: PersonName::default(),
            password_hash: PasswordHash::new("!".into()),
            status: UserStatus::Approved,
            is_admin: false,
            is_active: true,
            date_joined: DateTime::UNIX_EPOCH,
            last_login: None,
            real_balance: Money::ZERO,
            virtual_balance: Money::ZERO,
        }
    }

    #[test]
    fn each_user_is_judged_against_who_is_here_and_the_batch_before_it() {
        let present = Present {
            by_id: HashMap::from([
                (3, Some("ann@example.com".to_owned())),
                (5, Some("bob@example.com".to_owned())),
                (6, None),
            ]),
            by_address: HashMap::from([
                ("ann@example.com".to_owned(), 3),
                ("bob@example.com".to_owned(), 5),
                ("eve@example.com".to_owned(), 9),
            ]),
        };
        let outcomes = judge(
            &[
                user(3, "Ann@example.com"),
                user(5, "not-bob@example.com"),
                user(6, "erased@example.com"),
                user(7, "eve@example.com"),
                user(8, "new@example.com"),
                user(10, "NEW@example.com"),
                user(8, "other@example.com"),
            ],
            &present,
        );
        assert_eq!(
            outcomes,
            [
                ImportOutcome::Unchanged,
                ImportOutcome::Conflict(ImportConflict::IdTaken),
                ImportOutcome::Conflict(ImportConflict::IdTaken),
                ImportOutcome::Conflict(ImportConflict::AddressTaken { by: UserId(9) }),
                ImportOutcome::Imported,
                ImportOutcome::Conflict(ImportConflict::DuplicateAddress { first: UserId(8) }),
                ImportOutcome::Conflict(ImportConflict::DuplicateId),
            ]
        );
    }

    #[test]
    fn opening_entries_leave_the_balances_as_the_ledger_sums_them() {
        let mut both = user(3, "ann@example.com");
        both.real_balance = Money::from_minor_units(15_025).unwrap();
        both.virtual_balance = Money::from_minor_units(1_000).unwrap();
        let at = DateTime::UNIX_EPOCH.naive_utc();
        let entries = opening_entries(&both, at);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (entries[0].value_type, entries[0].amount_cents),
            ("real", 15_025)
        );
        assert_eq!(
            (
                entries[0].real_balance_after_cents,
                entries[0].virtual_balance_after_cents
            ),
            (15_025, 0)
        );
        assert_eq!(
            (entries[1].value_type, entries[1].amount_cents),
            ("virtual", 1_000)
        );
        assert_eq!(
            (
                entries[1].real_balance_after_cents,
                entries[1].virtual_balance_after_cents
            ),
            (15_025, 1_000)
        );
        assert!(entries.iter().all(|e| e.action == "opening"));
        assert!(opening_entries(&user(4, "bob@example.com"), at).is_empty());
    }
}
