//! Password-reset requests and links against real databases, on SQLite and
//! on PostgreSQL: the per-address limit, single use and expiry, with
//! racing requests.

use authusers_infra_diesel::test_support::at;
use std::sync::Arc;

use authusers_domain::accounts::{NewUser, UserRepository};
use authusers_domain::password_reset::{
    AddressDigest, PasswordResetRepository, ResetRequestOutcome, ResetRequestRecord, ResetToken,
};
use authusers_domain::throttling::{Check, CounterKey, Limit};
use authusers_domain::{Email, PasswordHash, User, UserStatus};
use authusers_infra_diesel::test_support::{self, TestDatabase};
use authusers_infra_diesel::{
    on_both_backends, Database, DieselPasswordResetRepository, DieselUserRepository,
};
use chrono::Duration;

fn token(byte: u8) -> ResetToken {
    ResetToken::from_bytes([byte; 32])
}

async fn setup(db: &TestDatabase) -> (Database, Arc<DieselPasswordResetRepository>, User) {
    let database = db.connect().await;
    let users = DieselUserRepository::new(database.clone());
    let ann = users
        .insert(NewUser {
            status: UserStatus::Approved,
            ..test_support::new_user("ann@example.com")
        })
        .await
        .unwrap();
    let resets = Arc::new(DieselPasswordResetRepository::new(database.clone()));
    (database, resets, ann)
}

/// A request at `now` for `user`'s address, with a link holding `token`
/// (valid an hour), limited to `limit` mails an hour.
fn request(user: &User, token: &ResetToken, now: i64, limit: Option<u32>) -> ResetRequestRecord {
    test_support::reset_request(user, token, at(now), limit)
}

async fn a_link_is_stored_as_a_digest_and_its_mail_queued(db: &TestDatabase) {
    let (database, resets, ann) = setup(db).await;
    let outcome = resets
        .record_request(request(&ann, &token(1), 0, Some(3)))
        .await
        .unwrap();
    assert_eq!(outcome, ResetRequestOutcome::Mailed);
    let live = resets.live_links(ann.id, at(1)).await.unwrap();
    assert_eq!(live.len(), 1);
    assert!(live[0].digest.matches(&token(1).digest()));
    let outbox = database.outbox_for_tests().await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].recipient, "ann@example.com");
    assert_eq!(outbox[0].subject, "Reset your password");
    assert_eq!(outbox[0].user_id, Some(ann.id.0));
    // The token itself is nowhere in the database.
    database
        .execute_for_tests(&format!(
            "DELETE FROM password_reset_requests WHERE token_digest = '{}'",
            token(1).encode()
        ))
        .await;
    assert_eq!(resets.live_links(ann.id, at(1)).await.unwrap().len(), 1);
}

async fn an_address_without_an_account_is_recorded_and_mailed_nothing(db: &TestDatabase) {
    let (database, resets, _) = setup(db).await;
    let nobody = Email::parse("nobody@example.com").unwrap();
    let record = ResetRequestRecord {
        address: AddressDigest::of(&nobody),
        at: at(0),
        mail_limit: Some(Check {
            key: CounterKey::reset_mail(&nobody),
            limit: Limit::new(3, Duration::hours(1)).unwrap(),
        }),
        forget_before: at(0) - Duration::hours(1),
        link: None,
    };
    let outcome = resets.record_request(record).await.unwrap();
    assert_eq!(outcome, ResetRequestOutcome::NoAccount);
    assert!(database.outbox_for_tests().await.is_empty());
}

async fn at_most_the_limit_of_mails_an_hour(db: &TestDatabase) {
    let (database, resets, ann) = setup(db).await;
    for (n, now) in [0, 60, 120].into_iter().enumerate() {
        let outcome = resets
            .record_request(request(&ann, &token(n as u8), now, Some(3)))
            .await
            .unwrap();
        assert_eq!(outcome, ResetRequestOutcome::Mailed);
    }
    let fourth = resets
        .record_request(request(&ann, &token(9), 180, Some(3)))
        .await
        .unwrap();
    assert_eq!(fourth, ResetRequestOutcome::LimitReached);
    assert_eq!(database.outbox_for_tests().await.len(), 3);
    // The refused request left no link.
    assert_eq!(resets.live_links(ann.id, at(181)).await.unwrap().len(), 3);
    // An hour after the first mail, one more may go.
    let later = resets
        .record_request(request(&ann, &token(10), 3_601, Some(3)))
        .await
        .unwrap();
    assert_eq!(later, ResetRequestOutcome::Mailed);
    // No limit at all.
    for n in 0..5 {
        let outcome = resets
            .record_request(request(&ann, &token(20 + n), 3_700, None))
            .await
            .unwrap();
        assert_eq!(outcome, ResetRequestOutcome::Mailed);
    }
}

async fn racing_requests_never_pass_the_limit_together(db: &TestDatabase) {
    let (database, resets, ann) = setup(db).await;
    let tasks: Vec<_> = (0..12u8)
        .map(|n| {
            let resets = Arc::clone(&resets);
            let record = request(&ann, &token(n), 0, Some(3));
            tokio::spawn(async move { resets.record_request(record).await.unwrap() })
        })
        .collect();
    let mut mailed = 0;
    for task in tasks {
        if task.await.unwrap() == ResetRequestOutcome::Mailed {
            mailed += 1;
        }
    }
    assert_eq!(mailed, 3);
    assert_eq!(database.outbox_for_tests().await.len(), 3);
}

async fn a_link_works_once_and_ends_the_others(db: &TestDatabase) {
    let (_, resets, ann) = setup(db).await;
    for n in 1..=2 {
        resets
            .record_request(request(&ann, &token(n), 0, None))
            .await
            .unwrap();
    }
    let live = resets.live_links(ann.id, at(10)).await.unwrap();
    let first = live[0].id;
    let hash = || PasswordHash::new("$2b$reset".into());
    assert!(resets
        .reset_password(first, ann.id, hash(), at(20))
        .await
        .unwrap());
    assert!(!resets
        .reset_password(first, ann.id, hash(), at(30))
        .await
        .unwrap());
    // The other link died with the password.
    assert!(resets.live_links(ann.id, at(30)).await.unwrap().is_empty());
    assert!(!resets
        .reset_password(live[1].id, ann.id, hash(), at(30))
        .await
        .unwrap());
    let users = DieselUserRepository::new(db.connect().await);
    let stored = users.find_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_str(), "$2b$reset");
}

async fn an_expired_link_changes_nothing(db: &TestDatabase) {
    let (_, resets, ann) = setup(db).await;
    resets
        .record_request(request(&ann, &token(1), 0, None))
        .await
        .unwrap();
    let link = resets.live_links(ann.id, at(10)).await.unwrap()[0].id;
    // Live until its last second, then not.
    assert_eq!(resets.live_links(ann.id, at(3_599)).await.unwrap().len(), 1);
    assert!(resets
        .live_links(ann.id, at(3_600))
        .await
        .unwrap()
        .is_empty());
    let hash = PasswordHash::new("$2b$late".into());
    assert!(!resets
        .reset_password(link, ann.id, hash, at(3_600))
        .await
        .unwrap());
    let users = DieselUserRepository::new(db.connect().await);
    let stored = users.find_by_id(ann.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_str(), "$2b$04$test-hash");
}

async fn of_racing_uses_of_one_link_exactly_one_wins(db: &TestDatabase) {
    let (_, resets, ann) = setup(db).await;
    resets
        .record_request(request(&ann, &token(1), 0, None))
        .await
        .unwrap();
    let link = resets.live_links(ann.id, at(10)).await.unwrap()[0].id;
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let resets = Arc::clone(&resets);
            tokio::spawn(async move {
                let hash = PasswordHash::new(format!("$2b$racer{n}"));
                resets
                    .reset_password(link, ann.id, hash, at(20))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1);
}

async fn old_requests_are_forgotten(db: &TestDatabase) {
    let (_, resets, ann) = setup(db).await;
    resets
        .record_request(request(&ann, &token(1), 0, Some(1)))
        .await
        .unwrap();
    // Two hours later the first request is forgotten, link and all.
    let later = request(&ann, &token(2), 7_200, Some(1));
    assert_eq!(
        resets.record_request(later).await.unwrap(),
        ResetRequestOutcome::Mailed
    );
    let live = resets.live_links(ann.id, at(0)).await.unwrap();
    assert_eq!(live.len(), 1);
    assert!(live[0].digest.matches(&token(2).digest()));
}

on_both_backends!(
    a_link_is_stored_as_a_digest_and_its_mail_queued,
    an_address_without_an_account_is_recorded_and_mailed_nothing,
    at_most_the_limit_of_mails_an_hour,
    racing_requests_never_pass_the_limit_together,
    a_link_works_once_and_ends_the_others,
    an_expired_link_changes_nothing,
    of_racing_uses_of_one_link_exactly_one_wins,
    old_requests_are_forgotten,
);
