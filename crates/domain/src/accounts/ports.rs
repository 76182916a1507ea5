//! What the account operations need from the outside world: where users
//! are stored, and how passwords are hashed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::UserFilter;
use crate::notification::OutgoingEmail;
use crate::storage::RepositoryError;
use crate::user::DecisionRecord;
use crate::{
    Email, Money, Page, PageRequest, Password, PasswordHash, PersonName, User, UserId, UserStatus,
};

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

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
    pub email_verified_at: Option<DateTime<Utc>>,
    pub awaiting_activation: bool,
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
            email_verified_at: self.email_verified_at,
            awaiting_activation: self.awaiting_activation,
            is_active: true,
            last_login: None,
            imported_at: None,
            credentials_changed_at: None,
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

    /// Pending registrations, oldest first; none still awaiting activation.
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

    /// Makes an inactive account active again; the user as now stored,
    /// `None` when there is none.
    async fn enable(&self, id: UserId) -> Result<Option<User>, RepositoryError>;

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

/// Mails a new registration a link that confirms its address (djoser's
/// activation): the `activation` feature implements it, and registration
/// asks for it when activation is required.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait ActivationLinks: Send + Sync {
    async fn send_link(&self, user: &User) -> Result<(), RepositoryError>;
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
