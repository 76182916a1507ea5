//! Authentication at the HTTP edge: JWT issuing and checking, and the
//! extractors that turn a bearer token into a user.

mod extractors;
mod tokens;

pub use extractors::{bearer_token, Administrator, AuthenticatedUser, SessionUser};
pub use tokens::{TokenError, TokenKind, TokenPair, TokenService, VerifiedToken};
