//! What moving users in needs from the outside world.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{ImportOutcome, ImportedUser};
use crate::storage::RepositoryError;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait ImportRepository: Send + Sync {
    /// Moves `users` in, in one transaction, and says what became of each,
    /// in order: a user whose id is free and whose address nobody here has
    /// is stored, marked as imported at `at`, with an opening ledger entry
    /// (at `at`) for each balance above zero; one already stored under its
    /// id with the same address is left as it is; anything else is a
    /// conflict and writes nothing. New registrations never take an id at
    /// or below the largest stored. With `dry_run`, only reads.
    async fn import(
        &self,
        users: Vec<ImportedUser>,
        at: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<ImportOutcome>, RepositoryError>;

    /// Once a run has stored users: does now what a bulk load leaves for
    /// later (a search index in many small pieces, statistics that do not
    /// know the new rows yet), so that the first requests after the
    /// import do not pay for it.
    async fn settle(&self) -> Result<(), RepositoryError>;
}
