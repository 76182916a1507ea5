//! Sessions against real databases, on SQLite and on PostgreSQL: the look-up
//! every request makes, rotation with reuse detection under racing
//! refreshes, ending them, and forgetting them.

use authusers_infra_diesel::test_support::at;
use std::sync::Arc;

use authusers_domain::accounts::{NewUser, UserRepository};
use authusers_domain::sessions::{
    AccessClaim, Authentication, ClientInfo, EndReason, NewSession, RefreshClaim, Rotation,
    SessionId, SessionRepository,
};
use authusers_domain::{PasswordHash, User, UserStatus};
use authusers_infra_diesel::test_support::{self, TestDatabase};
use authusers_infra_diesel::{on_both_backends, DieselSessionRepository, DieselUserRepository};
use chrono::Utc;

fn id(byte: u8) -> SessionId {
    SessionId::from_bytes([byte; 16])
}

struct Repositories {
    users: DieselUserRepository,
    sessions: Arc<DieselSessionRepository>,
}

async fn setup(db: &TestDatabase) -> (Repositories, User, User) {
    let database = db.connect().await;
    let users = DieselUserRepository::new(database.clone());
    let approved = |email: &'static str| NewUser {
        status: UserStatus::Approved,
        ..test_support::new_user(email)
    };
    let ann = users.insert(approved("ann@example.com")).await.unwrap();
    let bob = users.insert(approved("bob@example.com")).await.unwrap();
    let sessions = Arc::new(DieselSessionRepository::new(database));
    (Repositories { users, sessions }, ann, bob)
}

/// Opens session `byte` for `user` at 0, ending at 1000.
async fn open(repos: &Repositories, user: &User, byte: u8) -> SessionId {
    let session = repos
        .sessions
        .open(NewSession {
            id: id(byte),
            user: user.id,
            created_at: at(byte.into()),
            expires_at: at(1000),
            client: ClientInfo::new(Some("curl/8"), Some("192.0.2.7".into())),
            second_factor: false,
        })
        .await
        .unwrap();
    assert_eq!(session.generation, 1);
    session.id
}

fn access(session: &SessionId, user: &User) -> AccessClaim {
    AccessClaim {
        session: session.clone(),
        user: user.id,
        authentication: Authentication::password_at(at(0)),
    }
}

fn refresh(session: &SessionId, user: &User, generation: u32) -> RefreshClaim {
    RefreshClaim {
        session: session.clone(),
        user: user.id,
        generation,
    }
}

async fn a_session_authenticates_its_user_only_while_open(db: &TestDatabase) {
    let (repos, ann, bob) = setup(db).await;
    let session = open(&repos, &ann, 1).await;
    let found = repos
        .sessions
        .authenticate(&access(&session, &ann), at(10))
        .await
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(ann.id));
    // Another user's id with this session, an unknown session, expiry.
    assert!(repos
        .sessions
        .authenticate(&access(&session, &bob), at(10))
        .await
        .unwrap()
        .is_none());
    assert!(repos
        .sessions
        .authenticate(&access(&id(9), &ann), at(10))
        .await
        .unwrap()
        .is_none());
    assert!(repos
        .sessions
        .authenticate(&access(&session, &ann), at(1000))
        .await
        .unwrap()
        .is_none());
    // Ended.
    assert!(repos
        .sessions
        .end(&session, ann.id, EndReason::LoggedOut, at(20))
        .await
        .unwrap());
    assert!(repos
        .sessions
        .authenticate(&access(&session, &ann), at(30))
        .await
        .unwrap()
        .is_none());
    assert!(!repos
        .sessions
        .end(&session, ann.id, EndReason::LoggedOut, at(40))
        .await
        .unwrap());
}

async fn a_refresh_rotates_and_a_reused_one_ends_the_session(db: &TestDatabase) {
    let (repos, ann, bob) = setup(db).await;
    let session = open(&repos, &ann, 1).await;
    let rotated = repos
        .sessions
        .rotate(&refresh(&session, &ann, 1), at(10))
        .await
        .unwrap();
    assert_eq!(
        rotated,
        Rotation::Rotated {
            generation: 2,
            expires_at: at(1000),
            // Opened at 1 with the password alone.
            authentication: Authentication::password_at(at(1)),
        }
    );
    // Another user cannot rotate it, and an unknown session is not live.
    assert_eq!(
        repos
            .sessions
            .rotate(&refresh(&session, &bob, 2), at(11))
            .await
            .unwrap(),
        Rotation::NotLive
    );
    assert_eq!(
        repos
            .sessions
            .rotate(&refresh(&id(9), &ann, 1), at(11))
            .await
            .unwrap(),
        Rotation::NotLive
    );
    // Generation 1 again: a reuse. The whole session ends, generation 2 too.
    assert_eq!(
        repos
            .sessions
            .rotate(&refresh(&session, &ann, 1), at(12))
            .await
            .unwrap(),
        Rotation::Reused
    );
    assert!(repos
        .sessions
        .authenticate(&access(&session, &ann), at(13))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        repos
            .sessions
            .rotate(&refresh(&session, &ann, 2), at(14))
            .await
            .unwrap(),
        Rotation::NotLive
    );
    // The last use is kept.
    let listed = repos.sessions.open_sessions(ann.id, at(15)).await.unwrap();
    assert!(listed.is_empty());
}

/// Twenty refreshes with one token at once: exactly one rotates.
async fn of_twenty_racing_refreshes_exactly_one_rotates(db: &TestDatabase) {
    let (repos, ann, _) = setup(db).await;
    let session = open(&repos, &ann, 1).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let sessions = Arc::clone(&repos.sessions);
            let claim = refresh(&session, &ann, 1);
            tokio::spawn(async move { sessions.rotate(&claim, at(10)).await.unwrap() })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Rotation::Rotated { generation: 2, .. }) {
            rotated += 1;
        }
    }
    assert_eq!(rotated, 1);
}

async fn sessions_are_listed_and_ended_per_user(db: &TestDatabase) {
    let (repos, ann, bob) = setup(db).await;
    let first = open(&repos, &ann, 1).await;
    let second = open(&repos, &ann, 2).await;
    let bobs = open(&repos, &bob, 3).await;
    let listed = repos.sessions.open_sessions(ann.id, at(10)).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, [second.clone(), first.clone()], "newest first");
    assert_eq!(listed[0].client.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(listed[0].client.address.as_deref(), Some("192.0.2.7"));
    // Ann cannot end Bob's.
    assert!(!repos
        .sessions
        .end(&bobs, ann.id, EndReason::EndedByUser, at(11))
        .await
        .unwrap());
    assert_eq!(
        repos
            .sessions
            .end_all(ann.id, EndReason::EndedByUser, at(12))
            .await
            .unwrap(),
        2
    );
    assert!(repos
        .sessions
        .open_sessions(ann.id, at(13))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        repos
            .sessions
            .open_sessions(bob.id, at(13))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn a_credential_change_ends_every_session_in_its_transaction(db: &TestDatabase) {
    let (repos, ann, bob) = setup(db).await;
    let session = open(&repos, &ann, 1).await;
    let other = open(&repos, &ann, 2).await;
    let bobs = open(&repos, &bob, 3).await;
    assert!(repos
        .users
        .set_password(ann.id, PasswordHash::new("$2b$new".into()), Utc::now())
        .await
        .unwrap());
    for session in [&session, &other] {
        assert!(repos
            .sessions
            .authenticate(&access(session, &ann), at(10))
            .await
            .unwrap()
            .is_none());
    }
    assert!(repos
        .sessions
        .authenticate(&access(&bobs, &bob), at(10))
        .await
        .unwrap()
        .is_some());
}

async fn old_sessions_are_forgotten(db: &TestDatabase) {
    let (repos, ann, _) = setup(db).await;
    let ended = open(&repos, &ann, 1).await;
    let open_one = open(&repos, &ann, 2).await;
    repos
        .sessions
        .end(&ended, ann.id, EndReason::LoggedOut, at(100))
        .await
        .unwrap();
    assert_eq!(repos.sessions.prune(at(50)).await.unwrap(), 0);
    assert_eq!(repos.sessions.prune(at(200)).await.unwrap(), 1);
    assert_eq!(
        repos
            .sessions
            .open_sessions(ann.id, at(300))
            .await
            .unwrap()
            .len(),
        1
    );
    // Expired ones go too, once past the cut-off.
    assert_eq!(repos.sessions.prune(at(1001)).await.unwrap(), 1);
    assert!(
        repos
            .sessions
            .rotate(&refresh(&open_one, &ann, 1), at(10))
            .await
            .unwrap()
            == Rotation::NotLive
    );
}

/// What verify and log-out read: the live generation of an open session
/// of that user, and nothing for any other.
async fn the_live_generation_is_told_only_for_an_open_session_of_its_user(db: &TestDatabase) {
    let (repos, ann, bob) = setup(db).await;
    let session = open(&repos, &ann, 1).await;
    let live = |user: &User, now| {
        let sessions = Arc::clone(&repos.sessions);
        let session = session.clone();
        let user = user.id;
        async move { sessions.live_generation(&session, user, now).await.unwrap() }
    };
    assert_eq!(live(&ann, at(10)).await, Some(1));
    assert_eq!(live(&bob, at(10)).await, None);
    assert_eq!(live(&ann, at(1000)).await, None, "expired");
    let rotated = repos
        .sessions
        .rotate(&refresh(&session, &ann, 1), at(20))
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated { generation: 2, .. }));
    assert_eq!(live(&ann, at(30)).await, Some(2));
    assert!(repos
        .sessions
        .end(&session, ann.id, EndReason::LoggedOut, at(40))
        .await
        .unwrap());
    assert_eq!(live(&ann, at(50)).await, None, "ended");
    let unknown = repos
        .sessions
        .live_generation(&id(9), ann.id, at(10))
        .await
        .unwrap();
    assert_eq!(unknown, None);
}

/// Pruning deletes in batches, each its own short statement, until none
/// is left.
async fn pruning_goes_batch_by_batch_until_done(db: &TestDatabase) {
    let (repos, ann, _) = setup(db).await;
    for byte in 1..=7 {
        let session = open(&repos, &ann, byte).await;
        if byte != 4 {
            repos
                .sessions
                .end(&session, ann.id, EndReason::LoggedOut, at(100))
                .await
                .unwrap();
        }
    }
    let sessions = DieselSessionRepository::new(db.connect().await).with_prune_batch(2);
    assert_eq!(sessions.prune(at(200)).await.unwrap(), 6);
    assert_eq!(sessions.prune(at(200)).await.unwrap(), 0);
    let left = sessions.open_sessions(ann.id, at(300)).await.unwrap();
    assert_eq!(
        left.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        [id(4)]
    );
}

on_both_backends!(
    pruning_goes_batch_by_batch_until_done,
    the_live_generation_is_told_only_for_an_open_session_of_its_user,
    a_session_authenticates_its_user_only_while_open,
    a_refresh_rotates_and_a_reused_one_ends_the_session,
    of_twenty_racing_refreshes_exactly_one_rotates,
    sessions_are_listed_and_ended_per_user,
    a_credential_change_ends_every_session_in_its_transaction,
    old_sessions_are_forgotten,
);

/// A second factor proved in a session (step-up) is kept with it: the
/// rotations that follow carry it, and an ended session proves nothing.
async fn a_second_factor_proved_in_a_session_goes_on_through_its_refreshes(db: &TestDatabase) {
    let (repos, ann, bob) = setup(db).await;
    let session = open(&repos, &ann, 1).await;
    let proved = repos
        .sessions
        .prove_second_factor(&session, ann.id, at(20))
        .await
        .unwrap()
        .expect("the session is open");
    assert_eq!(
        proved.authentication(),
        Authentication {
            at: at(20),
            second_factor: true
        }
    );
    let rotated = repos
        .sessions
        .rotate(&refresh(&session, &ann, 1), at(30))
        .await
        .unwrap();
    assert_eq!(
        rotated,
        Rotation::Rotated {
            generation: 2,
            expires_at: at(1000),
            authentication: Authentication {
                at: at(20),
                second_factor: true
            },
        }
    );
    // Another user's session, or one that ended, proves nothing.
    assert!(repos
        .sessions
        .prove_second_factor(&session, bob.id, at(40))
        .await
        .unwrap()
        .is_none());
    repos
        .sessions
        .end(&session, ann.id, EndReason::LoggedOut, at(50))
        .await
        .unwrap();
    assert!(repos
        .sessions
        .prove_second_factor(&session, ann.id, at(60))
        .await
        .unwrap()
        .is_none());
}

on_both_backends!(a_second_factor_proved_in_a_session_goes_on_through_its_refreshes);
