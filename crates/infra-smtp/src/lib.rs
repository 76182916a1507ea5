//! Mailer adapters for the domain's `Mailer` port: SMTP (plain, STARTTLS or
//! implicit TLS, with optional credentials), one `.eml` file per message in a
//! folder, or the log.

mod file_mailer;
mod log_mailer;
mod message;
mod smtp_mailer;

#[cfg(feature = "test-support")]
pub mod test_support;

pub use file_mailer::FileMailer;
pub use lettre::message::Mailbox;
pub use log_mailer::LogMailer;
pub use message::{parse_sender, SenderError};
pub use smtp_mailer::{SmtpMailer, SmtpUrlError};
