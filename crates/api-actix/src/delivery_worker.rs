//! The outbox delivery worker that runs inside `serve`.

use std::sync::Arc;
use std::time::Duration;

use authusers_domain::outbox::OutboxDelivery;
use authusers_domain::ports::Mailer;
use authusers_infra_smtp::{FileMailer, LogMailer, SmtpMailer};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::config::{MailSettings, MailTransport};

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

/// A running worker: it sends what is due, then sleeps until the poll
/// interval passes or a new message is queued.
pub struct DeliveryWorker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl DeliveryWorker {
    pub fn spawn(delivery: OutboxDelivery, poll_interval: Duration, wake: Arc<Notify>) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                match delivery.deliver_due().await {
                    // A full round may have left more due: go again at once.
                    Ok(report) if report.attempted() > 0 => continue,
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, "outbox delivery round failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(poll_interval) => {}
                    _ = wake.notified() => {}
                    _ = stopped.changed() => break,
                }
                if *stopped.borrow() {
                    break;
                }
            }
        });
        Self { stop, task }
    }

    /// Lets the current round finish (a message being sent is sent and
    /// recorded), then ends the worker.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "outbox worker ended abnormally");
        }
    }
}
