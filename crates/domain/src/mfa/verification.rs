//! Which step a code proves, and the rule against replay: a step accepted
//! once is never accepted again, nor any step before it (an earlier code
//! still inside the window would otherwise pass after a later one).

use subtle::{Choice, ConstantTimeEq};

use super::codes::{TimeStep, TotpCode, TotpSecret};
use super::ports::OneTimeCodes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefused {
    #[error("the code is not the authenticator's code now")]
    Wrong,
    /// Right, but its step (or a later one) was accepted already.
    #[error("the code was used already")]
    Replayed,
}

/// The step `code` proves at `now`'s step, one step either side, if it is
/// newer than `last_accepted`. Every step of the window is compared, in
/// constant time, whether or not an earlier one matched.
pub fn verify_code(
    codes: &dyn OneTimeCodes,
    secret: &TotpSecret,
    code: &TotpCode,
    now: TimeStep,
    last_accepted: Option<TimeStep>,
) -> Result<TimeStep, CodeRefused> {
    let mut proved: Option<TimeStep> = None;
    let mut any = Choice::from(0);
    for step in now.window() {
        let equal = codes
            .code_at(secret, step)
            .as_bytes()
            .ct_eq(code.as_bytes());
        any |= equal;
        if bool::from(equal) {
            // The latest matching step: the same code twice in a window is
            // a one-in-a-million coincidence, and the later step is the
            // one to remember.
            proved = Some(step);
        }
    }
    match proved {
        Some(step) if bool::from(any) => match last_accepted {
            Some(last) if step <= last => Err(CodeRefused::Replayed),
            _ => Ok(step),
        },
        _ => Err(CodeRefused::Wrong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa::ports::MockOneTimeCodes;
    use crate::mfa::TOTP_SECRET_BYTES;

    /// Codes that are the step's number, six digits.
    fn codes() -> MockOneTimeCodes {
        let mut codes = MockOneTimeCodes::new();
        codes
            .expect_code_at()
            .returning(|_, step| TotpCode::parse(&format!("{:06}", step.0 % 1_000_000)).unwrap());
        codes
    }

    fn code(step: i64) -> TotpCode {
        TotpCode::parse(&format!("{step:06}")).unwrap()
    }

    const SECRET: TotpSecret = TotpSecret::from_bytes([1; TOTP_SECRET_BYTES]);

    #[test]
    fn a_code_of_the_step_or_either_neighbour_proves_its_step() {
        let codes = codes();
        for step in [99, 100, 101] {
            assert_eq!(
                verify_code(&codes, &SECRET, &code(step), TimeStep(100), None),
                Ok(TimeStep(step))
            );
        }
        for step in [98, 102, 5] {
            assert_eq!(
                verify_code(&codes, &SECRET, &code(step), TimeStep(100), None),
                Err(CodeRefused::Wrong)
            );
        }
    }

    #[test]
    fn a_step_accepted_once_and_every_earlier_step_are_refused() {
        let codes = codes();
        let last = Some(TimeStep(100));
        for step in [99, 100] {
            assert_eq!(
                verify_code(&codes, &SECRET, &code(step), TimeStep(100), last),
                Err(CodeRefused::Replayed)
            );
        }
        assert_eq!(
            verify_code(&codes, &SECRET, &code(101), TimeStep(100), last),
            Ok(TimeStep(101))
        );
    }
}
