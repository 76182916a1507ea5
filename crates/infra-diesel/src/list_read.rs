use diesel::result::Error;
use diesel::{Connection, PgConnection, SqliteConnection};

/// The reads of one list answer: its page and, when not kept, its count.
pub(crate) trait ListRead {
    fn list_read<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<Error>;
}

impl ListRead for SqliteConnection {
    /// In one deferred transaction: SQLite reads the page and the count
    /// from the snapshot its first read takes.
    fn list_read<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<Error>,
    {
        self.transaction(work)
    }
}

impl ListRead for PgConnection {
    /// Statement by statement: under READ COMMITTED each statement takes
    /// its own snapshot inside a transaction too, so `BEGIN` and `COMMIT`
    /// would add two round trips, each a wait for the database's CPU on a
    /// busy server, and no consistency.
    fn list_read<T, E, F>(&mut self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<Error>,
    {
        work(self)
    }
}
