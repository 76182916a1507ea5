use std::fmt;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::blocking_threads::BlockingThreads;
use crate::error::StorageError;
use crate::pg_connections::PgManager;
use crate::sqlite_writer::{OpenConnection, SqliteWriter, WriteGroups};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// How long a SQLite writer waits for the lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `DATABASE_URL`: a SQLite file or a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite { path: String },
    Postgres { url: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("DATABASE_URL is empty")]
    Empty,
    #[error("DATABASE_URL scheme `{0}` is not supported: use a SQLite path, sqlite://PATH or postgres://...")]
    UnsupportedScheme(String),
    #[error("DATABASE_URL sqlite:// URL has no file path")]
    MissingSqlitePath,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres {
                url: raw.to_owned(),
            });
        }
        let path = match raw.split_once("://") {
            Some(("sqlite", path)) => path,
            Some((scheme, _)) => return Err(DatabaseUrlError::UnsupportedScheme(scheme.into())),
            None => match raw.split_once(':') {
                Some(("sqlite", path)) => path,
                // `postgres:db` and the like are typos, never file names.
                Some((scheme, _)) if looks_like_scheme(scheme) => {
                    return Err(DatabaseUrlError::UnsupportedScheme(scheme.into()))
                }
                _ => raw,
            },
        };
        if path.is_empty() {
            return Err(DatabaseUrlError::MissingSqlitePath);
        }
        Ok(Self::Sqlite {
            path: path.to_owned(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
        }
    }
}

fn looks_like_scheme(prefix: &str) -> bool {
    let mut chars = prefix.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Never prints a PostgreSQL password.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => write!(f, "sqlite://{path}"),
            Self::Postgres { url } => f.write_str(&authusers_domain::text::mask_url_password(url)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub pool_size: u32,
    pub connect_timeout: Duration,
    /// SQLite only.
    pub sqlite_synchronous: SqliteSynchronous,
    /// PostgreSQL only: a pooled connection idle this long is tested
    /// (`SELECT 1`) before it is used again; one in steady use is not.
    pub pg_idle_before_check: Duration,
}

/// The most connections the standard pool size comes to: with more,
/// replicas would soon hold more than PostgreSQL's default
/// `max_connections` (100) allows.
const MOST_STANDARD_CONNECTIONS: u32 = 10;

impl DatabaseConfig {
    /// A connection per core and one more, at most ten: the most queries a
    /// process runs at once. More queries than the cores can run at once
    /// are shared out in time slices, and the request that waits through
    /// everyone's slices is the slow one (measured in `docs/deploying.md`);
    /// in the pool's queue they wait their turn instead. The one more keeps
    /// a core busy while another query's answer travels.
    pub fn standard_pool_size() -> u32 {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        u32::try_from(cores)
            .unwrap_or(u32::MAX)
            .saturating_add(1)
            .min(MOST_STANDARD_CONNECTIONS)
    }

    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            pool_size: Self::standard_pool_size(),
            connect_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::default(),
            pg_idle_before_check: Duration::from_secs(1),
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<PgManager>),
}

/// Runs `$body` with `$conn` bound to a pooled connection of whichever
/// backend is configured. The body is compiled once per backend, so it can
/// use every Diesel feature both of them support.
macro_rules! with_connection {
    ($pools:expr, |$conn:ident| $body:expr) => {
        match $pools {
            $crate::database::Pools::Sqlite(pool) => {
                let $conn = &mut *pool.get()?;
                $body
            }
            $crate::database::Pools::Postgres(pool) => {
                let $conn: &mut diesel::PgConnection = &mut **pool.get()?;
                $body
            }
        }
    };
}
pub(crate) use with_connection;

/// A connection to write on, of whichever backend is configured.
pub(crate) enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Runs `$body` with `$conn` bound to the connection a [`Conn`] holds,
/// compiled once per backend like [`with_connection!`].
macro_rules! on_connection {
    ($writing:expr, |$conn:ident| $body:expr) => {
        match $writing {
            $crate::database::Conn::Sqlite($conn) => $body,
            $crate::database::Conn::Postgres($conn) => $body,
        }
    };
}
pub(crate) use on_connection;

/// A connection pool, and the fixed set of blocking threads that use it,
/// one per connection: Diesel is synchronous, so every query runs off the
/// async executor, and one that waits waits in the threads' queue, never on
/// a thread.
#[derive(Clone)]
pub struct Database {
    pools: Pools,
    threads: BlockingThreads,
    /// How long a query waits for a thread (and so a connection).
    connect_timeout: Duration,
    backend: Backend,
    /// SQLite's one writing connection; PostgreSQL writes on the pool.
    sqlite_writer: Option<SqliteWriter>,
    /// PostgreSQL's URL, for a connection of its own when the pool has none
    /// to give and readiness wants to know why.
    pg_url: Option<String>,
}

/// The pool as metrics show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    pub max_size: u32,
    pub connections: u32,
    pub idle: u32,
    pub waiting: usize,
}

/// When SQLite waits for the disk (`SQLITE_SYNCHRONOUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSynchronous {
    /// Every commit reaches the disk before it is acknowledged: an
    /// acknowledged balance change survives a power loss or an OS crash.
    #[default]
    Full,
    /// In WAL mode, commits are synced at checkpoints only: faster, and
    /// still safe from an application crash, but the last commits before a
    /// power loss or OS crash can be lost.
    Normal,
}

impl SqliteSynchronous {
    /// The setting's name, as `SQLITE_SYNCHRONOUS` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Normal => "normal",
        }
    }

    /// A setting by name, in any letter case.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Full, Self::Normal]
            .into_iter()
            .find(|setting| setting.as_str().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug)]
struct SqlitePragmas {
    synchronous: SqliteSynchronous,
}

impl SqlitePragmas {
    fn apply(&self, conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
        // The busy timeout makes a writer wait for the lock (held by another
        // process, or by a migration) instead of failing at once. (WAL is
        // set once per file, in `connect`.)
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
             PRAGMA foreign_keys = ON; PRAGMA synchronous = {};",
            self.synchronous.as_str()
        ))
    }
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        self.apply(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Whether opening the database first makes one connection to check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Connect,
    Skip,
}

impl Database {
    /// Builds the pool and checks that one connection can be made, so that
    /// a wrong URL is reported at start-up rather than on the first request.
    pub fn connect(config: &DatabaseConfig) -> Result<Self, StorageError> {
        Self::open(config, Probe::Connect)
    }

    /// As [`Self::connect`], without the check on PostgreSQL: for a server
    /// that starts while its database is unreachable or read-only (a
    /// failover under way) and reports it through readiness instead.
    pub fn connect_without_probe(config: &DatabaseConfig) -> Result<Self, StorageError> {
        Self::open(config, Probe::Skip)
    }

    fn open(config: &DatabaseConfig, probe: Probe) -> Result<Self, StorageError> {
        // Establishing directly reports the driver's own message (an
        // unknown host, a wrong password), which a pool time-out would hide.
        match &config.url {
            DatabaseUrl::Sqlite { path } => {
                // WAL lets readers run beside the writer. It is a property
                // of the file, so it is set once, before the pool opens.
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
                ))?;
            }
            DatabaseUrl::Postgres { url } if probe == Probe::Connect => {
                drop(PgConnection::establish(url)?)
            }
            DatabaseUrl::Postgres { .. } => {}
        }
        // No idle connections are opened ahead of use (`min_idle` 0): the
        // pool would open them on its own threads, and a short command that
        // ends while one is still opening has the TLS library torn down
        // under it at exit (a segmentation fault on PostgreSQL over TLS).
        // Connections are opened when first asked for, and then kept.
        let pools = match &config.url {
            DatabaseUrl::Sqlite { path } => Pools::Sqlite(
                Pool::builder()
                    .max_size(config.pool_size)
                    .min_idle(Some(0))
                    .connection_timeout(config.connect_timeout)
                    .connection_customizer(Box::new(SqlitePragmas {
                        synchronous: config.sqlite_synchronous,
                    }))
                    .build_unchecked(ConnectionManager::new(path.as_str())),
            ),
            DatabaseUrl::Postgres { url } => Pools::Postgres(
                Pool::builder()
                    .max_size(config.pool_size)
                    .min_idle(Some(0))
                    .connection_timeout(config.connect_timeout)
                    .build_unchecked(PgManager::new(url, config.pg_idle_before_check)),
            ),
        };
        let sqlite_writer = match &config.url {
            DatabaseUrl::Sqlite { path } => {
                let path = path.clone();
                let pragmas = SqlitePragmas {
                    synchronous: config.sqlite_synchronous,
                };
                let open: OpenConnection = Box::new(move || {
                    let mut conn = SqliteConnection::establish(&path)?;
                    pragmas.apply(&mut conn)?;
                    Ok(conn)
                });
                Some(SqliteWriter::start(open, config.connect_timeout)?)
            }
            DatabaseUrl::Postgres { .. } => None,
        };
        Ok(Self {
            pools,
            threads: BlockingThreads::start(config.pool_size as usize, "database")?,
            connect_timeout: config.connect_timeout,
            backend: config.url.backend(),
            sqlite_writer,
            pg_url: match &config.url {
                DatabaseUrl::Postgres { url } => Some(url.clone()),
                DatabaseUrl::Sqlite { .. } => None,
            },
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs blocking database work on one of the database threads (one per
    /// pool connection); work that has not started within
    /// `DATABASE_CONNECT_TIMEOUT_SECONDS` is [`StorageError::Busy`].
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T, StorageError>
    where
        F: FnOnce(&Pools) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let pools = self.pools.clone();
        // The caller's span (the request's) goes with the work, so what the
        // blocking thread logs is the request's.
        let span = tracing::Span::current();
        self.threads
            .run(self.connect_timeout, move || span.in_scope(|| work(&pools)))
            .await
    }

    /// Runs work that writes, and answers once it is committed. On SQLite
    /// it goes to the one writing connection, queued behind the writes
    /// before it and committed together with those queued beside it (see
    /// `sqlite_writer`), in a savepoint of its own; on PostgreSQL it runs
    /// on a pooled connection like any other work, and its transaction is
    /// its own.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StorageError>
    where
        F: FnOnce(Conn<'_>) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.sqlite_writer {
            Some(writer) => writer.write(move |conn| work(Conn::Sqlite(conn))).await,
            None => {
                self.run(move |pools| match pools {
                    Pools::Postgres(pool) => work(Conn::Postgres(&mut **pool.get()?)),
                    Pools::Sqlite(pool) => work(Conn::Sqlite(&mut *pool.get()?)),
                })
                .await
            }
        }
    }

    /// Runs `delete_batch`, a statement that deletes at most `batch` rows,
    /// until one run deletes fewer; how many rows went in all. Each batch
    /// is its own short write, so a backlog never holds the write lock for
    /// long and requests are never held behind one long delete.
    pub(crate) async fn delete_in_batches<F>(
        &self,
        batch: i64,
        delete_batch: F,
    ) -> Result<u64, StorageError>
    where
        F: Fn(Conn<'_>) -> Result<usize, StorageError> + Clone + Send + 'static,
    {
        let mut deleted_in_all: u64 = 0;
        loop {
            let deleted = self.write(delete_batch.clone()).await?;
            deleted_in_all = deleted_in_all.saturating_add(deleted as u64);
            if i64::try_from(deleted).map_or(true, |deleted| deleted < batch) {
                return Ok(deleted_in_all);
            }
        }
    }

    /// SQLite's commits and the writes they held; `None` on PostgreSQL.
    pub fn write_groups(&self) -> Option<WriteGroups> {
        self.sqlite_writer.as_ref().map(SqliteWriter::groups)
    }

    pub fn pool_state(&self) -> PoolState {
        let state = match &self.pools {
            Pools::Sqlite(pool) => (pool.max_size(), pool.state()),
            Pools::Postgres(pool) => (pool.max_size(), pool.state()),
        };
        let (max_size, state) = state;
        PoolState {
            max_size,
            connections: state.connections,
            idle: state.idle_connections,
            waiting: self.threads.waiting()
                + self.sqlite_writer.as_ref().map_or(0, SqliteWriter::waiting),
        }
    }

    /// Applies pending migrations, then fills what they leave to the
    /// service (canonical addresses); returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<String>, StorageError> {
        let applied = self
            .run(|pools| {
                let applied = with_connection!(pools, |conn| {
                    let migrations = conn.migrations();
                    conn.run_pending_migrations(migrations)
                        .map(|versions| versions.iter().map(ToString::to_string).collect())
                });
                applied.map_err(|e| StorageError::Migration(e.to_string()))
            })
            .await?;
        self.backfill_canonical_emails().await?;
        Ok(applied)
    }

    /// Whether the database takes writes: not a PostgreSQL standby, nor a
    /// server in read-only mode. SQLite always does.
    pub async fn accepts_writes(&self) -> Result<bool, StorageError> {
        let url = self.pg_url.clone();
        self.run(move |pools| match (pools, url) {
            (Pools::Postgres(pool), Some(url)) => {
                use diesel::RunQueryDsl;
                let writable = || {
                    diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "current_setting('transaction_read_only') = 'off'",
                    ))
                };
                match pool.get() {
                    Ok(mut pooled) => Ok(writable().get_result(&mut **pooled)?),
                    // The pool tells only that it timed out; a connection of
                    // its own tells why (a multi-host URL whose hosts are
                    // all read-only fails with "session is read-only").
                    Err(_) => Ok(writable().get_result(&mut PgConnection::establish(&url)?)?),
                }
            }
            _ => Ok(true),
        })
        .await
    }

    /// Migrations known to this binary that the database has not applied.
    pub async fn pending_migrations(&self) -> Result<usize, StorageError> {
        self.run(|pools| {
            let pending = with_connection!(pools, |conn| {
                let migrations = conn.migrations();
                conn.pending_migrations(migrations).map(|m| m.len())
            });
            pending.map_err(|e| StorageError::Migration(e.to_string()))
        })
        .await
    }
}

/// The embedded migrations of the connection's backend.
pub(crate) trait BackendMigrations {
    fn migrations(&self) -> EmbeddedMigrations;
}

impl BackendMigrations for SqliteConnection {
    fn migrations(&self) -> EmbeddedMigrations {
        SQLITE_MIGRATIONS
    }
}

impl BackendMigrations for PgConnection {
    fn migrations(&self) -> EmbeddedMigrations {
        POSTGRES_MIGRATIONS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_accepted_form() {
        let sqlite = |path: &str| DatabaseUrl::Sqlite { path: path.into() };
        assert_eq!(
            DatabaseUrl::parse("authusers.db"),
            Ok(sqlite("authusers.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://var/a.db"),
            Ok(sqlite("var/a.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/a.db"),
            Ok(sqlite("/tmp/a.db"))
        );
        assert_eq!(DatabaseUrl::parse("sqlite:a.db"), Ok(sqlite("a.db")));
        assert_eq!(
            DatabaseUrl::parse("postgresql://u:p@h/db").map(|u| u.backend()),
            Ok(Backend::Postgres)
        );
    }

    #[test]
    fn refuses_what_it_cannot_serve() {
        assert_eq!(DatabaseUrl::parse("  "), Err(DatabaseUrlError::Empty));
        assert_eq!(
            DatabaseUrl::parse("mysql://localhost/db"),
            Err(DatabaseUrlError::UnsupportedScheme("mysql".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::MissingSqlitePath)
        );
        assert_eq!(
            DatabaseUrl::parse("postgres:mydb"),
            Err(DatabaseUrlError::UnsupportedScheme("postgres".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("./data/a:b.db"),
            Ok(DatabaseUrl::Sqlite {
                path: "./data/a:b.db".into()
            })
        );
    }

    #[test]
    fn never_shows_a_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/users").unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/users");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    /// A database of one connection, that waits at most `wait` for it.
    fn one_connection(wait: Duration) -> (Database, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("authusers-pool-{}.db", uuid::Uuid::new_v4()));
        let mut config = DatabaseConfig::new(DatabaseUrl::Sqlite {
            path: path.display().to_string(),
        });
        config.pool_size = 1;
        config.connect_timeout = wait;
        (Database::connect(&config).unwrap(), path)
    }

    /// Holds the only connection for `hold`.
    fn hold(db: &Database, hold: Duration) -> tokio::task::JoinHandle<Result<(), StorageError>> {
        let db = db.clone();
        tokio::spawn(async move {
            db.run(move |_| {
                std::thread::sleep(hold);
                Ok(())
            })
            .await
        })
    }

    #[tokio::test]
    async fn waiting_for_a_connection_ends_after_the_connect_timeout() {
        let (db, path) = one_connection(Duration::from_millis(200));
        let holder = hold(&db, Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let refused = db.run(|_| Ok(())).await;
        assert!(matches!(refused, Err(StorageError::Busy(_))), "{refused:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(db.pool_state().waiting, 0);
        let unavailable = authusers_domain::storage::RepositoryError::from(refused.unwrap_err());
        assert!(unavailable.is_unavailable());
        holder.await.unwrap().unwrap();
        assert!(db.run(|_| Ok(())).await.is_ok(), "free again");
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_cancelled_wait_is_no_longer_counted() {
        let (db, path) = one_connection(Duration::from_secs(30));
        let holder = hold(&db, Duration::from_millis(500));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiter = {
            let db = db.clone();
            tokio::spawn(async move { db.run(|_| Ok(())).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(db.pool_state().waiting, 1);
        // The client went away: its request's future is dropped mid-wait.
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(db.pool_state().waiting, 0);
        holder.await.unwrap().unwrap();
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn blocking_work_runs_in_the_callers_span() {
        // Spans need a subscriber to have ids; the blocking thread sees
        // only a global one.
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        let (db, path) = one_connection(Duration::from_secs(5));
        let request = tracing::info_span!("request");
        let inner = {
            let _entered = request.enter();
            db.run(|_| Ok(tracing::Span::current().id()))
        };
        let inner = tracing::Instrument::instrument(inner, request.clone())
            .await
            .unwrap();
        assert!(request.id().is_some());
        assert_eq!(inner, request.id());
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn sqlite_commits_reach_the_disk_unless_told_otherwise() {
        #[derive(diesel::QueryableByName)]
        struct Synchronous {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        for (setting, expected) in [(SqliteSynchronous::Full, 2), (SqliteSynchronous::Normal, 1)] {
            let path =
                std::env::temp_dir().join(format!("authusers-sync-{}.db", uuid::Uuid::new_v4()));
            let mut config = DatabaseConfig::new(DatabaseUrl::Sqlite {
                path: path.display().to_string(),
            });
            config.sqlite_synchronous = setting;
            let db = Database::connect(&config).unwrap();
            let level = db
                .run(|pools| match pools {
                    Pools::Sqlite(pool) => {
                        let mut conn = pool.get()?;
                        let rows: Vec<Synchronous> = diesel::RunQueryDsl::load(
                            diesel::sql_query("PRAGMA synchronous"),
                            &mut *conn,
                        )?;
                        Ok(rows[0].synchronous)
                    }
                    Pools::Postgres(_) => unreachable!("a SQLite database"),
                })
                .await
                .unwrap();
            assert_eq!(level, expected, "{setting:?}");
            let _ = std::fs::remove_file(path);
        }
        assert_eq!(SqliteSynchronous::default(), SqliteSynchronous::Full);
    }
}
