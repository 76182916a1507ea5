//! Outbound adapters of cryptography that know nothing of HTTP or storage:
//! the password hashes Django writes, for users moved from a Django service.

pub mod django;
