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
    /// Another user of the same input has the same id; that one came
    /// first.
    DuplicateId,
}

impl ImportConflict {
    /// The reason as reports name it.
    pub fn reason(self) -> &'static str {
        match self {
            Self::DuplicateAddress { .. } => "duplicate_address",
            Self::AddressTaken { .. } => "address_taken",
            Self::IdTaken => "id_taken",
            Self::DuplicateId => "duplicate_id",
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
            Self::DuplicateId => f.write_str("the same id as a user earlier in the input"),
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
            seen: SeenAddresses::default(),
            started_at: self.clock.now(),
        }
    }

    /// Tidies the storage after a run that stored users (see
    /// [`ImportRepository::settle`]).
    pub async fn settle(&self) -> Result<(), RepositoryError> {
        self.repository.settle().await
    }

    /// Moves an admitted batch in, in one transaction; an outcome per user
    /// of the batch, in order. Batches of one run whose ids differ may be
    /// stored at once: their addresses differ by admission.
    pub async fn store(&self, batch: AdmittedBatch) -> Result<Vec<ImportOutcome>, RepositoryError> {
        let AdmittedBatch {
            users,
            positions,
            mut outcomes,
            at,
            dry_run,
        } = batch;
        let stored = self.repository.import(users, at, dry_run).await?;
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

/// The addresses a run has met, each as a 64-bit digest of its canonical
/// form with the first id that had it: 16 bytes a user, so that a million
/// fit in a few dozen megabytes. In 256 maps by the digest's first byte,
/// so that each grows on its own and a growth never holds two copies of
/// everything at once.
struct SeenAddresses {
    shards: Vec<HashMap<u64, UserId>>,
}

impl Default for SeenAddresses {
    fn default() -> Self {
        Self {
            shards: (0..256).map(|_| HashMap::new()).collect(),
        }
    }
}

impl SeenAddresses {
    /// The first id met with `email`'s address: `id` if it is the first.
    fn first(&mut self, email: &Email, id: UserId) -> UserId {
        let digest = address_digest(email);
        let shard = usize::try_from(digest >> 56).unwrap_or(0);
        *self.shards[shard].entry(digest).or_insert(id)
    }
}

/// One pass over an input, batch after batch. It remembers every address
/// it has met, so that two users of the input who are one address here are
/// told apart from an address that was here before.
pub struct ImportRun {
    importer: Importer,
    dry_run: bool,
    seen: SeenAddresses,
    started_at: DateTime<Utc>,
}

/// A batch whose users met the run's other users: what is left for the
/// repository, and what was decided already.
pub struct AdmittedBatch {
    users: Vec<ImportedUser>,
    /// Where in the batch each of `users` stands.
    positions: Vec<usize>,
    outcomes: Vec<Option<ImportOutcome>>,
    at: DateTime<Utc>,
    dry_run: bool,
}

impl AdmittedBatch {
    /// The ids the repository will be asked about.
    pub fn ids(&self) -> impl Iterator<Item = UserId> + '_ {
        self.users.iter().map(|user| user.id)
    }
}

impl ImportRun {
    /// Meets a batch's users with the run's: a user whose address an
    /// earlier one of the run had is a conflict here and now; the others
    /// go on to [`Importer::store`].
    pub fn admit(&mut self, batch: Vec<ImportedUser>) -> AdmittedBatch {
        let mut outcomes = vec![None; batch.len()];
        let mut users = Vec::with_capacity(batch.len());
        let mut positions = Vec::with_capacity(batch.len());
        for (position, user) in batch.into_iter().enumerate() {
            let first = self.seen.first(&user.email, user.id);
            if first == user.id {
                users.push(user);
                positions.push(position);
            } else {
                outcomes[position] =
                    Some(ImportOutcome::Conflict(ImportConflict::DuplicateAddress {
                        first,
                    }));
            }
        }
        AdmittedBatch {
            users,
            positions,
            outcomes,
            at: self.started_at,
            dry_run: self.dry_run,
        }
    }

    /// Admits and stores one batch: an outcome per user, in order.
    pub async fn submit(
        &mut self,
        batch: Vec<ImportedUser>,
    ) -> Result<Vec<ImportOutcome>, RepositoryError> {
        let admitted = self.admit(batch);
        self.importer.store(admitted).await
    }

    /// The importer batches of this run are stored with.
    pub fn importer(&self) -> &Importer {
        &self.importer
    }
}

fn address_digest(email: &Email) -> u64 {
    let mut hasher = DefaultHasher::new();
    email.canonical().hash(&mut hasher);
    hasher.finish()
}
