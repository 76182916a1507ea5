//! The rules of AuthUsers, free of any framework, database or mail library.
//!
//! Values that reach this crate are parsed into types that cannot hold a bad
//! value (`Email`, `Password`, `PersonName`, `Money`); operations talk to the
//! outside world only through the traits each feature declares in its own
//! `ports` module (and the shared [`clock::Clock`] and
//! [`storage::RepositoryError`]).

pub mod accounts;
pub mod activation;
pub mod balance;
pub mod clock;
pub mod email;
pub mod error_chain;
pub mod import;
pub mod mfa;
pub mod money;
pub mod notification;
pub mod outbox;
pub mod pagination;
pub mod password;
pub mod password_reset;
pub mod person_name;
pub mod search_term;
pub mod sessions;
pub mod storage;
#[cfg(any(test, feature = "mocks"))]
pub mod testing;
pub mod text;
pub mod throttling;
pub mod user;
pub mod validation;
pub mod wallet;

pub use email::Email;
pub use money::{Amount, Money};
pub use pagination::{Page, PageRequest};
pub use password::{Password, PasswordHash};
pub use person_name::PersonName;
pub use user::{Decision, User, UserId, UserStatus};
pub use validation::{FieldError, FieldErrors, Retyped};
