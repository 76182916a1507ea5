//! The outbox against real databases: queueing with a decision, leases,
//! attempts, and two workers that never claim the same message.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use authusers_domain::accounts::UserRepository;
use authusers_domain::clock::Clock;
use authusers_domain::notification::OutgoingEmail;
use authusers_domain::outbox::{
    AttemptOutcome, AttemptRecord, MailStatus, Mailer, MailerError, OutboxDelivery, OutboxFilter,
    OutboxRepository, RetryPolicy,
};
use authusers_domain::{Email, PageRequest};
use authusers_infra_diesel::test_support::{self, TestDatabase};
use authusers_infra_diesel::{on_both_backends, DieselOutboxRepository, DieselUserRepository};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// A moment `seconds` after a base just ahead of the queued messages, in
/// whole seconds so that stored times compare exactly.
fn at(seconds: i64) -> DateTime<Utc> {
    static BASE: LazyLock<i64> = LazyLock::new(|| Utc::now().timestamp() + 60);
    Utc.timestamp_opt(*BASE + seconds, 0).unwrap()
}

/// Queues one e-mail per pending user by deciding on each.
async fn queue(db: &TestDatabase, count: usize) -> DieselOutboxRepository {
    let database = db.connect().await;
    test_support::queue_decision_emails(&database, count).await;
    DieselOutboxRepository::new(database)
}

async fn a_decision_queues_its_message(db: &TestDatabase) {
    let outbox = queue(db, 1).await;
    let claimed = outbox.claim_due(at(2), at(62), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let message = &claimed[0];
    assert_eq!(message.email.to.as_str(), "user0@example.com");
    assert_eq!(message.email.subject, "Decision 0");
    assert_eq!(message.attempts, 0);
    assert!(message.message_id.starts_with('<') && message.message_id.ends_with("@authusers>"));
}

async fn a_claimed_message_is_leased(db: &TestDatabase) {
    let outbox = queue(db, 1).await;
    assert_eq!(outbox.claim_due(at(2), at(62), 10).await.unwrap().len(), 1);
    // Held until the lease ends, then claimable again (its worker died).
    assert!(outbox
        .claim_due(at(30), at(90), 10)
        .await
        .unwrap()
        .is_empty());
    let again = outbox.claim_due(at(63), at(123), 10).await.unwrap();
    assert_eq!(again.len(), 1);
}

async fn attempts_are_recorded_until_sent(db: &TestDatabase) {
    let outbox = queue(db, 1).await;
    let message = outbox.claim_due(at(2), at(62), 10).await.unwrap().remove(0);
    let retry = AttemptOutcome::Retry {
        error: "connection refused".into(),
        next_attempt_at: at(20),
    };
    outbox
        .record_attempt(message.id, &message.lease, 1, at(3), &retry)
        .await
        .unwrap();
    let unsent = outbox.unsent(10).await.unwrap();
    assert_eq!(unsent[0].attempts, 1);
    assert_eq!(unsent[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(unsent[0].next_attempt_at, Some(at(20)));
    // Not due before its next attempt, due after: the lease was released.
    assert!(outbox
        .claim_due(at(10), at(70), 10)
        .await
        .unwrap()
        .is_empty());
    let retried = outbox
        .claim_due(at(21), at(81), 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.message_id, message.message_id);
    outbox
        .record_attempt(retried.id, &retried.lease, 2, at(22), &AttemptOutcome::Sent)
        .await
        .unwrap();
    assert!(outbox.unsent(10).await.unwrap().is_empty());
    assert_eq!(outbox.backlog().await.unwrap().pending, 0);
    assert!(outbox
        .claim_due(at(1_000), at(1_060), 10)
        .await
        .unwrap()
        .is_empty());
}

/// A stored row that breaks the outbox's rules is reported, never shown
/// or sent as something it is not.
async fn a_corrupt_message_is_refused_not_repaired(db: &TestDatabase) {
    let outbox = queue(db, 1).await;
    let database = db.connect().await;
    database
        .execute_for_tests("UPDATE outbox_messages SET attempts = -1")
        .await;
    assert!(outbox.unsent(10).await.is_err(), "negative attempts");
    assert!(outbox
        .list(OutboxFilter::default(), PageRequest::default())
        .await
        .is_err());
    assert!(outbox.claim_due(at(2), at(62), 10).await.is_err());
    // (An unknown status cannot be stored: the table's CHECK refuses it.)
    database
        .execute_for_tests("UPDATE outbox_messages SET attempts = 0")
        .await;
    assert_eq!(
        outbox.unsent(10).await.unwrap()[0].status,
        MailStatus::Pending
    );
}

async fn a_failed_message_stays_visible(db: &TestDatabase) {
    let outbox = queue(db, 2).await;
    let claimed = outbox.claim_due(at(2), at(62), 10).await.unwrap();
    let failed = AttemptOutcome::Failed {
        error: "550 mailbox unavailable".into(),
    };
    outbox
        .record_attempt(claimed[0].id, &claimed[0].lease, 1, at(3), &failed)
        .await
        .unwrap();
    let backlog = outbox.backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (1, 1));
    let unsent = outbox.unsent(10).await.unwrap();
    assert_eq!(unsent[0].status, MailStatus::Failed);
    assert_eq!(unsent[0].next_attempt_at, None);
    assert_eq!(unsent[1].status, MailStatus::Pending);

    // An operator puts it back in the queue: due at once, attempts afresh.
    assert_eq!(outbox.requeue_failed(at(10)).await.unwrap(), 1);
    let backlog = outbox.backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (2, 0));
    let again = outbox.claim_due(at(10), at(70), 10).await.unwrap();
    let requeued = again.iter().find(|m| m.id == claimed[0].id).unwrap();
    assert_eq!(requeued.attempts, 0);
    assert_eq!(outbox.requeue_failed(at(11)).await.unwrap(), 0);
}

/// What the console shows: one page of messages by status or by user,
/// newest first, with the count of them all.
async fn messages_are_listed_by_status_and_by_user(db: &TestDatabase) {
    let database = db.connect().await;
    test_support::queue_decision_emails(&database, 3).await;
    let outbox = DieselOutboxRepository::new(database.clone());
    let claimed = outbox.claim_due(at(2), at(62), 10).await.unwrap();
    let failed = AttemptOutcome::Failed {
        error: "550 mailbox unavailable".into(),
    };
    outbox
        .record_attempt(
            claimed[0].id,
            &claimed[0].lease,
            1,
            at(3),
            &AttemptOutcome::Sent,
        )
        .await
        .unwrap();
    outbox
        .record_attempt(claimed[1].id, &claimed[1].lease, 1, at(4), &failed)
        .await
        .unwrap();

    let everything = outbox
        .list(OutboxFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(everything.total, 3);
    let ids: Vec<i64> = everything.items.iter().map(|m| m.id).collect();
    assert_eq!(ids, [claimed[2].id, claimed[1].id, claimed[0].id]);

    let of = |status| OutboxFilter {
        status: Some(status),
        user: None,
    };
    let sent = outbox
        .list(of(MailStatus::Sent), PageRequest::default())
        .await
        .unwrap();
    assert_eq!((sent.total, sent.items[0].id), (1, claimed[0].id));
    assert_eq!(sent.items[0].sent_at, Some(at(3)));
    let failed = outbox
        .list(of(MailStatus::Failed), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(failed.total, 1);
    assert_eq!(
        failed.items[0].last_error.as_deref(),
        Some("550 mailbox unavailable")
    );
    let pending = outbox
        .list(of(MailStatus::Pending), PageRequest::default())
        .await
        .unwrap();
    assert_eq!((pending.total, pending.items[0].id), (1, claimed[2].id));

    let users = DieselUserRepository::new(database);
    let user1 = users
        .find_by_email(&Email::parse("user1@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let about = outbox
        .list(
            OutboxFilter {
                status: None,
                user: Some(user1.id),
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(about.total, 1);
    assert_eq!(about.items[0].recipient, "user1@example.com");

    let first = outbox
        .list(
            OutboxFilter::default(),
            PageRequest::new(Some(2), None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!((first.items.len(), first.total), (2, 3));
    assert!(first.has_next());
    let second = outbox
        .list(
            OutboxFilter::default(),
            PageRequest::new(Some(2), Some(2)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].id, claimed[0].id);
}

async fn two_workers_never_claim_the_same_message(db: &TestDatabase) {
    let first = Arc::new(queue(db, 100).await);
    let second = Arc::new(DieselOutboxRepository::new(db.connect().await));
    let workers: Vec<_> = [first, second]
        .into_iter()
        .map(|outbox| {
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = outbox
                        .claim_due(at(5), at(5) + Duration::minutes(5), 7)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|m| m.id));
                }
            })
        })
        .collect();
    let mut seen = HashSet::new();
    let mut total = 0;
    for worker in workers {
        for id in worker.await.unwrap() {
            total += 1;
            assert!(seen.insert(id), "message {id} claimed twice");
        }
    }
    assert_eq!(total, 100);
}

/// The clock both workers read, moved by the test.
struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// A mailer that says when a send has begun (`entered`) and answers once
/// `gate` opens: delivered, or refused for good.
struct GatedMailer {
    entered: Arc<tokio::sync::Notify>,
    gate: Arc<tokio::sync::Notify>,
    refuses: bool,
}

#[async_trait::async_trait]
impl Mailer for GatedMailer {
    async fn send(&self, _: &str, _: &OutgoingEmail) -> Result<(), MailerError> {
        self.entered.notify_one();
        self.gate.notified().await;
        match self.refuses {
            false => Ok(()),
            true => Err(MailerError::permanent(
                "sending",
                std::io::Error::other("550 mailbox unavailable"),
            )),
        }
    }
}

/// Worker A claims a message and is still sending when its lease runs out;
/// worker B claims it then and sends it. A's late failure must not turn
/// B's `sent` into `failed`, nor be recorded as an attempt.
async fn a_worker_whose_lease_ran_out_mid_send_records_nothing(db: &TestDatabase) {
    let outbox: Arc<dyn OutboxRepository> = Arc::new(queue(db, 1).await);
    let clock = Arc::new(ManualClock(std::sync::Mutex::new(at(2))));
    let worker = |refuses: bool| {
        let (entered, gate) = (
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(tokio::sync::Notify::new()),
        );
        let mailer = Arc::new(GatedMailer {
            entered: Arc::clone(&entered),
            gate: Arc::clone(&gate),
            refuses,
        });
        let delivery = OutboxDelivery::new(
            Arc::clone(&outbox),
            mailer,
            clock.clone(),
            RetryPolicy::default(),
        )
        .with_lease(Duration::seconds(60));
        (delivery, entered, gate)
    };
    let (slow, slow_entered, slow_gate) = worker(true);
    let (prompt, _, prompt_gate) = worker(false);

    let slow_round = tokio::spawn(async move { slow.deliver_due().await });
    slow_entered.notified().await;
    // B's mail would go at once; while A's lease holds there is none to send.
    prompt_gate.notify_one();
    let held = prompt.deliver_due().await.unwrap();
    assert_eq!(held.attempted(), 0, "A holds the message");

    *clock.0.lock().unwrap() = at(63);
    let taken_over = prompt.deliver_due().await.unwrap();
    assert_eq!(
        taken_over.sent, 1,
        "B claims the message A's lease no longer covers"
    );

    slow_gate.notify_one();
    let late = slow_round.await.unwrap().unwrap();
    assert_eq!(late.attempted(), 0, "A's attempt is not recorded");
    let backlog = outbox.backlog().await.unwrap();
    assert_eq!((backlog.pending, backlog.failed), (0, 0), "still sent");
    assert!(outbox.unsent(10).await.unwrap().is_empty());
}

/// At the repository: a claim's token stops holding the message once a
/// later claim takes it over, and the later claim's attempt count stands.
async fn only_the_latest_claim_records_an_attempt(db: &TestDatabase) {
    let outbox = queue(db, 1).await;
    let first = outbox.claim_due(at(2), at(10), 10).await.unwrap().remove(0);
    let second = outbox
        .claim_due(at(11), at(20), 10)
        .await
        .unwrap()
        .remove(0);
    assert_ne!(first.lease, second.lease);
    let retry = AttemptOutcome::Retry {
        error: "timeout".into(),
        next_attempt_at: at(30),
    };
    let recorded = outbox
        .record_attempt(second.id, &second.lease, 1, at(12), &retry)
        .await
        .unwrap();
    assert_eq!(recorded, AttemptRecord::Recorded);
    let late = outbox
        .record_attempt(first.id, &first.lease, 1, at(13), &AttemptOutcome::Sent)
        .await
        .unwrap();
    assert_eq!(late, AttemptRecord::LeaseLost);
    let again = outbox
        .record_attempt(second.id, &second.lease, 1, at(14), &AttemptOutcome::Sent)
        .await
        .unwrap();
    assert_eq!(
        again,
        AttemptRecord::LeaseLost,
        "a recorded attempt releases its lease"
    );
    let unsent = outbox.unsent(10).await.unwrap();
    assert_eq!(
        unsent.len(),
        1,
        "still pending, as the second claim left it"
    );
    assert_eq!(unsent[0].attempts, 1);
    assert_eq!(unsent[0].last_error.as_deref(), Some("timeout"));
}

on_both_backends!(
    a_corrupt_message_is_refused_not_repaired,
    a_worker_whose_lease_ran_out_mid_send_records_nothing,
    only_the_latest_claim_records_an_attempt,
    a_decision_queues_its_message,
    a_claimed_message_is_leased,
    attempts_are_recorded_until_sent,
    a_failed_message_stays_visible,
    two_workers_never_claim_the_same_message,
    messages_are_listed_by_status_and_by_user,
);
