use crate::storage::RepositoryError;
use crate::{FieldErrors, PersonName, User, UserId};

use super::Accounts;

/// A partial update of the caller's profile: absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateProfileRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the user does not exist")]
    NotFound,
    #[error(transparent)]
    Invalid(FieldErrors),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl Accounts {
    #[tracing::instrument(name = "profile", skip(self))]
    pub async fn profile(&self, id: UserId) -> Result<User, ProfileError> {
        self.users
            .find_by_id(id)
            .await?
            .ok_or(ProfileError::NotFound)
    }

    #[tracing::instrument(name = "update_profile", skip_all, fields(user = %current.id))]
    pub async fn update_profile(
        &self,
        current: &User,
        request: UpdateProfileRequest,
    ) -> Result<User, ProfileError> {
        let mut errors = FieldErrors::new();
        let first_name = match &request.first_name {
            Some(raw) => errors.collect("first_name", PersonName::parse(raw)),
            None => Some(current.first_name.clone()),
        };
        let last_name = match &request.last_name {
            Some(raw) => errors.collect("last_name", PersonName::parse(raw)),
            None => Some(current.last_name.clone()),
        };
        let (Some(first_name), Some(last_name)) = (first_name, last_name) else {
            return Err(ProfileError::Invalid(errors));
        };
        self.users
            .update_names(current.id, first_name, last_name)
            .await?
            .ok_or(ProfileError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{user, Ports};
    use crate::UserStatus;

    #[tokio::test]
    async fn changes_only_the_names_given() {
        let current = user(4, UserStatus::Approved);
        let mut ports = Ports::new();
        ports
            .users
            .expect_update_names()
            .withf(|id, first, last| {
                id.0 == 4 && first.as_str() == "Augusta" && last.as_str() == "Lovelace"
            })
            .times(1)
            .returning(|_, first, last| {
                let mut updated = user(4, UserStatus::Approved);
                updated.first_name = first;
                updated.last_name = last;
                Ok(Some(updated))
            });
        let request = UpdateProfileRequest {
            first_name: Some(" Augusta ".into()),
            last_name: None,
        };
        let updated = ports
            .into_accounts()
            .update_profile(&current, request)
            .await
            .unwrap();
        assert_eq!(updated.first_name.as_str(), "Augusta");
        assert_eq!(updated.last_name.as_str(), "Lovelace");
    }

    #[tokio::test]
    async fn refuses_overlong_names_and_stores_nothing() {
        let ports = Ports::new();
        let request = UpdateProfileRequest {
            first_name: None,
            last_name: Some("L".repeat(151)),
        };
        let result = ports
            .into_accounts()
            .update_profile(&user(4, UserStatus::Approved), request)
            .await;
        let Err(ProfileError::Invalid(errors)) = result else {
            panic!("expected field errors");
        };
        assert!(errors.fields().contains_key("last_name"));
    }

    #[tokio::test]
    async fn a_vanished_user_is_not_found() {
        let mut ports = Ports::new();
        ports.users.expect_find_by_id().returning(|_| Ok(None));
        let result = ports.into_accounts().profile(UserId(99)).await;
        assert!(matches!(result, Err(ProfileError::NotFound)));
    }
}
