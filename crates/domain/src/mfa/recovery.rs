//! Recovery codes: ten per enrolment, shown once, each good for one sign-in
//! instead of a code. Only their SHA-256 digests are stored (they are 50
//! random bits each, beyond guessing within the login limits, so a fast
//! digest is enough), and a code offered is compared with each stored
//! digest in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Codes in a set.
pub const RECOVERY_CODES: usize = 10;
/// Characters in a code, shown as two groups of five.
pub const RECOVERY_CODE_CHARS: usize = 10;

/// Crockford's base 32, lower-cased: digits and letters without i, l, o
/// and u, which read as others.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A recovery code: ten characters of [`ALPHABET`].
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode([u8; RECOVERY_CODE_CHARS]);

/// The stored form of a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryCodeDigest(pub String);

impl RecoveryCode {
    /// A code from random bytes: five bits of each.
    pub fn from_random(bytes: [u8; RECOVERY_CODE_CHARS]) -> Self {
        Self(bytes.map(|b| ALPHABET[usize::from(b & 31)]))
    }

    /// A code as typed: ten characters of the alphabet in either case, with
    /// or without the hyphen in the middle; anything else is not a code.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.as_bytes();
        let joined: Vec<u8> = match raw.len() {
            n if n == RECOVERY_CODE_CHARS => raw.to_vec(),
            n if n == RECOVERY_CODE_CHARS + 1 && raw[RECOVERY_CODE_CHARS / 2] == b'-' => raw
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != RECOVERY_CODE_CHARS / 2)
                .map(|(_, b)| *b)
                .collect(),
            _ => return None,
        };
        let lowered: Vec<u8> = joined.iter().map(u8::to_ascii_lowercase).collect();
        if !lowered.iter().all(|b| ALPHABET.contains(b)) {
            return None;
        }
        Some(Self(lowered.try_into().ok()?))
    }

    /// As shown to the user: `abcde-fghjk`.
    pub fn display(&self) -> String {
        let text = String::from_utf8_lossy(&self.0);
        format!(
            "{}-{}",
            &text[..RECOVERY_CODE_CHARS / 2],
            &text[RECOVERY_CODE_CHARS / 2..]
        )
    }

    pub fn digest(&self) -> RecoveryCodeDigest {
        let digest = Sha256::digest(self.0);
        RecoveryCodeDigest(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Which of `stored` this code is, each compared in constant time.
    pub fn find_in(&self, stored: &[RecoveryCodeDigest]) -> Option<usize> {
        let mine = self.digest();
        let mut found = None;
        for (index, digest) in stored.iter().enumerate() {
            if bool::from(digest.0.as_bytes().ct_eq(mine.0.as_bytes())) {
                found = Some(index);
            }
        }
        found
    }
}

/// Recovery codes are secrets: never printed.
impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_made_of_the_alphabet_and_read_back_in_any_case() {
        let code = RecoveryCode::from_random([0, 1, 31, 32, 255, 10, 17, 18, 19, 20]);
        let shown = code.display();
        assert_eq!(shown, "01z0z-ahjkm");
        assert_eq!(RecoveryCode::parse(&shown), Some(code.clone()));
        assert_eq!(RecoveryCode::parse("01Z0ZAHJKM"), Some(code.clone()));
        for bad in [
            "",
            "01zz0-zahj",
            "01zz0-zahjkk",
            "01zz0_zahjk",
            "01zz-0zahjk",
            "01zz0-zahjl",
            "01zz0 zahjk",
            "０1zz0-zahjk",
        ] {
            assert_eq!(RecoveryCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_code_is_found_among_the_stored_digests_by_its_own_only() {
        let one = RecoveryCode::from_random([1; 10]);
        let two = RecoveryCode::from_random([2; 10]);
        let stored = vec![two.digest(), one.digest()];
        assert_eq!(one.find_in(&stored), Some(1));
        assert_eq!(RecoveryCode::from_random([3; 10]).find_in(&stored), None);
        assert_eq!(one.digest().0.len(), 64);
        assert_eq!(format!("{one:?}"), "RecoveryCode(..)");
    }
}
