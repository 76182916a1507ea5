//! Repositories on Diesel. `DATABASE_URL` picks the backend: a SQLite file
//! (bundled, the zero-setup default) or a PostgreSQL server.

mod balance_repository;
mod database;
mod error;
mod ledger_row;
mod outbox_repository;
mod outbox_row;
mod paging;
mod schema;
mod user_repository;
mod user_row;
mod write_transaction;

#[cfg(feature = "test-support")]
pub mod test_support;

pub use balance_repository::DieselBalanceRepository;
pub use database::{Backend, Database, DatabaseConfig, DatabaseUrl, DatabaseUrlError, PoolState};
pub use error::StorageError;
pub use outbox_repository::DieselOutboxRepository;
pub use user_repository::DieselUserRepository;
