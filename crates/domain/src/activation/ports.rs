//! What activation needs from the outside world: where its links are kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::notification::OutgoingEmail;
use crate::password_reset::TokenDigest;
use crate::storage::RepositoryError;
use crate::UserId;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// An activation link about to be mailed: its digest, its end, and the mail
/// that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivationLink {
    pub user: UserId,
    pub digest: TokenDigest,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub mail: OutgoingEmail,
}

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationLink {
    pub id: i64,
    pub digest: TokenDigest,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait ActivationRepository: Send + Sync {
    /// Stores the link and queues its mail in the outbox, in one
    /// transaction.
    async fn issue(&self, link: NewActivationLink) -> Result<(), RepositoryError>;

    /// Every link of `user` that has not expired, used ones included.
    async fn links(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ActivationLink>, RepositoryError>;

    /// Uses link `link` and activates `user` (the address proved itself at
    /// `at`; the registration joins the administrators' queue), in one
    /// transaction, only while the link is unused and unexpired and the
    /// user still awaits activation. `false` when either no longer holds:
    /// nothing changed.
    async fn activate(
        &self,
        link: i64,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;
}
