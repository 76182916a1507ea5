//! One way in, for every entrance: the credentials are checked (with the
//! login limits and the hashing rules of `Accounts::log_in`), the entrance
//! decides who may pass, an account with a second factor takes a second
//! step (`mfa_token`, then a code or a recovery code), and only then is a
//! session opened.

use super::{SessionGrant, Sessions};
use crate::accounts::{Accounts, LoginError, LoginRequest, ProfileError};
use crate::mfa::{CheckError, Mfa, MfaToken, RecoveryCode, TotpCode};
use crate::sessions::ClientInfo;
use crate::storage::RepositoryError;
use crate::throttling::ClientAddress;
use crate::User;

/// Where a sign-in comes from, and so who may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entrance {
    /// `POST /auth/jwt/create/`: every approved user.
    Api,
    /// The administrators' console: administrators only.
    Console,
}

impl Entrance {
    /// Whether `user`, whose credentials are proved, may pass here.
    fn admits(self, user: &User) -> bool {
        self != Entrance::Console || user.may_decide()
    }
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

/// How a sign-in with the right credentials goes on.
#[derive(Debug)]
pub enum SignedIn {
    /// A session is open.
    Session(Box<User>, SessionGrant),
    /// The account has a second factor: the sign-in waits for it under
    /// this token.
    SecondStep(MfaToken),
}

/// What the second step of a sign-in offers.
#[derive(Debug, Clone)]
pub enum SecondFactorProof {
    Code(TotpCode),
    RecoveryCode(RecoveryCode),
}

#[derive(Debug, thiserror::Error)]
pub enum SecondStepError {
    /// The `mfa_token` is unknown, expired, used, out of attempts, or its
    /// account can no longer sign in: which, is never told.
    #[error("the sign-in step is not valid")]
    TokenNotValid,
    /// A wrong or used code, too many for the account, or a secret that
    /// does not open.
    #[error(transparent)]
    Check(CheckError),
    #[error("this entrance is for administrators")]
    NotAdministrator,
    #[error("the session could not be opened")]
    Session(#[source] RepositoryError),
}

/// The login sequence: log in, let the entrance judge, take the second
/// factor where there is one, open a session.
#[derive(Clone)]
pub struct SignIn {
    accounts: Accounts,
    sessions: Sessions,
    mfa: Mfa,
}

impl SignIn {
    pub fn new(accounts: Accounts, sessions: Sessions, mfa: Mfa) -> Self {
        Self {
            accounts,
            sessions,
            mfa,
        }
    }

    /// A session for the user, or the second step their factor asks for.
    pub async fn sign_in(
        &self,
        request: LoginRequest,
        client: ClientInfo,
        entrance: Entrance,
    ) -> Result<SignedIn, SignInError> {
        let user = self.accounts.log_in(request).await?;
        if !entrance.admits(&user) {
            return Err(SignInError::NotAdministrator);
        }
        if self
            .mfa
            .in_force(user.id)
            .await
            .map_err(SignInError::Session)?
        {
            let token = self
                .mfa
                .open_challenge(user.id)
                .await
                .map_err(SignInError::Session)?;
            tracing::info!(user = %user.id, "password proved; waiting for the second factor");
            return Ok(SignedIn::SecondStep(token));
        }
        let grant = self
            .sessions
            .open(&user, client, false)
            .await
            .map_err(SignInError::Session)?;
        Ok(SignedIn::Session(Box::new(user), grant))
    }

    /// The second step of a sign-in: each try takes one of the token's
    /// attempts, and a wrong code counts against the account too; the
    /// right one ends the step and opens a session that proved both
    /// factors.
    #[tracing::instrument(name = "sign_in_second_step", skip_all)]
    pub async fn complete(
        &self,
        token: &MfaToken,
        proof: SecondFactorProof,
        address: ClientAddress,
        client: ClientInfo,
        entrance: Entrance,
    ) -> Result<(User, SessionGrant), SecondStepError> {
        let user = self
            .mfa
            .take_challenge_attempt(token)
            .await
            .map_err(SecondStepError::Session)?
            .ok_or(SecondStepError::TokenNotValid)?;
        let checked = match &proof {
            SecondFactorProof::Code(code) => self.mfa.check_code(user, code, address).await,
            SecondFactorProof::RecoveryCode(code) => {
                self.mfa.use_recovery_code(user, code, address).await
            }
        };
        match checked {
            Ok(()) => {}
            // Removed since the password was proved.
            Err(CheckError::NothingToCheck) => return Err(SecondStepError::TokenNotValid),
            Err(other) => return Err(SecondStepError::Check(other)),
        }
        if !self
            .mfa
            .finish_challenge(token)
            .await
            .map_err(SecondStepError::Session)?
        {
            return Err(SecondStepError::TokenNotValid);
        }
        // Disabled or rejected since the password was proved: no way in.
        let user = match self.accounts.profile(user).await {
            Ok(user) if user.may_sign_in() => user,
            Err(ProfileError::Repository(e)) => return Err(SecondStepError::Session(e)),
            _ => return Err(SecondStepError::TokenNotValid),
        };
        if !entrance.admits(&user) {
            return Err(SecondStepError::NotAdministrator);
        }
        if matches!(proof, SecondFactorProof::RecoveryCode(_)) {
            tracing::warn!(user = %user.id, "signed in with a recovery code");
        }
        let grant = self
            .sessions
            .open(&user, client, true)
            .await
            .map_err(SecondStepError::Session)?;
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
    use crate::mfa::{MockMfaRepository, SealedSecret, StoredTotp, TimeStep};
    use crate::password_reset::TOKEN_BYTES;
    use crate::sessions::{MockSessionIdSource, MockSessionRepository, SessionId};
    use crate::testing::{admin, at, mfa_at, open_attempt_log, user, Ports};
    use crate::{UserId, UserStatus};

    /// Accounts where user `stored` has the password "right" (and is found
    /// by id too), a second factor as `factor` stores it, and sessions that
    /// open `opened` times.
    fn sign_in_with(stored: User, factor: MockMfaRepository, opened: usize) -> SignIn {
        let mut accounts = Ports::new();
        let email = stored.email.clone();
        let by_email = stored.clone();
        accounts
            .users
            .expect_find_by_email()
            .withf(move |sought| *sought == email)
            .returning(move |_| Ok(Some(by_email.clone())));
        let id = stored.id;
        accounts
            .users
            .expect_find_by_id()
            .withf(move |sought| *sought == id)
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
        let mfa = mfa_at(factor, true, open_attempt_log(), at(3600));
        SignIn::new(accounts.into_accounts(), sessions, mfa)
    }

    /// As [`sign_in_with`], for an account with no second factor.
    fn sign_in(stored: User, opened: usize) -> SignIn {
        let mut factor = MockMfaRepository::new();
        factor.expect_totp().returning(|_| Ok(None));
        sign_in_with(stored, factor, opened)
    }

    /// A factor in force whose last accepted step is long past, and a
    /// sign-in step whose token has attempts left when `live`.
    fn factor_with_step(live: bool) -> MockMfaRepository {
        let mut factor = MockMfaRepository::new();
        factor.expect_totp().returning(|_| {
            Ok(Some(StoredTotp {
                sealed: SealedSecret("sealed".into()),
                created_at: at(0),
                confirmed_at: Some(at(0)),
                last_step: Some(TimeStep(1)),
            }))
        });
        factor.expect_open_challenge().returning(|_, _, _| Ok(()));
        factor
            .expect_take_challenge_attempt()
            .returning(move |_, _, _| Ok(live.then_some(UserId(2))));
        factor.expect_accept_step().returning(|_, _| Ok(true));
        factor.expect_finish_challenge().returning(|_, _| Ok(true));
        factor
    }

    fn request(email: &str) -> LoginRequest {
        LoginRequest {
            email: email.to_owned(),
            password: "right".to_owned(),
            client: address(),
        }
    }

    fn address() -> ClientAddress {
        ClientAddress::new(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    fn client() -> ClientInfo {
        ClientInfo::new(Some("test"), Some("127.0.0.1".to_owned()))
    }

    /// The code of the clock's step (`at(3600)`), as the mocked codes
    /// compute it.
    fn current_code() -> TotpCode {
        TotpCode::parse(&format!("{:06}", TimeStep::at(at(3600)).0 % 1_000_000)).unwrap()
    }

    fn token() -> MfaToken {
        MfaToken::from_bytes([9; TOKEN_BYTES])
    }

    #[tokio::test]
    async fn the_api_opens_a_session_for_an_approved_user() {
        let signed = sign_in(user(2, UserStatus::Approved), 1)
            .sign_in(request("user2@example.com"), client(), Entrance::Api)
            .await
            .unwrap();
        let SignedIn::Session(user, grant) = signed else {
            panic!("no session: {signed:?}");
        };
        assert_eq!((user.id, grant.user), (UserId(2), UserId(2)));
        assert!(!grant.authentication.second_factor);
    }

    #[tokio::test]
    async fn the_console_lets_in_administrators_only_and_opens_nothing_for_others() {
        let refused = sign_in(user(2, UserStatus::Approved), 0)
            .sign_in(request("user2@example.com"), client(), Entrance::Console)
            .await;
        assert!(matches!(refused, Err(SignInError::NotAdministrator)));
        let signed = sign_in(admin(1), 1)
            .sign_in(request("user1@example.com"), client(), Entrance::Console)
            .await
            .unwrap();
        assert!(matches!(signed, SignedIn::Session(admin, _) if admin.may_decide()));
    }

    #[tokio::test]
    async fn an_account_with_a_second_factor_gets_a_step_not_a_session() {
        let signed = sign_in_with(user(2, UserStatus::Approved), factor_with_step(true), 0)
            .sign_in(request("user2@example.com"), client(), Entrance::Api)
            .await
            .unwrap();
        assert!(
            matches!(&signed, SignedIn::SecondStep(t) if t.encode() == token().encode()),
            "{signed:?}"
        );
    }

    #[tokio::test]
    async fn the_right_code_opens_a_session_that_proved_both_factors() {
        let (user, grant) = sign_in_with(user(2, UserStatus::Approved), factor_with_step(true), 1)
            .complete(
                &token(),
                SecondFactorProof::Code(current_code()),
                address(),
                client(),
                Entrance::Api,
            )
            .await
            .unwrap();
        assert_eq!(user.id, UserId(2));
        assert!(grant.authentication.second_factor);
        assert_eq!(grant.authentication.at, at(3600));
    }

    #[tokio::test]
    async fn a_wrong_code_or_a_dead_token_opens_nothing() {
        let wrong = sign_in_with(user(2, UserStatus::Approved), factor_with_step(true), 0)
            .complete(
                &token(),
                SecondFactorProof::Code(TotpCode::parse("000000").unwrap()),
                address(),
                client(),
                Entrance::Api,
            )
            .await;
        assert!(
            matches!(wrong, Err(SecondStepError::Check(CheckError::Refused(_)))),
            "{wrong:?}"
        );
        let dead = sign_in_with(user(2, UserStatus::Approved), factor_with_step(false), 0)
            .complete(
                &token(),
                SecondFactorProof::Code(current_code()),
                address(),
                client(),
                Entrance::Api,
            )
            .await;
        assert!(
            matches!(dead, Err(SecondStepError::TokenNotValid)),
            "{dead:?}"
        );
    }

    #[tokio::test]
    async fn an_account_disabled_during_the_step_gets_no_session() {
        let disabled = User {
            is_active: false,
            ..user(2, UserStatus::Approved)
        };
        let refused = sign_in_with(disabled, factor_with_step(true), 0)
            .complete(
                &token(),
                SecondFactorProof::Code(current_code()),
                address(),
                client(),
                Entrance::Api,
            )
            .await;
        assert!(
            matches!(refused, Err(SecondStepError::TokenNotValid)),
            "{refused:?}"
        );
    }
}
