//! Black-box tests: each starts the real application on a random port over
//! a fresh database (SQLite and PostgreSQL) and talks HTTP to it.

mod abuse;
mod activation;
mod approvals;
mod balance;
mod browser;
mod console;
mod conventions;
mod django_import;
mod helpers;
mod logs;
mod mail;
mod mfa;
mod operations;
mod paging;
mod password_reset;
mod process;
mod profile;
mod registration;
mod self_service;
mod sessions;
mod signing;
mod slow_bodies;
mod startup;
mod tokens;
