use std::path::{Path, PathBuf};

use async_trait::async_trait;
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::outbox::{Mailer, MailerError};
use lettre::message::Mailbox;
use lettre::{AsyncFileTransport, AsyncTransport, Tokio1Executor};

use crate::message;

/// Development transport: writes each message as a `.eml` file (RFC 5322,
/// readable by any mail program) into a folder.
pub struct FileMailer {
    from: Mailbox,
    folder: PathBuf,
    transport: AsyncFileTransport<Tokio1Executor>,
}

impl FileMailer {
    /// Creates the folder if needed.
    pub fn new(folder: &Path, from: Mailbox) -> std::io::Result<Self> {
        std::fs::create_dir_all(folder)?;
        Ok(Self {
            from,
            folder: folder.to_owned(),
            transport: AsyncFileTransport::new(folder),
        })
    }

    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, message_id: &str, email: &OutgoingEmail) -> Result<(), MailerError> {
        let message = message::build(&self.from, message_id, email)?;
        let file = self
            .transport
            .send(message)
            .await
            .map_err(|e| MailerError::transient("writing the .eml file", e))?;
        tracing::info!(message_id, file = %self.folder.join(format!("{file}.eml")).display(), "e-mail written to a file");
        Ok(())
    }
}
