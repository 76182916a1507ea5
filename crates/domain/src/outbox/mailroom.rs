//! What an administrator does with the outbox: look at its messages and put
//! the failed ones back in the queue.

use std::sync::Arc;

use super::{
    MailQueued, NobodyListening, OutboxBacklog, OutboxEntry, OutboxFilter, OutboxRepository,
};
use crate::clock::Clock;
use crate::storage::RepositoryError;
use crate::{Page, PageRequest, User};

#[derive(Debug, thiserror::Error)]
pub enum MailroomError {
    #[error("only administrators see and resend mail")]
    Forbidden,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// The outbox as administrators see it.
#[derive(Clone)]
pub struct Mailroom {
    outbox: Arc<dyn OutboxRepository>,
    clock: Arc<dyn Clock>,
    /// Told when failed mail has been queued again.
    mail_queued: Arc<dyn MailQueued>,
}

impl Mailroom {
    pub fn new(outbox: Arc<dyn OutboxRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            outbox,
            clock,
            mail_queued: Arc::new(NobodyListening),
        }
    }

    /// Tells `listener` each time mail is queued.
    pub fn with_mail_listener(mut self, listener: Arc<dyn MailQueued>) -> Self {
        self.mail_queued = listener;
        self
    }

    fn check(administrator: &User) -> Result<(), MailroomError> {
        if administrator.may_decide() {
            Ok(())
        } else {
            Err(MailroomError::Forbidden)
        }
    }

    /// The messages `filter` selects, newest first.
    pub async fn list(
        &self,
        administrator: &User,
        filter: OutboxFilter,
        page: PageRequest,
    ) -> Result<Page<OutboxEntry>, MailroomError> {
        Self::check(administrator)?;
        Ok(self.outbox.list(filter, page).await?)
    }

    /// How many messages wait, and how many failed.
    pub async fn backlog(&self, administrator: &User) -> Result<OutboxBacklog, MailroomError> {
        Self::check(administrator)?;
        Ok(self.outbox.backlog().await?)
    }

    /// Puts every failed message back in the queue, due now; how many.
    #[tracing::instrument(name = "retry_failed_mail", skip_all, fields(administrator = %administrator.id))]
    pub async fn retry_failed(&self, administrator: &User) -> Result<u64, MailroomError> {
        Self::check(administrator)?;
        let requeued = self.outbox.requeue_failed(self.clock.now()).await?;
        if requeued > 0 {
            self.mail_queued.mail_queued();
        }
        tracing::info!(requeued, "failed mail queued again by an administrator");
        Ok(requeued)
    }
}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::clock::MockClock;
    use crate::outbox::MockOutboxRepository;
    use crate::testing::{admin, at, user};
    use crate::UserStatus;

    fn mailroom(outbox: MockOutboxRepository) -> Mailroom {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(60));
        Mailroom::new(Arc::new(outbox), Arc::new(clock))
    }

    #[tokio::test]
    async fn only_administrators_see_or_resend_mail() {
        let someone = user(2, UserStatus::Approved);
        let mailroom = mailroom(MockOutboxRepository::new());
        let listed = mailroom
            .list(&someone, OutboxFilter::default(), PageRequest::default())
            .await;
        assert!(matches!(listed, Err(MailroomError::Forbidden)));
        assert!(matches!(
            mailroom.backlog(&someone).await,
            Err(MailroomError::Forbidden)
        ));
        assert!(matches!(
            mailroom.retry_failed(&someone).await,
            Err(MailroomError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn failed_mail_is_queued_again_due_now() {
        let mut outbox = MockOutboxRepository::new();
        outbox
            .expect_requeue_failed()
            .with(eq(at(60)))
            .times(1)
            .returning(|_| Ok(3));
        assert_eq!(mailroom(outbox).retry_failed(&admin(1)).await.unwrap(), 3);
    }

    /// The delivery worker hears of mail queued again, and of nothing when
    /// there was none to queue.
    #[tokio::test]
    async fn the_listener_is_told_only_when_mail_was_queued_again() {
        for (requeued, told) in [(3, 1), (0, 0)] {
            let mut outbox = MockOutboxRepository::new();
            outbox
                .expect_requeue_failed()
                .returning(move |_| Ok(requeued));
            let mut listener = crate::outbox::MockMailQueued::new();
            listener.expect_mail_queued().times(told).return_const(());
            let mailroom = mailroom(outbox).with_mail_listener(Arc::new(listener));
            assert_eq!(mailroom.retry_failed(&admin(1)).await.unwrap(), requeued);
        }
    }
}
