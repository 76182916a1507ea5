//! Authentication at the HTTP edge: signing keys, JWT issuing and checking,
//! and the extractors that turn a bearer token into a user.

mod extractors;
mod key_ring;
mod legacy_tokens;
mod signing_keys;
mod tokens;
mod verified_tokens;

pub use extractors::{bearer_token, Administrator, AuthenticatedUser, SessionUser};
pub use key_ring::{KeyRing, Verifier};
pub use legacy_tokens::{
    LegacyClaim, LegacyKind, LegacyTokenSettings, LegacyTokens, DJANGO_MIN_SECRET_KEY_CHARS,
};
pub use signing_keys::{
    generate_pem, parse_private_key, read_key_file, write_new_key_file, KeyFileError, KeyProblem,
    PrivateKey, SigningAlgorithm,
};
pub use tokens::{TokenError, TokenKind, TokenPair, TokenService, VerifiedToken};
