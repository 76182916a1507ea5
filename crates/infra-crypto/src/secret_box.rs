//! TOTP secrets sealed at rest with AES-256-GCM (RustCrypto's `aes-gcm`),
//! under `MFA_SECRET_KEY`; the keys of `MFA_PREVIOUS_SECRET_KEYS` still
//! open what they sealed, so that the key can be rotated as the signing
//! keys are. A sealed secret reads `v1.<key id>.<nonce and ciphertext in
//! URL-safe base64>`; the key id is the first eight hex digits of the key's
//! SHA-256, so that the right key is tried without trying them all. The
//! user's id is the associated data: a secret copied onto another user's
//! row does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use authusers_domain::mfa::{SealError, SealedSecret, SecretSealer, TotpSecret, TOTP_SECRET_BYTES};
use authusers_domain::UserId;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";
const NONCE_BYTES: usize = 12;

/// One AES-256 key and its id.
#[derive(Clone)]
pub struct SealingKey {
    id: String,
    cipher: Aes256Gcm,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealingKeyError {
    #[error("is not base64 (make one with `openssl rand -base64 32`)")]
    NotBase64,
    #[error("is {0} bytes; AES-256 needs 32 (make one with `openssl rand -base64 32`)")]
    WrongLength(usize),
}

impl SealingKey {
    /// A key as `openssl rand -base64 32` prints it: 32 bytes in standard
    /// base64.
    pub fn from_base64(raw: &str) -> Result<Self, SealingKeyError> {
        let bytes = STANDARD
            .decode(raw.trim())
            .map_err(|_| SealingKeyError::NotBase64)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| SealingKeyError::WrongLength(bytes.len()))?;
        let id = Sha256::digest(key)
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            id,
            cipher: Aes256Gcm::new(&key.into()),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Never prints the key.
impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingKey({})", self.id)
    }
}

/// The current key, which seals, and the retired ones, which only open.
#[derive(Debug, Clone)]
pub struct SecretBox {
    current: SealingKey,
    retired: Vec<SealingKey>,
}

impl SecretBox {
    pub fn new(current: SealingKey, retired: Vec<SealingKey>) -> Self {
        Self { current, retired }
    }
}

fn associated_data(user: UserId) -> Vec<u8> {
    format!("authusers totp secret of user {}", user.0).into_bytes()
}

impl SecretSealer for SecretBox {
    fn seal(&self, user: UserId, secret: &TotpSecret) -> Result<SealedSecret, SealError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(user);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::CannotSeal("AES-GCM refused to encrypt".into()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(SealedSecret(format!(
            "{VERSION}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(sealed)
        )))
    }

    fn open(&self, user: UserId, sealed: &SealedSecret) -> Result<TotpSecret, SealError> {
        let cannot = |why: &str| SealError::CannotOpen(why.to_owned());
        let mut parts = sealed.0.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(cannot("not a sealed secret of this service"));
        };
        let key = std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|key| key.id == id)
            .ok_or_else(|| {
                cannot(&format!(
                    "sealed with key {id}, which is neither MFA_SECRET_KEY nor one of MFA_PREVIOUS_SECRET_KEYS"
                ))
            })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| cannot("not base64"))?;
        if bytes.len() <= NONCE_BYTES {
            return Err(cannot("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| cannot("too short"))?;
        let aad = associated_data(user);
        let plain = key
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| cannot("altered, or sealed for another user"))?;
        let secret: [u8; TOTP_SECRET_BYTES] = plain
            .as_slice()
            .try_into()
            .map_err(|_| cannot("not a TOTP secret's length"))?;
        Ok(TotpSecret::from_bytes(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const KEY_B: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=";

    fn key(raw: &str) -> SealingKey {
        SealingKey::from_base64(raw).unwrap()
    }

    fn secret() -> TotpSecret {
        TotpSecret::from_bytes([9; TOTP_SECRET_BYTES])
    }

    #[test]
    fn a_sealed_secret_opens_for_its_user_only() {
        let sealer = SecretBox::new(key(KEY_A), vec![]);
        let sealed = sealer.seal(UserId(7), &secret()).unwrap();
        assert!(sealed.0.starts_with(&format!("v1.{}.", key(KEY_A).id())));
        assert!(
            !sealed.0.contains("CQkJ"),
            "the secret shows through: {sealed:?}"
        );
        assert_eq!(sealer.open(UserId(7), &sealed).unwrap(), secret());
        assert!(matches!(
            sealer.open(UserId(8), &sealed),
            Err(SealError::CannotOpen(_))
        ));
        // Two seals of one secret differ (a fresh nonce each).
        assert_ne!(sealer.seal(UserId(7), &secret()).unwrap(), sealed);
    }

    #[test]
    fn a_retired_key_opens_and_an_unknown_key_or_an_altered_seal_does_not() {
        let old = SecretBox::new(key(KEY_A), vec![]);
        let sealed = old.seal(UserId(1), &secret()).unwrap();
        let rotated = SecretBox::new(key(KEY_B), vec![key(KEY_A)]);
        assert_eq!(rotated.open(UserId(1), &sealed).unwrap(), secret());
        assert!(rotated
            .seal(UserId(1), &secret())
            .unwrap()
            .0
            .starts_with(&format!("v1.{}.", key(KEY_B).id())));
        let forgotten = SecretBox::new(key(KEY_B), vec![]);
        assert!(matches!(
            forgotten.open(UserId(1), &sealed),
            Err(SealError::CannotOpen(_))
        ));
        let mut altered = sealed.0.clone();
        let last = altered.pop().unwrap();
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            old.open(UserId(1), &SealedSecret(altered)),
            Err(SealError::CannotOpen(_))
        ));
        for junk in ["", "v1", "v2.x.y", "v1.00000000.", "v1.nokey.AAAA"] {
            assert!(
                old.open(UserId(1), &SealedSecret(junk.into())).is_err(),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn keys_are_32_bytes_of_base64_and_never_printed() {
        assert_eq!(
            SealingKey::from_base64("not base64!").unwrap_err(),
            SealingKeyError::NotBase64
        );
        assert_eq!(
            SealingKey::from_base64("MDEyMzQ1Njc4OWFiY2RlZg==").unwrap_err(),
            SealingKeyError::WrongLength(16)
        );
        let printed = format!("{:?}", key(KEY_A));
        assert!(!printed.contains("MDEy") && printed.starts_with("SealingKey("));
    }
}
