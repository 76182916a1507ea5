//! PostgreSQL connections that die under the pool (a restart, an
//! administrator's pg_terminate_backend): the pool tests a connection
//! before each use (r2d2's test on checkout), so a dead one is replaced
//! there and no request fails. (Without that test a dead connection was
//! seen to stay in the pool and fail query after query: "no connection to
//! the server".)

use authusers_domain::accounts::UserRepository;
use authusers_domain::UserId;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::{Database, DatabaseConfig, DieselUserRepository};

#[tokio::test]
async fn killed_connections_are_replaced_before_any_query_fails() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    let admin = db.connect().await;
    let mut config = DatabaseConfig::new(db.url().clone());
    config.pool_size = 2;
    let users = DieselUserRepository::new(Database::connect(&config).unwrap());
    // Both connections opened and in the pool.
    let (a, b) = tokio::join!(users.find_by_id(UserId(1)), users.find_by_id(UserId(2)));
    assert!(a.is_ok() && b.is_ok());

    admin
        .execute_for_tests(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
    for _ in 0..4 {
        let (a, b) = tokio::join!(users.find_by_id(UserId(1)), users.find_by_id(UserId(2)));
        assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    }
}
