use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error;
use diesel::{Connection, PgConnection, SqliteConnection};

/// A transaction that will write. On SQLite it takes the write lock at
/// `BEGIN` (`BEGIN IMMEDIATE`), so a writer that must wait (for another
/// process) waits on the busy timeout instead of failing when a read lock
/// cannot be upgraded; inside the writer's group transaction, which holds
/// the lock already, it is a savepoint.
pub(crate) trait WriteTransaction {
    fn write_transaction<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<Error>;
}

impl WriteTransaction for SqliteConnection {
    fn write_transaction<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<Error>,
    {
        let in_transaction = AnsiTransactionManager::transaction_manager_status_mut(self)
            .transaction_depth()
            .map_err(E::from)?
            .is_some();
        if in_transaction {
            self.transaction(work)
        } else {
            self.immediate_transaction(work)
        }
    }
}

impl WriteTransaction for PgConnection {
    fn write_transaction<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<Error>,
    {
        self.transaction(work)
    }
}
