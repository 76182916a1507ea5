//! The keys tokens are signed and checked with: one that signs, any number
//! of retired ones that still verify, and the public JWK Set other services
//! verify with.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::cursor_seal::SealKey;
use crate::signing_keys::{PrivateKey, SigningAlgorithm};

/// How a token names its key, and what checks it.
#[derive(Clone)]
pub struct Verifier {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

#[derive(Clone)]
struct Signer {
    algorithm: SigningAlgorithm,
    kid: String,
    key: EncodingKey,
}

/// A retired key given twice, or the signing key also listed as retired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the key {kid} is listed twice")]
pub struct DuplicateKey {
    pub kid: String,
}

#[derive(Clone)]
pub struct KeyRing {
    signer: Signer,
    /// Every key that verifies, by `kid`: the signing key's and the
    /// retired ones'.
    verifiers: HashMap<String, Verifier>,
    /// The `kid` of the shared secret, which also checks tokens without a
    /// `kid` (issued before tokens named their key).
    secret_kid: Option<String>,
    /// The public keys, signing key first.
    published: JwkSet,
    /// The keys that seal page cursors: the signing key's first.
    seal_keys: Vec<SealKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("algorithm", &self.signer.algorithm)
            .field("kid", &self.signer.kid)
            .field("verifying", &self.verifiers.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Signs and verifies with a shared secret (HS256); publishes nothing.
    pub fn shared_secret(secret: &str) -> Self {
        let (kid, verifier) = secret_verifier(secret);
        Self {
            signer: Signer {
                algorithm: SigningAlgorithm::HS256,
                kid: kid.clone(),
                key: EncodingKey::from_secret(secret.as_bytes()),
            },
            verifiers: HashMap::from([(kid.clone(), verifier)]),
            secret_kid: Some(kid),
            published: JwkSet::default(),
            seal_keys: vec![SealKey::derive(secret.as_bytes())],
        }
    }

    /// Signs with `current`; `retired` keys and a `retired_secret` still
    /// verify (the keys stay published) but never sign.
    pub fn private_keys(
        current: PrivateKey,
        retired: Vec<PrivateKey>,
        retired_secret: Option<&str>,
    ) -> Result<Self, DuplicateKey> {
        let mut verifiers = HashMap::new();
        let mut published = JwkSet::default();
        for key in std::iter::once(&current).chain(&retired) {
            let verifier = Verifier {
                algorithm: key.algorithm.jwt(),
                key: key.decoding.clone(),
            };
            if verifiers.insert(key.kid.clone(), verifier).is_some() {
                return Err(DuplicateKey {
                    kid: key.kid.clone(),
                });
            }
            published.keys.push(key.public.clone());
        }
        let mut seal_keys: Vec<SealKey> = std::iter::once(&current)
            .chain(&retired)
            .map(|key| key.seal_key.clone())
            .collect();
        seal_keys.extend(retired_secret.map(|secret| SealKey::derive(secret.as_bytes())));
        let secret_kid = retired_secret.map(|secret| {
            let (kid, verifier) = secret_verifier(secret);
            verifiers.insert(kid.clone(), verifier);
            kid
        });
        Ok(Self {
            signer: Signer {
                algorithm: current.algorithm,
                kid: current.kid,
                key: current.encoding,
            },
            verifiers,
            secret_kid,
            published,
            seal_keys,
        })
    }

    pub(crate) fn seal_keys(&self) -> &[SealKey] {
        &self.seal_keys
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.signer.algorithm
    }

    /// The signing key's `kid`.
    pub fn kid(&self) -> &str {
        &self.signer.kid
    }

    /// Whether a shared secret verifies beside a private key that signs
    /// (a `JWT_SECRET` kept while moving to a key pair).
    pub fn has_retired_secret(&self) -> bool {
        self.signer.algorithm.is_asymmetric() && self.secret_kid.is_some()
    }

    pub fn signing_key(&self) -> &EncodingKey {
        &self.signer.key
    }

    /// The key a token's header names; a header without `kid` is checked
    /// by the shared secret, if one verifies.
    pub fn verifier(&self, kid: Option<&str>) -> Option<&Verifier> {
        self.verifiers.get(kid.or(self.secret_kid.as_deref())?)
    }

    /// The public keys, as `/.well-known/jwks.json` serves them.
    pub fn jwks(&self) -> &JwkSet {
        &self.published
    }
}

/// The secret's RFC 7638 thumbprint as its `kid`: a hash of the key, which
/// reveals no more than any token signed with it.
fn secret_verifier(secret: &str) -> (String, Verifier) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let bytes = secret.as_bytes();
    // The required members of an "oct" JWK, in lexicographic order.
    let canonical = format!(r#"{{"k":"{}","kty":"oct"}}"#, URL_SAFE_NO_PAD.encode(bytes));
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    (
        kid,
        Verifier {
            algorithm: Algorithm::HS256,
            key: DecodingKey::from_secret(bytes),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing_keys::{generate_pem, parse_private_key};

    fn key(algorithm: SigningAlgorithm) -> PrivateKey {
        parse_private_key(generate_pem(algorithm).unwrap().as_bytes(), None).unwrap()
    }

    #[test]
    fn retired_keys_verify_and_are_published_but_never_sign() {
        let (current, retired) = (key(SigningAlgorithm::EdDSA), key(SigningAlgorithm::ES256));
        let ring = KeyRing::private_keys(current.clone(), vec![retired.clone()], None).unwrap();
        assert_eq!(ring.kid(), current.kid);
        assert_eq!(ring.algorithm(), SigningAlgorithm::EdDSA);
        assert_eq!(
            ring.verifier(Some(&retired.kid)).unwrap().algorithm,
            Algorithm::ES256
        );
        let kids: Vec<_> = ring
            .jwks()
            .keys
            .iter()
            .map(|k| k.common.key_id.clone().unwrap())
            .collect();
        assert_eq!(kids, [current.kid, retired.kid]);
        assert!(ring.verifier(None).is_none(), "no kid, no shared secret");
        assert!(ring.verifier(Some("unknown")).is_none());
    }

    #[test]
    fn a_key_listed_twice_is_refused() {
        let current = key(SigningAlgorithm::EdDSA);
        let twice = KeyRing::private_keys(current.clone(), vec![current.clone()], None);
        assert_eq!(twice.unwrap_err(), DuplicateKey { kid: current.kid });
    }

    #[test]
    fn a_shared_secret_is_never_published_and_checks_tokens_without_a_kid() {
        let secret = "a shared secret";
        let ring = KeyRing::shared_secret(secret);
        assert!(ring.jwks().keys.is_empty());
        assert_eq!(ring.verifier(None).unwrap().algorithm, Algorithm::HS256);
        let oct = jsonwebtoken::jwk::Jwk::from_encoding_key(
            &EncodingKey::from_secret(b"a shared secret"),
            Algorithm::HS256,
        )
        .unwrap();
        let thumbprint = oct
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(ring.kid(), thumbprint);
        assert_ne!(ring.kid(), KeyRing::shared_secret("another").kid());

        let retiring =
            KeyRing::private_keys(key(SigningAlgorithm::EdDSA), vec![], Some(secret)).unwrap();
        assert_eq!(retiring.verifier(None).unwrap().algorithm, Algorithm::HS256);
        assert!(retiring.verifier(Some(ring.kid())).is_some());
        assert_eq!(retiring.jwks().keys.len(), 1, "the secret is not published");
    }
}
