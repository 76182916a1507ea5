//! What sessions need from the outside world.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::model::{
    AccessClaim, Authentication, ClientInfo, EndReason, RefreshClaim, Session, SessionId,
};
use crate::storage::RepositoryError;
use crate::{Page, PageRequest, User, UserId};

#[cfg(any(test, feature = "mocks"))]
use mockall::automock;

/// A session about to be stored, at generation 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: SessionId,
    pub user: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client: ClientInfo,
    /// Whether the sign-in proved a second factor (at `created_at`).
    pub second_factor: bool,
}

/// What became of a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The presented generation was the live one: the session moved to
    /// `generation`, which the new refresh token carries.
    Rotated {
        generation: u32,
        expires_at: DateTime<Utc>,
        authentication: Authentication,
    },
    /// The presented generation was already used: the session has just been
    /// ended, every token of it with it.
    Reused,
    /// No open session of an approved user matches: ended, expired,
    /// unknown, or another user's.
    NotLive,
}

#[cfg_attr(any(test, feature = "mocks"), automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    async fn open(&self, session: NewSession) -> Result<Session, RepositoryError>;

    /// Whether the old service's refresh token `jti` was exchanged already.
    async fn legacy_refresh_exchanged(&self, jti: &str) -> Result<bool, RepositoryError>;

    /// Records the old service's refresh token `jti` as exchanged and opens
    /// `session`, in one transaction; `None` when that token was exchanged
    /// before (nothing is opened).
    async fn open_for_legacy_refresh(
        &self,
        jti: &str,
        session: NewSession,
    ) -> Result<Option<Session>, RepositoryError>;

    /// The user named by `claim`, if the session is open at `now`, belongs
    /// to that user, and the user is not erased: one look-up, so that an
    /// ended session is refused on the very next request, by every process.
    async fn authenticate(
        &self,
        claim: &AccessClaim,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, RepositoryError>;

    /// Moves the session to its next generation when `claim` carries the
    /// live one; ends it when `claim` carries an older one. One transaction:
    /// of two refreshes with one token, one rotates and the other finds the
    /// generation used.
    async fn rotate(
        &self,
        claim: &RefreshClaim,
        now: DateTime<Utc>,
    ) -> Result<Rotation, RepositoryError>;

    /// The live refresh generation of the session, if it is open at `now`
    /// and belongs to `user`.
    async fn live_generation(
        &self,
        session: &SessionId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<u32>, RepositoryError>;

    /// Records a second factor proved `at` in the open session of `user`
    /// (step-up); the session as it is now, `None` when it is not open.
    async fn prove_second_factor(
        &self,
        session: &SessionId,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<Session>, RepositoryError>;

    /// Ends one open session of `user`; `false` when there is none.
    async fn end(
        &self,
        session: &SessionId,
        user: UserId,
        reason: EndReason,
        now: DateTime<Utc>,
    ) -> Result<bool, RepositoryError>;

    /// Ends every open session of `user`; how many.
    async fn end_all(
        &self,
        user: UserId,
        reason: EndReason,
        now: DateTime<Utc>,
    ) -> Result<u64, RepositoryError>;

    /// The sessions of `user` open at `now`, newest first.
    async fn open_sessions(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, RepositoryError>;

    /// A page of the sessions of `user` open at `now`, newest first (then
    /// by id), with how many are open.
    async fn open_sessions_page(
        &self,
        user: UserId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<Session>, RepositoryError>;

    /// Forgets the sessions that ended or expired before `before`; how many.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepositoryError>;
}

/// Fresh, unpredictable session ids.
#[cfg_attr(any(test, feature = "mocks"), automock)]
pub trait SessionIdSource: Send + Sync {
    fn new_id(&self) -> SessionId;
}
