//! Repositories on Diesel. `DATABASE_URL` picks the backend: a SQLite file
//! (bundled, the zero-setup default) or a PostgreSQL server.
//!
//! A look-up by a unique key loads with `get_result`, never `first`:
//! `first` binds `LIMIT ?`, and SQLite re-prepares a statement whose LIMIT
//! is a bound value at every execution, which cost the request look-up
//! half its throughput.

mod activation_repository;
mod attempt_log;
mod balance_repository;
mod balance_statements;
mod blocking_threads;
mod canonical_emails;
mod credentials;
mod database;
mod error;
mod import_repository;
mod ledger_row;
mod list_read;
mod live_users;
mod mfa_repository;
mod outbox_repository;
mod outbox_row;
mod paging;
mod password_reset_repository;
mod pg_connections;
mod queued_work;
mod schema;
mod session_repository;
mod sqlite_writer;
mod trigram_sample;
mod user_repository;
mod user_row;
mod user_search;
mod write_transaction;

#[cfg(feature = "test-support")]
pub mod test_support;

pub use activation_repository::DieselActivationRepository;
pub use attempt_log::DieselAttemptLog;
pub use balance_repository::DieselBalanceRepository;
pub use database::{
    Backend, Database, DatabaseConfig, DatabaseUrl, DatabaseUrlError, PoolState, SqliteSynchronous,
};
pub use error::StorageError;
pub use import_repository::DieselImportRepository;
pub use mfa_repository::DieselMfaRepository;
pub use outbox_repository::DieselOutboxRepository;
pub use password_reset_repository::DieselPasswordResetRepository;
pub use session_repository::DieselSessionRepository;
pub use sqlite_writer::WriteGroups;
pub use user_repository::DieselUserRepository;
