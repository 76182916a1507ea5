//! What the second factor needs from the outside world: a step's code
//! (HMAC-SHA-1 per RFC 6238, by a well-kept crate), secrets sealed at
//! rest, and where factors and recovery codes are kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::codes::{TimeStep, TotpCode, TotpSecret};
use super::recovery::{RecoveryCode, RecoveryCodeDigest};
use crate::notification::OutgoingEmail;
use crate::password_reset::TokenDigest;
use crate::sessions::{EndReason, SessionId};
use crate::storage::RepositoryError;
use crate::UserId;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// RFC 6238's code of a secret at a step.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait OneTimeCodes: Send + Sync {
    fn code_at(&self, secret: &TotpSecret, step: TimeStep) -> TotpCode;
}

/// A TOTP secret as stored: encrypted, with the key that sealed it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret(pub String);

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// No key of the ring sealed it, or it was altered: a logged error and
    /// a 503 for that login, never a way in.
    #[error("the stored secret cannot be opened: {0}")]
    CannotOpen(String),
    #[error("the secret cannot be sealed: {0}")]
    CannotSeal(String),
}

/// Encrypts secrets at rest, and opens what it or a retired key sealed.
/// A secret is bound to its user: one user's sealed secret copied onto
/// another's row does not open.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait SecretSealer: Send + Sync {
    fn seal(&self, user: UserId, secret: &TotpSecret) -> Result<SealedSecret, SealError>;
    fn open(&self, user: UserId, sealed: &SealedSecret) -> Result<TotpSecret, SealError>;
}

/// A user's TOTP as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTotp {
    pub sealed: SealedSecret,
    pub created_at: DateTime<Utc>,
    /// `None`: an enrolment waiting for its first code.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last step a code was accepted for.
    pub last_step: Option<TimeStep>,
}

/// The user's open sessions a change of their factor ends, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionsEnding {
    pub reason: EndReason,
    /// The session that made the change, when it goes on.
    pub except: Option<SessionId>,
}

/// What a change of a user's factor does in its own transaction: the
/// notice queued for the user, and the sessions it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorChange {
    pub notice: OutgoingEmail,
    pub ending: Option<SessionsEnding>,
}

/// Where second factors are kept. Every change that decides whether a code
/// or a recovery code is accepted is one conditional statement, so that
/// two servers given the same code at once accept it once.
#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait MfaRepository: Send + Sync {
    async fn totp(&self, user: UserId) -> Result<Option<StoredTotp>, RepositoryError>;

    /// Stores a waiting enrolment in place of any waiting one; `false`,
    /// and nothing changed, when a factor is in force.
    async fn begin_enrolment(
        &self,
        user: UserId,
        sealed: SealedSecret,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;

    /// Puts the enrolment waiting since after `created_after` in force, its
    /// first code's `step` accepted, with `codes` as its recovery codes,
    /// and makes `change`; `false`, and nothing changed, when there is none.
    async fn confirm(
        &self,
        user: UserId,
        created_after: DateTime<Utc>,
        step: TimeStep,
        at: DateTime<Utc>,
        codes: Vec<RecoveryCodeDigest>,
        change: FactorChange,
    ) -> Result<bool, RepositoryError>;

    /// Moves the factor's last accepted step forward to `step`; `false`
    /// when it was there or later already (a replay, on any server).
    async fn accept_step(&self, user: UserId, step: TimeStep) -> Result<bool, RepositoryError>;

    /// The factor in force and its recovery codes removed, and `change`
    /// made; `false`, and nothing changed, when none was in force.
    async fn remove(
        &self,
        user: UserId,
        at: DateTime<Utc>,
        change: FactorChange,
    ) -> Result<bool, RepositoryError>;

    /// The digests of the recovery codes not used yet.
    async fn unused_recovery_codes(
        &self,
        user: UserId,
    ) -> Result<Vec<RecoveryCodeDigest>, RepositoryError>;

    /// Marks a recovery code used; `false` when it was used already.
    async fn use_recovery_code(
        &self,
        user: UserId,
        digest: RecoveryCodeDigest,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;

    /// A new set of recovery codes; the old set is void.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: Vec<RecoveryCodeDigest>,
    ) -> Result<(), RepositoryError>;

    /// Stores a sign-in's second step, `token` (its digest), for `user`
    /// until `expires_at`.
    async fn open_challenge(
        &self,
        token: TokenDigest,
        user: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError>;

    /// Takes one of the challenge's `max_attempts`: the user it is for,
    /// while it is unused, unexpired at `now`, and has attempts left. One
    /// statement, so that attempts racing each other each take one.
    async fn take_challenge_attempt(
        &self,
        token: TokenDigest,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<Option<UserId>, RepositoryError>;

    /// Marks the challenge used; `false` when it was used already.
    async fn finish_challenge(
        &self,
        token: TokenDigest,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;

    /// Forgets challenges that expired before `before`; how many.
    async fn prune_challenges(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError>;
}

/// Fresh secrets and recovery codes, from a cryptographic source.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait MfaRandom: Send + Sync {
    fn totp_secret(&self) -> TotpSecret;
    fn recovery_code(&self) -> RecoveryCode;
}
