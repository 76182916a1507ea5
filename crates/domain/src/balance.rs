//! Balances: a real and a virtual one per user, and the three operations
//! that move money — `in`, `out`, and `convert` (real → virtual with a bonus).

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::money::{Amount, Money, MoneyError, MAX_MONEY_MINOR_UNITS};
use crate::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceKind {
    Real,
    Virtual,
}

impl BalanceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Real => "real",
            Self::Virtual => "virtual",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "real" => Some(Self::Real),
            "virtual" => Some(Self::Virtual),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceAction {
    In,
    Out,
    Convert,
    /// A balance brought in from the service this one replaced: the first
    /// entry of its kind in a moved-in user's ledger. Never requested.
    Opening,
}

impl BalanceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
            Self::Convert => "convert",
            Self::Opening => "opening",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "in" => Some(Self::In),
            "out" => Some(Self::Out),
            "convert" => Some(Self::Convert),
            "opening" => Some(Self::Opening),
            _ => None,
        }
    }

    /// An action a client may ask for: `in`, `out` or `convert`; an opening
    /// entry is only ever written by moving a user in.
    pub fn parse_requested(raw: &str) -> Option<Self> {
        Self::parse(raw).filter(|action| *action != Self::Opening)
    }
}

/// One requested balance operation, valid by construction: a convert always
/// goes from real to virtual.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceOperation {
    Deposit { kind: BalanceKind, amount: Amount },
    Withdraw { kind: BalanceKind, amount: Amount },
    Convert { amount: Amount },
}

impl BalanceOperation {
    pub fn action(&self) -> BalanceAction {
        match self {
            Self::Deposit { .. } => BalanceAction::In,
            Self::Withdraw { .. } => BalanceAction::Out,
            Self::Convert { .. } => BalanceAction::Convert,
        }
    }

    /// The balance the operation names (`real` for a convert).
    pub fn kind(&self) -> BalanceKind {
        match self {
            Self::Deposit { kind, .. } | Self::Withdraw { kind, .. } => *kind,
            Self::Convert { .. } => BalanceKind::Real,
        }
    }

    pub fn amount(&self) -> Amount {
        match self {
            Self::Deposit { amount, .. }
            | Self::Withdraw { amount, .. }
            | Self::Convert { amount } => *amount,
        }
    }

    /// A stable text of what was asked, to tell a retried request from a
    /// different one sent under the same idempotency key.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}:{}:{}",
            self.action().as_str(),
            self.kind().as_str(),
            self.amount()
        )
    }
}

/// How much a convert adds on top of the converted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BonusPolicy {
    rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the convert bonus rate must be between 0 and 1 with at most 4 decimal places")]
pub struct BonusRateError;

impl BonusPolicy {
    /// 5%: real −= value, virtual += value × 1.05.
    pub fn standard() -> Self {
        Self {
            rate: Decimal::new(5, 2),
        }
    }

    pub fn with_rate(rate: Decimal) -> Result<Self, BonusRateError> {
        if rate < Decimal::ZERO || rate > Decimal::ONE || rate.normalize().scale() > 4 {
            return Err(BonusRateError);
        }
        Ok(Self { rate })
    }

    pub fn rate(&self) -> Decimal {
        self.rate
    }

    /// The bonus on converting `amount`, rounded half-even to the cent.
    /// (An amount is at most 10^9 and the rate at most 1, so the product is
    /// far below `Money::max`; an error here is a broken invariant.)
    pub fn bonus(&self, amount: Amount) -> Result<Money, MoneyError> {
        amount.money().times_rate(self.rate)
    }
}

impl Default for BonusPolicy {
    fn default() -> Self {
        Self::standard()
    }
}

/// A user's two balances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balances {
    pub real: Money,
    pub virtual_: Money,
}

/// What an operation does to the balances, in cents: the storage applies it
/// as one guarded update, so no balance is ever read, changed in memory and
/// written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChange {
    pub real_delta: i64,
    pub virtual_delta: i64,
    pub bonus: Money,
}

/// Why an operation was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum BalanceRefusal {
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("the balance would exceed its upper bound")]
    LimitExceeded,
}

impl BalanceRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientFunds => "insufficient_funds",
            Self::LimitExceeded => "limit_exceeded",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "insufficient_funds" => Some(Self::InsufficientFunds),
            "limit_exceeded" => Some(Self::LimitExceeded),
            _ => None,
        }
    }
}

impl BalanceChange {
    /// The change `operation` makes under `policy`; an error only if the
    /// bonus cannot be a sum of money (a broken invariant, never a value
    /// made up in its place).
    pub fn of(operation: BalanceOperation, policy: &BonusPolicy) -> Result<Self, MoneyError> {
        let cents = operation.amount().money().minor_units();
        let signed = |kind: BalanceKind, delta: i64| match kind {
            BalanceKind::Real => (delta, 0),
            BalanceKind::Virtual => (0, delta),
        };
        let ((real_delta, virtual_delta), bonus) = match operation {
            BalanceOperation::Deposit { kind, .. } => (signed(kind, cents), Money::ZERO),
            BalanceOperation::Withdraw { kind, .. } => (signed(kind, -cents), Money::ZERO),
            BalanceOperation::Convert { amount } => {
                let bonus = policy.bonus(amount)?;
                ((-cents, cents + bonus.minor_units()), bonus)
            }
        };
        Ok(Self {
            real_delta,
            virtual_delta,
            bonus,
        })
    }

    /// The balances after this change, or why it cannot apply. Storage
    /// adapters enforce exactly this rule in their guarded update.
    pub fn apply_to(&self, balances: Balances) -> Result<Balances, BalanceRefusal> {
        Ok(Balances {
            real: shift(balances.real, self.real_delta)?,
            virtual_: shift(balances.virtual_, self.virtual_delta)?,
        })
    }
}

fn shift(balance: Money, delta: i64) -> Result<Money, BalanceRefusal> {
    let after = balance.minor_units() + delta;
    if after < 0 {
        Err(BalanceRefusal::InsufficientFunds)
    } else if after > MAX_MONEY_MINOR_UNITS {
        Err(BalanceRefusal::LimitExceeded)
    } else {
        Money::from_minor_units(after).map_err(|_| BalanceRefusal::LimitExceeded)
    }
}

/// A client's idempotency key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not 1 to 255 visible ASCII characters")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, IdempotencyKeyError> {
        let valid = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdempotencyKeyError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One applied operation, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: i64,
    pub user: UserId,
    pub action: BalanceAction,
    pub kind: BalanceKind,
    pub amount: Money,
    pub bonus: Money,
    pub balances_after: Balances,
    pub created_at: DateTime<Utc>,
    pub idempotency_key: Option<IdempotencyKey>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amount(raw: &str) -> Amount {
        Amount::parse(raw).unwrap()
    }

    fn balances(real: i64, virtual_: i64) -> Balances {
        Balances {
            real: Money::from_minor_units(real).unwrap(),
            virtual_: Money::from_minor_units(virtual_).unwrap(),
        }
    }

    #[test]
    fn convert_moves_real_to_virtual_with_five_percent() {
        let change = BalanceChange::of(
            BalanceOperation::Convert {
                amount: amount("1000"),
            },
            &BonusPolicy::standard(),
        )
        .unwrap();
        assert_eq!(change.bonus.to_string(), "50.00");
        let after = change.apply_to(balances(150_000, 0)).unwrap();
        assert_eq!(after.real.to_string(), "500.00");
        assert_eq!(after.virtual_.to_string(), "1050.00");
    }

    #[test]
    fn the_bonus_rounds_half_to_even() {
        let policy = BonusPolicy::standard();
        // 0.10 × 5% = 0.005 → 0.00; 0.30 × 5% = 0.015 → 0.02; 10.10 × 5% = 0.505 → 0.50
        assert_eq!(policy.bonus(amount("0.10")).unwrap().to_string(), "0.00");
        assert_eq!(policy.bonus(amount("0.30")).unwrap().to_string(), "0.02");
        assert_eq!(policy.bonus(amount("10.10")).unwrap().to_string(), "0.50");
        assert_eq!(policy.bonus(amount("10.30")).unwrap().to_string(), "0.52");
    }

    #[test]
    fn out_never_goes_below_zero() {
        let change = BalanceChange::of(
            BalanceOperation::Withdraw {
                kind: BalanceKind::Virtual,
                amount: amount("1.01"),
            },
            &BonusPolicy::standard(),
        )
        .unwrap();
        assert_eq!(
            change.apply_to(balances(10_000, 100)),
            Err(BalanceRefusal::InsufficientFunds)
        );
    }

    #[test]
    fn in_never_passes_the_upper_bound() {
        let change = BalanceChange::of(
            BalanceOperation::Deposit {
                kind: BalanceKind::Real,
                amount: amount("0.01"),
            },
            &BonusPolicy::standard(),
        )
        .unwrap();
        let full = Balances {
            real: Money::max(),
            virtual_: Money::ZERO,
        };
        assert_eq!(change.apply_to(full), Err(BalanceRefusal::LimitExceeded));
    }

    #[test]
    fn the_bonus_rate_is_configurable_within_bounds() {
        let ten = BonusPolicy::with_rate(Decimal::new(10, 2)).unwrap();
        assert_eq!(ten.bonus(amount("3.00")).unwrap().to_string(), "0.30");
        assert_eq!(
            BonusPolicy::with_rate(Decimal::new(-1, 2)),
            Err(BonusRateError)
        );
        assert_eq!(
            BonusPolicy::with_rate(Decimal::new(11, 1)),
            Err(BonusRateError)
        );
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let a = BalanceOperation::Withdraw {
            kind: BalanceKind::Real,
            amount: amount("1"),
        };
        let same = BalanceOperation::Withdraw {
            kind: BalanceKind::Real,
            amount: amount("1.00"),
        };
        let other = BalanceOperation::Withdraw {
            kind: BalanceKind::Virtual,
            amount: amount("1"),
        };
        assert_eq!(a.fingerprint(), same.fingerprint());
        assert_ne!(a.fingerprint(), other.fingerprint());
    }

    #[test]
    fn idempotency_keys_are_visible_ascii() {
        assert!(IdempotencyKey::parse("order-42/retry_1").is_ok());
        for bad in ["", "has space", "ключ", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad),
                Err(IdempotencyKeyError),
                "{bad:?}"
            );
        }
    }

    fn any_amount() -> impl Strategy<Value = Amount> {
        (1i64..=100_000_000_000)
            .prop_map(|cents| Amount::from_decimal(Decimal::new(cents, 2)).unwrap())
    }

    fn any_operation() -> impl Strategy<Value = BalanceOperation> {
        let kind = prop_oneof![Just(BalanceKind::Real), Just(BalanceKind::Virtual)];
        prop_oneof![
            (kind.clone(), any_amount())
                .prop_map(|(kind, amount)| BalanceOperation::Deposit { kind, amount }),
            (kind, any_amount())
                .prop_map(|(kind, amount)| BalanceOperation::Withdraw { kind, amount }),
            any_amount().prop_map(|amount| BalanceOperation::Convert { amount }),
        ]
    }

    fn any_balances() -> impl Strategy<Value = Balances> {
        (0i64..=MAX_MONEY_MINOR_UNITS, 0i64..=MAX_MONEY_MINOR_UNITS)
            .prop_map(|(real, virtual_)| balances(real, virtual_))
    }

    proptest! {
        #[test]
        fn convert_creates_exactly_the_bonus(amount in any_amount(), start in any_balances()) {
            let policy = BonusPolicy::standard();
            let change = BalanceChange::of(BalanceOperation::Convert { amount }, &policy).unwrap();
            if let Ok(after) = change.apply_to(start) {
                let before = start.real.minor_units() + start.virtual_.minor_units();
                let total = after.real.minor_units() + after.virtual_.minor_units();
                prop_assert_eq!(total - before, change.bonus.minor_units());
                prop_assert_eq!(start.real.minor_units() - after.real.minor_units(),
                    amount.money().minor_units());
            }
        }

        #[test]
        fn the_bonus_is_the_half_even_rounding_of_five_percent(amount in any_amount()) {
            let bonus = BonusPolicy::standard().bonus(amount).unwrap().minor_units();
            // Exact 5% in hundredths of a cent, rounded half to even by hand.
            let scaled = amount.money().minor_units() * 5; // bonus × 100 cents
            let (quotient, remainder) = (scaled / 100, scaled % 100);
            let expected = match remainder.cmp(&50) {
                std::cmp::Ordering::Less => quotient,
                std::cmp::Ordering::Greater => quotient + 1,
                std::cmp::Ordering::Equal => quotient + quotient % 2,
            };
            prop_assert_eq!(bonus, expected);
        }

        #[test]
        fn no_operation_makes_a_balance_negative_or_too_large(
            start in any_balances(),
            operations in proptest::collection::vec(any_operation(), 1..20),
        ) {
            let policy = BonusPolicy::standard();
            let mut balances = start;
            for operation in operations {
                let change = BalanceChange::of(operation, &policy).unwrap();
                match change.apply_to(balances) {
                    Ok(after) => balances = after,
                    Err(_) => prop_assert!(
                        balances.real.minor_units() + change.real_delta < 0
                            || balances.virtual_.minor_units() + change.virtual_delta < 0
                            || balances.real.minor_units() + change.real_delta > MAX_MONEY_MINOR_UNITS
                            || balances.virtual_.minor_units() + change.virtual_delta > MAX_MONEY_MINOR_UNITS
                    ),
                }
                prop_assert!(balances.real >= Money::ZERO && balances.real <= Money::max());
                prop_assert!(balances.virtual_ >= Money::ZERO && balances.virtual_ <= Money::max());
            }
        }

        #[test]
        fn in_then_out_of_the_same_amount_restores_the_balance(
            start in any_balances(), amount in any_amount(),
            kind in prop_oneof![Just(BalanceKind::Real), Just(BalanceKind::Virtual)],
        ) {
            let policy = BonusPolicy::standard();
            let deposit = BalanceChange::of(BalanceOperation::Deposit { kind, amount }, &policy).unwrap();
            let withdraw = BalanceChange::of(BalanceOperation::Withdraw { kind, amount }, &policy).unwrap();
            if let Ok(after) = deposit.apply_to(start) {
                prop_assert_eq!(withdraw.apply_to(after), Ok(start));
            }
        }
    }
}
