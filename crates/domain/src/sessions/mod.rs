//! Sessions that end: each login opens one; its refresh token rotates and a
//! reused one ends it; a user ends one or all of them, an administrator all
//! of a user's; every credential change ends them all (in the repositories'
//! credential transactions).

mod model;
mod ports;
mod sign_in;
mod tokens;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::accounts::UserRepository;
use crate::clock::Clock;
use crate::email::EmailError;
use crate::storage::RepositoryError;
use crate::{Email, Page, PageRequest, User, UserId};

pub use model::{
    AccessClaim, Authentication, ClientInfo, EndReason, RefreshClaim, Session, SessionEnd,
    SessionId, MAX_USER_AGENT_CHARS,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockSessionIdSource, MockSessionRepository};
pub use ports::{NewSession, Rotation, SessionIdSource, SessionRepository};
pub use sign_in::{Entrance, SecondFactorProof, SecondStepError, SignIn, SignInError, SignedIn};
pub use tokens::{
    LegacyClaim, LegacyKind, LegacyTokenVerifier, SessionTokens, TokenError, TokenPair,
    VerifiedToken,
};
#[cfg(any(test, feature = "mocks"))]
pub use tokens::{MockLegacyTokenVerifier, MockSessionTokens};

/// The longest a session lives, whatever the refreshes
/// (`SESSION_MAX_AGE_SECONDS`).
pub const DEFAULT_MAX_AGE: Duration = Duration::days(30);

/// A session's tokens after a login or a refresh: what the adapter signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGrant {
    pub session: SessionId,
    pub user: UserId,
    pub generation: u32,
    pub expires_at: DateTime<Utc>,
    /// What the session's tokens say of how its user signed in.
    pub authentication: Authentication,
}

impl SessionGrant {
    fn of(session: &Session) -> Self {
        Self {
            session: session.id.clone(),
            user: session.user,
            generation: session.generation,
            expires_at: session.expires_at,
            authentication: session.authentication(),
        }
    }
}

/// A token that no longer grants anything: bad, ended, expired, reused, or
/// another user's. Which of these is never told.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the session is not valid")]
    NotValid,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[derive(Debug, thiserror::Error)]
pub enum EndSessionError {
    /// Unknown, already ended, or another user's.
    #[error("no such open session")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[derive(Debug, thiserror::Error)]
pub enum EndUserSessionsError {
    #[error("only administrators end other users' sessions")]
    Forbidden,
    #[error("no user with this id")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// An operator named a user by e-mail (`authusers sessions --user`).
#[derive(Debug, thiserror::Error)]
pub enum OperatorSessionsError {
    #[error("{0:?} is not an e-mail address")]
    InvalidEmail(String, #[source] EmailError),
    #[error("no user has the e-mail address {0}")]
    NoSuchUser(String),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[derive(Clone)]
pub struct Sessions {
    sessions: Arc<dyn SessionRepository>,
    users: Arc<dyn UserRepository>,
    ids: Arc<dyn SessionIdSource>,
    clock: Arc<dyn Clock>,
    max_age: Duration,
}

impl Sessions {
    pub fn new(
        sessions: Arc<dyn SessionRepository>,
        users: Arc<dyn UserRepository>,
        ids: Arc<dyn SessionIdSource>,
        clock: Arc<dyn Clock>,
        max_age: Duration,
    ) -> Self {
        Self {
            sessions,
            users,
            ids,
            clock,
            max_age,
        }
    }

    /// Opens a session for `user`, who has just logged in (with a second
    /// factor or not).
    #[tracing::instrument(name = "open_session", skip_all, fields(user = %user.id))]
    pub async fn open(
        &self,
        user: &User,
        client: ClientInfo,
        second_factor: bool,
    ) -> Result<SessionGrant, RepositoryError> {
        let now = self.clock.now();
        let session = self
            .sessions
            .open(NewSession {
                id: self.ids.new_id(),
                user: user.id,
                created_at: now,
                expires_at: now + self.max_age,
                client,
                second_factor,
            })
            .await?;
        Ok(SessionGrant::of(&session))
    }

    /// Records a second factor proved now in `user`'s open `session`
    /// (step-up): the grant for its new access token.
    #[tracing::instrument(name = "step_up", skip_all, fields(user = %user))]
    pub async fn prove_second_factor(
        &self,
        session: &SessionId,
        user: UserId,
    ) -> Result<SessionGrant, SessionError> {
        let session = self
            .sessions
            .prove_second_factor(session, user, self.clock.now())
            .await?
            .ok_or(SessionError::NotValid)?;
        Ok(SessionGrant::of(&session))
    }

    /// The approved user an access token's session belongs to, while it is
    /// open.
    pub async fn authenticate(&self, claim: &AccessClaim) -> Result<User, SessionError> {
        let user = self
            .sessions
            .authenticate(claim, self.clock.now())
            .await?
            .filter(User::may_sign_in)
            .ok_or(SessionError::NotValid)?;
        Ok(user)
    }

    /// The user of an access token of the old service, checked by the
    /// adapter while the bridge is open: believed only for a user moved in
    /// from it, approved and active, whose password and e-mail have not
    /// changed since. Such a token names no session here.
    pub async fn authenticate_legacy(&self, user: UserId) -> Result<User, SessionError> {
        self.users
            .find_by_id(user)
            .await?
            .filter(User::may_use_legacy_tokens)
            .ok_or(SessionError::NotValid)
    }

    /// Whether a token of the old service, checked by the adapter, would
    /// be taken now: its user believed, and, for a refresh token (its
    /// `jti`), not exchanged yet.
    pub async fn is_legacy_valid(
        &self,
        user: UserId,
        refresh_jti: Option<&str>,
    ) -> Result<bool, RepositoryError> {
        match self.authenticate_legacy(user).await {
            Ok(_) => {}
            Err(SessionError::NotValid) => return Ok(false),
            Err(SessionError::Repository(e)) => return Err(e),
        }
        match refresh_jti {
            Some(jti) => Ok(!self.sessions.legacy_refresh_exchanged(jti).await?),
            None => Ok(true),
        }
    }

    /// Exchanges a refresh token of the old service (its `jti`), checked by
    /// the adapter while the bridge is open, for a new session here: once
    /// per token, for the users [`Self::authenticate_legacy`] believes.
    #[tracing::instrument(name = "exchange_legacy_refresh", skip_all, fields(user = %user))]
    pub async fn exchange_legacy(
        &self,
        user: UserId,
        jti: &str,
        client: ClientInfo,
    ) -> Result<SessionGrant, SessionError> {
        let user = self.authenticate_legacy(user).await?;
        let now = self.clock.now();
        let opened = self
            .sessions
            .open_for_legacy_refresh(
                jti,
                NewSession {
                    id: self.ids.new_id(),
                    user: user.id,
                    created_at: now,
                    expires_at: now + self.max_age,
                    client,
                    second_factor: false,
                },
            )
            .await?;
        let Some(session) = opened else {
            tracing::warn!("a refresh token of the old service was presented a second time");
            return Err(SessionError::NotValid);
        };
        tracing::info!("a refresh token of the old service was exchanged for a session");
        Ok(SessionGrant::of(&session))
    }

    /// Rotates the session's refresh token. A refresh token used a second
    /// time ends its whole session: the thief's copy or the owner's, one of
    /// them was stolen (OWASP ASVS 10.4.5).
    #[tracing::instrument(name = "refresh_session", skip_all, fields(user = %claim.user))]
    pub async fn refresh(&self, claim: &RefreshClaim) -> Result<SessionGrant, SessionError> {
        match self.sessions.rotate(claim, self.clock.now()).await? {
            Rotation::Rotated {
                generation,
                expires_at,
                authentication,
            } => Ok(SessionGrant {
                session: claim.session.clone(),
                user: claim.user,
                generation,
                expires_at,
                authentication,
            }),
            Rotation::Reused => {
                tracing::warn!(session = %claim.session, "a refresh token was used twice: session ended");
                Err(SessionError::NotValid)
            }
            Rotation::NotLive => Err(SessionError::NotValid),
        }
    }

    /// simplejwt's blacklist: ends the session of a refresh token. An older
    /// generation of it ends the session too, as a reuse; a generation the
    /// session never reached was never issued, and ends nothing.
    #[tracing::instrument(name = "log_out", skip_all, fields(user = %claim.user))]
    pub async fn log_out(&self, claim: &RefreshClaim) -> Result<(), SessionError> {
        let now = self.clock.now();
        let live = self
            .sessions
            .live_generation(&claim.session, claim.user, now)
            .await?;
        let reason = match live {
            Some(live) if live == claim.generation => EndReason::LoggedOut,
            Some(live) if live > claim.generation => EndReason::RefreshReused,
            _ => return Err(SessionError::NotValid),
        };
        if !self
            .sessions
            .end(&claim.session, claim.user, reason, now)
            .await?
        {
            return Err(SessionError::NotValid);
        }
        if reason == EndReason::RefreshReused {
            tracing::warn!(session = %claim.session, "an old refresh token was used to log out: session ended as reused");
        }
        Ok(())
    }

    /// Whether a token's session is still open (and, for a refresh token,
    /// at its generation): simplejwt's verify.
    pub async fn is_valid(
        &self,
        session: &SessionId,
        user: UserId,
        generation: Option<u32>,
    ) -> Result<bool, RepositoryError> {
        let live = self
            .sessions
            .live_generation(session, user, self.clock.now())
            .await?;
        Ok(match (live, generation) {
            (Some(live), Some(generation)) => live == generation,
            (Some(_), None) => true,
            (None, _) => false,
        })
    }

    /// The caller's open sessions, newest first.
    pub async fn list(&self, caller: &User) -> Result<Vec<Session>, RepositoryError> {
        self.sessions
            .open_sessions(caller.id, self.clock.now())
            .await
    }

    /// A page of the caller's open sessions, newest first.
    pub async fn list_page(
        &self,
        caller: &User,
        page: PageRequest,
    ) -> Result<Page<Session>, RepositoryError> {
        self.sessions
            .open_sessions_page(caller.id, self.clock.now(), page)
            .await
    }

    /// Ends one of the caller's sessions, by the id the list shows.
    #[tracing::instrument(name = "end_session", skip_all, fields(user = %caller.id))]
    pub async fn end_one(&self, caller: &User, id: &str) -> Result<(), EndSessionError> {
        let id = SessionId::parse(id).ok_or(EndSessionError::NotFound)?;
        if self
            .sessions
            .end(&id, caller.id, EndReason::EndedByUser, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(EndSessionError::NotFound)
        }
    }

    /// "Log out everywhere": ends every session of the caller, this one
    /// included.
    #[tracing::instrument(name = "end_all_sessions", skip_all, fields(user = %caller.id))]
    pub async fn end_all(&self, caller: &User) -> Result<u64, RepositoryError> {
        self.sessions
            .end_all(caller.id, EndReason::EndedByUser, self.clock.now())
            .await
    }

    /// An administrator ends every session of `target`.
    #[tracing::instrument(name = "end_user_sessions", skip(self, administrator), fields(administrator = %administrator.id))]
    pub async fn end_all_of(
        &self,
        administrator: &User,
        target: UserId,
    ) -> Result<u64, EndUserSessionsError> {
        if !administrator.may_decide() {
            return Err(EndUserSessionsError::Forbidden);
        }
        if self.users.find_by_id(target).await?.is_none() {
            return Err(EndUserSessionsError::NotFound);
        }
        let ended = self
            .sessions
            .end_all(target, EndReason::EndedByAdministrator, self.clock.now())
            .await?;
        tracing::info!(ended, "sessions ended by an administrator");
        Ok(ended)
    }

    /// An administrator looks at the open sessions of `target`, newest
    /// first.
    pub async fn list_of(
        &self,
        administrator: &User,
        target: UserId,
    ) -> Result<Vec<Session>, EndUserSessionsError> {
        if !administrator.may_decide() {
            return Err(EndUserSessionsError::Forbidden);
        }
        Ok(self
            .sessions
            .open_sessions(target, self.clock.now())
            .await?)
    }

    /// The user with this e-mail and their open sessions, for an operator
    /// at the command line.
    pub async fn of_user_by_email(
        &self,
        email: &str,
    ) -> Result<(User, Vec<Session>), OperatorSessionsError> {
        let parsed = Email::parse(email)
            .map_err(|e| OperatorSessionsError::InvalidEmail(email.to_owned(), e))?;
        let user = self
            .users
            .find_by_email(&parsed)
            .await?
            .ok_or_else(|| OperatorSessionsError::NoSuchUser(parsed.as_str().to_owned()))?;
        let sessions = self
            .sessions
            .open_sessions(user.id, self.clock.now())
            .await?;
        Ok((user, sessions))
    }

    /// An operator at the command line ends every session of `user`.
    #[tracing::instrument(name = "end_sessions_by_operator", skip_all, fields(user = %user.id))]
    pub async fn end_all_by_operator(&self, user: &User) -> Result<u64, RepositoryError> {
        let ended = self
            .sessions
            .end_all(user.id, EndReason::EndedByAdministrator, self.clock.now())
            .await?;
        tracing::info!(ended, "sessions ended by an operator");
        Ok(ended)
    }

    /// Forgets sessions that ended or expired more than `retention` ago.
    pub async fn prune(&self, retention: Duration) -> Result<u64, RepositoryError> {
        self.sessions.prune(self.clock.now() - retention).await
    }
}
