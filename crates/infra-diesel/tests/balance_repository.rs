//! Balances, ledger and idempotency against real databases, on SQLite and
//! on PostgreSQL, including concurrent writers.

use authusers_infra_diesel::test_support::at;
use std::sync::Arc;

use authusers_domain::accounts::{NewUser, UserRepository};
use authusers_domain::balance::{
    BalanceAction, BalanceChange, BalanceKind, BalanceOperation, BalanceRefusal, Balances,
    BonusPolicy, IdempotencyKey,
};
use authusers_domain::wallet::{
    ApplyBalanceError, BalanceCommand, BalanceOutcome, BalanceRepository, RecordedOutcome,
};
use authusers_domain::{Amount, Money, PageRequest, UserId, UserStatus};
use authusers_infra_diesel::test_support::{self, TestDatabase};
use authusers_infra_diesel::{on_both_backends, DieselBalanceRepository, DieselUserRepository};
use chrono::Duration;

fn operation(action: &str, kind: BalanceKind, value: &str) -> BalanceOperation {
    let amount = Amount::parse(value).unwrap();
    match action {
        "in" => BalanceOperation::Deposit { kind, amount },
        "out" => BalanceOperation::Withdraw { kind, amount },
        _ => BalanceOperation::Convert { amount },
    }
}

fn command(
    user: UserId,
    operation: BalanceOperation,
    key: Option<&str>,
    now: i64,
) -> BalanceCommand {
    BalanceCommand {
        user,
        operation,
        change: BalanceChange::of(operation, &BonusPolicy::standard()).unwrap(),
        at: at(now),
        idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        keys_valid_since: at(now) - Duration::hours(24),
    }
}

fn money(raw: &str) -> Money {
    Amount::parse(raw).map(Amount::money).unwrap_or(Money::ZERO)
}

async fn setup(db: &TestDatabase) -> (Arc<DieselBalanceRepository>, UserId) {
    let database = db.connect().await;
    let users = DieselUserRepository::new(database.clone());
    let user = users
        .insert(NewUser {
            status: UserStatus::Approved,
            ..test_support::new_user("wallet@example.com")
        })
        .await
        .unwrap();
    (Arc::new(DieselBalanceRepository::new(database)), user.id)
}

async fn apply(
    repo: &DieselBalanceRepository,
    user: UserId,
    op: BalanceOperation,
) -> BalanceOutcome {
    repo.apply(command(user, op, None, 1))
        .await
        .unwrap()
        .outcome
}

/// The balances the ledger adds up to, and how many rows it has.
async fn ledger_sums(repo: &DieselBalanceRepository, user: UserId) -> (Balances, u64) {
    let (mut real, mut virtual_) = (0i64, 0i64);
    let mut offset = 0;
    loop {
        let page = repo
            .ledger(user, PageRequest::new(Some(500), Some(offset)).unwrap())
            .await
            .unwrap();
        for entry in &page.items {
            let amount = entry.amount.minor_units();
            let signed = match entry.action {
                BalanceAction::In | BalanceAction::Opening => amount,
                BalanceAction::Out | BalanceAction::Convert => -amount,
            };
            match entry.kind {
                BalanceKind::Real => real += signed,
                BalanceKind::Virtual => virtual_ += signed,
            }
            if entry.action == BalanceAction::Convert {
                virtual_ += amount + entry.bonus.minor_units();
            }
        }
        offset += page.items.len() as u64;
        if !page.has_next() {
            let sums = Balances {
                real: Money::from_minor_units(real).unwrap(),
                virtual_: Money::from_minor_units(virtual_).unwrap(),
            };
            return (sums, page.total);
        }
    }
}

async fn in_out_and_convert_move_exact_amounts(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    apply(&repo, user, operation("in", BalanceKind::Real, "1500")).await;
    apply(&repo, user, operation("convert", BalanceKind::Real, "1000")).await;
    let outcome = apply(&repo, user, operation("out", BalanceKind::Virtual, "0.5")).await;
    let expected = Balances {
        real: money("500"),
        virtual_: money("1049.50"),
    };
    assert_eq!(outcome, BalanceOutcome::Applied(expected));
    assert_eq!(repo.balances(user).await.unwrap(), Some(expected));

    let ledger = repo.ledger(user, PageRequest::default()).await.unwrap();
    let actions: Vec<_> = ledger.items.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            BalanceAction::Out,
            BalanceAction::Convert,
            BalanceAction::In
        ]
    );
    assert_eq!(ledger.items[1].bonus, money("50"));
    assert_eq!(ledger.items[0].balances_after, expected);
    assert_eq!(ledger_sums(&repo, user).await, (expected, 3));
}

async fn a_refused_operation_changes_nothing(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    apply(&repo, user, operation("in", BalanceKind::Virtual, "10")).await;
    for refused in [
        operation("out", BalanceKind::Virtual, "10.01"),
        operation("out", BalanceKind::Real, "0.01"),
        operation("convert", BalanceKind::Real, "1"),
    ] {
        assert_eq!(
            apply(&repo, user, refused).await,
            BalanceOutcome::Refused(BalanceRefusal::InsufficientFunds)
        );
    }
    let expected = Balances {
        real: Money::ZERO,
        virtual_: money("10"),
    };
    assert_eq!(repo.balances(user).await.unwrap(), Some(expected));
    assert_eq!(ledger_sums(&repo, user).await, (expected, 1));
}

async fn a_balance_never_passes_its_upper_bound(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    let database = db.connect().await;
    // Start just below the bound, as many deposits would leave it.
    let near_max = Money::max().minor_units() - 50;
    database.set_balances_for_tests(user, near_max, 0).await;
    let over = apply(&repo, user, operation("in", BalanceKind::Real, "0.51")).await;
    assert_eq!(over, BalanceOutcome::Refused(BalanceRefusal::LimitExceeded));
    let exact = apply(&repo, user, operation("in", BalanceKind::Real, "0.50")).await;
    assert_eq!(
        exact,
        BalanceOutcome::Applied(Balances {
            real: Money::max(),
            virtual_: Money::ZERO
        })
    );
}

async fn an_unknown_user_is_reported(db: &TestDatabase) {
    let (repo, _) = setup(db).await;
    let result = repo
        .apply(command(
            UserId(424_242),
            operation("in", BalanceKind::Real, "1"),
            None,
            1,
        ))
        .await;
    assert!(matches!(result, Err(ApplyBalanceError::UserNotFound)));
    assert_eq!(repo.balances(UserId(424_242)).await.unwrap(), None);
}

async fn two_hundred_concurrent_withdrawals_of_one_from_150(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    apply(&repo, user, operation("in", BalanceKind::Real, "150.00")).await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let repo = Arc::clone(&repo);
            tokio::spawn(async move {
                let op = operation("out", BalanceKind::Real, "1.00");
                repo.apply(command(user, op, None, 2))
                    .await
                    .unwrap()
                    .outcome
            })
        })
        .collect();
    let (mut applied, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            BalanceOutcome::Applied(_) => applied += 1,
            BalanceOutcome::Refused(BalanceRefusal::InsufficientFunds) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((applied, refused), (150, 50));
    let balances = repo.balances(user).await.unwrap().unwrap();
    assert_eq!(balances.real, Money::ZERO);
    let (sums, rows) = ledger_sums(&repo, user).await;
    assert_eq!(rows, 151);
    assert_eq!(sums, balances);
}

async fn concurrent_mixed_operations_match_the_ledger(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    apply(&repo, user, operation("in", BalanceKind::Real, "100")).await;
    let tasks: Vec<_> = (0..120)
        .map(|i| {
            let repo = Arc::clone(&repo);
            tokio::spawn(async move {
                let op = match i % 6 {
                    0 => operation("in", BalanceKind::Real, "3.33"),
                    1 => operation("out", BalanceKind::Real, "2.10"),
                    2 => operation("convert", BalanceKind::Real, "1.30"),
                    3 => operation("in", BalanceKind::Virtual, "0.07"),
                    4 => operation("out", BalanceKind::Virtual, "1.01"),
                    _ => operation("convert", BalanceKind::Real, "10.10"),
                };
                repo.apply(command(user, op, None, 3)).await.unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let balances = repo.balances(user).await.unwrap().unwrap();
    let (sums, _) = ledger_sums(&repo, user).await;
    assert_eq!(sums, balances);
}

async fn the_same_key_twenty_times_at_once_applies_once(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let repo = Arc::clone(&repo);
            tokio::spawn(async move {
                let op = operation("in", BalanceKind::Real, "5.00");
                repo.apply(command(user, op, Some("top-up-1"), 4))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes: Vec<RecordedOutcome> = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let fresh = outcomes.iter().filter(|o| !o.replayed).count();
    assert_eq!(fresh, 1);
    let expected = BalanceOutcome::Applied(Balances {
        real: money("5"),
        virtual_: Money::ZERO,
    });
    assert!(outcomes.iter().all(|o| o.outcome == expected));
    assert_eq!(ledger_sums(&repo, user).await.1, 1);
}

async fn a_key_reused_for_another_request_is_refused(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    let first = operation("in", BalanceKind::Real, "5.00");
    repo.apply(command(user, first, Some("k"), 5))
        .await
        .unwrap();
    let other = operation("in", BalanceKind::Real, "6.00");
    let result = repo.apply(command(user, other, Some("k"), 6)).await;
    assert!(matches!(
        result,
        Err(ApplyBalanceError::IdempotencyKeyReused)
    ));
    assert_eq!(ledger_sums(&repo, user).await.1, 1);

    // A refusal is replayed too, even once funds would allow the request.
    let overdraw = operation("out", BalanceKind::Virtual, "1.00");
    let refused = repo
        .apply(command(user, overdraw, Some("o"), 7))
        .await
        .unwrap();
    assert_eq!(
        refused.outcome,
        BalanceOutcome::Refused(BalanceRefusal::InsufficientFunds)
    );
    apply(&repo, user, operation("in", BalanceKind::Virtual, "2")).await;
    let replay = repo
        .apply(command(user, overdraw, Some("o"), 8))
        .await
        .unwrap();
    assert_eq!(
        replay,
        RecordedOutcome {
            replayed: true,
            ..refused
        }
    );
}

async fn keys_expire_after_the_retention(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    let op = operation("in", BalanceKind::Real, "1.00");
    repo.apply(command(user, op, Some("daily"), 0))
        .await
        .unwrap();
    let within = repo
        .apply(command(user, op, Some("daily"), 23 * 3600))
        .await
        .unwrap();
    assert!(within.replayed);
    let after = repo
        .apply(command(user, op, Some("daily"), 25 * 3600))
        .await
        .unwrap();
    assert!(!after.replayed);
    assert_eq!(ledger_sums(&repo, user).await.1, 2);
}

/// The background worker's part: keys created before the cut-off go, in
/// batches, the others stay and still replay; a keyed request no longer
/// sweeps the user's other keys.
async fn expired_keys_are_pruned_in_the_background(db: &TestDatabase) {
    let (repo, user) = setup(db).await;
    let op = operation("in", BalanceKind::Real, "1.00");
    for n in 0..1_005 {
        repo.apply(command(user, op, Some(&format!("old-{n}")), 0))
            .await
            .unwrap();
    }
    repo.apply(command(user, op, Some("recent"), 3_600))
        .await
        .unwrap();
    // A keyed request a day later leaves the other expired keys to the worker.
    repo.apply(command(user, op, Some("later"), 25 * 3600))
        .await
        .unwrap();
    let pruned = repo.prune_idempotency_keys(at(1)).await.unwrap();
    assert_eq!(pruned, 1_005, "every old key, over more than one batch");
    assert_eq!(repo.prune_idempotency_keys(at(1)).await.unwrap(), 0);
    let recent = repo
        .apply(command(user, op, Some("recent"), 3_700))
        .await
        .unwrap();
    assert!(recent.replayed, "a key inside its retention stays");
}

on_both_backends!(
    expired_keys_are_pruned_in_the_background,
    in_out_and_convert_move_exact_amounts,
    a_refused_operation_changes_nothing,
    a_balance_never_passes_its_upper_bound,
    an_unknown_user_is_reported,
    two_hundred_concurrent_withdrawals_of_one_from_150,
    concurrent_mixed_operations_match_the_ledger,
    the_same_key_twenty_times_at_once_applies_once,
    a_key_reused_for_another_request_is_refused,
    keys_expire_after_the_retention,
);
