//! PostgreSQL connections that die under the pool (a restart, an
//! administrator's pg_terminate_backend). A connection in steady use is not
//! tested before each query (that would be a second round trip per
//! request); one idle long enough is, and is replaced if dead. A connection
//! that dies in use fails the one query that finds it closed, as
//! "unavailable" (a retry succeeds), and is never handed out again.

use std::time::Duration;

use authusers_domain::accounts::UserRepository;
use authusers_domain::UserId;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::{Database, DatabaseConfig, DieselUserRepository};

const IDLE_BEFORE_CHECK: Duration = Duration::from_millis(300);

/// A repository on a pool of two connections, both opened; and a
/// connection to kill them from.
async fn two_open_connections(db: &TestDatabase) -> DieselUserRepository {
    // Migrated first.
    db.connect().await;
    let mut config = DatabaseConfig::new(db.url().clone());
    config.pool_size = 2;
    config.pg_idle_before_check = IDLE_BEFORE_CHECK;
    let users = DieselUserRepository::new(Database::connect(&config).unwrap());
    let (a, b) = tokio::join!(users.find_by_id(UserId(1)), users.find_by_id(UserId(2)));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    users
}

async fn kill_the_pools_connections(db: &TestDatabase) {
    db.connect()
        .await
        .execute_for_tests(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
}

#[tokio::test]
async fn killed_connections_idle_a_while_are_replaced_before_any_query_fails() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let users = two_open_connections(&db).await;
    kill_the_pools_connections(&db).await;
    tokio::time::sleep(IDLE_BEFORE_CHECK + Duration::from_millis(100)).await;
    for _ in 0..4 {
        let (a, b) = tokio::join!(users.find_by_id(UserId(1)), users.find_by_id(UserId(2)));
        assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    }
}

#[tokio::test]
async fn a_connection_killed_in_use_fails_one_query_as_unavailable_then_is_replaced() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let users = two_open_connections(&db).await;
    kill_the_pools_connections(&db).await;
    let mut failed = 0;
    for _ in 0..6 {
        let (a, b) = tokio::join!(users.find_by_id(UserId(1)), users.find_by_id(UserId(2)));
        for outcome in [a, b] {
            if let Err(error) = outcome {
                assert!(error.is_unavailable(), "{error:?}");
                failed += 1;
            }
        }
    }
    // At most one failure per dead connection, never one query after
    // another on the same dead connection.
    assert!(failed <= 2, "{failed} queries failed");
    let (a, b) = tokio::join!(users.find_by_id(UserId(1)), users.find_by_id(UserId(2)));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
}

/// A mail has gone, and the database is lost as its outcome is recorded (a
/// failover): the record waits for the database rather than fail, so that
/// the message is not claimed and sent again when its lease ends.
#[tokio::test]
async fn a_sent_mails_outcome_is_recorded_through_a_lost_connection() {
    use authusers_domain::outbox::{AttemptOutcome, AttemptRecord, OutboxRepository};
    use authusers_infra_diesel::{test_support, DieselOutboxRepository};

    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    test_support::queue_decision_emails(&db.connect().await, 1).await;
    let mut config = DatabaseConfig::new(db.url().clone());
    config.pool_size = 1;
    config.pg_idle_before_check = Duration::from_secs(3600);
    let outbox = DieselOutboxRepository::new(Database::connect(&config).unwrap());
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    let message = outbox
        .claim_due(later, later + chrono::Duration::minutes(2), 10)
        .await
        .unwrap()
        .remove(0);

    // The pool's one connection dies while the mail is being sent.
    kill_the_pools_connections(&db).await;
    let recorded = outbox
        .record_attempt(message.id, &message.lease, 1, later, &AttemptOutcome::Sent)
        .await;
    assert!(
        matches!(recorded, Ok(AttemptRecord::Recorded)),
        "{recorded:?}"
    );
    let sent = db
        .number("SELECT count(*) AS value FROM outbox_messages WHERE status = 'sent'")
        .await;
    assert_eq!(sent, 1);
}
