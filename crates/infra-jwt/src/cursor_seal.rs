//! Page cursors sealed with HMAC-SHA256 under a key derived from the token
//! signing key: every replica holding the key file (or the shared secret)
//! opens every other's cursors, a retired key still opens the cursors it
//! sealed, and no client can make one. Deriving it spares operators a
//! second secret to provision and rotate.

use authusers_domain::pagination::CursorSeal;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use pkcs8::der::zeroize::Zeroizing;
use sha2::Sha256;

use crate::KeyRing;

/// What the derivation mixes in, so that the seal key is no other key.
const LABEL: &[u8] = b"authusers page cursor seal v1";
/// The tag's length: the left half of HMAC-SHA256, 128 bits.
const TAG_BYTES: usize = 16;
/// No cursor of ours is anywhere near this long; longer text is refused
/// before any decoding.
const MAX_SEALED_CHARS: usize = 1024;

type HmacSha256 = Hmac<Sha256>;

/// A key that seals cursors.
#[derive(Clone)]
pub struct SealKey(Zeroizing<[u8; 32]>);

impl SealKey {
    /// HMAC-SHA256(secret, label): a key of its own from key material.
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = mac(secret);
        mac.update(LABEL);
        Self(Zeroizing::new(mac.finalize().into_bytes().into()))
    }

    fn tag(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = mac(self.0.as_slice());
        mac.update(payload);
        mac
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// The domain's `CursorSeal` on a key ring: seals with the signing key's
/// seal key, opens with any of the ring's.
pub struct CursorSeals {
    keys: Vec<SealKey>,
}

impl CursorSeals {
    pub fn new(ring: &KeyRing) -> Self {
        Self {
            keys: ring.seal_keys().to_vec(),
        }
    }
}

impl CursorSeal for CursorSeals {
    fn seal(&self, payload: &[u8]) -> String {
        let tag = match self.keys.first() {
            Some(key) => key.tag(payload).finalize().into_bytes(),
            None => unreachable!("a key ring always has its signing key"),
        };
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
        )
    }

    fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        if sealed.len() > MAX_SEALED_CHARS {
            return None;
        }
        let (payload, tag) = sealed.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != TAG_BYTES {
            return None;
        }
        // Compared in constant time by the MAC itself.
        self.keys
            .iter()
            .any(|key| key.tag(&payload).verify_truncated_left(&tag).is_ok())
            .then_some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing_keys::{generate_pem, parse_private_key};
    use crate::SigningAlgorithm;

    fn ring(algorithm: SigningAlgorithm) -> KeyRing {
        let key = parse_private_key(generate_pem(algorithm).unwrap().as_bytes(), None).unwrap();
        KeyRing::private_keys(key, vec![], None).unwrap()
    }

    #[test]
    fn what_is_sealed_opens_and_nothing_else_does() {
        let seals = CursorSeals::new(&ring(SigningAlgorithm::EdDSA));
        let sealed = seals.seal(b"position 42");
        assert_eq!(seals.open(&sealed).as_deref(), Some(&b"position 42"[..]));

        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(b"position 43"));
        assert_eq!(seals.open(&forged), None, "another payload under the tag");
        let mut flipped = URL_SAFE_NO_PAD.decode(tag).unwrap();
        flipped[0] ^= 1;
        let tampered = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(flipped));
        assert_eq!(seals.open(&tampered), None, "a changed tag");
        for junk in ["", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.???"] {
            assert_eq!(seals.open(junk), None, "{junk:?}");
        }
        assert_eq!(seals.open(&"a".repeat(MAX_SEALED_CHARS + 1)), None);
    }

    #[test]
    fn another_key_opens_nothing_but_a_retired_key_still_does() {
        let old = ring(SigningAlgorithm::EdDSA);
        let sealed = CursorSeals::new(&old).seal(b"page");
        let other = CursorSeals::new(&ring(SigningAlgorithm::EdDSA));
        assert_eq!(other.open(&sealed), None);

        let shared = CursorSeals::new(&KeyRing::shared_secret("a shared secret"));
        assert_eq!(shared.open(&sealed), None);
        let sealed_by_secret = shared.seal(b"page");
        let key = parse_private_key(
            generate_pem(SigningAlgorithm::ES256).unwrap().as_bytes(),
            None,
        )
        .unwrap();
        let rotated = KeyRing::private_keys(key, vec![], Some("a shared secret")).unwrap();
        assert_eq!(
            CursorSeals::new(&rotated)
                .open(&sealed_by_secret)
                .as_deref(),
            Some(&b"page"[..]),
            "the retired secret still opens its cursors"
        );
    }
}
