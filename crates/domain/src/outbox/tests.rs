use super::*;
use crate::clock::MockClock;
use crate::testing::at;
use crate::Email;

fn queued(id: i64, attempts: u32) -> QueuedEmail {
    QueuedEmail {
        id,
        message_id: format!("<m{id}@authusers>"),
        email: OutgoingEmail {
            to: Email::parse("ann@example.com").unwrap(),
            subject: "Subject".into(),
            text_body: "Text".into(),
            html_body: "<p>Text</p>".into(),
        },
        attempts,
        lease: LeaseToken(format!("lease-{id}")),
    }
}

fn delivery(outbox: MockOutboxRepository, mailer: MockMailer) -> OutboxDelivery {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(0));
    OutboxDelivery::new(
        Arc::new(outbox),
        Arc::new(mailer),
        Arc::new(clock),
        RetryPolicy {
            first_delay: Duration::seconds(10),
            max_delay: Duration::seconds(60),
            max_attempts: 3,
        },
    )
}

#[test]
fn backoff_doubles_up_to_the_cap_then_stops() {
    let policy = RetryPolicy {
        first_delay: Duration::seconds(10),
        max_delay: Duration::seconds(60),
        max_attempts: 6,
    };
    let delays: Vec<Option<i64>> = (1..=6)
        .map(|attempt| policy.delay_after(attempt).map(|d| d.num_seconds()))
        .collect();
    assert_eq!(
        delays,
        [Some(10), Some(20), Some(40), Some(60), Some(60), None]
    );
    let huge = RetryPolicy {
        max_attempts: u32::MAX,
        ..policy
    };
    assert_eq!(huge.delay_after(1_000), Some(Duration::seconds(60)));
}

#[tokio::test]
async fn a_sent_message_is_recorded_as_sent_under_its_message_id() {
    let mut outbox = MockOutboxRepository::new();
    outbox
        .expect_claim_due()
        .withf(|now, lease_until, limit| *now == at(0) && *lease_until == at(120) && *limit == 20)
        .times(1)
        .returning(|_, _, _| Ok(vec![queued(1, 0)]));
    outbox
        .expect_record_attempt()
        .withf(|id, lease, attempt, _, outcome| {
            *id == 1
                && *lease == LeaseToken("lease-1".into())
                && *attempt == 1
                && *outcome == AttemptOutcome::Sent
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(AttemptRecord::Recorded));
    let mut mailer = MockMailer::new();
    mailer
        .expect_send()
        .withf(|message_id, email| message_id == "<m1@authusers>" && email.subject == "Subject")
        .times(1)
        .returning(|_, _| Ok(()));
    let delivery = delivery(outbox, mailer);
    let report = delivery.deliver_due().await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            sent: 1,
            retried: 0,
            failed: 0
        }
    );
    assert_eq!(delivery.counters().sent(), 1);
}

#[tokio::test]
async fn a_transient_failure_is_retried_later() {
    let mut outbox = MockOutboxRepository::new();
    outbox
        .expect_claim_due()
        .returning(|_, _, _| Ok(vec![queued(1, 1)]));
    outbox
        .expect_record_attempt()
        .withf(|_, _, attempt, _, outcome| {
            *attempt == 2
                && matches!(outcome, AttemptOutcome::Retry { next_attempt_at, error }
                    if *next_attempt_at == at(20) && error == "connecting: connection refused")
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(AttemptRecord::Recorded));
    let mut mailer = MockMailer::new();
    mailer.expect_send().returning(|_, _| {
        Err(MailerError::transient(
            "connecting",
            std::io::Error::other("connection refused"),
        ))
    });
    let delivery = delivery(outbox, mailer);
    let report = delivery.deliver_due().await.unwrap();
    assert_eq!(report.retried, 1);
    assert_eq!(delivery.counters().retried(), 1);
}

#[tokio::test]
async fn the_last_attempt_and_permanent_refusals_fail_for_good() {
    let mut outbox = MockOutboxRepository::new();
    outbox
        .expect_claim_due()
        .returning(|_, _, _| Ok(vec![queued(1, 2), queued(2, 0)]));
    outbox
        .expect_record_attempt()
        .withf(|_, _, _, _, outcome| matches!(outcome, AttemptOutcome::Failed { .. }))
        .times(2)
        .returning(|_, _, _, _, _| Ok(AttemptRecord::Recorded));
    let mut mailer = MockMailer::new();
    mailer.expect_send().returning(|message_id, _| {
        Err(MailerError::new(
            "sending",
            // The first has used its attempts; the second is refused for good.
            message_id == "<m2@authusers>",
            std::io::Error::other("550 no such user"),
        ))
    });
    let delivery = delivery(outbox, mailer);
    let report = delivery.deliver_due().await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            sent: 0,
            retried: 0,
            failed: 2
        }
    );
    assert_eq!(delivery.counters().failed(), 2);
}

#[tokio::test]
async fn a_stop_request_ends_the_round_before_the_next_message() {
    let mut outbox = MockOutboxRepository::new();
    outbox
        .expect_claim_due()
        .returning(|_, _, _| Ok(vec![queued(1, 0), queued(2, 0), queued(3, 0)]));
    outbox
        .expect_record_attempt()
        .times(1)
        .returning(|_, _, _, _, _| Ok(AttemptRecord::Recorded));
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(1).returning(|_, _| Ok(()));
    let delivery = delivery(outbox, mailer);
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let report = delivery
        .deliver_due_until(|| sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1)
        .await
        .unwrap();
    assert_eq!(report.sent, 1);
}

#[tokio::test]
async fn nothing_due_sends_nothing() {
    let mut outbox = MockOutboxRepository::new();
    outbox.expect_claim_due().returning(|_, _, _| Ok(vec![]));
    let report = delivery(outbox, MockMailer::new())
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(report.attempted(), 0);
}

#[tokio::test]
async fn an_attempt_whose_lease_was_taken_over_is_neither_counted_nor_fatal() {
    let mut outbox = MockOutboxRepository::new();
    outbox
        .expect_claim_due()
        .returning(|_, _, _| Ok(vec![queued(1, 0), queued(2, 0)]));
    outbox
        .expect_record_attempt()
        .times(2)
        .returning(|id, _, _, _, _| {
            Ok(if id == 1 {
                AttemptRecord::LeaseLost
            } else {
                AttemptRecord::Recorded
            })
        });
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(2).returning(|_, _| Ok(()));
    let delivery = delivery(outbox, mailer);
    let report = delivery.deliver_due().await.unwrap();
    assert_eq!(report.sent, 1, "only the recorded attempt counts");
    assert_eq!(delivery.counters().sent(), 1);
}
