//! TOTP codes, secrets and time steps.

use chrono::{DateTime, Utc};

/// A TOTP step: 30 seconds (RFC 6238's default, what every authenticator
/// app assumes).
pub const STEP_SECONDS: i64 = 30;

/// Random bytes in a TOTP secret: 160 bits, the length of SHA-1's output
/// that RFC 4226 recommends.
pub const TOTP_SECRET_BYTES: usize = 20;

/// A code as typed: exactly six ASCII digits. No spaces, no other digits
/// (`１２３４５６` is refused), so that one code has one spelling.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode([u8; 6]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("A code is six digits.")]
    NotSixDigits,
}

impl TotpCode {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let bytes: [u8; 6] = raw
            .as_bytes()
            .try_into()
            .map_err(|_| CodeError::NotSixDigits)?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::NotSixDigits);
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }
}

/// Codes are secrets for their 30 seconds: never printed.
impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode(******)")
    }
}

/// A TOTP secret; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret([u8; TOTP_SECRET_BYTES]);

impl TotpSecret {
    pub const fn from_bytes(bytes: [u8; TOTP_SECRET_BYTES]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; TOTP_SECRET_BYTES] {
        &self.0
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

/// The number of whole steps since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeStep(pub i64);

impl TimeStep {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(now.timestamp().div_euclid(STEP_SECONDS))
    }

    /// The step before, this one and the step after: the clock drift an
    /// authenticator is allowed (one step either side).
    pub fn window(self) -> [TimeStep; 3] {
        [Self(self.0 - 1), self, Self(self.0 + 1)]
    }

    /// The first moment of the step.
    pub fn unix_seconds(self) -> i64 {
        self.0 * STEP_SECONDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_code_is_exactly_six_ascii_digits() {
        assert!(TotpCode::parse("012345").is_ok());
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            " 12345",
            "123 456",
            "１２３４５６",
            "12345\u{200b}",
        ] {
            assert_eq!(
                TotpCode::parse(bad),
                Err(CodeError::NotSixDigits),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn codes_and_secrets_are_never_printed() {
        let code = TotpCode::parse("123456").unwrap();
        assert!(!format!("{code:?}").contains("123"));
        let secret = TotpSecret::from_bytes([7; TOTP_SECRET_BYTES]);
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
    }

    #[test]
    fn steps_are_thirty_seconds_from_the_epoch() {
        let at = |s| Utc.timestamp_opt(s, 0).unwrap();
        assert_eq!(TimeStep::at(at(59)), TimeStep(1));
        assert_eq!(TimeStep::at(at(60)), TimeStep(2));
        assert_eq!(
            TimeStep(2).window(),
            [TimeStep(1), TimeStep(2), TimeStep(3)]
        );
        assert_eq!(TimeStep(2).unix_seconds(), 60);
    }
}
