use crate::storage::RepositoryError;
use crate::{User, UserId};

use super::Accounts;

#[derive(Debug, thiserror::Error)]
pub enum EnableError {
    #[error("only administrators enable accounts")]
    Forbidden,
    #[error("no user with this id")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl Accounts {
    /// An administrator enables an account that was made inactive (Django's
    /// `is_active = false`, moved in as it was): it may log in and reset
    /// its password again. Enabling an active account changes nothing.
    #[tracing::instrument(name = "enable_account", skip(self, administrator), fields(administrator = %administrator.id))]
    pub async fn enable(&self, administrator: &User, target: UserId) -> Result<User, EnableError> {
        if !administrator.may_decide() {
            return Err(EnableError::Forbidden);
        }
        let user = self
            .users
            .enable(target)
            .await?
            .ok_or(EnableError::NotFound)?;
        tracing::info!(user = %target, "account enabled");
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{admin, user, Ports};
    use crate::UserStatus;
    use mockall::predicate::eq;

    #[tokio::test]
    async fn an_administrator_enables_an_account() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_enable()
            .with(eq(UserId(4)))
            .times(1)
            .returning(|_| Ok(Some(user(4, UserStatus::Approved))));
        let enabled = ports
            .into_accounts()
            .enable(&admin(1), UserId(4))
            .await
            .unwrap();
        assert!(enabled.is_active);
    }

    #[tokio::test]
    async fn nobody_else_does_and_a_missing_user_is_not_found() {
        // No call to the repository for a non-administrator.
        let refused = Ports::new()
            .into_accounts()
            .enable(&user(2, UserStatus::Approved), UserId(4))
            .await;
        assert!(matches!(refused, Err(EnableError::Forbidden)));
        let mut ports = Ports::new();
        ports.users.expect_enable().returning(|_| Ok(None));
        let missing = ports.into_accounts().enable(&admin(1), UserId(9)).await;
        assert!(matches!(missing, Err(EnableError::NotFound)));
    }
}
