use std::sync::Arc;

use chrono::Duration;
use mockall::predicate::eq;

use super::*;
use crate::clock::MockClock;
use crate::testing::at;

fn client() -> ClientAddress {
    ClientAddress::new([198, 51, 100, 4].into())
}

fn clock() -> MockClock {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(3600));
    clock
}

fn throttle(log: MockAttemptLog, limits: AbuseLimits) -> Throttle {
    Throttle::new(Arc::new(log), Arc::new(clock()), limits)
}

fn limits() -> AbuseLimits {
    AbuseLimits::new(10, 100, Duration::seconds(900), 30)
}

#[tokio::test]
async fn a_login_is_checked_and_recorded_per_account_and_address_and_per_address() {
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .withf(|checks, when| {
            let pair = CounterKey::login_account("ann@example.com", client());
            *when == at(3600)
                && checks.len() == 2
                && checks[0].key == pair
                && checks[0].limit.max.get() == 10
                && checks[0].limit.window == Duration::seconds(900)
                && checks[1].key == CounterKey::login_address(client())
                && checks[1].limit.max.get() == 100
        })
        .times(1)
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1), AttemptId(2)])));
    let throttle = throttle(log, limits());
    let admission = throttle
        .admit_login("Ann@example.com", client())
        .await
        .unwrap();
    // A failure keeps what was recorded: nothing more is asked of the log.
    throttle.counts(admission);
}

#[tokio::test]
async fn a_refusal_says_when_to_retry_and_is_counted() {
    let mut log = MockAttemptLog::new();
    log.expect_record().times(1).returning(|_, _| {
        Ok(Recording::Refused(Throttled {
            counter: Counter::LoginAccount,
            retry_after: Duration::seconds(42),
        }))
    });
    let throttle = throttle(log, limits());
    let refused = throttle.admit_login("ann@example.com", client()).await;
    let Err(AdmitError::Throttled(throttled)) = refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    assert_eq!(throttled.retry_after, Duration::seconds(42));
    assert_eq!(throttle.counters().refused(Counter::LoginAccount), 1);
    assert_eq!(throttle.counters().refused(Counter::LoginAddress), 0);
}

#[tokio::test]
async fn a_success_resets_the_pair_and_takes_its_own_attempts_back() {
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(7), AttemptId(8)])));
    log.expect_clear()
        .with(eq(CounterKey::login_account("ann@example.com", client())))
        .times(1)
        .returning(|_| Ok(()));
    log.expect_take_back()
        .with(eq(vec![AttemptId(7), AttemptId(8)]))
        .times(1)
        .returning(|_| Ok(()));
    let throttle = throttle(log, limits());
    let admission = throttle
        .admit_login("ann@example.com", client())
        .await
        .unwrap();
    throttle.succeeded(admission).await;
}

#[tokio::test]
async fn an_attempt_never_judged_is_taken_back_without_a_reset() {
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(3)])));
    log.expect_take_back()
        .with(eq(vec![AttemptId(3)]))
        .times(1)
        .returning(|_| Ok(()));
    let throttle = throttle(log, limits());
    let admission = throttle.admit_registration(client()).await.unwrap();
    throttle.withdraw(admission).await;
}

#[tokio::test]
async fn with_every_limit_off_the_log_is_never_asked() {
    // No expectation is set: any call to the log fails the test.
    let throttle = throttle(
        MockAttemptLog::new(),
        AbuseLimits::new(0, 0, Duration::seconds(900), 0),
    );
    let login = throttle
        .admit_login("ann@example.com", client())
        .await
        .unwrap();
    throttle.succeeded(login).await;
    let registration = throttle.admit_registration(client()).await.unwrap();
    throttle.withdraw(registration).await;
}

#[tokio::test]
async fn only_the_limits_that_are_on_are_checked() {
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .withf(|checks, _| {
            checks.len() == 1 && checks[0].key == CounterKey::login_address(client())
        })
        .times(1)
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1)])));
    // With no per-account limit there is no pair to reset on success.
    log.expect_take_back().times(1).returning(|_| Ok(()));
    let throttle = throttle(log, AbuseLimits::new(0, 100, Duration::seconds(900), 0));
    let admission = throttle
        .admit_login("ann@example.com", client())
        .await
        .unwrap();
    throttle.succeeded(admission).await;
}

#[tokio::test]
async fn a_registration_is_held_to_its_hourly_limit() {
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .withf(|checks, _| {
            checks.len() == 1
                && checks[0].key == CounterKey::registration(client())
                && checks[0].limit.max.get() == 30
                && checks[0].limit.window == Duration::hours(1)
        })
        .times(1)
        .returning(|_, _| {
            Ok(Recording::Refused(Throttled {
                counter: Counter::Registration,
                retry_after: Duration::seconds(1200),
            }))
        });
    let throttle = throttle(log, limits());
    let refused = throttle.admit_registration(client()).await;
    assert!(matches!(refused, Err(AdmitError::Throttled(t)) if t.counter == Counter::Registration));
}

#[tokio::test]
async fn pruning_keeps_each_counter_for_its_window_and_nothing_of_a_limit_off() {
    let mut log = MockAttemptLog::new();
    log.expect_prune()
        .with(eq(Counter::LoginAccount), eq(at(3600 - 900)))
        .times(1)
        .returning(|_, _| Ok(2));
    log.expect_prune()
        .with(eq(Counter::LoginAddress), eq(at(3600 - 900)))
        .times(1)
        .returning(|_, _| Ok(3));
    // Registrations are limited per hour, but that limit is off here.
    log.expect_prune()
        .with(eq(Counter::Registration), eq(at(3600)))
        .times(1)
        .returning(|_, _| Ok(0));
    log.expect_prune()
        .with(eq(Counter::ResetMail), eq(at(0)))
        .times(1)
        .returning(|_, _| Ok(1));
    // Reset requests per address, an hour; that limit is off here too.
    log.expect_prune()
        .with(eq(Counter::ResetAddress), eq(at(3600)))
        .times(1)
        .returning(|_, _| Ok(0));
    log.expect_prune()
        .with(eq(Counter::ActivationMail), eq(at(0)))
        .times(1)
        .returning(|_, _| Ok(4));
    // Wrong second-factor codes: a quarter of an hour, always.
    log.expect_prune()
        .with(eq(Counter::SecondFactor), eq(at(3600 - 900)))
        .times(1)
        .returning(|_, _| Ok(5));
    let limits = AbuseLimits::new(10, 100, Duration::seconds(900), 0).with_resets_per_address(0);
    let throttle = throttle(log, limits);
    assert_eq!(throttle.prune().await.unwrap(), 15);
}

#[tokio::test]
async fn a_failing_reset_or_take_back_is_logged_and_never_fails_the_caller() {
    let mut log = MockAttemptLog::new();
    log.expect_record()
        .returning(|_, _| Ok(Recording::Recorded(vec![AttemptId(1), AttemptId(2)])));
    log.expect_clear()
        .returning(|_| Err(crate::storage::RepositoryError::failed("down")));
    log.expect_take_back()
        .returning(|_| Err(crate::storage::RepositoryError::failed("down")));
    let throttle = throttle(log, limits());
    let admission = throttle
        .admit_login("ann@example.com", client())
        .await
        .unwrap();
    throttle.succeeded(admission).await;
}
