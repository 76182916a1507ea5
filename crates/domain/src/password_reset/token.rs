//! The secrets of a password reset: the link's `uid` and `token`, and the
//! digests under which they are stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Email, UserId};

/// Random bytes in a token: 256 bits, beyond guessing.
pub const TOKEN_BYTES: usize = 32;

/// The `uid` of a reset link: the URL-safe base64 of the id's decimal
/// digits, unpadded, exactly as Django's `urlsafe_base64_encode` writes it
/// (user 1 is `MQ`).
pub fn encode_uid(id: UserId) -> String {
    URL_SAFE_NO_PAD.encode(id.0.to_string())
}

/// The id behind a `uid`, if it is one `encode_uid` could have written:
/// padding, other alphabets, signs and leading zeros are refused, so that
/// one id has one `uid`.
pub fn decode_uid(uid: &str) -> Option<UserId> {
    let bytes = URL_SAFE_NO_PAD.decode(uid).ok()?;
    let digits = std::str::from_utf8(&bytes).ok()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id = UserId(digits.parse().ok()?);
    (encode_uid(id) == uid).then_some(id)
}

/// A reset token as mailed: 32 random bytes, URL-safe base64 (43
/// characters). Only its digest is stored; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ResetToken([u8; TOKEN_BYTES]);

impl ResetToken {
    pub fn from_bytes(bytes: [u8; TOKEN_BYTES]) -> Self {
        Self(bytes)
    }

    /// A token as a client sends it back; `None` unless it is exactly the
    /// form `encode` writes.
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let token = Self(bytes.try_into().ok()?);
        (token.encode() == raw).then_some(token)
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest(hex_sha256(&self.0))
    }
}

impl std::fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResetToken(***)")
    }
}

/// The SHA-256 of a token, in hex: what the database holds. A stolen copy
/// of the database yields no usable link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDigest(String);

impl TokenDigest {
    /// A digest as stored.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in constant time, so that how long a wrong token takes to
    /// refuse says nothing about how close it came.
    pub fn matches(&self, other: &TokenDigest) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

/// The SHA-256 of an address's canonical form: what the per-address mail
/// limit counts by, without storing addresses that have no account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressDigest(String);

impl AddressDigest {
    pub fn of(email: &Email) -> Self {
        Self(hex_sha256(email.canonical().as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_djangos() {
        // base64.urlsafe_b64encode(b"1").rstrip(b"=") == b"MQ", and so on.
        assert_eq!(encode_uid(UserId(1)), "MQ");
        assert_eq!(encode_uid(UserId(42)), "NDI");
        assert_eq!(encode_uid(UserId(123)), "MTIz");
        for id in [1, 42, 123, 9_999_999_999, i64::MAX] {
            assert_eq!(decode_uid(&encode_uid(UserId(id))), Some(UserId(id)));
        }
    }

    #[test]
    fn look_alike_uids_are_refused() {
        for uid in [
            "",
            "MQ==",
            "MQ=",
            "Kz E",
            "KzE", // "+1"
            "MDE", // "01"
            "LTE", // "-1"
            "IDE", // " 1"
            "YQ",  // "a"
            "MQ\u{200b}",
            "ＭＱ",
            "MQ.",
            "M Q",
        ] {
            assert_eq!(decode_uid(uid), None, "{uid:?}");
        }
        // 2^63 does not fit an id.
        assert_eq!(
            decode_uid(&URL_SAFE_NO_PAD.encode("9223372036854775808")),
            None
        );
    }

    #[test]
    fn tokens_round_trip_and_only_their_own_form_parses() {
        let token = ResetToken::from_bytes([7; TOKEN_BYTES]);
        let text = token.encode();
        assert_eq!(text.len(), 43);
        assert_eq!(ResetToken::parse(&text), Some(token.clone()));
        assert_eq!(format!("{token:?}"), "ResetToken(***)");
        for bad in [
            format!("{text}="),
            format!("{text}A"),
            text[..42].to_owned(),
            text.replace('B', "+"),
            format!(" {text}"),
            String::new(),
        ] {
            assert_eq!(ResetToken::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn digests_compare_exactly() {
        let one = ResetToken::from_bytes([1; TOKEN_BYTES]).digest();
        let two = ResetToken::from_bytes([2; TOKEN_BYTES]).digest();
        assert_eq!(one.as_str().len(), 64);
        assert!(one.matches(&one.clone()));
        assert!(!one.matches(&two));
        assert!(!one.matches(&TokenDigest::from_stored(String::new())));
    }

    #[test]
    fn an_address_digest_ignores_case() {
        let a = AddressDigest::of(&Email::parse("Ann@Example.com").unwrap());
        let b = AddressDigest::of(&Email::parse("ann@example.COM").unwrap());
        assert_eq!(a, b);
        assert_ne!(a.as_str(), "ann@example.com");
    }
}
