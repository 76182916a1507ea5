//! What delivery needs from the outside world: the queue of messages, and
//! a mailer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{AttemptOutcome, AttemptRecord, LeaseToken, QueuedEmail};
use crate::notification::OutgoingEmail;
use crate::storage::{BoxedError, RepositoryError};
use crate::{Page, PageRequest, UserId};

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// Why a message was not sent: what the mailer was doing, and the
/// transport's own error as the source. Its text and causes are for the
/// outbox's record and the log.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MailerError {
    pub message: String,
    /// The server refused the message for good (an SMTP 5xx), or it cannot
    /// be built: retrying cannot help.
    pub permanent: bool,
    #[source]
    pub source: BoxedError,
}

impl MailerError {
    pub fn new(message: impl Into<String>, permanent: bool, source: impl Into<BoxedError>) -> Self {
        Self {
            message: message.into(),
            permanent,
            source: source.into(),
        }
    }

    /// A failure that may pass: the message is tried again.
    pub fn transient(message: impl Into<String>, source: impl Into<BoxedError>) -> Self {
        Self::new(message, false, source)
    }

    /// A refusal that no retry can change.
    pub fn permanent(message: impl Into<String>, source: impl Into<BoxedError>) -> Self {
        Self::new(message, true, source)
    }

    /// The message and each of its causes, `: `-separated, as recorded and
    /// logged; a cause whose text its error already ends with is not
    /// repeated.
    pub fn chain(&self) -> String {
        crate::error_chain::describe(self.message.clone(), Some(self.source.as_ref()))
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
    pub status: MailStatus,
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

/// Told each time a change has queued mail, so that delivery starts at
/// once rather than at its next look; the outbox worker listens on it.
/// The mail is stored before it is told, so a listener that misses a call
/// loses nothing but time.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait MailQueued: Send + Sync {
    fn mail_queued(&self);
}

/// Nobody listening: delivery finds queued mail at its next look.
#[derive(Debug, Clone, Copy, Default)]
pub struct NobodyListening;

impl MailQueued for NobodyListening {
    fn mail_queued(&self) {}
}
