//! What the domain needs from the outside world. Adapters implement these
//! traits; tests use their `mockall` mocks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::accounts::UserFilter;
use crate::balance::{
    BalanceChange, BalanceOperation, BalanceRefusal, Balances, IdempotencyKey, LedgerEntry,
};
use crate::notification::OutgoingEmail;
use crate::outbox::{AttemptOutcome, AttemptRecord, LeaseToken, QueuedEmail};
use crate::user::DecisionRecord;
use crate::UserStatus;
use crate::{Email, Money, Page, PageRequest, Password, PasswordHash, PersonName, User, UserId};

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// A failure of the storage itself (connection lost, pool exhausted,
/// corrupt row). Its text and causes are for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// No connection came free in time, or none could be opened: the store
    /// is busy or down, and the same request may succeed a little later.
    #[error("storage unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<BoxedError>,
    },
    #[error("storage failure: {message}")]
    Failed {
        message: String,
        #[source]
        source: Option<BoxedError>,
    },
}

/// The cause an adapter reports under a [`RepositoryError`].
pub type BoxedError = Box<dyn std::error::Error + Send + Sync>;

impl RepositoryError {
    /// A failure with no underlying error to keep.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
            source: None,
        }
    }

    /// A failure, keeping the error that caused it.
    pub fn caused_by(message: impl Into<String>, source: impl Into<BoxedError>) -> Self {
        Self::Failed {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The store did not answer in time, keeping why.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxedError>) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("a user with this e-mail already exists")]
    EmailTaken,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Why an e-mail change was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreEmailError {
    #[error("a user with this e-mail already exists")]
    EmailTaken,
    #[error("the user does not exist")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// What became of a request to erase an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseOutcome {
    Erased,
    /// A balance is not zero (perhaps it changed since it was read):
    /// nothing was erased.
    BalanceNotEmpty,
    NotFound,
}

/// A user about to be stored; the repository assigns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: Email,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub password_hash: PasswordHash,
    pub status: UserStatus,
    pub is_admin: bool,
    pub date_joined: DateTime<Utc>,
    pub decision: Option<DecisionRecord>,
    pub real_balance: Money,
    pub virtual_balance: Money,
}

impl NewUser {
    /// The user as stored under `id`.
    pub fn into_user(self, id: UserId) -> User {
        User {
            id,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            password_hash: self.password_hash,
            status: self.status,
            is_admin: self.is_admin,
            date_joined: self.date_joined,
            decision: self.decision,
            real_balance: self.real_balance,
            virtual_balance: self.virtual_balance,
        }
    }
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user. Two users whose e-mails differ only in case cannot
    /// both be stored: the second gets `EmailTaken`, however close the race.
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError>;

    /// Looks a user up by e-mail, case-insensitively. Erased accounts are
    /// never found, by any look-up.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError>;

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, RepositoryError>;

    /// Pending registrations, oldest first.
    async fn list_pending(&self, page: PageRequest) -> Result<Page<User>, RepositoryError>;

    /// The users `filter` selects, oldest first.
    async fn list(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, RepositoryError>;

    /// Replaces both names; `None` when the user does not exist.
    async fn update_names(
        &self,
        id: UserId,
        first_name: PersonName,
        last_name: PersonName,
    ) -> Result<Option<User>, RepositoryError>;

    /// Stores the decision carried by `user` (its status and decision
    /// record) and queues `notification` in the outbox, in one transaction,
    /// only if the stored user is still pending. Returns `false` when
    /// someone else decided first, in which case nothing changed.
    async fn save_decision(
        &self,
        user: &User,
        notification: &OutgoingEmail,
    ) -> Result<bool, RepositoryError>;

    /// Replaces the hash of an unchanged password by one made with current
    /// settings, only while `outdated` is still the stored hash (a password
    /// changed meanwhile wins). Not a credential change: nothing else ends.
    async fn upgrade_password_hash(
        &self,
        id: UserId,
        outdated: &PasswordHash,
        upgraded: PasswordHash,
    ) -> Result<bool, RepositoryError>;

    // Credential changes. Each is one transaction that also ends every
    // credential issued against the old ones (password-reset links), so
    // that nothing granted before the change outlives it.

    /// Replaces the password hash. `false` when the user does not exist.
    async fn set_password(
        &self,
        id: UserId,
        password_hash: PasswordHash,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;

    /// Replaces the e-mail (unique as at registration) and queues `notice`
    /// in the outbox.
    async fn change_email(
        &self,
        id: UserId,
        email: Email,
        notice: &OutgoingEmail,
        at: DateTime<Utc>,
    ) -> Result<(), StoreEmailError>;

    /// Erases the person, only while both balances are zero: the e-mail,
    /// names and password go, the address is free to register again, and
    /// the ledger stays under the numeric id.
    async fn erase(&self, id: UserId, at: DateTime<Utc>) -> Result<EraseOutcome, RepositoryError>;
}

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// The hash could not start in time: every hashing thread was busy for
    /// longer than a request should wait. Nothing was hashed; one is
    /// likely free after `retry_after`.
    #[error("no password-hashing thread was free in time")]
    Overloaded { retry_after: chrono::Duration },
    #[error("password hashing failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError>;

    /// Whether `candidate` is the password behind `hash`.
    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> Result<bool, HashingError>;

    /// Spends the time of one verification and learns nothing, so that a
    /// login for an unknown e-mail costs what a wrong password costs.
    async fn verify_decoy(&self, candidate: &str) -> Result<(), HashingError>;

    /// Whether `hash` was made with other settings (a lower cost) than new
    /// hashes are, and should be made again.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;

    /// A new hash of `candidate`, a password that has just been verified
    /// against an outdated hash (it may predate today's password rules).
    async fn rehash(&self, candidate: &str) -> Result<PasswordHash, HashingError>;
}

#[derive(Debug, thiserror::Error)]
#[error("sending mail failed: {message}")]
pub struct MailerError {
    pub message: String,
    /// The server refused the message for good (an SMTP 5xx): retrying
    /// cannot help.
    pub permanent: bool,
}

impl MailerError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email` under `message_id`, which stays the same on every
    /// attempt to send the same message.
    async fn send(&self, message_id: &str, email: &OutgoingEmail) -> Result<(), MailerError>;
}

/// How many messages wait in the outbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub pending: u64,
    pub failed: u64,
}

/// One outbox message as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Where a message stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    Pending,
    Failed,
    Sent,
}

impl MailStatus {
    pub const ALL: [Self; 3] = [Self::Pending, Self::Failed, Self::Sent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Sent => "sent",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }
}

/// Which outbox messages a list holds: of one status, about one user, or
/// both; everything when empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxFilter {
    pub status: Option<MailStatus>,
    pub user: Option<UserId>,
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait OutboxRepository: Send + Sync {
    /// Reserves up to `limit` pending messages due at `now` until
    /// `lease_until`, skipping any another worker holds.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<QueuedEmail>, RepositoryError>;

    /// Records attempt number `attempt` and its outcome, and releases the
    /// message's lease; only while `lease` still holds the message (no
    /// later claim took it over), else nothing changes.
    async fn record_attempt(
        &self,
        id: i64,
        lease: &LeaseToken,
        attempt: u32,
        at: DateTime<Utc>,
        outcome: &AttemptOutcome,
    ) -> Result<AttemptRecord, RepositoryError>;

    async fn backlog(&self) -> Result<OutboxBacklog, RepositoryError>;

    /// Puts every failed message back in the queue, due at `now`, with a
    /// fresh set of attempts (earlier attempts stay recorded). Returns how
    /// many were re-queued.
    async fn requeue_failed(&self, now: DateTime<Utc>) -> Result<u64, RepositoryError>;

    /// Messages not yet sent (pending or failed), oldest first.
    async fn unsent(&self, limit: u32) -> Result<Vec<OutboxEntry>, RepositoryError>;

    /// The messages `filter` selects, newest first, one page of them.
    async fn list(
        &self,
        filter: OutboxFilter,
        page: PageRequest,
    ) -> Result<Page<OutboxEntry>, RepositoryError>;
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// One balance operation to apply for a user, as a single transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceCommand {
    pub user: UserId,
    pub operation: BalanceOperation,
    pub change: BalanceChange,
    pub at: DateTime<Utc>,
    pub idempotency_key: Option<IdempotencyKey>,
    /// Keys recorded before this instant have expired and are forgotten.
    pub keys_valid_since: DateTime<Utc>,
}

/// What became of a balance operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceOutcome {
    Applied(Balances),
    Refused(BalanceRefusal),
}

/// An outcome, and whether it is the stored answer to an earlier request
/// with the same idempotency key rather than a new application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedOutcome {
    pub outcome: BalanceOutcome,
    pub replayed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyBalanceError {
    #[error("the user does not exist")]
    UserNotFound,
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait BalanceRepository: Send + Sync {
    async fn balances(&self, user: UserId) -> Result<Option<Balances>, RepositoryError>;

    /// Applies `command` in one transaction: the balance change as a single
    /// guarded update (never below zero, never above the bound), its ledger
    /// row, and its idempotency record. With a key already recorded for the
    /// same request, returns the recorded outcome and changes nothing.
    async fn apply(&self, command: BalanceCommand) -> Result<RecordedOutcome, ApplyBalanceError>;

    /// The user's ledger, newest first.
    async fn ledger(
        &self,
        user: UserId,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>, RepositoryError>;

    /// Deletes the idempotency records created before `before`, a bounded
    /// batch per statement; returns how many.
    async fn prune_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError>;
}
