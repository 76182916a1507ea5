use authusers_domain::mfa::{
    MfaRandom, RecoveryCode, TotpSecret, RECOVERY_CODE_CHARS, TOTP_SECRET_BYTES,
};
use authusers_domain::password_reset::{ResetToken, ResetTokenSource, TOKEN_BYTES};
use authusers_domain::sessions::{SessionId, SessionIdSource};
use rand::RngCore;

/// Reset tokens from the thread's cryptographic generator (ChaCha, seeded
/// and reseeded from the operating system).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomResetTokens;

impl ResetTokenSource for RandomResetTokens {
    fn new_token(&self) -> ResetToken {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        ResetToken::from_bytes(bytes)
    }
}

/// Session ids from the same generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSessionIds;

impl SessionIdSource for RandomSessionIds {
    fn new_id(&self) -> SessionId {
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        SessionId::from_bytes(bytes)
    }
}

/// TOTP secrets and recovery codes from the same generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomMfa;

impl MfaRandom for RandomMfa {
    fn totp_secret(&self) -> TotpSecret {
        let mut bytes = [0u8; TOTP_SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        TotpSecret::from_bytes(bytes)
    }

    fn recovery_code(&self) -> RecoveryCode {
        let mut bytes = [0u8; RECOVERY_CODE_CHARS];
        rand::rng().fill_bytes(&mut bytes);
        RecoveryCode::from_random(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn totp_secrets_and_recovery_codes_do_not_repeat() {
        let secrets: HashSet<[u8; TOTP_SECRET_BYTES]> = (0..1_000)
            .map(|_| *RandomMfa.totp_secret().as_bytes())
            .collect();
        assert_eq!(secrets.len(), 1_000);
        let codes: HashSet<String> = (0..1_000)
            .map(|_| RandomMfa.recovery_code().display())
            .collect();
        assert_eq!(codes.len(), 1_000);
    }

    #[test]
    fn tokens_do_not_repeat() {
        let tokens: HashSet<String> = (0..1_000)
            .map(|_| RandomResetTokens.new_token().encode())
            .collect();
        assert_eq!(tokens.len(), 1_000);
    }
}
