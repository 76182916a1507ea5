//! The port through which a session's tokens are issued and checked. What a
//! token looks like (a JWT, its keys and algorithms) is the adapter's; what
//! it must name, and that it never outlives its session, is said here.

use chrono::{DateTime, Utc};

use super::model::{AccessClaim, RefreshClaim};
use super::SessionGrant;
use crate::UserId;

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// The two tokens a login or a refresh hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

/// A valid token of either kind, as `SessionTokens::verify` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifiedToken {
    Access(AccessClaim),
    Refresh(RefreshClaim),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid or expired")]
    Invalid,
    #[error("token has the wrong type")]
    WrongType,
    #[error("token could not be signed")]
    Signing,
}

/// Issues a session's tokens and checks them. A token proves who it was
/// issued to and for which session; whether that session is still open is
/// the session store's to say. Time is the caller's `now`, for issuing and
/// checking alike; no token outlives its grant's `expires_at`.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait SessionTokens: Send + Sync {
    /// An access and a refresh token for a session.
    fn issue_pair(&self, grant: &SessionGrant, now: DateTime<Utc>)
        -> Result<TokenPair, TokenError>;

    /// An access token alone, for a session whose refresh token stays as
    /// it is (a step-up).
    fn issue_access(&self, grant: &SessionGrant, now: DateTime<Utc>) -> Result<String, TokenError>;

    /// The administrator's console cookie: refused wherever an access or a
    /// refresh token is expected, as they are in its place.
    fn issue_console(&self, grant: &SessionGrant, now: DateTime<Utc>)
        -> Result<String, TokenError>;

    /// A valid, unexpired token of either kind; a console cookie is neither.
    fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedToken, TokenError>;

    /// The session and user of a valid, unexpired console cookie.
    fn verify_console(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaim, TokenError>;

    /// The session and user of a valid, unexpired access token.
    fn verify_access(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaim, TokenError> {
        match self.verify(token, now)? {
            VerifiedToken::Access(claim) => Ok(claim),
            VerifiedToken::Refresh(_) => Err(TokenError::WrongType),
        }
    }

    /// The session, user and generation of a valid, unexpired refresh token.
    fn verify_refresh(&self, token: &str, now: DateTime<Utc>) -> Result<RefreshClaim, TokenError> {
        match self.verify(token, now)? {
            VerifiedToken::Refresh(claim) => Ok(claim),
            VerifiedToken::Access(_) => Err(TokenError::WrongType),
        }
    }
}

/// The two kinds of token of the service this one replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyKind {
    Access,
    Refresh,
}

/// A valid token of the old service: whose, and which (`jti`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyClaim {
    pub user: UserId,
    pub jti: String,
}

/// Checks, never issues, the tokens of the service this one replaced, while
/// the bridge that keeps its users logged in is open. Whose tokens are
/// believed is `Sessions::authenticate_legacy`'s to say.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait LegacyTokenVerifier: Send + Sync {
    /// The user and `jti` of a valid, unexpired token of `kind`, while the
    /// bridge is open at `now`.
    fn verify(
        &self,
        token: &str,
        kind: LegacyKind,
        now: DateTime<Utc>,
    ) -> Result<LegacyClaim, TokenError>;
}
