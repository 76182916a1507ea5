use crate::search_term::SearchTerm;
use crate::storage::RepositoryError;
use crate::{FieldError, FieldErrors, Page, PageRequest, User, UserId, UserStatus};

use super::Accounts;

/// A user list query, as received.
#[derive(Debug, Clone, Default)]
pub struct ListUsersRequest {
    pub status: Option<String>,
    pub search: Option<String>,
}

/// Which users a list holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    pub status: Option<UserStatus>,
    pub search: Option<SearchTerm>,
    /// Only this user (what a non-administrator may see).
    pub only: Option<UserId>,
}

#[derive(Debug, thiserror::Error)]
pub enum ListUsersError {
    #[error(transparent)]
    Invalid(FieldErrors),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadUserError {
    /// Unknown, erased, or someone else's while the caller is not an
    /// administrator: all look the same.
    #[error("no user with this id")]
    NotFound,
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

impl ListUsersRequest {
    fn parse(&self) -> Result<(Option<UserStatus>, Option<SearchTerm>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => UserStatus::parse(raw).or_else(|| {
                errors.add("status", FieldError::UnknownStatus(raw.to_owned()));
                None
            }),
        };
        let search = match &self.search {
            None => None,
            Some(raw) => errors.collect("search", SearchTerm::parse(raw)).flatten(),
        };
        errors.into_result().map(|()| (status, search))
    }
}

impl Accounts {
    /// djoser's `HIDE_USERS`: an administrator lists every user, anyone
    /// else a list holding only themself. Erased accounts are never listed.
    #[tracing::instrument(name = "list_users", skip(self, caller, request), fields(caller = %caller.id))]
    pub async fn list_users(
        &self,
        caller: &User,
        request: ListUsersRequest,
        page: PageRequest,
    ) -> Result<Page<User>, ListUsersError> {
        let (status, search) = request.parse().map_err(ListUsersError::Invalid)?;
        let filter = UserFilter {
            status,
            search,
            only: (!caller.may_decide()).then_some(caller.id),
        };
        Ok(self.users.list(filter, page).await?)
    }

    /// A profile the caller may see: their own, or anyone's for an
    /// administrator. Another user's id is "not found", never "forbidden",
    /// so that ids reveal nothing.
    #[tracing::instrument(name = "read_user", skip(self, caller), fields(caller = %caller.id))]
    pub async fn read_user(&self, caller: &User, id: UserId) -> Result<User, ReadUserError> {
        if caller.id != id && !caller.may_decide() {
            return Err(ReadUserError::NotFound);
        }
        self.users
            .find_by_id(id)
            .await?
            .ok_or(ReadUserError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search_term::MAX_SEARCH_CHARS;
    use crate::testing::{admin, user, Ports};

    fn one_page(users: Vec<User>, request: PageRequest) -> Page<User> {
        Page::at_offset(users.clone(), users.len() as u64, request)
    }

    #[tokio::test]
    async fn an_administrator_lists_everyone_with_filters() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_list()
            .withf(|filter, _| {
                filter.only.is_none()
                    && filter.status == Some(UserStatus::Pending)
                    && filter.search.as_ref().map(SearchTerm::as_str) == Some("ann%")
            })
            .times(1)
            .returning(|_, page| Ok(one_page(vec![user(2, UserStatus::Pending)], page)));
        let request = ListUsersRequest {
            status: Some("pending".into()),
            search: Some("  ANN% ".into()),
        };
        let page = ports
            .into_accounts()
            .list_users(&admin(1), request, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.items[0].id, UserId(2));
    }

    #[tokio::test]
    async fn a_user_lists_only_themself() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_list()
            .withf(|filter, _| filter.only == Some(UserId(4)) && filter.search.is_none())
            .times(1)
            .returning(|_, page| Ok(one_page(vec![user(4, UserStatus::Approved)], page)));
        let page = ports
            .into_accounts()
            .list_users(
                &user(4, UserStatus::Approved),
                ListUsersRequest {
                    search: Some("   ".into()),
                    ..Default::default()
                },
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(page.total, 1);
    }

    #[tokio::test]
    async fn a_bad_status_and_an_overlong_search_are_both_named() {
        let ports = Ports::new();
        let request = ListUsersRequest {
            status: Some("archived".into()),
            search: Some("a".repeat(MAX_SEARCH_CHARS + 1)),
        };
        let Err(ListUsersError::Invalid(errors)) = ports
            .into_accounts()
            .list_users(&admin(1), request, PageRequest::default())
            .await
        else {
            panic!("expected field errors");
        };
        let fields: Vec<&str> = errors.fields().keys().map(String::as_str).collect();
        assert_eq!(fields, ["search", "status"]);
    }

    #[tokio::test]
    async fn someone_elses_profile_is_not_found_without_a_lookup() {
        let ports = Ports::new();
        let result = ports
            .into_accounts()
            .read_user(&user(4, UserStatus::Approved), UserId(5))
            .await;
        assert!(matches!(result, Err(ReadUserError::NotFound)));
    }

    #[tokio::test]
    async fn an_administrator_reads_anyone_and_a_user_themself() {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_id()
            .returning(|id| Ok((id.0 != 404).then(|| user(id.0, UserStatus::Approved))));
        let accounts = ports.into_accounts();
        assert_eq!(
            accounts.read_user(&admin(1), UserId(5)).await.unwrap().id,
            UserId(5)
        );
        let me = user(4, UserStatus::Approved);
        assert_eq!(accounts.read_user(&me, UserId(4)).await.unwrap().id, me.id);
        assert!(matches!(
            accounts.read_user(&admin(1), UserId(404)).await,
            Err(ReadUserError::NotFound)
        ));
    }
}
