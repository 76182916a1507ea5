use crate::notification::OutgoingEmail;
use crate::storage::RepositoryError;
use crate::user::DecisionRefused;
use crate::{Decision, Page, PageRequest, User, UserId, UserStatus};

use super::Accounts;

#[derive(Debug, thiserror::Error)]
pub enum ListPendingError {
    #[error("only administrators see pending registrations")]
    Forbidden,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("only administrators decide on registrations")]
    Forbidden,
    #[error("no user with this id")]
    NotFound,
    #[error("this registration was already {}", .0.as_str())]
    AlreadyDecided(UserStatus),
    /// The registration's address is not confirmed yet (activation is
    /// required): there is nothing to decide on.
    #[error("this registration's address is not confirmed yet")]
    NotActivated,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl From<DecisionRefused> for DecideError {
    fn from(refused: DecisionRefused) -> Self {
        match refused {
            DecisionRefused::NotAnAdministrator => Self::Forbidden,
            DecisionRefused::AlreadyDecided(status) => Self::AlreadyDecided(status),
            DecisionRefused::NotActivated => Self::NotActivated,
        }
    }
}

impl Accounts {
    #[tracing::instrument(name = "list_pending", skip(self, administrator))]
    pub async fn list_pending(
        &self,
        administrator: &User,
        page: PageRequest,
    ) -> Result<Page<User>, ListPendingError> {
        if !administrator.may_decide() {
            return Err(ListPendingError::Forbidden);
        }
        Ok(self.users.list_pending(page).await?)
    }

    /// Settles a pending registration and queues the e-mail that tells the
    /// user, both in one transaction. The e-mail is sent later by the
    /// outbox worker, so a slow or absent mail server never holds the
    /// decision back, and a committed decision never loses its e-mail.
    #[tracing::instrument(name = "decide", skip(self, administrator), fields(administrator = %administrator.id))]
    pub async fn decide(
        &self,
        administrator: &User,
        target: UserId,
        decision: Decision,
    ) -> Result<User, DecideError> {
        if !administrator.may_decide() {
            return Err(DecideError::Forbidden);
        }
        let mut user = self
            .users
            .find_by_id(target)
            .await?
            .ok_or(DecideError::NotFound)?;
        user.decide(administrator, decision, self.clock.now())?;
        let message = OutgoingEmail::registration_decision(&user, decision, self.mail_language);
        if !self.users.save_decision(&user, &message).await? {
            // Another administrator decided between our read and our write.
            let current = self.users.find_by_id(target).await?;
            let status = current.map_or(UserStatus::Pending, |u| u.status);
            return Err(DecideError::AlreadyDecided(status));
        }
        self.mail_queued.mail_queued();
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{admin, at, user, Ports};

    fn ports_with_target(target: User) -> Ports {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_id()
            .withf(move |id| *id == target.id)
            .returning(move |_| Ok(Some(target.clone())));
        ports
    }

    #[tokio::test]
    async fn accepting_saves_the_decision_with_its_email_once() {
        let mut ports = ports_with_target(user(2, UserStatus::Pending));
        ports
            .users
            .expect_save_decision()
            .withf(|saved, mail| {
                saved.status == UserStatus::Approved
                    && saved.decision.is_some_and(|d| {
                        d.decided_by == Some(UserId(1)) && d.decided_at == at(3600)
                    })
                    && mail.to.as_str() == "user2@example.com"
                    && mail.subject == "Your registration has been accepted"
            })
            .times(1)
            .returning(|_, _| Ok(true));
        let mut listener = crate::outbox::MockMailQueued::new();
        listener.expect_mail_queued().times(1).return_const(());

        let decided = ports
            .into_accounts()
            .with_mail_listener(std::sync::Arc::new(listener))
            .decide(&admin(1), UserId(2), Decision::Accept)
            .await
            .unwrap();
        assert_eq!(decided.status, UserStatus::Approved);
    }

    #[tokio::test]
    async fn rejecting_queues_a_rejection() {
        let mut ports = ports_with_target(user(2, UserStatus::Pending));
        ports
            .users
            .expect_save_decision()
            .withf(|saved, mail| {
                saved.status == UserStatus::Rejected
                    && mail.subject == "Your registration has been rejected"
            })
            .times(1)
            .returning(|_, _| Ok(true));
        let decided = ports
            .into_accounts()
            .decide(&admin(1), UserId(2), Decision::Reject)
            .await
            .unwrap();
        assert_eq!(decided.status, UserStatus::Rejected);
    }

    #[tokio::test]
    async fn a_decided_user_is_refused_without_saving_or_mailing() {
        let ports = ports_with_target(user(2, UserStatus::Rejected));
        let result = ports
            .into_accounts()
            .decide(&admin(1), UserId(2), Decision::Accept)
            .await;
        assert!(matches!(
            result,
            Err(DecideError::AlreadyDecided(UserStatus::Rejected))
        ));
    }

    #[tokio::test]
    async fn losing_a_race_is_already_decided_and_mails_nothing() {
        let mut ports = Ports::new();
        let mut reads = 0;
        ports.users.expect_find_by_id().returning(move |_| {
            reads += 1;
            let status = if reads == 1 {
                UserStatus::Pending
            } else {
                UserStatus::Approved
            };
            Ok(Some(user(2, status)))
        });
        ports
            .users
            .expect_save_decision()
            .times(1)
            .returning(|_, _| Ok(false));
        let result = ports
            .into_accounts()
            .decide(&admin(1), UserId(2), Decision::Reject)
            .await;
        assert!(matches!(
            result,
            Err(DecideError::AlreadyDecided(UserStatus::Approved))
        ));
    }

    #[tokio::test]
    async fn an_unknown_id_is_not_found() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_id().returning(|_| Ok(None));
        let result = ports
            .into_accounts()
            .decide(&admin(1), UserId(404), Decision::Accept)
            .await;
        assert!(matches!(result, Err(DecideError::NotFound)));
    }

    #[tokio::test]
    async fn a_non_administrator_is_forbidden_before_any_lookup() {
        let ports = Ports::new();
        let accounts = ports.into_accounts();
        let ordinary = user(3, UserStatus::Approved);
        let result = accounts
            .decide(&ordinary, UserId(2), Decision::Accept)
            .await;
        assert!(matches!(result, Err(DecideError::Forbidden)));
        let listed = accounts
            .list_pending(&ordinary, PageRequest::default())
            .await;
        assert!(matches!(listed, Err(ListPendingError::Forbidden)));
    }

    #[tokio::test]
    async fn an_administrator_lists_pending_registrations() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_list_pending()
            .withf(|page| page.limit() == 50 && page.offset() == 0)
            .returning(|request| {
                Ok(Page::at_offset(
                    vec![user(2, UserStatus::Pending)],
                    1,
                    request,
                ))
            });
        let page = ports
            .into_accounts()
            .list_pending(&admin(1), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total, 1);
        assert_eq!(page.items[0].id, UserId(2));
    }
}
