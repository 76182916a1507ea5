use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

/// An exact, non-negative amount of money with exactly two decimal places,
/// at most [`Money::max`]. A balance is a `Money`. Held as whole minor
/// units (cents), so what is stored is what is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

/// The largest balance, in minor units: 9 999 999 999 999.99, far enough
/// below `i64::MAX` cents that adding two balances cannot overflow storage.
pub const MAX_MONEY_MINOR_UNITS: i64 = 999_999_999_999_999;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("the amount is negative")]
    Negative,
    #[error("the amount has more than 2 decimal places")]
    TooManyDecimalPlaces,
    #[error("the amount is above 9999999999999.99")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn max() -> Money {
        Money(MAX_MONEY_MINOR_UNITS)
    }

    pub fn from_minor_units(units: i64) -> Result<Self, MoneyError> {
        if units < 0 {
            Err(MoneyError::Negative)
        } else if units > MAX_MONEY_MINOR_UNITS {
            Err(MoneyError::TooLarge)
        } else {
            Ok(Self(units))
        }
    }

    pub fn from_decimal(value: Decimal) -> Result<Self, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        if value.normalize().scale() > 2 {
            return Err(MoneyError::TooManyDecimalPlaces);
        }
        if value > Self::max().to_decimal() {
            return Err(MoneyError::TooLarge);
        }
        let mut exact = value;
        exact.rescale(2);
        let cents = i64::try_from(exact.mantissa()).map_err(|_| MoneyError::TooLarge)?;
        Self::from_minor_units(cents)
    }

    /// Cents, as stored.
    pub fn minor_units(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        // Two amounts of at most MAX_MONEY_MINOR_UNITS cannot overflow i64.
        Money::from_minor_units(self.0 + other.0)
    }

    /// `None` when `other` is more than `self`: money never goes negative.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        Money::from_minor_units(self.0 - other.0).ok()
    }

    /// `self × rate`, rounded half-even to the cent.
    pub fn times_rate(self, rate: Decimal) -> Result<Money, MoneyError> {
        let product = (self.to_decimal() * rate)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
        Money::from_decimal(product)
    }
}

impl Default for Money {
    fn default() -> Self {
        Self::ZERO
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.to_decimal())
    }
}

/// A value a client asks to move: more than zero, at most two decimal
/// places, at most 1 000 000 000.00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Money);

pub const MAX_AMOUNT_MINOR_UNITS: i64 = 100_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("the amount is not above zero")]
    NotPositive,
    #[error("the amount has more than 2 decimal places")]
    TooManyDecimalPlaces,
    #[error("the amount is above 1000000000.00")]
    TooLarge,
}

impl Amount {
    /// Parses the exact text of a JSON number or string: plain decimal
    /// notation (`10`, `10.5`, `-3`) or scientific (`1e3`). Never goes
    /// through a float.
    pub fn parse(raw: &str) -> Result<Self, AmountError> {
        let value = parse_exact_decimal(raw).ok_or(AmountError::NotANumber)?;
        Self::from_decimal(value)
    }

    pub fn from_decimal(value: Decimal) -> Result<Self, AmountError> {
        if value <= Decimal::ZERO {
            return Err(AmountError::NotPositive);
        }
        if value.normalize().scale() > 2 {
            return Err(AmountError::TooManyDecimalPlaces);
        }
        if value > Decimal::new(MAX_AMOUNT_MINOR_UNITS, 2) {
            return Err(AmountError::TooLarge);
        }
        Money::from_decimal(value)
            .map(Self)
            .map_err(|_| AmountError::TooLarge)
    }

    pub fn money(self) -> Money {
        self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Strict decimal syntax: an optional minus, digits, an optional fraction,
/// an optional exponent. Rejects `NaN`, `inf`, `+1`, `.5`, spaces, and
/// anything `Decimal` cannot hold exactly (such as `1e309`).
fn parse_exact_decimal(raw: &str) -> Option<Decimal> {
    let (mantissa, exponent) = match raw.find(['e', 'E']) {
        Some(at) => (&raw[..at], Some(&raw[at + 1..])),
        None => (raw, None),
    };
    let digits = mantissa.strip_prefix('-').unwrap_or(mantissa);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    match exponent {
        None => Decimal::from_str_exact(mantissa).ok(),
        Some(exponent) => {
            let exponent_digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
            if !all_digits(exponent_digits) || exponent_digits.len() > 3 {
                return None;
            }
            Decimal::from_scientific(raw).ok()
        }
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(raw: &str) -> Money {
        Money::from_decimal(Decimal::from_str(raw).unwrap()).unwrap()
    }

    #[test]
    fn shows_exactly_two_places() {
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(
            Money::from_minor_units(105_000).unwrap().to_string(),
            "1050.00"
        );
        assert_eq!(Money::from_minor_units(7).unwrap().to_string(), "0.07");
        assert_eq!(money("10.5").to_string(), "10.50");
        assert_eq!(money("3.1000").minor_units(), 310);
    }

    #[test]
    fn refuses_bad_money() {
        let parse = |s: &str| Money::from_decimal(Decimal::from_str(s).unwrap());
        assert_eq!(parse("-0.01"), Err(MoneyError::Negative));
        assert_eq!(parse("0.001"), Err(MoneyError::TooManyDecimalPlaces));
        assert_eq!(parse("10000000000000"), Err(MoneyError::TooLarge));
        assert_eq!(Money::from_minor_units(-1), Err(MoneyError::Negative));
        assert_eq!(
            Money::from_minor_units(MAX_MONEY_MINOR_UNITS + 1),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn adds_and_subtracts_exactly() {
        assert_eq!(money("0.10").checked_add(money("0.20")), Ok(money("0.30")));
        assert_eq!(
            money("1.00").checked_sub(money("0.01")),
            Some(money("0.99"))
        );
        assert_eq!(money("1.00").checked_sub(money("1.01")), None);
        assert_eq!(
            Money::max().checked_add(money("0.01")),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn rates_round_half_even_to_the_cent() {
        let rate = Decimal::from_str("0.05").unwrap();
        // 0.10 × 0.05 = 0.005 → 0.00 (half to even), 0.30 × 0.05 = 0.015 → 0.02
        assert_eq!(money("0.10").times_rate(rate), Ok(money("0.00")));
        assert_eq!(money("0.30").times_rate(rate), Ok(money("0.02")));
        assert_eq!(money("0.50").times_rate(rate), Ok(money("0.02")));
        assert_eq!(money("1000").times_rate(rate), Ok(money("50")));
    }

    #[test]
    fn amounts_parse_exact_text() {
        assert_eq!(Amount::parse("1000").unwrap().to_string(), "1000.00");
        assert_eq!(Amount::parse("10.5").unwrap().to_string(), "10.50");
        assert_eq!(Amount::parse("10.50").unwrap().to_string(), "10.50");
        assert_eq!(Amount::parse("1e3").unwrap().to_string(), "1000.00");
        assert_eq!(Amount::parse("1.10E1").unwrap().to_string(), "11.00");
        assert_eq!(
            Amount::parse("1000000000.00").unwrap().to_string(),
            "1000000000.00"
        );
    }

    #[test]
    fn amounts_refuse_everything_else() {
        for (raw, error) in [
            ("0", AmountError::NotPositive),
            ("0.00", AmountError::NotPositive),
            ("-1", AmountError::NotPositive),
            ("1.001", AmountError::TooManyDecimalPlaces),
            ("0.001", AmountError::TooManyDecimalPlaces),
            ("1000000000.01", AmountError::TooLarge),
            ("1e10", AmountError::TooLarge),
            ("1e309", AmountError::NotANumber),
            ("NaN", AmountError::NotANumber),
            ("inf", AmountError::NotANumber),
            ("", AmountError::NotANumber),
            (" 1", AmountError::NotANumber),
            ("+1", AmountError::NotANumber),
            (".5", AmountError::NotANumber),
            ("1.", AmountError::NotANumber),
            ("1,5", AmountError::NotANumber),
            ("0x10", AmountError::NotANumber),
            ("99999999999999999999999999999999", AmountError::NotANumber),
        ] {
            assert_eq!(Amount::parse(raw), Err(error), "{raw:?}");
        }
    }
}
