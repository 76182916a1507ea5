//! One way in, for every entrance: the credentials are checked (with the
//! login limits and the hashing rules of `Accounts::log_in`), the entrance
//! decides who may pass, and only then is a session opened.

use super::{SessionGrant, Sessions};
use crate::accounts::{Accounts, LoginError, LoginRequest};
use crate::sessions::ClientInfo;
use crate::storage::RepositoryError;
use crate::User;

/// Where a sign-in comes from, and so who may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entrance {
    /// `POST /auth/jwt/create/`: every approved user.
    Api,
    /// The administrators' console: administrators only.
    Console,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Login(#[from] LoginError),
    /// The right credentials of someone this entrance does not let in; no
    /// session was opened.
    #[error("this entrance is for administrators")]
    NotAdministrator,
    #[error("the session could not be opened")]
    Session(#[source] RepositoryError),
}

/// The login sequence: log in, let the entrance judge, open a session.
#[derive(Clone)]
pub struct SignIn {
    accounts: Accounts,
    sessions: Sessions,
}

impl SignIn {
    pub fn new(accounts: Accounts, sessions: Sessions) -> Self {
        Self { accounts, sessions }
    }

    /// The user and their new session's grant, for the adapter to sign.
    pub async fn sign_in(
        &self,
        request: LoginRequest,
        client: ClientInfo,
        entrance: Entrance,
    ) -> Result<(User, SessionGrant), SignInError> {
        let user = self.accounts.log_in(request).await?;
        if entrance == Entrance::Console && !user.may_decide() {
            return Err(SignInError::NotAdministrator);
        }
        let grant = self
            .sessions
            .open(&user, client)
            .await
            .map_err(SignInError::Session)?;
        Ok((user, grant))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use super::*;
    use crate::accounts::MockUserRepository;
    use crate::clock::MockClock;
    use crate::sessions::{MockSessionIdSource, MockSessionRepository, SessionId};
    use crate::testing::{admin, at, user, Ports};
    use crate::throttling::ClientAddress;
    use crate::{UserId, UserStatus};

    /// Accounts where user `stored` has the password "right", and sessions
    /// that open `opened` times.
    fn sign_in(stored: User, opened: usize) -> SignIn {
        let mut accounts = Ports::new();
        let email = stored.email.clone();
        accounts
            .users
            .expect_find_by_email()
            .withf(move |sought| *sought == email)
            .returning(move |_| Ok(Some(stored.clone())));
        accounts
            .hasher
            .expect_verify()
            .returning(|candidate, _| Ok(candidate == "right"));
        accounts.hasher.expect_needs_rehash().return_const(false);
        let mut repository = MockSessionRepository::new();
        repository
            .expect_open()
            .times(opened)
            .returning(|new| Ok(crate::testing::opened(new)));
        let mut ids = MockSessionIdSource::new();
        ids.expect_new_id()
            .returning(|| SessionId::from_bytes([1; 16]));
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(3600));
        let sessions = Sessions::new(
            Arc::new(repository),
            Arc::new(MockUserRepository::new()),
            Arc::new(ids),
            Arc::new(clock),
            chrono::Duration::days(30),
        );
        SignIn::new(accounts.into_accounts(), sessions)
    }

    fn request(email: &str) -> LoginRequest {
        LoginRequest {
            email: email.to_owned(),
            password: "right".to_owned(),
            client: ClientAddress::new(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }
    }

    fn client() -> ClientInfo {
        ClientInfo::new(Some("test"), Some("127.0.0.1".to_owned()))
    }

    #[tokio::test]
    async fn the_api_opens_a_session_for_an_approved_user() {
        let (user, grant) = sign_in(user(2, UserStatus::Approved), 1)
            .sign_in(request("user2@example.com"), client(), Entrance::Api)
            .await
            .unwrap();
        assert_eq!((user.id, grant.user), (UserId(2), UserId(2)));
    }

    #[tokio::test]
    async fn the_console_lets_in_administrators_only_and_opens_nothing_for_others() {
        let refused = sign_in(user(2, UserStatus::Approved), 0)
            .sign_in(request("user2@example.com"), client(), Entrance::Console)
            .await;
        assert!(matches!(refused, Err(SignInError::NotAdministrator)));
        let (admin, _) = sign_in(admin(1), 1)
            .sign_in(request("user1@example.com"), client(), Entrance::Console)
            .await
            .unwrap();
        assert!(admin.may_decide());
    }
}
