//! The abuse limits' attempt log against real databases, on SQLite and on
//! PostgreSQL: the window, the refusal and when it lifts, taking attempts
//! back, racing attempts on one key, and forgetting old ones.

use authusers_infra_diesel::test_support::at;
use std::sync::Arc;

use authusers_domain::throttling::{
    AttemptLog, Check, ClientAddress, Counter, CounterKey, Limit, Recording,
};
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::{on_both_backends, DieselAttemptLog};
use chrono::Duration;

fn client(last: u8) -> ClientAddress {
    ClientAddress::new([192, 0, 2, last].into())
}

fn check(key: CounterKey, max: u32) -> Check {
    Check {
        key,
        limit: Limit::new(max, Duration::seconds(60)).unwrap(),
    }
}

fn pair(email: &str) -> CounterKey {
    CounterKey::login_account(email, client(1))
}

async fn record(log: &DieselAttemptLog, checks: &[Check], when: i64) -> Recording {
    log.record(checks.to_vec(), at(when)).await.unwrap()
}

fn refused_for(recording: &Recording) -> Option<(Counter, i64)> {
    match recording {
        Recording::Refused(t) => Some((t.counter, t.retry_after.num_seconds())),
        Recording::Recorded(_) => None,
    }
}

async fn the_limit_holds_in_a_sliding_window_and_says_when_it_lifts(db: &TestDatabase) {
    let log = DieselAttemptLog::new(db.connect().await);
    let ann = [check(pair("ann@example.com"), 3)];
    for when in [0, 10, 20] {
        assert!(
            matches!(record(&log, &ann, when).await, Recording::Recorded(ids) if ids.len() == 1)
        );
    }
    // The 4th inside the window is refused until the attempt at 0 leaves it.
    let refused = record(&log, &ann, 30).await;
    assert_eq!(refused_for(&refused), Some((Counter::LoginAccount, 30)));
    assert_eq!(
        refused_for(&record(&log, &ann, 59).await),
        Some((Counter::LoginAccount, 1))
    );
    // A refusal records nothing: at 60 the attempt at 0 is out, one place.
    assert!(matches!(
        record(&log, &ann, 60).await,
        Recording::Recorded(_)
    ));
    assert_eq!(
        refused_for(&record(&log, &ann, 61).await),
        Some((Counter::LoginAccount, 9))
    );
    // Another key is untouched.
    let bob = [check(pair("bob@example.com"), 3)];
    assert!(matches!(
        record(&log, &bob, 61).await,
        Recording::Recorded(_)
    ));
}

async fn one_key_at_its_limit_refuses_the_attempt_under_every_key(db: &TestDatabase) {
    let log = DieselAttemptLog::new(db.connect().await);
    let address = CounterKey::login_address(client(1));
    let both = |email: &str| [check(pair(email), 2), check(address.clone(), 3)];
    assert!(
        matches!(record(&log, &both("ann@example.com"), 0).await, Recording::Recorded(ids) if ids.len() == 2)
    );
    assert!(matches!(
        record(&log, &both("ann@example.com"), 1).await,
        Recording::Recorded(_)
    ));
    // Ann from here is at her limit; the address is not, and stays at 2.
    assert_eq!(
        refused_for(&record(&log, &both("ann@example.com"), 2).await),
        Some((Counter::LoginAccount, 58))
    );
    assert!(matches!(
        record(&log, &both("bob@example.com"), 3).await,
        Recording::Recorded(_)
    ));
    // Now the address is at 3: Carol from here is refused by the address.
    assert_eq!(
        refused_for(&record(&log, &both("carol@example.com"), 4).await),
        Some((Counter::LoginAddress, 56))
    );
}

async fn attempts_taken_back_or_cleared_no_longer_count(db: &TestDatabase) {
    let log = DieselAttemptLog::new(db.connect().await);
    let ann = [check(pair("ann@example.com"), 2)];
    let Recording::Recorded(first) = record(&log, &ann, 0).await else {
        panic!("the first attempt is recorded");
    };
    assert!(matches!(
        record(&log, &ann, 1).await,
        Recording::Recorded(_)
    ));
    assert!(refused_for(&record(&log, &ann, 2).await).is_some());
    log.take_back(first).await.unwrap();
    assert!(matches!(
        record(&log, &ann, 3).await,
        Recording::Recorded(_)
    ));
    assert!(refused_for(&record(&log, &ann, 4).await).is_some());
    log.clear(pair("ann@example.com")).await.unwrap();
    assert!(matches!(
        record(&log, &ann, 5).await,
        Recording::Recorded(_)
    ));
    assert!(matches!(
        record(&log, &ann, 6).await,
        Recording::Recorded(_)
    ));
}

async fn of_twenty_racing_attempts_on_one_key_exactly_the_limit_pass(db: &TestDatabase) {
    let database = db.connect().await;
    let log = Arc::new(DieselAttemptLog::new(database));
    let racers = (0..20).map(|_| {
        let log = Arc::clone(&log);
        tokio::spawn(async move {
            let checks = vec![check(CounterKey::registration(client(9)), 5)];
            log.record(checks, at(0)).await.unwrap()
        })
    });
    let mut recorded = 0;
    for racer in racers.collect::<Vec<_>>() {
        if matches!(racer.await.unwrap(), Recording::Recorded(_)) {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 5);
}

async fn old_attempts_are_forgotten_per_counter_in_batches(db: &TestDatabase) {
    let log = DieselAttemptLog::new(db.connect().await);
    for n in 0..2_500 {
        let key = CounterKey::login_address(client((n % 200) as u8));
        record(&log, &[check(key, 1_000)], n % 100).await;
    }
    record(&log, &[check(CounterKey::registration(client(1)), 5)], 0).await;
    // Only login_address attempts at or before 49: half of them.
    assert_eq!(
        log.prune(Counter::LoginAddress, at(49)).await.unwrap(),
        1_250
    );
    assert_eq!(log.prune(Counter::LoginAddress, at(49)).await.unwrap(), 0);
    assert_eq!(log.prune(Counter::Registration, at(49)).await.unwrap(), 1);
    assert_eq!(
        log.prune(Counter::LoginAddress, at(1_000)).await.unwrap(),
        1_250
    );
}

on_both_backends!(
    the_limit_holds_in_a_sliding_window_and_says_when_it_lifts,
    one_key_at_its_limit_refuses_the_attempt_under_every_key,
    attempts_taken_back_or_cleared_no_longer_count,
    of_twenty_racing_attempts_on_one_key_exactly_the_limit_pass,
    old_attempts_are_forgotten_per_counter_in_batches,
);
