//! What password resets need from the outside world.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::token::{AddressDigest, ResetToken, TokenDigest};
use crate::notification::OutgoingEmail;
use crate::storage::RepositoryError;
use crate::throttling::Check;
use crate::{PasswordHash, UserId};

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// A reset link about to be mailed: its digest, its end, and the mail that
/// carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResetLink {
    pub user: UserId,
    pub digest: TokenDigest,
    pub expires_at: DateTime<Utc>,
    pub mail: OutgoingEmail,
}

/// One request for a reset mail, recorded whether or not an account has
/// the address, so that both cost the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetRequestRecord {
    pub address: AddressDigest,
    pub at: DateTime<Utc>,
    /// The address's mail limit, kept with every other limit: a mail
    /// queued counts under its key. `None` for no limit.
    pub mail_limit: Option<Check>,
    /// Records older than this serve no link and no limit any more.
    pub forget_before: DateTime<Utc>,
    /// The link to mail, when an approved account has the address.
    pub link: Option<NewResetLink>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequestOutcome {
    /// The link is stored and its mail queued in the outbox.
    Mailed,
    /// The address had its share of mail this hour: nothing queued.
    LimitReached,
    /// No link was asked for (no approved account has the address).
    NoAccount,
}

/// A link that is neither used, revoked nor expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveResetLink {
    pub id: i64,
    pub digest: TokenDigest,
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait PasswordResetRepository: Send + Sync {
    /// Records the request and, within the limit, the link and its mail,
    /// in one transaction; two requests at once never both pass the limit.
    async fn record_request(
        &self,
        record: ResetRequestRecord,
    ) -> Result<ResetRequestOutcome, RepositoryError>;

    /// The user's links that are live at `now`.
    async fn live_links(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<LiveResetLink>, RepositoryError>;

    /// Uses link `link` of `user` and stores the new password hash, in one
    /// transaction, only while the link is live at `at`; every other link
    /// of the user ends with it. `false` when the link was no longer live
    /// (used by a racing request, expired, or revoked): nothing changed.
    async fn reset_password(
        &self,
        link: i64,
        user: UserId,
        password_hash: PasswordHash,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;
}

/// Fresh, unpredictable reset tokens.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait ResetTokenSource: Send + Sync {
    fn new_token(&self) -> ResetToken;
}
