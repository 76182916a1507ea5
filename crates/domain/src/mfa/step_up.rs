//! Step-up: money above a threshold leaves only after a fresh second
//! factor. Identity servers ask for one by route; this service knows what
//! the request does with money, so it asks by amount.

use chrono::{DateTime, Duration, Utc};

use crate::balance::BalanceOperation;
use crate::sessions::Authentication;
use crate::Amount;

/// `MFA_STEP_UP_OUT_ABOVE` and `MFA_STEP_UP_SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepUp {
    pub out_above: Amount,
    pub window: Duration,
}

impl StepUp {
    /// Whether `operation` is an `out` above the threshold: only then is a
    /// fresh second factor asked of an account that has one.
    pub fn covers(&self, operation: &BalanceOperation) -> bool {
        matches!(operation, BalanceOperation::Withdraw { amount, .. } if *amount > self.out_above)
    }

    /// Whether a session that signed in as `authentication` says (`None`
    /// for a token of the old service, which proves no second factor)
    /// proved a second factor recently enough at `now`.
    pub fn satisfied_by(&self, authentication: Option<Authentication>, now: DateTime<Utc>) -> bool {
        authentication.is_some_and(|proof| proof.second_factor_within(self.window, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balance::BalanceKind;
    use crate::testing::at;

    fn step_up() -> StepUp {
        StepUp {
            out_above: Amount::parse("1000.00").unwrap(),
            window: Duration::seconds(300),
        }
    }

    fn out(amount: &str) -> BalanceOperation {
        BalanceOperation::Withdraw {
            kind: BalanceKind::Real,
            amount: Amount::parse(amount).unwrap(),
        }
    }

    #[test]
    fn only_an_out_above_the_threshold_is_covered() {
        assert!(!step_up().covers(&out("1000.00")));
        assert!(step_up().covers(&out("1000.01")));
        let deposit = BalanceOperation::Deposit {
            kind: BalanceKind::Real,
            amount: Amount::parse("5000").unwrap(),
        };
        let convert = BalanceOperation::Convert {
            amount: Amount::parse("5000").unwrap(),
        };
        assert!(!step_up().covers(&deposit));
        assert!(!step_up().covers(&convert));
    }

    #[test]
    fn a_second_factor_counts_for_the_window_and_not_a_second_more() {
        let proved =
            |at: DateTime<Utc>, second_factor: bool| Some(Authentication { at, second_factor });
        let policy = step_up();
        assert!(policy.satisfied_by(proved(at(0), true), at(300)));
        assert!(!policy.satisfied_by(proved(at(0), true), at(301)));
        assert!(!policy.satisfied_by(proved(at(0), false), at(1)));
        assert!(!policy.satisfied_by(None, at(1)));
    }
}
