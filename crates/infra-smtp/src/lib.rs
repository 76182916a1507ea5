//! Mailer adapters for the domain's `Mailer` port.

mod log_mailer;

pub use log_mailer::LogMailer;
