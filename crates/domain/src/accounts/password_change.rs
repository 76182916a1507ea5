use super::ports::HashingError;
use crate::password::PasswordContext;
use crate::storage::RepositoryError;
use crate::throttling::{ClientAddress, Throttled};
use crate::{FieldErrors, Password, Retyped, User};

use super::{check_retyped, Accounts};

/// djoser's `set_password`, as received.
#[derive(Debug, Clone)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
    /// djoser's `re_new_password`, when the client retypes it.
    pub re_new_password: Option<String>,
    /// Where the request comes from: the check of the current password
    /// counts against the account's login limits from there.
    pub client: ClientAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// A wrong current password, a new one that fails the rules, or a
    /// retyped one that differs; every such field is named.
    #[error(transparent)]
    Invalid(FieldErrors),
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

super::current_password::password_check_error_into!(ChangePasswordError);

impl Accounts {
    /// Replaces the caller's password after checking the current one. The
    /// new password passes the registration rules, similarity to this
    /// account's e-mail and names included.
    #[tracing::instrument(name = "change_password", skip_all, fields(user = %user.id))]
    pub async fn change_password(
        &self,
        user: &User,
        request: ChangePasswordRequest,
    ) -> Result<(), ChangePasswordError> {
        let mut errors = FieldErrors::new();
        let new_password = errors.collect_each(
            "new_password",
            Password::parse(&request.new_password, PasswordContext::of(user)),
        );
        if let Some(retyped) = &request.re_new_password {
            check_retyped(
                &mut errors,
                Retyped::Password,
                *retyped == request.new_password,
            );
        }
        self.check_current_password(user, &request.current_password, request.client, &mut errors)
            .await?;
        let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
            return Err(ChangePasswordError::Invalid(errors));
        };
        let hash = self.hasher.hash(&new_password).await?;
        if !self
            .users
            .set_password(user.id, hash, self.clock.now())
            .await?
        {
            return Err(ChangePasswordError::NotFound);
        }
        tracing::info!("password changed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordError;
    use crate::testing::{at, user, Ports};
    use crate::FieldError;
    use crate::{PasswordHash, UserId, UserStatus};

    fn request(current: &str, new: &str) -> ChangePasswordRequest {
        ChangePasswordRequest {
            current_password: current.into(),
            new_password: new.into(),
            re_new_password: None,
            client: crate::throttling::ClientAddress::new([203, 0, 113, 9].into()),
        }
    }

    #[tokio::test]
    async fn stores_the_new_hash_after_checking_the_current_password() {
        let mut ports = Ports::where_password_of_user_4_is("old-secret-words");
        ports
            .hasher
            .expect_hash()
            .withf(|password| password.expose() == "quartz-lantern-61")
            .times(1)
            .returning(|_| Ok(PasswordHash::new("$2b$new".into())));
        ports
            .users
            .expect_set_password()
            .withf(|id, hash, when| {
                *id == UserId(4) && hash.as_str() == "$2b$new" && *when == at(3600)
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        ports
            .into_accounts()
            .change_password(
                &user(4, UserStatus::Approved),
                request("old-secret-words", "quartz-lantern-61"),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_wrong_current_password_and_a_weak_new_one_are_both_named() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let Err(ChangePasswordError::Invalid(errors)) = ports
            .into_accounts()
            .change_password(&user(4, UserStatus::Approved), request("guess", "12345678"))
            .await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()["current_password"],
            [FieldError::WrongPassword]
        );
        assert!(errors.fields()["new_password"]
            .contains(&FieldError::Password(PasswordError::EntirelyNumeric)));
    }

    #[tokio::test]
    async fn the_new_password_may_not_resemble_the_account() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let mut me = user(4, UserStatus::Approved);
        me.last_name = crate::PersonName::parse("Featherstonehaugh").unwrap();
        let Err(ChangePasswordError::Invalid(errors)) = ports
            .into_accounts()
            .change_password(&me, request("old-secret-words", "Featherstonehaugh1"))
            .await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()["new_password"],
            [FieldError::Password(PasswordError::TooSimilar("last name"))]
        );
    }

    #[tokio::test]
    async fn a_retyped_password_must_match() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let mut mismatched = request("old-secret-words", "quartz-lantern-61");
        mismatched.re_new_password = Some("quartz-lantern-62".into());
        let Err(ChangePasswordError::Invalid(errors)) = ports
            .into_accounts()
            .change_password(&user(4, UserStatus::Approved), mismatched)
            .await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()[FieldErrors::WHOLE_REQUEST],
            [FieldError::Mismatch(Retyped::Password)]
        );
    }

    #[tokio::test]
    async fn a_73_byte_new_password_is_refused_before_hashing() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let long = format!("{}a", "Qw7!".repeat(18));
        assert_eq!(long.len(), 73);
        let Err(ChangePasswordError::Invalid(errors)) = ports
            .into_accounts()
            .change_password(
                &user(4, UserStatus::Approved),
                request("old-secret-words", &long),
            )
            .await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()["new_password"],
            [FieldError::Password(PasswordError::TooLong)]
        );
    }

    #[tokio::test]
    async fn a_vanished_user_is_not_found() {
        let mut ports = Ports::where_password_of_user_4_is("old-secret-words");
        ports
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$2b$new".into())));
        ports
            .users
            .expect_set_password()
            .returning(|_, _, _| Ok(false));
        let result = ports
            .into_accounts()
            .change_password(
                &user(4, UserStatus::Approved),
                request("old-secret-words", "quartz-lantern-61"),
            )
            .await;
        assert!(matches!(result, Err(ChangePasswordError::NotFound)));
    }
}
