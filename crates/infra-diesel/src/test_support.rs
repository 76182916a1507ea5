//! Fresh databases for tests, one per test, on SQLite and on PostgreSQL.
//!
//! PostgreSQL tests need `AUTHUSERS_TEST_POSTGRES_URL`, a URL of a server
//! where the user may create databases. Without it they are skipped with a
//! message, except under `CI=true`, where a missing server fails the test:
//! CI must never pass by skipping the PostgreSQL suite.

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use authusers_domain::accounts::{NewUser, UserRepository};
use authusers_domain::notification::{Language, OutgoingEmail};
use authusers_domain::password_reset::{
    AddressDigest, NewResetLink, ResetRequestRecord, ResetToken,
};
use authusers_domain::search_term::SearchTerm;
use authusers_domain::throttling::{Check, CounterKey, Limit};
use authusers_domain::user::DecisionRecord;
use authusers_domain::{Email, Money, PasswordHash, PersonName, User, UserStatus};
use chrono::{DateTime, Utc};

use crate::{Database, DatabaseConfig, DatabaseUrl, DieselUserRepository};

pub const POSTGRES_ENV: &str = "AUTHUSERS_TEST_POSTGRES_URL";

/// A database that exists for one test and is removed when dropped.
pub struct TestDatabase {
    url: DatabaseUrl,
    cleanup: Cleanup,
}

enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { admin_url: String, name: String },
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        // Every suite has SQLite tests, so CI learns here, in each of them,
        // that its PostgreSQL half was built to be skipped.
        assert!(
            cfg!(authusers_postgres_tests) || std::env::var("CI").map_or(true, |ci| ci != "true"),
            "{POSTGRES_ENV} was not set when the tests were built: the PostgreSQL suite is compulsory in CI"
        );
        let path = std::env::temp_dir().join(format!("authusers-test-{}.db", unique_suffix()));
        Self {
            url: DatabaseUrl::Sqlite {
                path: path.display().to_string(),
            },
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A fresh PostgreSQL database for a test built to run on one: its
    /// absence now is a failure, not a pass.
    pub fn postgres_required() -> Self {
        Self::postgres().unwrap_or_else(|| {
            panic!("{POSTGRES_ENV} was set when the tests were built, and is not now")
        })
    }

    /// `None` (with a note on stderr) when no PostgreSQL server is
    /// configured outside CI.
    pub fn postgres() -> Option<Self> {
        let Some(admin_url) = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) else {
            assert!(
                std::env::var("CI").map_or(true, |ci| ci != "true"),
                "{POSTGRES_ENV} is not set: the PostgreSQL suite is compulsory in CI"
            );
            eprintln!("skipping a PostgreSQL test: {POSTGRES_ENV} is not set");
            return None;
        };
        let name = format!("authusers_test_{}", unique_suffix());
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {POSTGRES_ENV}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        Some(Self {
            url: DatabaseUrl::Postgres {
                url: replace_database_name(&admin_url, &name),
            },
            cleanup: Cleanup::PostgresDatabase { admin_url, name },
        })
    }

    /// Takes a PostgreSQL database away under its users (its connections
    /// are terminated); `false` on SQLite, whose open files cannot be.
    pub fn take_away(&self) -> bool {
        match &self.cleanup {
            Cleanup::PostgresDatabase { admin_url, name } => {
                let mut admin = PgConnection::establish(admin_url).expect("reach PostgreSQL");
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .expect("drop the test database");
                true
            }
            Cleanup::SqliteFile(_) => false,
        }
    }

    /// Forgets the newest applied migration, so that it counts as pending.
    pub async fn forget_latest_migration(&self) {
        let db = self.connect().await;
        db.forget_latest_migration_for_tests().await;
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The one whole number `sql` selects (as `value`), for tests that
    /// check what is stored as a whole: counts, sums.
    pub async fn number(&self, sql: &str) -> i64 {
        use diesel::sql_types::BigInt;
        use diesel::{QueryableByName, RunQueryDsl};

        #[derive(QueryableByName)]
        struct Number {
            #[diesel(sql_type = BigInt)]
            value: i64,
        }

        let sql = sql.to_owned();
        let db = self.open();
        db.run(move |pools| {
            let found: Number = crate::database::with_connection!(pools, |conn| {
                diesel::sql_query(&sql).get_result(conn)?
            });
            Ok(found.value)
        })
        .await
        .expect("the query answers one number")
    }

    /// The live users a search finds by the plain comparison, column by
    /// column, with no index: the meaning the indexed search must keep.
    pub async fn plain_search_ids(&self, term: &SearchTerm) -> Vec<i64> {
        use diesel::prelude::*;

        let term = term.clone();
        let db = self.connect().await;
        db.run(move |pools| {
            let ids = crate::database::with_connection!(pools, |conn| {
                crate::live_users::live_users()
                    .filter(crate::user_search::plain_match!(term))
                    .select(crate::schema::users::id)
                    .order(crate::schema::users::id.asc())
                    .load::<i64>(conn)?
            });
            Ok(ids)
        })
        .await
        .expect("the plain search answers")
    }

    /// A pool on this database with every migration applied.
    pub async fn connect(&self) -> Database {
        let db = self.open();
        db.migrate().await.expect("migrate the test database");
        db
    }

    /// The database as it is, not migrated: for reading beside a process
    /// that writes. (A migration writes, so on SQLite it would wait for
    /// that process's write lock.)
    pub fn open(&self) -> Database {
        let mut config = DatabaseConfig::new(self.url.clone());
        config.pool_size = 16;
        Database::connect(&config).expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::PostgresDatabase { admin_url, name } => {
                if let Ok(mut admin) = PgConnection::establish(admin_url) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

fn unique_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn replace_database_name(url: &str, name: &str) -> String {
    let (without_query, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let base = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// An outbox row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOutboxMessage {
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub text_body: String,
    pub user_id: Option<i64>,
}

/// A pending user called Ann with `email`, ready to insert.
/// A fixed instant `seconds` after a base in 2025, for tests that need
/// time to be the same on every run.
pub fn at(seconds: i64) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .timestamp_opt(1_750_000_000 + seconds, 0)
        .single()
        .expect("a valid instant")
}

pub fn new_user(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).expect("a valid test e-mail"),
        first_name: PersonName::parse("Ann").expect("a valid name"),
        last_name: PersonName::default(),
        password_hash: PasswordHash::new("$2b$04$test-hash".into()),
        status: UserStatus::Pending,
        is_admin: false,
        date_joined: Utc::now(),
        decision: None,
        real_balance: Money::ZERO,
        virtual_balance: Money::ZERO,
        email_verified_at: None,
        awaiting_activation: false,
    }
}

/// A request at `at` for a reset link to `user`'s address, holding `token`
/// and working an hour, under a limit of `limit` mails an hour.
pub fn reset_request(
    user: &User,
    token: &ResetToken,
    at: DateTime<Utc>,
    limit: Option<u32>,
) -> ResetRequestRecord {
    let hour = chrono::Duration::hours(1);
    ResetRequestRecord {
        address: AddressDigest::of(&user.email),
        at,
        mail_limit: limit
            .and_then(|max| Limit::new(max, hour))
            .map(|limit| Check {
                key: CounterKey::reset_mail(&user.email),
                limit,
            }),
        forget_before: at - hour,
        link: Some(NewResetLink {
            user: user.id,
            digest: token.digest(),
            expires_at: at + hour,
            mail: OutgoingEmail::password_reset(
                user,
                "https://app.example.com/reset",
                hour,
                Language::English,
            ),
        }),
    }
}

/// Registers `count` users and accepts each, which queues one e-mail per
/// user (subject `Decision <i>`) in the outbox.
pub async fn queue_decision_emails(database: &Database, count: usize) {
    let users = DieselUserRepository::new(database.clone());
    for i in 0..count {
        let pending = users
            .insert(new_user(&format!("user{i}@example.com")))
            .await
            .expect("insert a user");
        let decided = User {
            status: UserStatus::Approved,
            decision: Some(DecisionRecord {
                decided_by: None,
                decided_at: Utc::now(),
            }),
            ..pending
        };
        let message = OutgoingEmail {
            to: decided.email.clone(),
            subject: format!("Decision {i}"),
            text_body: "Hello".into(),
            html_body: "<p>Hello</p>".into(),
        };
        assert!(users
            .save_decision(&decided, &message)
            .await
            .expect("save a decision"));
    }
}

/// Declares, for each named `async fn(&TestDatabase)`, one test on SQLite
/// and one on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let db = $crate::test_support::TestDatabase::sqlite();
                    super::$name(&db).await;
                }

                $crate::postgres_test! {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn postgres() {
                        let db = $crate::test_support::TestDatabase::postgres_required();
                        super::$name(&db).await;
                    }
                }
            }
        )*
    };
}

/// A PostgreSQL test, as built with a server to run on: as it is.
#[cfg(authusers_postgres_tests)]
#[doc(hidden)]
#[macro_export]
macro_rules! postgres_test {
    ($test:item) => {
        $test
    };
}

/// A PostgreSQL test, as built without a server (no
/// `AUTHUSERS_TEST_POSTGRES_URL` when this crate was built): ignored, so
/// that the test output says it did not run.
#[cfg(not(authusers_postgres_tests))]
#[doc(hidden)]
#[macro_export]
macro_rules! postgres_test {
    ($(#[$attribute:meta])* async fn $name:ident() $body:block) => {
        $(#[$attribute])*
        #[ignore = "AUTHUSERS_TEST_POSTGRES_URL was not set when the tests were built"]
        async fn $name() $body
    };
}

impl Database {
    async fn forget_latest_migration_for_tests(&self) {
        use crate::database::with_connection;
        self.run(|pools| {
            with_connection!(pools, |conn| conn.batch_execute(
                "DELETE FROM __diesel_schema_migrations WHERE version = \
                 (SELECT MAX(version) FROM __diesel_schema_migrations)"
            )?);
            Ok(())
        })
        .await
        .expect("forget a migration");
    }

    /// Undoes the newest applied migration with its `down.sql`.
    pub async fn revert_latest_migration_for_tests(&self) {
        use crate::database::{with_connection, BackendMigrations};
        use diesel_migrations::MigrationHarness;
        self.run(|pools| {
            with_connection!(pools, |conn| {
                let migrations = conn.migrations();
                conn.revert_last_migration(migrations)
                    .map_err(|e| crate::StorageError::Migration(e.to_string()))?
            });
            Ok(())
        })
        .await
        .expect("revert a migration");
    }

    /// Undoes applied migrations, newest first, until `version` (such as
    /// `20261125000004`) and every later one are undone.
    pub async fn revert_migrations_through_for_tests(&self, version: &'static str) {
        use crate::database::with_connection;
        use diesel_migrations::MigrationHarness;
        loop {
            let newest = self
                .run(|pools| {
                    let applied = with_connection!(pools, |conn| conn
                        .applied_migrations()
                        .map_err(|e| crate::StorageError::Migration(e.to_string()))?);
                    Ok(applied.iter().map(ToString::to_string).max())
                })
                .await
                .expect("read the applied migrations");
            match newest {
                Some(newest) if newest.as_str() >= version => {
                    self.revert_latest_migration_for_tests().await;
                }
                _ => return,
            }
        }
    }

    /// Runs SQL statements, for tests that need rows no repository writes.
    pub async fn execute_for_tests(&self, sql: &str) {
        use crate::database::with_connection;
        let sql = sql.to_owned();
        self.run(move |pools| {
            with_connection!(pools, |conn| conn.batch_execute(&sql)?);
            Ok(())
        })
        .await
        .expect("execute SQL");
    }

    /// Every outbox message, oldest first, as the database holds it.
    pub async fn outbox_for_tests(&self) -> Vec<StoredOutboxMessage> {
        use crate::database::with_connection;
        use crate::schema::outbox_messages as m;
        use diesel::prelude::*;
        self.run(|pools| {
            let rows: Vec<(String, String, String, String, Option<i64>)> =
                with_connection!(pools, |conn| m::table
                    .order(m::id.asc())
                    .select((
                        m::recipient,
                        m::subject,
                        m::status,
                        m::text_body,
                        m::user_id
                    ))
                    .load(conn)?);
            Ok(rows
                .into_iter()
                .map(
                    |(recipient, subject, status, text_body, user_id)| StoredOutboxMessage {
                        recipient,
                        subject,
                        status,
                        text_body,
                        user_id,
                    },
                )
                .collect())
        })
        .await
        .expect("read the outbox")
    }

    /// Every stored session, ended or not, as `(id, end reason)`.
    pub async fn sessions_for_tests(&self) -> Vec<(String, Option<String>)> {
        use crate::database::with_connection;
        use crate::schema::sessions as s;
        use diesel::prelude::*;
        self.run(|pools| {
            Ok(with_connection!(pools, |conn| s::table
                .order(s::created_at.asc())
                .select((s::id, s::end_reason))
                .load(conn)?))
        })
        .await
        .expect("read the sessions")
    }

    /// Sets a user's balances directly, bypassing the ledger: only for
    /// tests that need a balance no sequence of requests reaches quickly.
    pub async fn set_balances_for_tests(
        &self,
        user: authusers_domain::UserId,
        real_cents: i64,
        virtual_cents: i64,
    ) {
        use crate::database::with_connection;
        use crate::schema::users;
        use diesel::prelude::*;
        self.run(move |pools| {
            with_connection!(pools, |conn| {
                diesel::update(users::table.find(user.0))
                    .set((
                        users::real_balance_cents.eq(real_cents),
                        users::virtual_balance_cents.eq(virtual_cents),
                    ))
                    .execute(conn)?
            });
            Ok(())
        })
        .await
        .expect("set balances");
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database_name;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            replace_database_name("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database_name("postgres://u@h", "t1"),
            "postgres://u@h/t1"
        );
        assert_eq!(
            replace_database_name("postgres://u@h/db?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
    }
}
