use super::ports::{HashingError, InsertUserError, NewUser};
use crate::password::PasswordContext;
use crate::storage::RepositoryError;
use crate::user::DecisionRecord;
use crate::{Email, FieldErrors, Money, Password, PersonName, User, UserStatus};

use super::Accounts;

#[derive(Debug, Clone)]
pub struct CreateAdminRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    #[error(transparent)]
    Invalid(FieldErrors),
    #[error("a user with this e-mail already exists")]
    EmailTaken,
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl Accounts {
    /// Creates an administrator, approved from the start. Administrators
    /// pass the same password rules as everyone else.
    #[tracing::instrument(name = "create_admin", skip_all)]
    pub async fn create_admin(
        &self,
        request: CreateAdminRequest,
    ) -> Result<User, CreateAdminError> {
        let mut errors = FieldErrors::new();
        let email = errors.collect("email", Email::parse(&request.email));
        let context = PasswordContext {
            email: email.as_ref(),
            first_name: None,
            last_name: None,
        };
        let password = errors.collect_each("password", Password::parse(&request.password, context));
        let (Some(email), Some(password)) = (email, password) else {
            return Err(CreateAdminError::Invalid(errors));
        };
        let now = self.clock.now();
        let new_user = NewUser {
            email,
            first_name: PersonName::default(),
            last_name: PersonName::default(),
            password_hash: self.hasher.hash(&password).await?,
            status: UserStatus::Approved,
            is_admin: true,
            date_joined: now,
            decision: Some(DecisionRecord {
                decided_by: None,
                decided_at: now,
            }),
            real_balance: Money::ZERO,
            virtual_balance: Money::ZERO,
            // The operator typed the address on the server itself.
            email_verified_at: Some(now),
            awaiting_activation: false,
        };
        self.users.insert(new_user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => CreateAdminError::EmailTaken,
            InsertUserError::Repository(e) => CreateAdminError::Repository(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Ports;
    use crate::{PasswordHash, UserId};

    #[tokio::test]
    async fn an_admin_is_approved_from_the_start() {
        let mut ports = Ports::new();
        ports
            .hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$2b$admin".into())));
        ports
            .users
            .expect_insert()
            .withf(|new_user| {
                new_user.is_admin
                    && new_user.status == UserStatus::Approved
                    && new_user.decision.is_some_and(|d| d.decided_by.is_none())
            })
            .times(1)
            .returning(|new_user| Ok(new_user.into_user(UserId(1))));
        let request = CreateAdminRequest {
            email: "root@example.com".into(),
            password: "tangerine-orbit-77".into(),
        };
        let admin = ports.into_accounts().create_admin(request).await.unwrap();
        assert!(admin.may_decide());
    }

    #[tokio::test]
    async fn a_weak_admin_password_is_refused() {
        let ports = Ports::new();
        let request = CreateAdminRequest {
            email: "root@example.com".into(),
            password: "password".into(),
        };
        let result = ports.into_accounts().create_admin(request).await;
        assert!(matches!(result, Err(CreateAdminError::Invalid(_))));
    }
}
