//! The user repository against real databases: every test runs once on a
//! fresh SQLite file and once on a fresh PostgreSQL database.

use std::sync::Arc;

use authusers_domain::accounts::{InsertUserError, NewUser, UserRepository};
use authusers_domain::notification::{Language, OutgoingEmail};
use authusers_domain::outbox::OutboxRepository;
use authusers_domain::user::DecisionRecord;
use authusers_domain::Decision;
use authusers_domain::{Email, Money, PageRequest, PersonName, User, UserId, UserStatus};
use authusers_infra_diesel::test_support::{self, TestDatabase};
use authusers_infra_diesel::{on_both_backends, DieselOutboxRepository, DieselUserRepository};
use chrono::{DateTime, TimeZone, Utc};

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + seconds, 123_456_000)
        .unwrap()
}

fn new_user(email: &str, joined: i64) -> NewUser {
    NewUser {
        date_joined: at(joined),
        ..test_support::new_user(email)
    }
}

fn mail(user: &User) -> OutgoingEmail {
    OutgoingEmail::registration_decision(user, Decision::Accept, Language::English)
}

async fn repository(db: &TestDatabase) -> DieselUserRepository {
    DieselUserRepository::new(db.connect().await)
}

async fn inserts_and_finds_a_user(db: &TestDatabase) {
    let users = repository(db).await;
    let stored = users.insert(new_user("Ada@Example.com", 0)).await.unwrap();
    assert_eq!(stored.email.as_str(), "Ada@example.com");
    assert_eq!(stored.status, UserStatus::Pending);
    assert_eq!(stored.date_joined, at(0));
    assert_eq!(stored.real_balance, Money::ZERO);

    let by_id = users.find_by_id(stored.id).await.unwrap();
    assert_eq!(by_id, Some(stored.clone()));
    let by_email = users
        .find_by_email(&Email::parse("ADA@EXAMPLE.COM").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email, Some(stored));
    assert_eq!(users.find_by_id(UserId(9_999)).await.unwrap(), None);
    let unknown = Email::parse("nobody@example.com").unwrap();
    assert_eq!(users.find_by_email(&unknown).await.unwrap(), None);
}

async fn refuses_an_email_differing_only_in_case(db: &TestDatabase) {
    let users = repository(db).await;
    users
        .insert(new_user("grace@example.com", 0))
        .await
        .unwrap();
    let second = users.insert(new_user("GRACE@example.com", 1)).await;
    assert!(matches!(second, Err(InsertUserError::EmailTaken)));
}

async fn of_two_racing_registrations_exactly_one_wins(db: &TestDatabase) {
    let users = Arc::new(repository(db).await);
    for round in 0..5 {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let users = Arc::clone(&users);
                let email = if i % 2 == 0 {
                    format!("race{round}@example.com")
                } else {
                    format!("RACE{round}@example.com")
                };
                tokio::spawn(async move { users.insert(new_user(&email, i)).await })
            })
            .collect();
        let mut won = 0;
        let mut taken = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(InsertUserError::EmailTaken) => taken += 1,
                Err(other) => panic!("unexpected failure: {other}"),
            }
        }
        assert_eq!((won, taken), (1, 7), "round {round}");
    }
}

async fn lists_pending_users_oldest_first_by_page(db: &TestDatabase) {
    let users = repository(db).await;
    let mut ids = Vec::new();
    for i in (0..5).rev() {
        ids.push(
            users
                .insert(new_user(&format!("p{i}@example.com"), i))
                .await
                .unwrap(),
        );
    }
    let approved = NewUser {
        status: UserStatus::Approved,
        ..new_user("approved@example.com", -10)
    };
    users.insert(approved).await.unwrap();

    let first = users
        .list_pending(PageRequest::new(Some(2), None).unwrap())
        .await
        .unwrap();
    assert_eq!(first.total, 5);
    let emails: Vec<&str> = first.items.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["p0@example.com", "p1@example.com"]);
    assert!(first.has_next() && !first.has_previous());

    let last = users
        .list_pending(PageRequest::new(Some(2), Some(4)).unwrap())
        .await
        .unwrap();
    let emails: Vec<&str> = last.items.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["p4@example.com"]);
    assert!(!last.has_next() && last.has_previous());
}

async fn updates_names(db: &TestDatabase) {
    let users = repository(db).await;
    let stored = users
        .insert(new_user("names@example.com", 0))
        .await
        .unwrap();
    let updated = users
        .update_names(
            stored.id,
            PersonName::parse("Augusta").unwrap(),
            PersonName::parse("King").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.first_name.as_str(), "Augusta");
    assert_eq!(updated.last_name.as_str(), "King");
    assert_eq!(updated.email, stored.email);
    let missing = users
        .update_names(UserId(4_242), PersonName::default(), PersonName::default())
        .await
        .unwrap();
    assert_eq!(missing, None);
}

async fn saves_a_decision_once(db: &TestDatabase) {
    let users = repository(db).await;
    let admin = users
        .insert(NewUser {
            status: UserStatus::Approved,
            is_admin: true,
            ..new_user("admin@example.com", 0)
        })
        .await
        .unwrap();
    let pending = users.insert(new_user("wait@example.com", 1)).await.unwrap();

    let decided = |status, seconds| User {
        status,
        decision: Some(DecisionRecord {
            decided_by: Some(admin.id),
            decided_at: at(seconds),
        }),
        ..pending.clone()
    };
    assert!(users
        .save_decision(&decided(UserStatus::Approved, 60), &mail(&pending))
        .await
        .unwrap());
    assert!(!users
        .save_decision(&decided(UserStatus::Rejected, 120), &mail(&pending))
        .await
        .unwrap());

    let stored = users.find_by_id(pending.id).await.unwrap().unwrap();
    assert_eq!(stored.status, UserStatus::Approved);
    assert_eq!(
        stored.decision,
        Some(DecisionRecord {
            decided_by: Some(admin.id),
            decided_at: at(60)
        })
    );
}

async fn of_racing_decisions_exactly_one_is_saved(db: &TestDatabase) {
    let users = Arc::new(repository(db).await);
    let pending = users
        .insert(new_user("contested@example.com", 0))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let users = Arc::clone(&users);
            let mut user = pending.clone();
            user.status = if i % 2 == 0 {
                UserStatus::Approved
            } else {
                UserStatus::Rejected
            };
            user.decision = Some(DecisionRecord {
                decided_by: None,
                decided_at: at(i),
            });
            tokio::spawn(async move { users.save_decision(&user, &mail(&user)).await.unwrap() })
        })
        .collect();
    let mut saved = 0;
    for task in tasks {
        saved += usize::from(task.await.unwrap());
    }
    assert_eq!(saved, 1);
    // Only the winning decision queued an e-mail.
    let outbox = DieselOutboxRepository::new(db.connect().await);
    assert_eq!(outbox.backlog().await.unwrap().pending, 1);
}

async fn migrations_are_all_applied(db: &TestDatabase) {
    let database = db.connect().await;
    assert_eq!(database.pending_migrations().await.unwrap(), 0);
    assert!(database.migrate().await.unwrap().is_empty());
}

on_both_backends!(
    inserts_and_finds_a_user,
    refuses_an_email_differing_only_in_case,
    of_two_racing_registrations_exactly_one_wins,
    lists_pending_users_oldest_first_by_page,
    updates_names,
    saves_a_decision_once,
    of_racing_decisions_exactly_one_is_saved,
    migrations_are_all_applied,
);
