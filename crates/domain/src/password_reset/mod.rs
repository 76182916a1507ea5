//! Forgotten passwords, as djoser has them: `reset_password` mails a link
//! that works once, for a while, and `reset_password_confirm` sets the new
//! password with it.

mod link;
mod ports;
mod token;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::Duration;

use crate::accounts::{HashingError, PasswordHasher, UserRepository};
use crate::clock::Clock;
use crate::notification::{Language, OutgoingEmail};
use crate::outbox::{MailQueued, NobodyListening};
use crate::password::PasswordContext;
use crate::storage::RepositoryError;
use crate::throttling::{
    Check, ClientAddress, CounterKey, Limit, Throttle, Throttled, RESET_MAIL_WINDOW,
};
use crate::{Email, FieldError, FieldErrors, Password, Retyped, User};

pub use link::{ResetLinkTemplate, ResetLinkTemplateError};
pub use ports::{
    LiveResetLink, NewResetLink, PasswordResetRepository, ResetRequestOutcome, ResetRequestRecord,
    ResetTokenSource,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockPasswordResetRepository, MockResetTokenSource};
pub use token::{decode_uid, encode_uid, AddressDigest, ResetToken, TokenDigest, TOKEN_BYTES};

/// How reset links are made and mailed.
#[derive(Debug, Clone)]
pub struct ResetPolicy {
    pub link: ResetLinkTemplate,
    /// How long a link works.
    pub ttl: Duration,
    /// The most reset mails to one address in an hour; `None` for no limit.
    pub mails_per_hour: Option<u32>,
    pub language: Language,
}

/// `reset_password`, as received, and where from.
#[derive(Debug, Clone)]
pub struct ResetRequest {
    pub email: String,
    /// Requests are limited per client address, whatever the e-mail.
    pub client: ClientAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestResetError {
    /// Only a malformed address: whether it has an account is never told.
    #[error(transparent)]
    Invalid(FieldErrors),
    /// This client address has had its share of requests this hour,
    /// whatever the e-mails they named.
    #[error(transparent)]
    Throttled(Throttled),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

crate::throttling::admit_error_into!(RequestResetError);

/// `reset_password_confirm`, as received.
#[derive(Debug, Clone, Default)]
pub struct ConfirmResetRequest {
    pub uid: String,
    pub token: String,
    pub new_password: String,
    /// djoser's `re_new_password`, when the client retypes it.
    pub re_new_password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmResetError {
    /// A link that does not work (named under `token`, whether its `uid`
    /// or its token is at fault), or a new password that fails the rules.
    #[error(transparent)]
    Invalid(FieldErrors),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl ConfirmResetError {
    /// The one answer to a link that does not work, whatever is wrong with
    /// it: a `uid` that names nobody reads the same as a wrong token for
    /// someone, so that the route tells no one which ids exist.
    fn token() -> Self {
        Self::Invalid(FieldErrors::single("token", FieldError::InvalidToken))
    }

    /// Whether the link itself is at fault (rather than the new password):
    /// a page then has no form left to show.
    pub fn is_bad_link(&self) -> bool {
        matches!(self, Self::Invalid(errors)
            if errors.fields().contains_key("token"))
    }
}

#[derive(Clone)]
pub struct PasswordResets {
    users: Arc<dyn UserRepository>,
    resets: Arc<dyn PasswordResetRepository>,
    hasher: Arc<dyn PasswordHasher>,
    tokens: Arc<dyn ResetTokenSource>,
    clock: Arc<dyn Clock>,
    policy: ResetPolicy,
    /// The limit on requests per client address; none without it.
    throttle: Option<Throttle>,
    /// Told when a reset link has been queued.
    mail_queued: Arc<dyn MailQueued>,
}

impl PasswordResets {
    pub fn new(
        users: Arc<dyn UserRepository>,
        resets: Arc<dyn PasswordResetRepository>,
        hasher: Arc<dyn PasswordHasher>,
        tokens: Arc<dyn ResetTokenSource>,
        clock: Arc<dyn Clock>,
        policy: ResetPolicy,
    ) -> Self {
        Self {
            users,
            resets,
            hasher,
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

    /// Holds requests to `throttle`'s limit per client address.
    pub fn with_throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    pub fn policy(&self) -> &ResetPolicy {
        &self.policy
    }

    /// Mails a reset link to `email` if an approved account has it and the
    /// address is within its hourly limit. Every well-formed request counts
    /// against its client address's hourly limit and takes the same path
    /// through the database, account or not, and answers the same.
    #[tracing::instrument(name = "request_password_reset", skip_all)]
    pub async fn request(&self, request: ResetRequest) -> Result<(), RequestResetError> {
        // An address stored before today's rules (moved in from another
        // service) is looked up as login looks it up.
        let email = Email::parse(&request.email)
            .or_else(|refused| Email::for_lookup(&request.email).ok_or(refused))
            .map_err(|e| RequestResetError::Invalid(FieldErrors::single("email", e)))?;
        if let Some(throttle) = &self.throttle {
            let admission = throttle.admit_reset_request(request.client).await?;
            throttle.counts(admission);
        }
        let user = self
            .users
            .find_by_email(&email)
            .await?
            .filter(User::may_sign_in);
        let now = self.clock.now();
        let link = user.map(|user| self.new_link(&user, now));
        let record = ResetRequestRecord {
            address: AddressDigest::of(&email),
            at: now,
            mail_limit: self
                .policy
                .mails_per_hour
                .and_then(|max| Limit::new(max, RESET_MAIL_WINDOW))
                .map(|limit| Check {
                    key: CounterKey::reset_mail(&email),
                    limit,
                }),
            forget_before: now - self.policy.ttl.max(RESET_MAIL_WINDOW),
            link,
        };
        let user = record.link.as_ref().map(|link| link.user);
        match self.resets.record_request(record).await? {
            ResetRequestOutcome::Mailed => {
                self.mail_queued.mail_queued();
                tracing::info!(user = ?user, "password reset mailed")
            }
            ResetRequestOutcome::LimitReached => {
                tracing::warn!(user = ?user, "password reset refused: hourly mail limit reached")
            }
            ResetRequestOutcome::NoAccount => {
                tracing::debug!("password reset for an address without an approved account")
            }
        }
        Ok(())
    }

    fn new_link(&self, user: &User, now: chrono::DateTime<chrono::Utc>) -> NewResetLink {
        let token = self.tokens.new_token();
        let url = self.policy.link.render(user.id, &token);
        NewResetLink {
            user: user.id,
            digest: token.digest(),
            expires_at: now + self.policy.ttl,
            mail: OutgoingEmail::password_reset(user, &url, self.policy.ttl, self.policy.language),
        }
    }

    /// The user and the live link that `uid` and `token` name; nothing is
    /// used up.
    async fn find_link(&self, uid: &str, token: &str) -> Result<(User, i64), ConfirmResetError> {
        let id = decode_uid(uid).ok_or_else(ConfirmResetError::token)?;
        let user = self
            .users
            .find_by_id(id)
            .await?
            .ok_or_else(ConfirmResetError::token)?;
        let token = ResetToken::parse(token).ok_or_else(ConfirmResetError::token)?;
        if !user.may_sign_in() {
            return Err(ConfirmResetError::token());
        }
        let digest = token.digest();
        // Every live link is compared, in constant time, so that neither
        // the comparison nor the number of links compared gives anything
        // away.
        let links = self.resets.live_links(user.id, self.clock.now()).await?;
        let found = links.iter().fold(None, |found, link| {
            found.or(digest.matches(&link.digest).then_some(link.id))
        });
        let link = found.ok_or_else(ConfirmResetError::token)?;
        Ok((user, link))
    }

    /// Whose link this is, while it works (a page asks before it shows a
    /// form).
    pub async fn check_link(&self, uid: &str, token: &str) -> Result<User, ConfirmResetError> {
        self.find_link(uid, token).await.map(|(user, _)| user)
    }

    /// Sets the new password with a live link, which is then used up, with
    /// every other link of the user. A refused new password leaves the
    /// link live, to try again.
    #[tracing::instrument(name = "confirm_password_reset", skip_all)]
    pub async fn confirm(&self, request: ConfirmResetRequest) -> Result<(), ConfirmResetError> {
        let (user, link) = self.find_link(&request.uid, &request.token).await?;
        let mut errors = FieldErrors::new();
        let password = errors.collect_each(
            "new_password",
            Password::parse(&request.new_password, PasswordContext::of(&user)),
        );
        if let Some(retyped) = &request.re_new_password {
            crate::accounts::check_retyped(
                &mut errors,
                Retyped::Password,
                *retyped == request.new_password,
            );
        }
        let Some(password) = password.filter(|_| errors.is_empty()) else {
            return Err(ConfirmResetError::Invalid(errors));
        };
        let hash = self.hasher.hash(&password).await?;
        if !self
            .resets
            .reset_password(link, user.id, hash, self.clock.now())
            .await?
        {
            return Err(ConfirmResetError::token());
        }
        tracing::info!(user = %user.id, "password reset");
        Ok(())
    }
}
