//! Delivery of queued e-mail: the retry policy and the worker step that
//! sends what is due. Messages are queued by the operation that causes them,
//! in its own transaction (a transactional outbox), so none is lost and none
//! holds a request back.

mod ports;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

mod mailroom;

pub use mailroom::{Mailroom, MailroomError};

use crate::clock::Clock;
use crate::notification::OutgoingEmail;
use crate::storage::RepositoryError;

pub use ports::{
    MailQueued, MailStatus, Mailer, MailerError, NobodyListening, OutboxBacklog, OutboxEntry,
    OutboxFilter, OutboxRepository,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockMailQueued, MockMailer, MockOutboxRepository};

/// A queued message, as claimed for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    pub id: i64,
    /// Stable across attempts, so that a receiver can drop a duplicate.
    pub message_id: String,
    pub email: OutgoingEmail,
    /// Attempts made before this one.
    pub attempts: u32,
    /// The claim that holds the message: its attempt is recorded only while
    /// no later claim has taken the message over.
    pub lease: LeaseToken,
}

/// A claim's fencing token. Each claim of a message hands out a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseToken(pub String);

/// Whether an attempt's outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptRecord {
    Recorded,
    /// The lease ran out and another claim took the message over: this
    /// attempt's outcome must not overwrite what that worker records.
    LeaseLost,
}

/// When to try again after a failure: exponential backoff with a cap, and a
/// last attempt after which the message is marked failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::seconds(5),
            max_delay: Duration::minutes(15),
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// The delay after the `attempt`-th failure (1-based), or `None` when no
    /// attempt is left.
    pub fn delay_after(&self, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let doublings = attempt.saturating_sub(1).min(30);
        let delay = self
            .first_delay
            .checked_mul(1_i32 << doublings)
            .unwrap_or(self.max_delay);
        Some(delay.min(self.max_delay))
    }
}

/// Counters of delivery outcomes since start-up, for metrics.
#[derive(Debug, Default)]
pub struct DeliveryCounters {
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
}

impl DeliveryCounters {
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl DeliveryReport {
    pub fn attempted(&self) -> usize {
        self.sent + self.retried + self.failed
    }
}

/// The outcome of one attempt, as the outbox records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Sent,
    /// Failed; try again at the given time.
    Retry {
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Failed for good: permanent refusal, or no attempt left.
    Failed {
        error: String,
    },
}

/// The most messages one round claims.
pub const BATCH_SIZE: u32 = 20;

#[derive(Clone)]
pub struct OutboxDelivery {
    outbox: Arc<dyn OutboxRepository>,
    mailer: Arc<dyn Mailer>,
    clock: Arc<dyn Clock>,
    policy: RetryPolicy,
    /// How long a claimed message is reserved for this worker.
    lease: Duration,
    counters: Arc<DeliveryCounters>,
}

impl OutboxDelivery {
    pub fn new(
        outbox: Arc<dyn OutboxRepository>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            outbox,
            mailer,
            clock,
            policy,
            lease: Duration::minutes(2),
            counters: Arc::default(),
        }
    }

    pub fn counters(&self) -> Arc<DeliveryCounters> {
        Arc::clone(&self.counters)
    }

    /// How long a claimed message stays reserved. It must outlast a whole
    /// round (`BATCH_SIZE` sends at their time-out), or another worker may
    /// send the same message again.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Claims the messages that are due and tries each once. Another worker
    /// on the same database never claims the same message while this one
    /// holds it.
    pub async fn deliver_due(&self) -> Result<DeliveryReport, RepositoryError> {
        self.deliver_due_until(|| false).await
    }

    /// As [`Self::deliver_due`], but stops before the next message once
    /// `stop` says so; the messages left unsent are claimable again when
    /// their lease ends.
    pub async fn deliver_due_until(
        &self,
        stop: impl Fn() -> bool,
    ) -> Result<DeliveryReport, RepositoryError> {
        let now = self.clock.now();
        let claimed = self
            .outbox
            .claim_due(now, now + self.lease, BATCH_SIZE)
            .await?;
        let mut report = DeliveryReport::default();
        for message in claimed {
            if stop() {
                break;
            }
            let attempt = message.attempts + 1;
            let outcome = match self.mailer.send(&message.message_id, &message.email).await {
                Ok(()) => AttemptOutcome::Sent,
                Err(error) => match self.policy.delay_after(attempt) {
                    Some(delay) if !error.permanent => AttemptOutcome::Retry {
                        error: error.chain(),
                        next_attempt_at: self.clock.now() + delay,
                    },
                    _ => AttemptOutcome::Failed {
                        error: error.chain(),
                    },
                },
            };
            let recorded = self
                .outbox
                .record_attempt(
                    message.id,
                    &message.lease,
                    attempt,
                    self.clock.now(),
                    &outcome,
                )
                .await?;
            match recorded {
                AttemptRecord::Recorded => {
                    self.log_and_count(&message, attempt, &outcome, &mut report)
                }
                AttemptRecord::LeaseLost => tracing::warn!(
                    outbox_id = message.id,
                    message_id = message.message_id.as_str(),
                    attempt,
                    "the message's lease ran out during the attempt and another worker claimed it; this attempt is not recorded"
                ),
            }
        }
        Ok(report)
    }

    fn log_and_count(
        &self,
        message: &QueuedEmail,
        attempt: u32,
        outcome: &AttemptOutcome,
        report: &mut DeliveryReport,
    ) {
        let id = message.id;
        let message_id = message.message_id.as_str();
        match outcome {
            AttemptOutcome::Sent => {
                report.sent += 1;
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    outbox_id = id,
                    message_id,
                    attempt,
                    outcome = "sent",
                    "e-mail delivered"
                );
            }
            AttemptOutcome::Retry {
                error,
                next_attempt_at,
            } => {
                report.retried += 1;
                self.counters.retried.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(outbox_id = id, message_id, attempt, outcome = "retry", %error, %next_attempt_at, "e-mail delivery failed; will retry");
            }
            AttemptOutcome::Failed { error } => {
                report.failed += 1;
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(outbox_id = id, message_id, attempt, outcome = "failed", %error, "e-mail delivery failed for good");
            }
        }
    }
}

#[cfg(test)]
mod tests;
