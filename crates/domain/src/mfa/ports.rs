//! What the second factor needs from the outside world: a step's code
//! (HMAC-SHA-1 per RFC 6238, by a well-kept crate), and secrets sealed at
//! rest.

use super::codes::{TimeStep, TotpCode, TotpSecret};
use crate::UserId;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// RFC 6238's code of a secret at a step.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait OneTimeCodes: Send + Sync {
    fn code_at(&self, secret: &TotpSecret, step: TimeStep) -> TotpCode;
}

/// A TOTP secret as stored: encrypted, with the key that sealed it named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSecret(pub String);

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// No key of the ring sealed it, or it was altered: a logged error and
    /// a 503 for that login, never a way in.
    #[error("the stored secret cannot be opened: {0}")]
    CannotOpen(String),
    #[error("the secret cannot be sealed: {0}")]
    CannotSeal(String),
}

/// Encrypts secrets at rest, and opens what it or a retired key sealed.
/// A secret is bound to its user: one user's sealed secret copied onto
/// another's row does not open.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait SecretSealer: Send + Sync {
    fn seal(&self, user: UserId, secret: &TotpSecret) -> Result<SealedSecret, SealError>;
    fn open(&self, user: UserId, sealed: &SealedSecret) -> Result<TotpSecret, SealError>;
}
