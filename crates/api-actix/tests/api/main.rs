//! Black-box tests: each starts the real application on a random port over
//! a fresh database (SQLite and PostgreSQL) and talks HTTP to it.

mod approvals;
mod balance;
mod conventions;
mod helpers;
mod logs;
mod mail;
mod operations;
mod process;
mod profile;
mod registration;
mod startup;
mod tokens;
