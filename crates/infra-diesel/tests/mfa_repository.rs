//! Second factors against real databases: an enrolment waits, is replaced,
//! and is put in force once; a step and a recovery code are accepted once,
//! also when several callers offer them at the same moment.

use authusers_domain::accounts::UserRepository;
use authusers_domain::mfa::{
    FactorChange, MfaRepository, RecoveryCodeDigest, SealedSecret, SessionsEnding, TimeStep,
};
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::password_reset::ResetToken;
use authusers_domain::sessions::{ClientInfo, EndReason, NewSession, SessionId, SessionRepository};
use authusers_domain::{Email, PasswordHash, UserId};
use authusers_infra_diesel::test_support::{self, at, TestDatabase};
use authusers_infra_diesel::{
    on_both_backends, DieselMfaRepository, DieselSessionRepository, DieselUserRepository,
};

/// A change that queues a notice to ann and ends no session.
fn quiet() -> FactorChange {
    FactorChange {
        notice: OutgoingEmail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Two-step sign-in".into(),
            text_body: "changed".into(),
            html_body: "<p>changed</p>".into(),
        },
        ending: None,
    }
}

async fn a_user(db: &TestDatabase) -> (DieselMfaRepository, UserId) {
    let database = db.connect().await;
    let user = DieselUserRepository::new(database.clone())
        .insert(test_support::new_user("ann@example.com"))
        .await
        .unwrap();
    (DieselMfaRepository::new(database), user.id)
}

fn digests(count: u8) -> Vec<RecoveryCodeDigest> {
    (0..count)
        .map(|i| RecoveryCodeDigest(format!("{i:064x}")))
        .collect()
}

/// A user with a factor in force since step 5, with `codes` recovery codes.
async fn in_force(db: &TestDatabase, codes: u8) -> (DieselMfaRepository, UserId) {
    let (mfa, user) = a_user(db).await;
    assert!(mfa
        .begin_enrolment(user, SealedSecret("sealed".into()), at(0))
        .await
        .unwrap());
    assert!(mfa
        .confirm(user, at(-600), TimeStep(5), at(1), digests(codes), quiet())
        .await
        .unwrap());
    (mfa, user)
}

async fn an_enrolment_waits_is_replaced_and_is_put_in_force_once(db: &TestDatabase) {
    let (mfa, user) = a_user(db).await;
    assert!(mfa.totp(user).await.unwrap().is_none());
    assert!(mfa
        .begin_enrolment(user, SealedSecret("one".into()), at(0))
        .await
        .unwrap());
    assert!(mfa
        .begin_enrolment(user, SealedSecret("two".into()), at(10))
        .await
        .unwrap());
    let waiting = mfa.totp(user).await.unwrap().unwrap();
    assert_eq!(
        (
            waiting.sealed.0.as_str(),
            waiting.created_at,
            waiting.confirmed_at
        ),
        ("two", at(10), None)
    );
    // Begun before the cut-off (expired): not put in force.
    assert!(!mfa
        .confirm(user, at(10), TimeStep(5), at(20), digests(10), quiet())
        .await
        .unwrap());
    assert!(mfa
        .confirm(user, at(5), TimeStep(5), at(20), digests(10), quiet())
        .await
        .unwrap());
    let on = mfa.totp(user).await.unwrap().unwrap();
    assert_eq!(
        (on.confirmed_at, on.last_step),
        (Some(at(20)), Some(TimeStep(5)))
    );
    assert_eq!(mfa.unused_recovery_codes(user).await.unwrap().len(), 10);
    // In force: no new enrolment, no second confirmation.
    assert!(!mfa
        .begin_enrolment(user, SealedSecret("three".into()), at(30))
        .await
        .unwrap());
    assert!(!mfa
        .confirm(user, at(0), TimeStep(6), at(31), digests(1), quiet())
        .await
        .unwrap());
    assert_eq!(mfa.totp(user).await.unwrap().unwrap().sealed.0, "two");
    assert_eq!(mfa.unused_recovery_codes(user).await.unwrap().len(), 10);
}

async fn a_step_is_accepted_once_even_by_callers_at_the_same_moment(db: &TestDatabase) {
    let (mfa, user) = in_force(db, 1).await;
    assert!(!mfa.accept_step(user, TimeStep(5)).await.unwrap());
    assert!(!mfa.accept_step(user, TimeStep(4)).await.unwrap());
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let mfa = mfa.clone();
            tokio::spawn(async move { mfa.accept_step(user, TimeStep(6)).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for caller in callers {
        accepted += usize::from(caller.await.unwrap());
    }
    assert_eq!(accepted, 1);
    assert_eq!(
        mfa.totp(user).await.unwrap().unwrap().last_step,
        Some(TimeStep(6))
    );
    // A waiting enrolment accepts no step.
    let (other, waiting) = {
        let database = db.connect().await;
        let user = DieselUserRepository::new(database.clone())
            .insert(test_support::new_user("bob@example.com"))
            .await
            .unwrap();
        (DieselMfaRepository::new(database), user.id)
    };
    assert!(other
        .begin_enrolment(waiting, SealedSecret("w".into()), at(0))
        .await
        .unwrap());
    assert!(!other.accept_step(waiting, TimeStep(9)).await.unwrap());
}

async fn a_recovery_code_works_once_and_a_new_set_voids_the_old(db: &TestDatabase) {
    let (mfa, user) = in_force(db, 3).await;
    let first = digests(3)[0].clone();
    let callers: Vec<_> = (0..6)
        .map(|_| {
            let (mfa, first) = (mfa.clone(), first.clone());
            tokio::spawn(async move { mfa.use_recovery_code(user, first, at(2)).await.unwrap() })
        })
        .collect();
    let mut used = 0;
    for caller in callers {
        used += usize::from(caller.await.unwrap());
    }
    assert_eq!(used, 1);
    assert_eq!(mfa.unused_recovery_codes(user).await.unwrap().len(), 2);

    let fresh = RecoveryCodeDigest("f".repeat(64));
    mfa.replace_recovery_codes(user, vec![fresh.clone()])
        .await
        .unwrap();
    assert_eq!(mfa.unused_recovery_codes(user).await.unwrap(), vec![fresh]);
    assert!(!mfa
        .use_recovery_code(user, digests(3)[1].clone(), at(3))
        .await
        .unwrap());
}

async fn removing_takes_the_factor_and_its_codes_and_needs_one_in_force(db: &TestDatabase) {
    let (mfa, user) = a_user(db).await;
    assert!(mfa
        .begin_enrolment(user, SealedSecret("waiting".into()), at(0))
        .await
        .unwrap());
    assert!(!mfa.remove(user, at(2), quiet()).await.unwrap());
    assert!(mfa
        .confirm(user, at(-1), TimeStep(1), at(1), digests(2), quiet())
        .await
        .unwrap());
    assert!(mfa.remove(user, at(2), quiet()).await.unwrap());
    assert!(mfa.totp(user).await.unwrap().is_none());
    assert!(mfa.unused_recovery_codes(user).await.unwrap().is_empty());
    assert!(!mfa.remove(user, at(2), quiet()).await.unwrap());
}

on_both_backends!(
    an_enrolment_waits_is_replaced_and_is_put_in_force_once,
    a_step_is_accepted_once_even_by_callers_at_the_same_moment,
    a_recovery_code_works_once_and_a_new_set_voids_the_old,
    removing_takes_the_factor_and_its_codes_and_needs_one_in_force,
);

/// An erased account keeps no second factor: its sealed secret and its
/// recovery codes go with its other personal data.
async fn erasing_the_account_takes_its_second_factor(db: &TestDatabase) {
    use authusers_domain::accounts::EraseOutcome;
    let (mfa, user) = in_force(db, 3).await;
    let users = DieselUserRepository::new(db.connect().await);
    assert_eq!(
        users.erase(user, at(5)).await.unwrap(),
        EraseOutcome::Erased
    );
    assert!(mfa.totp(user).await.unwrap().is_none());
    assert!(mfa.unused_recovery_codes(user).await.unwrap().is_empty());
    let left = db
        .number("SELECT count(*) AS value FROM mfa_recovery_codes")
        .await;
    assert_eq!(left, 0);
}

on_both_backends!(erasing_the_account_takes_its_second_factor);

async fn outbox_messages(db: &TestDatabase) -> i64 {
    db.number("SELECT count(*) AS value FROM outbox_messages")
        .await
}

/// Turning the factor on ends the account's other sessions and queues the
/// notice, in its transaction; a refused confirmation does neither.
async fn turning_it_on_ends_the_other_sessions_and_queues_the_notice(db: &TestDatabase) {
    let (mfa, user) = a_user(db).await;
    let sessions = DieselSessionRepository::new(db.connect().await);
    for byte in [1, 2] {
        sessions
            .open(NewSession {
                id: SessionId::from_bytes([byte; 16]),
                user,
                created_at: at(0),
                expires_at: at(1000),
                client: ClientInfo::default(),
                second_factor: false,
            })
            .await
            .unwrap();
    }
    let change = FactorChange {
        ending: Some(SessionsEnding {
            reason: EndReason::CredentialsChanged,
            except: Some(SessionId::from_bytes([1; 16])),
        }),
        ..quiet()
    };
    assert!(!mfa
        .confirm(
            user,
            at(-600),
            TimeStep(5),
            at(1),
            digests(1),
            change.clone()
        )
        .await
        .unwrap());
    assert_eq!(outbox_messages(db).await, 0);
    assert!(mfa
        .begin_enrolment(user, SealedSecret("sealed".into()), at(0))
        .await
        .unwrap());
    assert!(mfa
        .confirm(user, at(-600), TimeStep(5), at(1), digests(1), change)
        .await
        .unwrap());
    assert_eq!(outbox_messages(db).await, 1);
    let open = sessions.open_sessions(user, at(2)).await.unwrap();
    assert_eq!(
        open.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![SessionId::from_bytes([1; 16])]
    );
    // An administrator's reset ends them all.
    let reset = FactorChange {
        ending: Some(SessionsEnding {
            reason: EndReason::EndedByAdministrator,
            except: None,
        }),
        ..quiet()
    };
    assert!(mfa.remove(user, at(3), reset).await.unwrap());
    assert!(sessions
        .open_sessions(user, at(4))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(outbox_messages(db).await, 2);
}

fn token(byte: u8) -> ResetToken {
    ResetToken::from_bytes([byte; 32])
}

/// A sign-in's second step takes five attempts, racing or not, works once,
/// and expires; a credential change ends it.
async fn a_sign_in_step_takes_five_attempts_works_once_and_expires(db: &TestDatabase) {
    let (mfa, user) = a_user(db).await;
    mfa.open_challenge(token(1).digest(), user, at(300))
        .await
        .unwrap();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let mfa = mfa.clone();
            tokio::spawn(async move {
                mfa.take_challenge_attempt(token(1).digest(), at(10), 5)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut taken = 0;
    for racer in racers {
        if let Some(whose) = racer.await.unwrap() {
            assert_eq!(whose, user);
            taken += 1;
        }
    }
    assert_eq!(taken, 5);

    mfa.open_challenge(token(2).digest(), user, at(300))
        .await
        .unwrap();
    assert_eq!(
        mfa.take_challenge_attempt(token(2).digest(), at(10), 5)
            .await
            .unwrap(),
        Some(user)
    );
    assert!(mfa
        .finish_challenge(token(2).digest(), at(11))
        .await
        .unwrap());
    assert!(!mfa
        .finish_challenge(token(2).digest(), at(12))
        .await
        .unwrap());
    assert_eq!(
        mfa.take_challenge_attempt(token(2).digest(), at(13), 5)
            .await
            .unwrap(),
        None
    );

    mfa.open_challenge(token(3).digest(), user, at(300))
        .await
        .unwrap();
    assert_eq!(
        mfa.take_challenge_attempt(token(3).digest(), at(300), 5)
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        mfa.take_challenge_attempt(token(4).digest(), at(10), 5)
            .await
            .unwrap(),
        None,
        "never opened"
    );

    mfa.open_challenge(token(5).digest(), user, at(900))
        .await
        .unwrap();
    // The expired ones go; the live one stays.
    assert_eq!(mfa.prune_challenges(at(301)).await.unwrap(), 3);
    let users = DieselUserRepository::new(db.connect().await);
    assert!(users
        .set_password(user, PasswordHash::new("another".into()), at(20))
        .await
        .unwrap());
    assert_eq!(
        mfa.take_challenge_attempt(token(5).digest(), at(21), 5)
            .await
            .unwrap(),
        None,
        "the password changed"
    );

    let left = db
        .number("SELECT count(*) AS value FROM mfa_challenges")
        .await;
    assert_eq!(left, 0);
}

on_both_backends!(
    turning_it_on_ends_the_other_sessions_and_queues_the_notice,
    a_sign_in_step_takes_five_attempts_works_once_and_expires,
);
