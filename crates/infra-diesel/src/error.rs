use authusers_domain::storage::RepositoryError;

/// Everything that can go wrong below the repository interface.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored row is not valid: {0}")]
    CorruptRow(String),
    #[error("database task was cancelled")]
    TaskCancelled,
    #[error("no database connection came free within {0:?} (DATABASE_CONNECT_TIMEOUT_SECONDS)")]
    Busy(std::time::Duration),
    /// The database threads or SQLite's writer thread could not start.
    #[error("a database thread could not start: {0}")]
    ThreadStart(#[source] std::io::Error),
    /// The write ran, but its group's transaction was not committed:
    /// nothing of it was kept.
    #[error("the write was not committed: {0}")]
    NotCommitted(String),
}

impl StorageError {
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

impl StorageError {
    /// Waiting too long for a connection, failing to open one, losing it,
    /// or finding its server read-only (a primary demoted in a failover):
    /// a retry, soon, may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StorageError::Busy(_)
                | StorageError::NotCommitted(_)
                | StorageError::Pool(_)
                | StorageError::Connect(_)
        ) || matches!(self, StorageError::Query(error) if connection_unusable(error))
    }
}

/// A query error that says its connection is no good any more: closed, or
/// to a server that no longer takes writes (a primary demoted in a
/// failover). The query may succeed on a new connection; the pool discards
/// this one.
pub(crate) fn connection_unusable(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection
                | diesel::result::DatabaseErrorKind::UnableToSendCommand
                | diesel::result::DatabaseErrorKind::ReadOnlyTransaction,
            _,
        )
    )
}

impl From<StorageError> for RepositoryError {
    /// Keeps the storage error as the cause; an unavailable database
    /// ([`StorageError::is_unavailable`]) is "unavailable", anything else a
    /// failure.
    fn from(error: StorageError) -> Self {
        if error.is_unavailable() {
            RepositoryError::unavailable("the database", error)
        } else {
            RepositoryError::caused_by("the database", error)
        }
    }
}
