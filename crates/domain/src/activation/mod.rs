//! djoser's activation, off unless `REGISTRATION_REQUIRES_ACTIVATION` is on:
//! a registration mails a link to its address, and only once the link is
//! followed does the registration reach the administrators. So nobody can
//! put a stranger's address in the queue, and the decision mail goes only
//! to an address that asked for the account.

mod ports;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::Duration;

use crate::accounts::{ActivationLinks, UserRepository};
use crate::clock::Clock;
use crate::notification::{Language, OutgoingEmail};
use crate::outbox::{MailQueued, NobodyListening};
use crate::password_reset::{decode_uid, ResetLinkTemplate, ResetToken, ResetTokenSource};
use crate::storage::RepositoryError;
use crate::throttling::{AdmitError, ClientAddress, Throttle, Throttled};
use crate::{Email, FieldError, FieldErrors, User};

#[cfg(any(test, feature = "mocks"))]
pub use ports::MockActivationRepository;
pub use ports::{ActivationLink, ActivationRepository, NewActivationLink};

/// How activation links are made and mailed.
#[derive(Debug, Clone)]
pub struct ActivationPolicy {
    /// `ACTIVATION_URL`: djoser's, with `{uid}` and `{token}`.
    pub link: ResetLinkTemplate,
    /// `ACTIVATION_TTL_SECONDS`: how long a link works.
    pub ttl: Duration,
    pub language: Language,
}

/// djoser's `POST /auth/users/activation/`, as received.
#[derive(Debug, Clone)]
pub struct ActivateRequest {
    pub uid: String,
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// The link does not work: one answer whatever is wrong with it (a
    /// `uid` of nobody reads as a wrong token), so that ids are not told.
    #[error(transparent)]
    Invalid(FieldErrors),
    /// A link of this user that worked once, followed again after the
    /// account was activated: djoser's "stale token".
    #[error("the account is already activated")]
    Stale,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl ActivateError {
    fn invalid() -> Self {
        Self::Invalid(FieldErrors::single("token", FieldError::InvalidToken))
    }
}

/// djoser's `POST /auth/users/resend_activation/`, as received.
#[derive(Debug, Clone)]
pub struct ResendRequest {
    pub email: String,
    /// Requests count against the client address's registrations.
    pub client: ClientAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    /// Registrations need no activation here: there is nothing to send.
    #[error("registrations need no activation")]
    NotRequired,
    /// A malformed address: whether it has an account is never told.
    #[error(transparent)]
    Invalid(FieldErrors),
    #[error(transparent)]
    Throttled(Throttled),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

crate::throttling::admit_error_into!(ResendError);

#[derive(Clone)]
pub struct Activations {
    users: Arc<dyn UserRepository>,
    links: Arc<dyn ActivationRepository>,
    tokens: Arc<dyn ResetTokenSource>,
    clock: Arc<dyn Clock>,
    /// How links are made; `None` when registrations need no activation
    /// (links mailed while they did still work).
    policy: Option<ActivationPolicy>,
    throttle: Option<Throttle>,
    /// Told when a link has been queued.
    mail_queued: Arc<dyn MailQueued>,
}

impl Activations {
    pub fn new(
        users: Arc<dyn UserRepository>,
        links: Arc<dyn ActivationRepository>,
        tokens: Arc<dyn ResetTokenSource>,
        clock: Arc<dyn Clock>,
        policy: Option<ActivationPolicy>,
    ) -> Self {
        Self {
            users,
            links,
            tokens,
            clock,
            policy,
            throttle: None,
            mail_queued: Arc::new(NobodyListening),
        }
    }

    /// Tells `listener` each time mail is queued.
    pub fn with_mail_listener(mut self, listener: Arc<dyn MailQueued>) -> Self {
        self.mail_queued = listener;
        self
    }

    /// Holds `resend_activation` to `throttle`'s limits.
    pub fn with_throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Whether registrations must confirm their address.
    pub fn required(&self) -> bool {
        self.policy.is_some()
    }

    /// Confirms a registration's address with the `uid` and `token` of its
    /// link: the registration then waits for an administrator, as any
    /// other.
    #[tracing::instrument(name = "activate", skip_all)]
    pub async fn activate(&self, request: ActivateRequest) -> Result<(), ActivateError> {
        let id = decode_uid(&request.uid).ok_or_else(ActivateError::invalid)?;
        let user = self
            .users
            .find_by_id(id)
            .await?
            .ok_or_else(ActivateError::invalid)?;
        let token = ResetToken::parse(&request.token).ok_or_else(ActivateError::invalid)?;
        let digest = token.digest();
        let now = self.clock.now();
        // Every link is compared, in constant time, so that neither the
        // comparison nor the number of links compared tells anything.
        let links = self.links.links(user.id, now).await?;
        let found = links.iter().fold(None, |found, link| {
            found.or(digest.matches(&link.digest).then_some(link))
        });
        let Some(link) = found else {
            return Err(ActivateError::invalid());
        };
        // A used link belongs to an activated account, even when the user
        // was read just before a racing request activated it.
        if link.used_at.is_some() || !user.awaiting_activation {
            return Err(ActivateError::Stale);
        }
        if !self.links.activate(link.id, user.id, now).await? {
            // A racing request used the link first.
            return Err(ActivateError::Stale);
        }
        tracing::info!(user = %user.id, "registration activated");
        Ok(())
    }

    /// Mails a new link to `email` if a registration there still awaits
    /// activation, at most a few times an hour. Every well-formed request
    /// takes the same path and answers the same, account or not.
    #[tracing::instrument(name = "resend_activation", skip_all)]
    pub async fn resend(&self, request: ResendRequest) -> Result<(), ResendError> {
        if !self.required() {
            return Err(ResendError::NotRequired);
        }
        let email = Email::parse(&request.email)
            .map_err(|e| ResendError::Invalid(FieldErrors::single("email", e)))?;
        let mail_allowed = match &self.throttle {
            Some(throttle) => {
                let admission = throttle.admit_registration(request.client).await?;
                throttle.counts(admission);
                match throttle.admit_activation_mail(&email, request.client).await {
                    Ok(admission) => {
                        throttle.counts(admission);
                        true
                    }
                    Err(AdmitError::Throttled(_)) => false,
                    Err(AdmitError::Repository(e)) => return Err(e.into()),
                }
            }
            None => true,
        };
        let user = self.users.find_by_email(&email).await?;
        match user.filter(|user| user.awaiting_activation) {
            Some(user) if mail_allowed => self.send_link(&user).await?,
            Some(user) => {
                tracing::warn!(user = %user.id, "activation mail refused: hourly limit reached")
            }
            None => tracing::debug!("resend_activation for an address awaiting nothing"),
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ActivationLinks for Activations {
    /// Mails `user` a new link to confirm their address (nothing when
    /// registrations need no activation). The mail greets no one by name:
    /// the address has not proved itself yet.
    async fn send_link(&self, user: &User) -> Result<(), RepositoryError> {
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        let token = self.tokens.new_token();
        let now = self.clock.now();
        let url = policy.link.render(user.id, &token);
        self.links
            .issue(NewActivationLink {
                user: user.id,
                digest: token.digest(),
                created_at: now,
                expires_at: now + policy.ttl,
                mail: OutgoingEmail::activation(user, &url, policy.ttl, policy.language),
            })
            .await?;
        self.mail_queued.mail_queued();
        tracing::info!(user = %user.id, "activation link mailed");
        Ok(())
    }
}
