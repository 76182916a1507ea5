use super::*;
use crate::balance::{BalanceKind, BalanceRefusal};
use crate::clock::MockClock;
use crate::money::Amount;
use crate::testing::{at, user};
use crate::{Money, UserStatus};

fn wallet(repository: MockBalanceRepository) -> Wallet {
    let mut clock = MockClock::new();
    clock.expect_now().returning(|| at(100_000));
    Wallet::new(
        Arc::new(repository),
        Arc::new(clock),
        BonusPolicy::standard(),
        Duration::hours(DEFAULT_KEY_RETENTION_HOURS),
    )
}

fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

fn applied(real: i64, virtual_: i64) -> RecordedOutcome {
    RecordedOutcome {
        outcome: BalanceOutcome::Applied(Balances {
            real: Money::from_minor_units(real).unwrap(),
            virtual_: Money::from_minor_units(virtual_).unwrap(),
        }),
        replayed: false,
    }
}

#[tokio::test]
async fn a_convert_is_sent_to_storage_with_its_bonus() {
    let mut repository = MockBalanceRepository::new();
    repository
        .expect_apply()
        .withf(|command| {
            command.user.0 == 3
                && command.change.real_delta == -100_000
                && command.change.virtual_delta == 105_000
                && command.change.bonus.to_string() == "50.00"
                && command.idempotency_key.is_none()
                && command.at == at(100_000)
                && command.keys_valid_since == at(100_000 - 24 * 3600)
        })
        .times(1)
        .returning(|_| Ok(applied(50_000, 105_000)));
    let outcome = wallet(repository)
        .change(
            &user(3, UserStatus::Approved),
            BalanceOperation::Convert {
                amount: amount("1000"),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(outcome, applied(50_000, 105_000));
}

#[tokio::test]
async fn in_and_out_name_their_balance() {
    let mut repository = MockBalanceRepository::new();
    repository
        .expect_apply()
        .withf(|command| command.change.virtual_delta == 1_050 && command.change.real_delta == 0)
        .times(1)
        .returning(|_| Ok(applied(0, 1_050)));
    repository
        .expect_apply()
        .withf(|command| command.change.real_delta == -1)
        .times(1)
        .returning(|_| {
            Ok(RecordedOutcome {
                outcome: BalanceOutcome::Refused(BalanceRefusal::InsufficientFunds),
                replayed: false,
            })
        });
    let wallet = wallet(repository);
    let owner = user(3, UserStatus::Approved);
    wallet
        .change(
            &owner,
            BalanceOperation::Deposit {
                kind: BalanceKind::Virtual,
                amount: amount("10.5"),
            },
            None,
        )
        .await
        .unwrap();
    let refused = wallet
        .change(
            &owner,
            BalanceOperation::Withdraw {
                kind: BalanceKind::Real,
                amount: amount("0.01"),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        refused.outcome,
        BalanceOutcome::Refused(BalanceRefusal::InsufficientFunds)
    );
}

#[tokio::test]
async fn the_key_travels_with_the_command() {
    let mut repository = MockBalanceRepository::new();
    repository
        .expect_apply()
        .withf(|command| command.idempotency_key.as_ref().map(|k| k.as_str()) == Some("k-1"))
        .times(1)
        .returning(|_| Err(ApplyBalanceError::IdempotencyKeyReused));
    let deposit = BalanceOperation::Deposit {
        kind: BalanceKind::Real,
        amount: amount("1"),
    };
    let key = IdempotencyKey::parse("k-1").unwrap();
    let result = wallet(repository)
        .change(&user(3, UserStatus::Approved), deposit, Some(key))
        .await;
    assert!(matches!(
        result,
        Err(ChangeBalanceError::IdempotencyKeyReused)
    ));
}

#[tokio::test]
async fn reading_balances_of_a_vanished_user_is_not_found() {
    let mut repository = MockBalanceRepository::new();
    repository.expect_balances().returning(|_| Ok(None));
    let result = wallet(repository)
        .balances(&user(3, UserStatus::Approved))
        .await;
    assert!(matches!(result, Err(ChangeBalanceError::UserNotFound)));
}

#[tokio::test]
async fn expired_keys_are_those_older_than_the_retention() {
    let mut repository = MockBalanceRepository::new();
    repository
        .expect_prune_idempotency_keys()
        .withf(|before| *before == at(100_000) - Duration::hours(DEFAULT_KEY_RETENTION_HOURS))
        .times(1)
        .returning(|_| Ok(3));
    assert_eq!(wallet(repository).prune_expired_keys().await.unwrap(), 3);
}
