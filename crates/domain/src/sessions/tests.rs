use std::sync::Arc;

use chrono::Duration;
use mockall::predicate::eq;

use super::*;
use crate::accounts::MockUserRepository;
use crate::clock::MockClock;
use crate::testing::{admin, at, user};
use crate::UserStatus;

fn id(byte: u8) -> SessionId {
    SessionId::from_bytes([byte; 16])
}

struct Ports {
    sessions: MockSessionRepository,
    users: MockUserRepository,
    ids: MockSessionIdSource,
}

impl Ports {
    fn new() -> Self {
        Self {
            sessions: MockSessionRepository::new(),
            users: MockUserRepository::new(),
            ids: MockSessionIdSource::new(),
        }
    }

    fn into_sessions(self) -> Sessions {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| at(3600));
        Sessions::new(
            Arc::new(self.sessions),
            Arc::new(self.users),
            Arc::new(self.ids),
            Arc::new(clock),
            Duration::days(30),
        )
    }
}

fn refresh_claim(generation: u32) -> RefreshClaim {
    RefreshClaim {
        session: id(1),
        user: UserId(2),
        generation,
    }
}

#[tokio::test]
async fn a_login_opens_a_session_that_ends_within_its_maximum_age() {
    let mut ports = Ports::new();
    ports.ids.expect_new_id().times(1).returning(|| id(1));
    ports
        .sessions
        .expect_open()
        .withf(|new| {
            new.id == id(1)
                && new.user == UserId(2)
                && new.created_at == at(3600)
                && new.expires_at == at(3600) + Duration::days(30)
                && new.client.user_agent.as_deref() == Some("curl/8")
                && !new.second_factor
        })
        .times(1)
        .returning(|new| Ok(crate::testing::opened(new)));
    let grant = ports
        .into_sessions()
        .open(
            &user(2, UserStatus::Approved),
            ClientInfo::new(Some("curl/8"), None),
            false,
        )
        .await
        .unwrap();
    assert_eq!((grant.session, grant.generation), (id(1), 1));
    assert_eq!(grant.authentication, Authentication::password_at(at(3600)));
}

#[tokio::test]
async fn an_open_session_of_an_approved_user_authenticates() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_authenticate()
        .withf(|claim, now| claim.session == id(1) && claim.user == UserId(2) && *now == at(3600))
        .returning(|_, _| Ok(Some(user(2, UserStatus::Approved))));
    let claim = AccessClaim {
        session: id(1),
        user: UserId(2),
        authentication: Authentication::password_at(at(0)),
    };
    let found = ports.into_sessions().authenticate(&claim).await.unwrap();
    assert_eq!(found.id, UserId(2));
}

#[tokio::test]
async fn an_ended_session_or_a_user_no_longer_approved_does_not() {
    for stored in [None, Some(user(2, UserStatus::Rejected))] {
        let mut ports = Ports::new();
        ports
            .sessions
            .expect_authenticate()
            .returning(move |_, _| Ok(stored.clone()));
        let claim = AccessClaim {
            session: id(1),
            user: UserId(2),
            authentication: Authentication::password_at(at(0)),
        };
        let result = ports.into_sessions().authenticate(&claim).await;
        assert!(matches!(result, Err(SessionError::NotValid)));
    }
}

#[tokio::test]
async fn a_refresh_rotates_to_the_next_generation() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_rotate()
        .with(eq(refresh_claim(3)), eq(at(3600)))
        .returning(|_, _| {
            Ok(Rotation::Rotated {
                generation: 4,
                expires_at: at(7200),
                authentication: Authentication {
                    at: at(60),
                    second_factor: true,
                },
            })
        });
    let grant = ports
        .into_sessions()
        .refresh(&refresh_claim(3))
        .await
        .unwrap();
    assert_eq!((grant.generation, grant.expires_at), (4, at(7200)));
    // The session's proof of who signed in goes on in its new tokens.
    assert_eq!(
        grant.authentication,
        Authentication {
            at: at(60),
            second_factor: true
        }
    );
}

#[tokio::test]
async fn a_reused_or_dead_refresh_token_is_not_valid() {
    for rotation in [Rotation::Reused, Rotation::NotLive] {
        let mut ports = Ports::new();
        ports
            .sessions
            .expect_rotate()
            .returning(move |_, _| Ok(rotation));
        let result = ports.into_sessions().refresh(&refresh_claim(3)).await;
        assert!(matches!(result, Err(SessionError::NotValid)));
    }
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_live_generation()
        .withf(|session, user, now| *session == id(1) && *user == UserId(2) && *now == at(3600))
        .returning(|_, _, _| Ok(Some(3)));
    ports
        .sessions
        .expect_end()
        .withf(|session, _, reason, _| *session == id(1) && *reason == EndReason::LoggedOut)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    ports
        .into_sessions()
        .log_out(&refresh_claim(3))
        .await
        .unwrap();
}

#[tokio::test]
async fn logging_out_with_an_old_refresh_token_ends_the_session_as_reused() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_live_generation()
        .returning(|_, _, _| Ok(Some(2)));
    ports
        .sessions
        .expect_end()
        .withf(|_, _, reason, _| *reason == EndReason::RefreshReused)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    ports
        .into_sessions()
        .log_out(&refresh_claim(1))
        .await
        .unwrap();
}

/// Only a forger holds a generation the session never reached: nothing
/// ends, so that no one ends a session by guessing past it.
#[tokio::test]
async fn logging_out_with_a_generation_never_issued_ends_nothing() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_live_generation()
        .returning(|_, _, _| Ok(Some(2)));
    ports.sessions.expect_end().never();
    let result = ports.into_sessions().log_out(&refresh_claim(3)).await;
    assert!(matches!(result, Err(SessionError::NotValid)));
}

#[tokio::test]
async fn logging_out_of_an_ended_session_is_not_valid() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_live_generation()
        .returning(|_, _, _| Ok(None));
    ports.sessions.expect_end().never();
    let result = ports.into_sessions().log_out(&refresh_claim(1)).await;
    assert!(matches!(result, Err(SessionError::NotValid)));
}

#[tokio::test]
async fn verify_wants_an_open_session_and_a_refresh_token_of_its_live_generation() {
    for (live, presented, valid) in [
        (Some(3), None, true),
        (Some(3), Some(3), true),
        (Some(3), Some(2), false),
        (Some(3), Some(4), false),
        (None, None, false),
        (None, Some(1), false),
    ] {
        let mut ports = Ports::new();
        ports
            .sessions
            .expect_live_generation()
            .returning(move |_, _, _| Ok(live));
        let answer = ports
            .into_sessions()
            .is_valid(&id(1), UserId(2), presented)
            .await
            .unwrap();
        assert_eq!(answer, valid, "live {live:?}, presented {presented:?}");
    }
}

#[tokio::test]
async fn a_user_ends_one_of_their_sessions_by_id_and_only_theirs() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_end()
        .withf(|session, user, reason, _| {
            *session == id(7) && *user == UserId(2) && *reason == EndReason::EndedByUser
        })
        .returning(|_, _, _, _| Ok(true));
    let sessions = ports.into_sessions();
    let me = user(2, UserStatus::Approved);
    sessions.end_one(&me, id(7).as_str()).await.unwrap();

    let mut ports = Ports::new();
    ports
        .sessions
        .expect_end()
        .returning(|_, _, _, _| Ok(false));
    let someone_elses = ports.into_sessions().end_one(&me, id(8).as_str()).await;
    assert!(matches!(someone_elses, Err(EndSessionError::NotFound)));
}

#[tokio::test]
async fn a_malformed_session_id_is_not_found_without_a_look_up() {
    let ports = Ports::new();
    let sessions = ports.into_sessions();
    for bad in ["", "1", "../x", &"A".repeat(32)] {
        let result = sessions.end_one(&user(2, UserStatus::Approved), bad).await;
        assert!(matches!(result, Err(EndSessionError::NotFound)), "{bad}");
    }
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_end_all()
        .with(eq(UserId(2)), eq(EndReason::EndedByUser), eq(at(3600)))
        .times(1)
        .returning(|_, _, _| Ok(3));
    let ended = ports
        .into_sessions()
        .end_all(&user(2, UserStatus::Approved))
        .await
        .unwrap();
    assert_eq!(ended, 3);
}

#[tokio::test]
async fn only_an_administrator_ends_another_users_sessions() {
    let ports = Ports::new();
    let result = ports
        .into_sessions()
        .end_all_of(&user(3, UserStatus::Approved), UserId(2))
        .await;
    assert!(matches!(result, Err(EndUserSessionsError::Forbidden)));

    let mut ports = Ports::new();
    ports.users.expect_find_by_id().returning(|_| Ok(None));
    let unknown = ports
        .into_sessions()
        .end_all_of(&admin(1), UserId(404))
        .await;
    assert!(matches!(unknown, Err(EndUserSessionsError::NotFound)));

    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_id()
        .returning(|id| Ok(Some(user(id.0, UserStatus::Approved))));
    ports
        .sessions
        .expect_end_all()
        .with(
            eq(UserId(2)),
            eq(EndReason::EndedByAdministrator),
            eq(at(3600)),
        )
        .times(1)
        .returning(|_, _, _| Ok(2));
    let ended = ports
        .into_sessions()
        .end_all_of(&admin(1), UserId(2))
        .await
        .unwrap();
    assert_eq!(ended, 2);
}

#[tokio::test]
async fn only_an_administrator_sees_another_users_sessions() {
    let ports = Ports::new();
    let refused = ports
        .into_sessions()
        .list_of(&user(3, UserStatus::Approved), UserId(2))
        .await;
    assert!(matches!(refused, Err(EndUserSessionsError::Forbidden)));

    let mut ports = Ports::new();
    ports
        .sessions
        .expect_open_sessions()
        .with(eq(UserId(2)), eq(at(3600)))
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let listed = ports
        .into_sessions()
        .list_of(&admin(1), UserId(2))
        .await
        .unwrap();
    assert!(listed.is_empty());
}

#[tokio::test]
async fn pruning_forgets_what_ended_before_the_retention() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_prune()
        .with(eq(at(3600) - Duration::days(7)))
        .times(1)
        .returning(|_| Ok(5));
    let pruned = ports
        .into_sessions()
        .prune(Duration::days(7))
        .await
        .unwrap();
    assert_eq!(pruned, 5);
}

#[tokio::test]
async fn an_operator_names_the_user_by_email_in_any_case() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_email()
        .withf(|email| email.as_str() == "user2@example.com")
        .times(1)
        .returning(|_| Ok(Some(user(2, UserStatus::Approved))));
    ports
        .sessions
        .expect_open_sessions()
        .with(eq(UserId(2)), eq(at(3600)))
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let (found, sessions) = ports
        .into_sessions()
        .of_user_by_email(" user2@EXAMPLE.com ")
        .await
        .unwrap();
    assert_eq!((found.id, sessions.len()), (UserId(2), 0));
}

#[tokio::test]
async fn an_operator_is_told_of_a_bad_address_or_an_unknown_user() {
    let invalid = Ports::new()
        .into_sessions()
        .of_user_by_email("not an address")
        .await;
    assert!(matches!(
        invalid,
        Err(OperatorSessionsError::InvalidEmail(..))
    ));

    let mut ports = Ports::new();
    ports.users.expect_find_by_email().returning(|_| Ok(None));
    let unknown = ports
        .into_sessions()
        .of_user_by_email("nobody@example.com")
        .await;
    assert!(
        matches!(&unknown, Err(OperatorSessionsError::NoSuchUser(email)) if email == "nobody@example.com")
    );
}

#[tokio::test]
async fn an_operator_ends_every_session_of_a_user() {
    let mut ports = Ports::new();
    ports
        .sessions
        .expect_end_all()
        .with(
            eq(UserId(2)),
            eq(EndReason::EndedByAdministrator),
            eq(at(3600)),
        )
        .times(1)
        .returning(|_, _, _| Ok(4));
    let ended = ports
        .into_sessions()
        .end_all_by_operator(&user(2, UserStatus::Approved))
        .await
        .unwrap();
    assert_eq!(ended, 4);
}

/// User 2, moved in from the old service and otherwise as `change` makes it.
fn imported(change: impl FnOnce(&mut User)) -> User {
    let mut moved_in = user(2, UserStatus::Approved);
    moved_in.imported_at = Some(at(10));
    change(&mut moved_in);
    moved_in
}

#[tokio::test]
async fn the_old_services_tokens_are_believed_only_for_imported_users_whose_credentials_held() {
    let cases = [
        (imported(|_| {}), true),
        (imported(|u| u.credentials_changed_at = Some(at(20))), false),
        (imported(|u| u.is_active = false), false),
        (imported(|u| u.status = UserStatus::Rejected), false),
        (imported(|u| u.imported_at = None), false),
    ];
    for (stored, believed) in cases {
        let mut ports = Ports::new();
        let found = stored.clone();
        ports
            .users
            .expect_find_by_id()
            .with(eq(UserId(2)))
            .returning(move |_| Ok(Some(found.clone())));
        let result = ports.into_sessions().authenticate_legacy(UserId(2)).await;
        assert_eq!(result.is_ok(), believed, "{stored:?}");
    }
}

#[tokio::test]
async fn an_old_refresh_token_opens_one_session_once() {
    for first_time in [true, false] {
        let mut ports = Ports::new();
        ports
            .users
            .expect_find_by_id()
            .returning(|_| Ok(Some(imported(|_| {}))));
        ports.ids.expect_new_id().returning(|| id(5));
        ports
            .sessions
            .expect_open_for_legacy_refresh()
            .withf(|jti, new| {
                jti == "old-jti"
                    && new.user == UserId(2)
                    && new.expires_at == at(3600) + Duration::days(30)
            })
            .times(1)
            .returning(move |_, new| Ok(first_time.then_some(crate::testing::opened(new))));
        let result = ports
            .into_sessions()
            .exchange_legacy(UserId(2), "old-jti", ClientInfo::new(None, None))
            .await;
        match result {
            Ok(grant) => {
                assert!(first_time);
                assert_eq!((grant.session, grant.generation), (id(5), 1));
            }
            Err(SessionError::NotValid) => assert!(!first_time),
            Err(other) => panic!("{other:?}"),
        }
    }
}
