use authusers_domain::notification::OutgoingEmail;
use authusers_domain::outbox::{LeaseToken, MailStatus, OutboxEntry, QueuedEmail};
use authusers_domain::{Email, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::error::StorageError;
use crate::schema::outbox_messages;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = outbox_messages)]
pub(crate) struct OutboxRow {
    id: i64,
    message_id: String,
    recipient: String,
    subject: String,
    text_body: String,
    html_body: String,
    status: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    sent_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox_messages)]
pub(crate) struct NewOutboxRow {
    message_id: String,
    recipient: String,
    subject: String,
    text_body: String,
    html_body: String,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    user_id: Option<i64>,
}

impl NewOutboxRow {
    /// A message about `user`, due at once, under a new `Message-ID` that
    /// every attempt will reuse.
    pub fn new(email: &OutgoingEmail, user: UserId, now: NaiveDateTime) -> Self {
        Self {
            user_id: Some(user.0),
            message_id: format!("<{}@authusers>", uuid::Uuid::new_v4().simple()),
            recipient: email.to.as_str().to_owned(),
            subject: email.subject.clone(),
            text_body: email.text_body.clone(),
            html_body: email.html_body.clone(),
            next_attempt_at: now,
            created_at: now,
        }
    }
}

/// A message's attempts as stored: never negative, or the row is corrupt.
fn attempts(id: i64, row_attempts: i32) -> Result<u32, StorageError> {
    u32::try_from(row_attempts).map_err(|_| {
        StorageError::CorruptRow(format!("outbox message {id} has {row_attempts} attempts"))
    })
}

impl OutboxRow {
    /// The message as claimed under `lease`.
    pub(crate) fn claimed(self, lease: LeaseToken) -> Result<QueuedEmail, StorageError> {
        let row = self;
        let attempts = attempts(row.id, row.attempts)?;
        // Mail goes to the address as it was stored, even if a rule tightened
        // since would refuse it now.
        let to = Email::from_stored(row.recipient);
        Ok(QueuedEmail {
            id: row.id,
            message_id: row.message_id,
            email: OutgoingEmail {
                to,
                subject: row.subject,
                text_body: row.text_body,
                html_body: row.html_body,
            },
            attempts,
            lease,
        })
    }
}

impl TryFrom<OutboxRow> for OutboxEntry {
    type Error = StorageError;

    fn try_from(row: OutboxRow) -> Result<Self, StorageError> {
        let status = MailStatus::parse(&row.status).ok_or_else(|| {
            StorageError::CorruptRow(format!(
                "outbox message {} has the unknown status {:?}",
                row.id, row.status
            ))
        })?;
        let pending = status == MailStatus::Pending;
        Ok(OutboxEntry {
            id: row.id,
            message_id: row.message_id,
            recipient: row.recipient,
            subject: row.subject,
            status,
            attempts: attempts(row.id, row.attempts)?,
            next_attempt_at: pending.then(|| row.next_attempt_at.and_utc()),
            last_error: row.last_error,
            created_at: row.created_at.and_utc(),
            sent_at: row.sent_at.map(|at| at.and_utc()),
        })
    }
}
