//! Moving users in from another service (the Django service this one
//! replaces): each user keeps their id, address, names, dates, status,
//! password hash and balances. Idempotent and resumable: a user already
//! moved in under the same id and address is left as it is, and nothing is
//! ever merged: an id or an address that means someone else here is a
//! conflict, reported and skipped.

mod ports;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::storage::RepositoryError;
use crate::{Email, Money, PasswordHash, PersonName, UserId, UserStatus};

pub use ports::ImportRepository;
#[cfg(any(test, feature = "mocks"))]
pub use ports::MockImportRepository;

/// A user as the old service had them, every value parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedUser {
    /// The old service's primary key, kept: ids that frontends hold stay
    /// valid.
    pub id: UserId,
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    /// The old service's hash as it stored it; checked at login and
    /// replaced by bcrypt on the first correct one.
    pub password_hash: PasswordHash,
    pub status: UserStatus,
    pub is_admin: bool,
    pub is_active: bool,
    pub date_joined: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
    pub real_balance: Money,
    pub virtual_balance: Money,
}

/// Why a user was not moved in. Nothing of them was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportConflict {
    /// Another user of the same input has the same address here (it differs
    /// in letter case only, say): that one came first.
    DuplicateAddress { first: UserId },
    /// The address belongs to another user here.
    AddressTaken { by: UserId },
    /// The id belongs to a user here with another address (or to an erased
    /// account).
    IdTaken,
}

impl ImportConflict {
    /// The reason as reports name it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::DuplicateAddress { .. } => "duplicate_address",
            Self::AddressTaken { .. } => "address_taken",
            Self::IdTaken => "id_taken",
        }
    }
}

impl std::fmt::Display for ImportConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DuplicateAddress { first } => {
                write!(f, "the same address as user {first} earlier in the input")
            }
            Self::AddressTaken { by } => write!(f, "the address belongs to user {by} here"),
            Self::IdTaken => f.write_str("the id belongs to a user here with another address"),
        }
    }
}

/// What became of one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Stored, with an opening ledger entry per balance above zero.
    Imported,
    /// Already here under the same id and address: nothing was written.
    Unchanged,
    Conflict(ImportConflict),
}

/// Moves users in through an [`ImportRepository`].
#[derive(Clone)]
pub struct Importer {
    repository: Arc<dyn ImportRepository>,
    clock: Arc<dyn Clock>,
}

impl Importer {
    pub fn new(repository: Arc<dyn ImportRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { repository, clock }
    }

    /// A new run over one input; `dry_run` checks everything and writes
    /// nothing.
    pub fn run(&self, dry_run: bool) -> ImportRun {
        ImportRun {
            importer: self.clone(),
            dry_run,
            seen: HashMap::new(),
            started_at: self.clock.now(),
        }
    }
}

/// One pass over an input, batch after batch. It remembers every address
/// it has met (as a 64-bit digest of the canonical form: 16 bytes a user,
/// so that a million users fit in a few dozen megabytes), so that two users
/// of the input who are one address here are told apart from an address
/// that was here before.
pub struct ImportRun {
    importer: Importer,
    dry_run: bool,
    seen: HashMap<u64, UserId>,
    started_at: DateTime<Utc>,
}

impl ImportRun {
    /// Moves in one batch, in one transaction; an outcome per user, in
    /// order.
    pub async fn submit(
        &mut self,
        batch: Vec<ImportedUser>,
    ) -> Result<Vec<ImportOutcome>, RepositoryError> {
        let mut outcomes = vec![None; batch.len()];
        let mut admitted = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for (position, user) in batch.into_iter().enumerate() {
            let first = *self
                .seen
                .entry(address_digest(&user.email))
                .or_insert(user.id);
            if first == user.id {
                admitted.push(user);
                positions.push(position);
            } else {
                outcomes[position] =
                    Some(ImportOutcome::Conflict(ImportConflict::DuplicateAddress {
                        first,
                    }));
            }
        }
        let stored = self
            .importer
            .repository
            .import(admitted, self.started_at, self.dry_run)
            .await?;
        if stored.len() != positions.len() {
            return Err(RepositoryError::failed(format!(
                "the import repository answered {} outcomes for {} users",
                stored.len(),
                positions.len()
            )));
        }
        for (position, outcome) in positions.into_iter().zip(stored) {
            outcomes[position] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|outcome| {
                outcome.ok_or_else(|| RepositoryError::failed("a user was left without an outcome"))
            })
            .collect()
    }
}

fn address_digest(email: &Email) -> u64 {
    let mut hasher = DefaultHasher::new();
    email.canonical().hash(&mut hasher);
    hasher.finish()
}
