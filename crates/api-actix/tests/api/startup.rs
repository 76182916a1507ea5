use authusers_api_actix::app::startup::{Application, Migrations, StartupError};
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::DatabaseConfig;

async fn no_migrate_refuses_a_database_with_pending_migrations(db: &TestDatabase) {
    let mut settings = crate::helpers::test_settings();
    settings.port = 0;
    settings.bcrypt_cost = 4;
    settings.database = DatabaseConfig::new(db.url().clone());
    let refused = Application::build(&settings, Migrations::Skip).await;
    assert!(matches!(refused, Err(StartupError::PendingMigrations(n)) if n >= 3));
    // Once migrated, the same start-up succeeds.
    db.connect().await;
    assert!(Application::build(&settings, Migrations::Skip)
        .await
        .is_ok());
}

on_both_backends!(no_migrate_refuses_a_database_with_pending_migrations);
