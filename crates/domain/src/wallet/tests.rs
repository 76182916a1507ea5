use super::*;
use crate::balance::BalanceRefusal;
use crate::clock::MockClock;
use crate::user::fixtures::{at, user};
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

fn request(action: &str, value_type: Option<&str>, value: &str) -> BalanceRequest {
    BalanceRequest {
        action: Some(action.into()),
        value_type: value_type.map(Into::into),
        value: ValueInput::Text(value.into()),
        idempotency_key: None,
    }
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

fn invalid_fields(result: Result<RecordedOutcome, ChangeBalanceError>) -> Vec<String> {
    match result {
        Err(ChangeBalanceError::Invalid(errors)) => errors.fields().keys().cloned().collect(),
        other => panic!("expected field errors, got {other:?}"),
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
            request("convert", None, "1000"),
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
        .change(&owner, request("in", Some("virtual"), "10.5"))
        .await
        .unwrap();
    let refused = wallet
        .change(&owner, request("out", Some("real"), "0.01"))
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
    let mut keyed = request("in", Some("real"), "1");
    keyed.idempotency_key = Some("k-1".into());
    let result = wallet(repository)
        .change(&user(3, UserStatus::Approved), keyed)
        .await;
    assert!(matches!(
        result,
        Err(ChangeBalanceError::IdempotencyKeyReused)
    ));
}

#[tokio::test]
async fn bad_requests_name_every_field_and_touch_no_storage() {
    let wallet = wallet(MockBalanceRepository::new());
    let owner = user(3, UserStatus::Approved);
    let cases: Vec<(BalanceRequest, Vec<&str>)> = vec![
        (request("in", Some("real"), "-1"), vec!["value"]),
        (request("in", Some("real"), "0"), vec!["value"]),
        (request("in", Some("real"), "1.001"), vec!["value"]),
        (request("in", Some("real"), "1000000000.01"), vec!["value"]),
        (request("in", Some("real"), "1e309"), vec!["value"]),
        (request("in", Some("real"), "NaN"), vec!["value"]),
        (request("steal", Some("real"), "1"), vec!["action"]),
        (request("in", Some("gold"), "1"), vec!["value_type"]),
        (request("in", None, "1"), vec!["value_type"]),
        (request("convert", Some("virtual"), "1"), vec!["value_type"]),
        (
            BalanceRequest {
                action: None,
                value_type: None,
                value: ValueInput::WrongType,
                idempotency_key: Some("with space".into()),
            },
            vec!["Idempotency-Key", "action", "value", "value_type"],
        ),
        (
            BalanceRequest {
                value: ValueInput::Missing,
                ..request("out", Some("real"), "1")
            },
            vec!["value"],
        ),
    ];
    for (bad, fields) in cases {
        let described = format!("{bad:?}");
        let got = invalid_fields(wallet.change(&owner, bad).await);
        assert_eq!(got, fields, "{described}");
    }
}

#[tokio::test]
async fn convert_accepts_real_as_its_value_type() {
    let mut repository = MockBalanceRepository::new();
    repository
        .expect_apply()
        .times(1)
        .returning(|_| Ok(applied(0, 105)));
    wallet(repository)
        .change(
            &user(3, UserStatus::Approved),
            request("convert", Some("real"), "1"),
        )
        .await
        .unwrap();
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
