//! The background worker that runs inside `serve`: it delivers the outbox
//! and, now and then, forgets sessions that ended long enough ago.

use std::sync::Arc;
use std::time::Duration;

use authusers_domain::mfa::Mfa;
use authusers_domain::outbox::{MailQueued, Mailer, OutboxDelivery, BATCH_SIZE};
use authusers_domain::sessions::Sessions;
use authusers_domain::storage::RepositoryError;
use authusers_domain::throttling::Throttle;
use authusers_domain::wallet::Wallet;
use authusers_infra_smtp::{FileMailer, LogMailer, SmtpMailer};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::app::config::{MailSettings, MailTransport};
use crate::http::problem::causes;

#[derive(Debug, thiserror::Error)]
pub enum MailerSetupError {
    #[error("{0}")]
    Smtp(#[from] authusers_infra_smtp::SmtpUrlError),
    #[error("cannot create the mail folder {folder}: {source}")]
    Folder {
        folder: String,
        source: std::io::Error,
    },
}

/// The mailer the configuration names. Call it on the tokio runtime.
pub fn mailer(settings: &MailSettings) -> Result<Arc<dyn Mailer>, MailerSetupError> {
    Ok(match &settings.transport {
        MailTransport::Log => Arc::new(LogMailer),
        MailTransport::File { folder } => Arc::new(
            FileMailer::new(folder, settings.from.clone()).map_err(|source| {
                MailerSetupError::Folder {
                    folder: folder.display().to_string(),
                    source,
                }
            })?,
        ),
        MailTransport::Smtp { url } => Arc::new(SmtpMailer::new(
            url.expose(),
            settings.from.clone(),
            settings.smtp_timeout,
        )?),
    })
}

/// A lease that outlasts a whole round: every message of a batch at the
/// SMTP time-out, plus a margin.
pub fn lease(settings: &MailSettings) -> chrono::Duration {
    let round = settings.smtp_timeout * (BATCH_SIZE + 1) + Duration::from_secs(60);
    chrono::Duration::from_std(round).unwrap_or_else(|_| chrono::Duration::hours(1))
}

/// Forgetting ended and expired sessions and attempts too old to count,
/// every so often: the worker's work, never a request's.
pub struct Housekeeping {
    pub sessions: Sessions,
    /// Attempts older than their limit's window are forgotten too.
    pub throttle: Throttle,
    /// And idempotency keys past their retention.
    pub wallet: Wallet,
    /// And sign-ins whose second step expired.
    pub mfa: Mfa,
    /// Ended and expired sessions are kept this long.
    pub retention: chrono::Duration,
    pub every: Duration,
}

impl Housekeeping {
    async fn run(&self) {
        log_pruning("old sessions", self.sessions.prune(self.retention).await);
        log_pruning("old counted attempts", self.throttle.prune().await);
        log_pruning(
            "expired idempotency keys",
            self.wallet.prune_expired_keys().await,
        );
        log_pruning("expired sign-in steps", self.mfa.prune_challenges().await);
    }
}

/// One line for a pruning that forgot something or failed; none for one
/// that found nothing to forget.
fn log_pruning(what: &str, outcome: Result<u64, RepositoryError>) {
    match outcome {
        Ok(0) => {}
        Ok(pruned) => tracing::info!(pruned, "{what} forgotten"),
        Err(error) => tracing::error!(error = %causes(&error), "forgetting {what} failed"),
    }
}

/// A running worker: it sends what is due, then sleeps until the poll
/// interval passes or a new message is queued. Dropping it asks it to stop.
pub struct DeliveryWorker {
    stop: Arc<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

/// What the domain rings when it has queued mail: the worker wakes at once
/// instead of at its next poll.
#[derive(Debug, Clone)]
pub struct MailBell(pub Arc<Notify>);

impl MailQueued for MailBell {
    fn mail_queued(&self) {
        self.0.notify_one();
    }
}

/// Asks a worker to stop after the message it is sending, without waiting.
#[derive(Clone)]
pub struct WorkerStopper(Arc<watch::Sender<bool>>);

impl WorkerStopper {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl DeliveryWorker {
    pub fn spawn(
        delivery: OutboxDelivery,
        housekeeping: Housekeeping,
        poll_interval: Duration,
        wake: Arc<Notify>,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let stop_requested = stopped.clone();
            let stopping = move || *stop_requested.borrow();
            let mut next_housekeeping = tokio::time::Instant::now();
            while !stopping() {
                if tokio::time::Instant::now() >= next_housekeeping {
                    housekeeping.run().await;
                    next_housekeeping = tokio::time::Instant::now() + housekeeping.every;
                }
                match delivery.deliver_due_until(&stopping).await {
                    // A full round may have left more due: go again at once.
                    Ok(report) if report.attempted() > 0 => continue,
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "outbox delivery round failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll_interval) => {}
                    _ = wake.notified() => {}
                    _ = stopped.changed() => {}
                }
            }
        });
        Self {
            stop: Arc::new(stop),
            task: Some(task),
        }
    }

    pub fn stopper(&self) -> WorkerStopper {
        WorkerStopper(Arc::clone(&self.stop))
    }

    /// Lets the message being sent finish and be recorded, then ends the
    /// worker. Messages it had claimed but not sent are claimable again
    /// when their lease ends.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::error!(%error, "outbox worker ended abnormally");
            }
        }
    }
}

impl Drop for DeliveryWorker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
