//! Outbound adapters of cryptography that know nothing of HTTP or storage:
//! password hashing (bcrypt on threads of its own behind a bounded queue,
//! and the hashes Django writes, for users moved in from it) and the
//! random secrets of reset links and sessions.

mod bcrypt_hasher;
pub mod django;
mod random;

pub use bcrypt_hasher::{
    BcryptHasher, HashingCapacity, HashingPlace, HashingQueue, Overloaded, DEFAULT_MAX_WAIT,
};
pub use random::{RandomResetTokens, RandomSessionIds};
