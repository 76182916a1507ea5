use super::ports::{HashingError, StoreEmailError};
use crate::notification::OutgoingEmail;
use crate::storage::RepositoryError;
use crate::throttling::{ClientAddress, Throttled};
use crate::{Email, FieldErrors, Retyped, User};

use super::{check_retyped, Accounts};

/// djoser's `set_email` (its `set_username` with the e-mail as the login
/// field), as received.
#[derive(Debug, Clone)]
pub struct ChangeEmailRequest {
    pub current_password: String,
    pub new_email: String,
    /// djoser's `re_new_email`, when the client retypes it.
    pub re_new_email: Option<String>,
    /// Where the request comes from: the check of the current password
    /// counts against the account's login limits from there.
    pub client: ClientAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeEmailError {
    #[error(transparent)]
    Invalid(FieldErrors),
    #[error("a user with this e-mail already exists")]
    EmailTaken,
    #[error("the user does not exist")]
    NotFound,
    /// Too many wrong passwords for this account: nothing was checked.
    #[error(transparent)]
    Throttled(Throttled),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

super::current_password::password_check_error_into!(ChangeEmailError);

impl Accounts {
    /// Moves the account to a new address, unique as at registration, and
    /// tells the old address in the same transaction, so that an owner
    /// whose password was stolen learns of it.
    #[tracing::instrument(name = "change_email", skip_all, fields(user = %user.id))]
    pub async fn change_email(
        &self,
        user: &User,
        request: ChangeEmailRequest,
    ) -> Result<(), ChangeEmailError> {
        let mut errors = FieldErrors::new();
        let new_email = errors.collect("new_email", Email::parse(&request.new_email));
        if let (Some(new_email), Some(retyped)) = (&new_email, &request.re_new_email) {
            let same = Email::parse(retyped).is_ok_and(|r| r.canonical() == new_email.canonical());
            check_retyped(&mut errors, Retyped::Email, same);
        }
        self.check_current_password(user, &request.current_password, request.client, &mut errors)
            .await?;
        let Some(new_email) = new_email.filter(|_| errors.is_empty()) else {
            return Err(ChangeEmailError::Invalid(errors));
        };
        let notice = OutgoingEmail::email_changed(user, &new_email, self.mail_language);
        self.users
            .change_email(user.id, new_email, &notice, self.clock.now())
            .await
            .map_err(|e| match e {
                StoreEmailError::EmailTaken => ChangeEmailError::EmailTaken,
                StoreEmailError::NotFound => ChangeEmailError::NotFound,
                StoreEmailError::Repository(e) => ChangeEmailError::Repository(e),
            })?;
        self.mail_queued.mail_queued();
        tracing::info!("e-mail changed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::EmailError;
    use crate::testing::{user, Ports};
    use crate::FieldError;
    use crate::{UserId, UserStatus};

    fn request(current: &str, new: &str) -> ChangeEmailRequest {
        ChangeEmailRequest {
            current_password: current.into(),
            new_email: new.into(),
            re_new_email: None,
            client: crate::throttling::ClientAddress::new([203, 0, 113, 9].into()),
        }
    }

    #[tokio::test]
    async fn stores_the_new_address_and_tells_the_old_one() {
        let mut ports = Ports::where_password_of_user_4_is("old-secret-words");
        ports
            .users
            .expect_change_email()
            .withf(|id, email, notice, _| {
                *id == UserId(4)
                    && email.as_str() == "Ann.New@example.org"
                    && notice.to.as_str() == "user4@example.com"
                    && notice.subject == "Your e-mail address was changed"
                    && notice.text_body.contains("A***@example.org")
                    && !notice.text_body.contains("Ann.New")
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        ports
            .into_accounts()
            .change_email(
                &user(4, UserStatus::Approved),
                request("old-secret-words", " Ann.New@EXAMPLE.org "),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_wrong_password_and_a_bad_address_are_both_named_and_nothing_is_stored() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let Err(ChangeEmailError::Invalid(errors)) = ports
            .into_accounts()
            .change_email(
                &user(4, UserStatus::Approved),
                request("guess", "not-an-email"),
            )
            .await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()["current_password"],
            [FieldError::WrongPassword]
        );
        assert_eq!(
            errors.fields()["new_email"],
            [FieldError::Email(EmailError::Invalid)]
        );
    }

    #[tokio::test]
    async fn a_retyped_address_must_be_the_same_address() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let accounts = ports.into_accounts();
        let mut differs = request("old-secret-words", "ann@example.org");
        differs.re_new_email = Some("anne@example.org".into());
        let Err(ChangeEmailError::Invalid(errors)) = accounts
            .change_email(&user(4, UserStatus::Approved), differs)
            .await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()[FieldErrors::WHOLE_REQUEST],
            [FieldError::Mismatch(Retyped::Email)]
        );
    }

    #[tokio::test]
    async fn a_taken_address_is_reported_as_such() {
        let mut ports = Ports::where_password_of_user_4_is("old-secret-words");
        ports
            .users
            .expect_change_email()
            .returning(|_, _, _, _| Err(StoreEmailError::EmailTaken));
        let result = ports
            .into_accounts()
            .change_email(
                &user(4, UserStatus::Approved),
                request("old-secret-words", "taken@example.org"),
            )
            .await;
        assert!(matches!(result, Err(ChangeEmailError::EmailTaken)));
    }
}
