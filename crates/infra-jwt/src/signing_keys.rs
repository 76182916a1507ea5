//! Private signing keys in PEM files: read (checked against the algorithm
//! they must sign with), and generated. A key becomes the pair
//! jsonwebtoken signs and verifies with, and a public JWK named by its
//! RFC 7638 thumbprint.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use pkcs8::der::zeroize::Zeroizing;
use pkcs8::LineEnding;
use rand::RngCore;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;

use crate::cursor_seal::SealKey;

/// The smallest RSA modulus accepted for RS256 (NIST SP 800-57).
pub const MIN_RSA_BITS: usize = 2048;
/// The size `keys generate` gives a new RSA key.
pub const GENERATED_RSA_BITS: usize = 3072;

/// What tokens are signed with: `JWT_ALGORITHM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 with a shared secret (`JWT_SECRET`).
    HS256,
    /// Ed25519.
    EdDSA,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
}

impl SigningAlgorithm {
    pub const ALL: [Self; 4] = [Self::HS256, Self::EdDSA, Self::ES256, Self::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
        }
    }

    pub fn jwt(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::EdDSA => Algorithm::EdDSA,
            Self::ES256 => Algorithm::ES256,
            Self::RS256 => Algorithm::RS256,
        }
    }

    /// Whether it signs with a private key whose public half is published.
    pub fn is_asymmetric(self) -> bool {
        self != Self::HS256
    }

    /// The kind of key it needs, as an operator would name it.
    fn key_kind(self) -> &'static str {
        match self {
            Self::HS256 => "a shared secret",
            Self::EdDSA => "an Ed25519 key",
            Self::ES256 => "a P-256 (prime256v1) EC key",
            Self::RS256 => "an RSA key",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An algorithm's name, in any letter case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected one of HS256, EdDSA, ES256, RS256")]
pub struct UnknownAlgorithm;

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or(UnknownAlgorithm)
    }
}

/// Why a PEM file holds no key this service can sign with. Never quotes
/// the file's content.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    #[error("cannot be read: {0}")]
    Unreadable(#[source] std::io::Error),
    #[error("is not a PEM file (expected -----BEGIN PRIVATE KEY-----)")]
    NotPem,
    #[error("holds {0} PEM keys; put one private key in the file")]
    SeveralKeys(usize),
    #[error("holds a public key or certificate; the private key is needed")]
    PublicOnly,
    #[error("holds an encrypted private key; give it unencrypted, readable only by the service")]
    Encrypted,
    #[error("holds a PEM block labelled {0:?}, not a private key")]
    UnknownLabel(String),
    #[error("holds a private key this service cannot sign with (Ed25519, P-256 and RSA keys are supported)")]
    UnsupportedKey,
    #[error("holds a malformed private key: {0}")]
    Malformed(String),
    #[error("holds {found}, but JWT_ALGORITHM={expected} needs {}", expected.key_kind())]
    WrongType {
        found: &'static str,
        expected: SigningAlgorithm,
    },
    #[error("holds a {0}-bit RSA key; RS256 needs at least {MIN_RSA_BITS} bits")]
    RsaTooShort(usize),
    #[error("cannot be written: {0}")]
    Unwritable(#[source] std::io::Error),
    #[error("already exists; choose another file or remove it first")]
    Exists,
}

/// A key file that cannot be used, named by its path.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct KeyFileError {
    pub path: PathBuf,
    #[source]
    pub problem: KeyProblem,
}

/// A private key, ready to sign, with its public JWK.
#[derive(Clone)]
pub struct PrivateKey {
    pub algorithm: SigningAlgorithm,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// The public key as published: `kid`, `alg` and `use` set.
    pub public: Jwk,
    /// The RFC 7638 thumbprint (SHA-256) of the public key.
    pub kid: String,
    /// The key that seals page cursors, derived from this one.
    pub seal_key: SealKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The key in `path`; it must suit `expected` when one is given, else its
/// type chooses the algorithm.
pub fn read_key_file(
    path: &Path,
    expected: Option<SigningAlgorithm>,
) -> Result<PrivateKey, KeyFileError> {
    let failed = |problem| KeyFileError {
        path: path.to_owned(),
        problem,
    };
    let pem = Zeroizing::new(std::fs::read(path).map_err(|e| failed(KeyProblem::Unreadable(e)))?);
    parse_private_key(&pem, expected).map_err(failed)
}

/// A private key from PEM text: PKCS#8 (`PRIVATE KEY`), or the older
/// `RSA PRIVATE KEY` and `EC PRIVATE KEY`; an `EC PARAMETERS` block beside
/// it is ignored, as OpenSSL writes one.
pub fn parse_private_key(
    pem: &[u8],
    expected: Option<SigningAlgorithm>,
) -> Result<PrivateKey, KeyProblem> {
    let text = std::str::from_utf8(pem).map_err(|_| KeyProblem::NotPem)?;
    let blocks: Vec<&str> = pem_blocks(text)
        .filter(|block| !block.starts_with("-----BEGIN EC PARAMETERS-----"))
        .collect();
    let block = match blocks.as_slice() {
        [] => return Err(KeyProblem::NotPem),
        [one] => *one,
        several => return Err(KeyProblem::SeveralKeys(several.len())),
    };
    let (label, der) = pkcs8::der::pem::decode_vec(block.as_bytes())
        .map_err(|e| KeyProblem::Malformed(e.to_string()))?;
    let der = Zeroizing::new(der);
    let material = match label {
        "PRIVATE KEY" => KeyMaterial::from_pkcs8(&der)?,
        "RSA PRIVATE KEY" => KeyMaterial::Rsa(Box::new(
            rsa::RsaPrivateKey::from_pkcs1_der(&der)
                .map_err(|e| KeyProblem::Malformed(e.to_string()))?,
        )),
        "EC PRIVATE KEY" => KeyMaterial::P256(
            p256::SecretKey::from_sec1_der(&der).map_err(|_| KeyProblem::UnsupportedKey)?,
        ),
        "ENCRYPTED PRIVATE KEY" => return Err(KeyProblem::Encrypted),
        "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => return Err(KeyProblem::PublicOnly),
        other => return Err(KeyProblem::UnknownLabel(other.to_owned())),
    };
    let algorithm = material.algorithm();
    if let Some(expected) = expected.filter(|expected| *expected != algorithm) {
        return Err(KeyProblem::WrongType {
            found: algorithm.key_kind(),
            expected,
        });
    }
    material.into_private_key()
}

/// The `-----BEGIN …-----` to `-----END …-----` blocks of a text.
fn pem_blocks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start..];
        let end_marker = after.find("-----END ")?;
        let end = after[end_marker + 9..]
            .find("-----")
            .map(|at| end_marker + 9 + at + 5)?;
        rest = &after[end..];
        Some(&after[..end])
    })
}

enum KeyMaterial {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::SecretKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl KeyMaterial {
    fn from_pkcs8(der: &[u8]) -> Result<Self, KeyProblem> {
        let info = pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|e| KeyProblem::Malformed(e.to_string()))?;
        let oid = info.algorithm.oid;
        if oid == pkcs8::ObjectIdentifier::new_unwrap("1.3.101.112") {
            ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(Self::Ed25519)
                .map_err(|e| KeyProblem::Malformed(e.to_string()))
        } else if oid == pkcs8::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1") {
            // An EC key: only P-256 parses here.
            p256::SecretKey::from_pkcs8_der(der)
                .map(Self::P256)
                .map_err(|_| KeyProblem::UnsupportedKey)
        } else if oid == pkcs8::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1") {
            rsa::pkcs8::DecodePrivateKey::from_pkcs8_der(der)
                .map(|key| Self::Rsa(Box::new(key)))
                .map_err(|e: rsa::pkcs8::Error| KeyProblem::Malformed(e.to_string()))
        } else {
            Err(KeyProblem::UnsupportedKey)
        }
    }

    fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Self::Ed25519(_) => SigningAlgorithm::EdDSA,
            Self::P256(_) => SigningAlgorithm::ES256,
            Self::Rsa(_) => SigningAlgorithm::RS256,
        }
    }

    /// The forms jsonwebtoken takes: PKCS#8 v1 for Ed25519 and P-256,
    /// PKCS#1 for RSA; the public half for the JWK.
    fn into_private_key(self) -> Result<PrivateKey, KeyProblem> {
        let algorithm = self.algorithm();
        let malformed = |e: &dyn fmt::Display| KeyProblem::Malformed(e.to_string());
        // The DER the signing key is made from also keys the cursor seal.
        let der: Zeroizing<Vec<u8>> = match &self {
            Self::Ed25519(key) => {
                let v1 = KeypairBytes {
                    secret_key: key.to_bytes(),
                    public_key: None,
                };
                Zeroizing::new(
                    v1.to_pkcs8_der()
                        .map_err(|e| malformed(&e))?
                        .as_bytes()
                        .to_vec(),
                )
            }
            Self::P256(key) => Zeroizing::new(
                p256::pkcs8::EncodePrivateKey::to_pkcs8_der(key)
                    .map_err(|e| malformed(&e))?
                    .as_bytes()
                    .to_vec(),
            ),
            Self::Rsa(key) => {
                let bits = key.size() * 8;
                if bits < MIN_RSA_BITS {
                    return Err(KeyProblem::RsaTooShort(bits));
                }
                Zeroizing::new(
                    key.to_pkcs1_der()
                        .map_err(|e| malformed(&e))?
                        .as_bytes()
                        .to_vec(),
                )
            }
        };
        let encoding = match &self {
            Self::Ed25519(_) => EncodingKey::from_ed_der(&der),
            Self::P256(_) => EncodingKey::from_ec_der(&der),
            Self::Rsa(_) => EncodingKey::from_rsa_der(&der),
        };
        let seal_key = SealKey::derive(&der);
        let mut public =
            Jwk::from_encoding_key(&encoding, algorithm.jwt()).map_err(|e| malformed(&e))?;
        let kid = public
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| malformed(&e))?;
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        public.common.key_algorithm = Some(key_algorithm(algorithm));
        let decoding = DecodingKey::from_jwk(&public).map_err(|e| malformed(&e))?;
        Ok(PrivateKey {
            algorithm,
            encoding,
            decoding,
            public,
            kid,
            seal_key,
        })
    }
}

fn key_algorithm(algorithm: SigningAlgorithm) -> KeyAlgorithm {
    match algorithm {
        SigningAlgorithm::HS256 => KeyAlgorithm::HS256,
        SigningAlgorithm::EdDSA => KeyAlgorithm::EdDSA,
        SigningAlgorithm::ES256 => KeyAlgorithm::ES256,
        SigningAlgorithm::RS256 => KeyAlgorithm::RS256,
    }
}

/// A new private key for `algorithm`, as PKCS#8 PEM.
pub fn generate_pem(algorithm: SigningAlgorithm) -> Result<Zeroizing<String>, KeyProblem> {
    let malformed = |e: &dyn fmt::Display| KeyProblem::Malformed(e.to_string());
    match algorithm {
        SigningAlgorithm::HS256 => Err(KeyProblem::WrongType {
            found: "no key file",
            expected: SigningAlgorithm::HS256,
        }),
        SigningAlgorithm::EdDSA => {
            let mut secret = Zeroizing::new([0u8; 32]);
            rand::rng().fill_bytes(secret.as_mut());
            KeypairBytes {
                secret_key: *secret,
                public_key: None,
            }
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| malformed(&e))
        }
        SigningAlgorithm::ES256 => {
            let key = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
            p256::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF)
                .map_err(|e| malformed(&e))
        }
        SigningAlgorithm::RS256 => {
            let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, GENERATED_RSA_BITS)
                .map_err(|e| malformed(&e))?;
            rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&key, LineEnding::LF)
                .map_err(|e| malformed(&e))
        }
    }
}

/// Writes a new key for `algorithm` to `path`, readable by its owner only;
/// never over an existing file. The key is written whole beside it first
/// and then linked into place, so no reader ever finds half a key, and of
/// two processes writing at once exactly one succeeds.
pub fn write_new_key_file(path: &Path, algorithm: SigningAlgorithm) -> Result<(), KeyFileError> {
    let failed = |problem| KeyFileError {
        path: path.to_owned(),
        problem,
    };
    if path.exists() {
        return Err(failed(KeyProblem::Exists));
    }
    let pem = generate_pem(algorithm).map_err(failed)?;
    let mut draft_name = path.as_os_str().to_owned();
    draft_name.push(format!(".{}.new", uuid::Uuid::new_v4().simple()));
    let draft = PathBuf::from(draft_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&draft).and_then(|mut file| {
        file.write_all(pem.as_bytes())?;
        file.sync_all()
    });
    let linked = written.and_then(|()| std::fs::hard_link(&draft, path));
    // The draft goes whatever happened; the linked name, if any, stays.
    let _ = std::fs::remove_file(&draft);
    linked.map_err(|e| {
        failed(if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyProblem::Exists
        } else {
            KeyProblem::Unwritable(e)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_in_any_case() {
        assert_eq!("eddsa".parse(), Ok(SigningAlgorithm::EdDSA));
        assert_eq!(" RS256 ".parse(), Ok(SigningAlgorithm::RS256));
        assert_eq!("es256".parse(), Ok(SigningAlgorithm::ES256));
        assert_eq!("hs256".parse(), Ok(SigningAlgorithm::HS256));
        for bad in ["", "none", "HS512", "ES384", "Ed25519"] {
            assert_eq!(bad.parse::<SigningAlgorithm>(), Err(UnknownAlgorithm));
        }
    }

    #[test]
    fn a_generated_key_reads_back_as_its_algorithm_with_a_stable_kid() {
        for algorithm in [SigningAlgorithm::EdDSA, SigningAlgorithm::ES256] {
            let pem = generate_pem(algorithm).unwrap();
            let key = parse_private_key(pem.as_bytes(), None).unwrap();
            assert_eq!(key.algorithm, algorithm);
            let again = parse_private_key(pem.as_bytes(), Some(algorithm)).unwrap();
            assert_eq!(key.kid, again.kid);
            assert_eq!(key.kid.len(), 43, "base64url of 32 bytes");
            let other = parse_private_key(generate_pem(algorithm).unwrap().as_bytes(), None);
            assert_ne!(other.unwrap().kid, key.kid);
        }
    }

    #[test]
    fn a_key_of_another_type_than_the_algorithm_is_refused_by_name() {
        let ed = generate_pem(SigningAlgorithm::EdDSA).unwrap();
        let error = parse_private_key(ed.as_bytes(), Some(SigningAlgorithm::ES256)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "holds an Ed25519 key, but JWT_ALGORITHM=ES256 needs a P-256 (prime256v1) EC key"
        );
    }

    /// RFC 8037 A.1/A.3: the Ed25519 key and its thumbprint.
    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        use base64::Engine;
        let d = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .unwrap();
        let pem = KeypairBytes {
            secret_key: d.try_into().unwrap(),
            public_key: None,
        }
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
        let key = parse_private_key(pem.as_bytes(), None).unwrap();
        assert_eq!(key.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        let public = serde_json::to_value(&key.public).unwrap();
        assert_eq!(public["x"], "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(public["kty"], "OKP");
        assert_eq!(public["crv"], "Ed25519");
        assert_eq!(public["alg"], "EdDSA");
        assert_eq!(public["use"], "sig");
        assert!(public.get("d").is_none(), "no private part is published");
    }

    #[test]
    fn what_is_not_one_private_key_is_named() {
        let ed = generate_pem(SigningAlgorithm::EdDSA).unwrap();
        let problem = |pem: &str| {
            parse_private_key(pem.as_bytes(), None)
                .unwrap_err()
                .to_string()
        };
        assert!(problem("").starts_with("is not a PEM file"));
        assert!(problem("secret=hunter2").starts_with("is not a PEM file"));
        assert!(problem(&format!("{}{}", *ed, *ed)).starts_with("holds 2 PEM keys"));
        let public = ed.replace("PRIVATE KEY", "PUBLIC KEY");
        assert!(problem(&public).starts_with("holds a public key"));
        let encrypted = ed.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
        assert!(problem(&encrypted).starts_with("holds an encrypted private key"));
        let ssh = ed.replace("PRIVATE KEY", "OPENSSH PRIVATE KEY");
        assert!(problem(&ssh).starts_with("holds a PEM block labelled \"OPENSSH PRIVATE KEY\""));
        let garbled = ed.replacen("MC", "QQ", 1);
        assert!(problem(&garbled).starts_with("holds a malformed private key"));
    }

    #[test]
    fn an_openssl_ec_key_with_its_parameters_block_reads() {
        let key = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
        let sec1 = key.to_sec1_pem(LineEnding::LF).unwrap();
        let with_parameters = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            *sec1
        );
        let read = parse_private_key(with_parameters.as_bytes(), None).unwrap();
        assert_eq!(read.algorithm, SigningAlgorithm::ES256);
    }

    #[test]
    fn an_rsa_key_shorter_than_2048_bits_is_refused() {
        let short = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&short, LineEnding::LF).unwrap();
        let error = parse_private_key(pem.as_bytes(), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "holds a 1024-bit RSA key; RS256 needs at least 2048 bits"
        );
    }

    #[test]
    fn a_new_key_file_is_private_and_never_replaces_one() {
        let folder = std::env::temp_dir().join(format!("authusers-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("signing.pem");
        write_new_key_file(&path, SigningAlgorithm::EdDSA).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read(&path).unwrap();
        let again = write_new_key_file(&path, SigningAlgorithm::EdDSA).unwrap_err();
        assert!(matches!(again.problem, KeyProblem::Exists));
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(read_key_file(&path, Some(SigningAlgorithm::EdDSA)).is_ok());
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn of_writers_racing_for_one_file_exactly_one_writes_and_no_reader_sees_half() {
        let folder = std::env::temp_dir().join(format!("authusers-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join("signing.pem");
        let outcomes: Vec<_> = std::thread::scope(|scope| {
            let writers: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| write_new_key_file(&path, SigningAlgorithm::EdDSA)))
                .collect();
            let reader = scope.spawn(|| {
                (0..200)
                    .filter_map(|_| std::fs::read(&path).ok())
                    .all(|pem| parse_private_key(&pem, None).is_ok())
            });
            assert!(reader.join().unwrap(), "a reader saw a partial key");
            writers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
        assert!(outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|e| matches!(e.problem, KeyProblem::Exists)));
        let left: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
        assert_eq!(left.len(), 1, "no draft is left behind");
        std::fs::remove_dir_all(folder).unwrap();
    }
}
