//! Outbound adapters of cryptography that know nothing of HTTP or storage:
//! password hashing (bcrypt on threads of its own behind a bounded queue,
//! and the hashes Django writes, for users moved in from it), the random
//! secrets of reset links and sessions, and the second factor's codes and
//! sealed secrets.

mod bcrypt_hasher;
pub mod django;
mod random;
mod secret_box;
mod totp;

pub use bcrypt_hasher::{
    BcryptHasher, HashingCapacity, HashingPlace, HashingQueue, Overloaded, DEFAULT_MAX_WAIT,
};
pub use random::{RandomMfa, RandomResetTokens, RandomSessionIds};
pub use secret_box::{SealingKey, SealingKeyError, SecretBox};
pub use totp::{enrolment, Enrolment, Rfc6238Codes};
