//! Session tokens as JSON Web Tokens: the adapter of the domain's
//! `SessionTokens` and `LegacyTokenVerifier` ports. It owns the signing
//! keys (PEM files, generated or read), the key ring that signs with one
//! and verifies with the retired ones, the JWKS document that publishes
//! their public halves, and the check of the old service's simplejwt
//! tokens. It knows nothing of HTTP or storage.

mod cursor_seal;
mod key_ring;
mod legacy_tokens;
mod signing_keys;
mod tokens;
mod verified_tokens;

pub use cursor_seal::{CursorSeals, SealKey};
pub use key_ring::{KeyRing, Verifier};
pub use legacy_tokens::LegacyTokens;
pub use signing_keys::{
    generate_pem, parse_private_key, read_key_file, write_new_key_file, KeyFileError, KeyProblem,
    PrivateKey, SigningAlgorithm,
};
pub use tokens::{TokenService, TokenSettings};
