//! A second factor: TOTP (RFC 6238: SHA-1, six digits, 30-second steps, one
//! step either side) and single-use recovery codes. This module holds the
//! rules that need no I/O: what a code and a recovery code are, which time
//! step a code proves, that a step proved once is never accepted again, and
//! how recovery codes are made and kept (as digests only). Computing a
//! step's code and sealing secrets at rest are ports, implemented with
//! well-kept crates outside the domain.

mod codes;
mod ports;
mod recovery;
mod service;
mod step_up;
mod verification;

pub use codes::{CodeError, TimeStep, TotpCode, TotpSecret, STEP_SECONDS, TOTP_SECRET_BYTES};
pub use ports::{
    FactorChange, MfaRandom, MfaRepository, OneTimeCodes, SealError, SealedSecret, SecretSealer,
    SessionsEnding, StoredTotp,
};
#[cfg(any(test, feature = "mocks"))]
pub use ports::{MockMfaRandom, MockMfaRepository, MockOneTimeCodes, MockSecretSealer};
pub use recovery::{RecoveryCode, RecoveryCodeDigest, RECOVERY_CODES, RECOVERY_CODE_CHARS};
pub use service::{
    CheckError, EnrolError, Mfa, MfaPorts, MfaStatus, MfaToken, CHALLENGE_ATTEMPTS, CHALLENGE_TTL,
    ENROLMENT_TTL,
};
pub use step_up::StepUp;
pub use verification::{verify_code, CodeRefused};
