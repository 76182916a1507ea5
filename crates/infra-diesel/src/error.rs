use authusers_domain::ports::RepositoryError;

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

impl From<StorageError> for RepositoryError {
    fn from(error: StorageError) -> Self {
        RepositoryError(error.to_string())
    }
}
