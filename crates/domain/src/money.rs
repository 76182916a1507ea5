use std::fmt;

use rust_decimal::Decimal;

/// An exact, non-negative amount of money with at most two decimal places.
/// Stored as integer minor units (cents); shown with exactly two places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// The largest balance the service holds: 10^13 − 0.01, far below `i64`
/// cents, so that no sum of two balances can overflow.
pub const MAX_MONEY_MINOR_UNITS: i64 = 1_000_000_000_000_000 - 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("Ensure this value is greater than or equal to 0.")]
    Negative,
    #[error("Ensure that there are no more than 2 decimal places.")]
    TooManyDecimalPlaces,
    #[error("Ensure this value is less than or equal to 9999999999999.99.")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

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
        let normalised = value.normalize();
        if normalised.scale() > 2 {
            return Err(MoneyError::TooManyDecimalPlaces);
        }
        let cents = (normalised * Decimal::ONE_HUNDRED).trunc();
        let units = i64::try_from(cents.mantissa() / 10_i128.pow(cents.scale()))
            .map_err(|_| MoneyError::TooLarge)?;
        Self::from_minor_units(units)
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn shows_exactly_two_places() {
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(
            Money::from_minor_units(105_000).unwrap().to_string(),
            "1050.00"
        );
        assert_eq!(Money::from_minor_units(7).unwrap().to_string(), "0.07");
    }

    #[test]
    fn parses_decimals_with_up_to_two_places() {
        let money = Money::from_decimal(Decimal::from_str("10.5").unwrap()).unwrap();
        assert_eq!(money.minor_units(), 1050);
        let trailing_zeros = Decimal::from_str("3.1000").unwrap();
        assert_eq!(
            Money::from_decimal(trailing_zeros).unwrap().minor_units(),
            310
        );
    }

    #[test]
    fn refuses_bad_values() {
        let parse = |s: &str| Money::from_decimal(Decimal::from_str(s).unwrap());
        assert_eq!(parse("-0.01"), Err(MoneyError::Negative));
        assert_eq!(parse("0.001"), Err(MoneyError::TooManyDecimalPlaces));
        assert_eq!(parse("10000000000000"), Err(MoneyError::TooLarge));
        assert_eq!(Money::from_minor_units(-1), Err(MoneyError::Negative));
    }
}
