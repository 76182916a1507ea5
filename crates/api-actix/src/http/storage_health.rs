//! What readiness and the metrics read of the storage, as a small trait:
//! no handler holds the database itself, and a test can stand in for it.

use async_trait::async_trait;
use authusers_infra_diesel::{Database, PoolState, StorageError, WriteGroups};

#[async_trait]
pub trait StorageHealth: Send + Sync {
    /// How many migrations are not applied yet; an error when the database
    /// does not answer.
    async fn pending_migrations(&self) -> Result<usize, StorageError>;

    /// Whether the database takes writes (a PostgreSQL standby does not).
    async fn accepts_writes(&self) -> Result<bool, StorageError>;

    /// The connection pool as it stands.
    fn pool_state(&self) -> PoolState;

    /// SQLite's write groups so far; none on PostgreSQL.
    fn write_groups(&self) -> Option<WriteGroups>;
}

#[async_trait]
impl StorageHealth for Database {
    async fn pending_migrations(&self) -> Result<usize, StorageError> {
        Database::pending_migrations(self).await
    }

    async fn accepts_writes(&self) -> Result<bool, StorageError> {
        Database::accepts_writes(self).await
    }

    fn pool_state(&self) -> PoolState {
        Database::pool_state(self)
    }

    fn write_groups(&self) -> Option<WriteGroups> {
        Database::write_groups(self)
    }
}
