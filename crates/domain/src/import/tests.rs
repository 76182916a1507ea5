use std::sync::Arc;

use super::*;
use crate::clock::MockClock;
use crate::testing::at;

fn moved_in(id: i64, email: &str) -> ImportedUser {
    ImportedUser {
        id: UserId(id),
        email: Email::parse(email).unwrap(),
        first_name: PersonName::default(),
        last_name: PersonName::default(),
        password_hash: PasswordHash::new("pbkdf2_sha256$1000$salt$hash".into()),
        status: UserStatus::Approved,
        is_admin: false,
        is_active: true,
        date_joined: at(0),
        last_login: None,
        real_balance: Money::ZERO,
        virtual_balance: Money::ZERO,
    }
}

fn importer(repository: MockImportRepository) -> Importer {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(3600));
    Importer::new(Arc::new(repository), Arc::new(clock))
}

#[tokio::test]
async fn two_users_of_one_address_are_told_apart_from_an_address_taken_here() {
    let mut repository = MockImportRepository::new();
    // The first batch: 3 and 5 reach the repository, 7 is the same address
    // as 3 in another case.
    repository
        .expect_import()
        .withf(|users, at_, dry_run| {
            users.iter().map(|u| u.id.0).collect::<Vec<_>>() == [3, 5]
                && *at_ == at(3600)
                && !dry_run
        })
        .times(1)
        .returning(|_, _, _| {
            Ok(vec![
                ImportOutcome::Imported,
                ImportOutcome::Conflict(ImportConflict::AddressTaken { by: UserId(9) }),
            ])
        });
    // The second batch: 8 has 3's address too, batches apart; 3 again is
    // left to the repository (it is the same user).
    repository
        .expect_import()
        .withf(|users, _, _| users.iter().map(|u| u.id.0).collect::<Vec<_>>() == [3])
        .times(1)
        .returning(|_, _, _| Ok(vec![ImportOutcome::Unchanged]));
    let mut run = importer(repository).run(false);
    let first = run
        .submit(vec![
            moved_in(3, "ann@example.com"),
            moved_in(7, "ANN@example.com"),
            moved_in(5, "bob@example.com"),
        ])
        .await
        .unwrap();
    assert_eq!(
        first,
        [
            ImportOutcome::Imported,
            ImportOutcome::Conflict(ImportConflict::DuplicateAddress { first: UserId(3) }),
            ImportOutcome::Conflict(ImportConflict::AddressTaken { by: UserId(9) }),
        ]
    );
    let second = run
        .submit(vec![
            moved_in(8, "Ann@Example.com"),
            moved_in(3, "ann@example.com"),
        ])
        .await
        .unwrap();
    assert_eq!(
        second,
        [
            ImportOutcome::Conflict(ImportConflict::DuplicateAddress { first: UserId(3) }),
            ImportOutcome::Unchanged,
        ]
    );
}

#[tokio::test]
async fn a_dry_run_asks_the_repository_to_write_nothing() {
    let mut repository = MockImportRepository::new();
    repository
        .expect_import()
        .withf(|_, _, dry_run| *dry_run)
        .times(1)
        .returning(|users, _, _| Ok(vec![ImportOutcome::Imported; users.len()]));
    let outcomes = importer(repository)
        .run(true)
        .submit(vec![moved_in(1, "a@example.com")])
        .await
        .unwrap();
    assert_eq!(outcomes, [ImportOutcome::Imported]);
}

#[tokio::test]
async fn a_repository_that_loses_an_outcome_fails_loudly() {
    let mut repository = MockImportRepository::new();
    repository
        .expect_import()
        .returning(|_, _, _| Ok(Vec::new()));
    let result = importer(repository)
        .run(false)
        .submit(vec![moved_in(1, "a@example.com")])
        .await;
    assert!(result.is_err());
}
