//! The password hashes Django writes (`django.contrib.auth.hashers`), checked
//! as Django checks them, so that users moved from a Django service log in
//! with the passwords they have. Only verification: new hashes are bcrypt.
//!
//! | format | as Django 5.2 writes it |
//! |---|---|
//! | `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>` | PBKDF2-HMAC-SHA256, any iteration count |
//! | `pbkdf2_sha1$<iterations>$<salt>$<base64 hash>` | PBKDF2-HMAC-SHA1 |
//! | `bcrypt_sha256$<bcrypt hash>` | bcrypt of the hex digest of SHA-256 of the password |
//! | `bcrypt$<bcrypt hash>` | bcrypt of the password |
//! | `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>` | Argon2id; `argon2i` as older Django wrote |
//! | `scrypt$<N>$<salt>$<r>$<p>$<base64 hash>` | scrypt, 64-byte key |
//! | `!…` | an unusable password: matches nothing |
//!
//! Every comparison of derived bytes is in constant time.

use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The most PBKDF2 iterations a stored hash may ask for: Django 5.2 writes
/// 1 000 000; far more would let a forged row hold a hashing thread for
/// minutes.
const MAX_PBKDF2_ITERATIONS: u32 = 100_000_000;

/// The largest scrypt work factor accepted (Django writes 2^14).
const MAX_SCRYPT_LOG_N: u8 = 24;

/// Which kind of stored hash a string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredHash {
    /// A bcrypt hash as this service writes it (`$2b$12$…`).
    Bcrypt,
    /// One of Django's formats, by its algorithm's name.
    Django(DjangoAlgorithm),
    /// Django's unusable password (`!…`), or an erased account's.
    Unusable,
    /// Nothing known: matches nothing.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DjangoAlgorithm {
    Pbkdf2Sha256,
    Pbkdf2Sha1,
    BcryptSha256,
    Bcrypt,
    Argon2,
    Scrypt,
}

impl DjangoAlgorithm {
    /// The name Django writes before the first `$`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pbkdf2Sha256 => "pbkdf2_sha256",
            Self::Pbkdf2Sha1 => "pbkdf2_sha1",
            Self::BcryptSha256 => "bcrypt_sha256",
            Self::Bcrypt => "bcrypt",
            Self::Argon2 => "argon2",
            Self::Scrypt => "scrypt",
        }
    }

    const ALL: [Self; 6] = [
        Self::Pbkdf2Sha256,
        Self::Pbkdf2Sha1,
        Self::BcryptSha256,
        Self::Bcrypt,
        Self::Argon2,
        Self::Scrypt,
    ];
}

impl StoredHash {
    pub fn of(stored: &str) -> Self {
        if stored.starts_with('!') {
            return Self::Unusable;
        }
        if stored.starts_with("$2") {
            return Self::Bcrypt;
        }
        let name = stored.split_once('$').map_or("", |(name, _)| name);
        DjangoAlgorithm::ALL
            .into_iter()
            .find(|algorithm| algorithm.as_str() == name)
            .map_or(Self::Unknown, Self::Django)
    }
}

/// Whether `password` is the one behind `stored`, a hash in one of Django's
/// formats. Anything malformed (a bad number, bad base64, parameters out of
/// bounds) matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    let StoredHash::Django(algorithm) = StoredHash::of(stored) else {
        return false;
    };
    let Some((_, rest)) = stored.split_once('$') else {
        return false;
    };
    let password = password.as_bytes();
    match algorithm {
        DjangoAlgorithm::Pbkdf2Sha256 => pbkdf2(password, rest, pbkdf2::pbkdf2_hmac::<Sha256>),
        DjangoAlgorithm::Pbkdf2Sha1 => pbkdf2(password, rest, pbkdf2::pbkdf2_hmac::<sha1::Sha1>),
        DjangoAlgorithm::BcryptSha256 => {
            let digest = hex::encode(Sha256::digest(password));
            bcrypt::verify(digest, rest).unwrap_or(false)
        }
        // Django's bcrypt hasher keyed on the first 72 bytes, as bcrypt does.
        DjangoAlgorithm::Bcrypt => bcrypt::verify(password, rest).unwrap_or(false),
        DjangoAlgorithm::Argon2 => argon2(password, rest),
        DjangoAlgorithm::Scrypt => scrypt(password, rest),
    }
}

/// PBKDF2-HMAC with one digest, into the whole output.
type Pbkdf2 = fn(&[u8], &[u8], u32, &mut [u8]);

/// `<iterations>$<salt>$<base64 hash>`.
fn pbkdf2(password: &[u8], rest: &str, derive: Pbkdf2) -> bool {
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    let Ok(expected) = STANDARD.decode(expected) else {
        return false;
    };
    if !(1..=MAX_PBKDF2_ITERATIONS).contains(&iterations) || expected.is_empty() {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    derive(password, salt.as_bytes(), iterations, &mut derived);
    derived.ct_eq(&expected).into()
}

/// `argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`: the PHC string after its
/// leading `$`, which Django drops.
fn argon2(password: &[u8], rest: &str) -> bool {
    let phc = format!("${rest}");
    let Ok(hash) = PasswordHash::new(&phc) else {
        return false;
    };
    // The algorithm (argon2id or argon2i), version and parameters are the
    // stored hash's own; the comparison is the crate's, in constant time.
    Argon2::default().verify_password(password, &hash).is_ok()
}

/// `<N>$<salt>$<r>$<p>$<base64 hash>`.
fn scrypt(password: &[u8], rest: &str) -> bool {
    let parts: Vec<&str> = rest.splitn(5, '$').collect();
    let [n, salt, r, p, expected] = parts[..] else {
        return false;
    };
    let (Ok(n), Ok(r), Ok(p)) = (n.parse::<u64>(), r.parse::<u32>(), p.parse::<u32>()) else {
        return false;
    };
    let Ok(expected) = STANDARD.decode(expected) else {
        return false;
    };
    if !n.is_power_of_two() || n < 2 || expected.is_empty() {
        return false;
    }
    let Ok(log_n) = u8::try_from(n.trailing_zeros()) else {
        return false;
    };
    if log_n > MAX_SCRYPT_LOG_N {
        return false;
    }
    let Ok(params) = scrypt::Params::new(log_n, r, p, expected.len()) else {
        return false;
    };
    let mut derived = vec![0u8; expected.len()];
    if scrypt::scrypt(password, salt.as_bytes(), &params, &mut derived).is_err() {
        return false;
    }
    derived.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with Python's hashlib, as Django's hashers call it, for the
    // password "lantern-quiet-orbit" and the salt "saltsalt12".
    const PASSWORD: &str = "lantern-quiet-orbit";
    /// hashlib.pbkdf2_hmac("sha256", password, salt, 1000)
    const PBKDF2_SHA256: &str =
        "pbkdf2_sha256$1000$saltsalt12$cHoqXdO6ZC5WwL+lS+Oep0C09wTxhfIQb/wKEHilItk=";
    /// hashlib.pbkdf2_hmac("sha1", password, salt, 1000)
    const PBKDF2_SHA1: &str = "pbkdf2_sha1$1000$saltsalt12$rSraeX+cl0lNPuP1CaXL453kI7o=";
    /// hashlib.scrypt(password, salt=salt, n=1024, r=8, p=1, dklen=64)
    const SCRYPT: &str = "scrypt$1024$saltsalt12$8$1$m2hXukyDM5dz0BhTs4dRcce7nsI3iVednr2wttYd3C3vSJqfL6SmU4QN9a7yDf9LHvtgvQxqv/OWoya4/1ersQ==";

    #[test]
    fn each_kdf_matches_its_password_and_nothing_else() {
        for stored in [PBKDF2_SHA256, PBKDF2_SHA1, SCRYPT] {
            assert!(verify(PASSWORD, stored), "{stored}");
            assert!(!verify("lantern-quiet-orbiT", stored), "{stored}");
            assert!(!verify("", stored), "{stored}");
        }
        // Another salt or iteration count is another hash.
        assert!(!verify(
            PASSWORD,
            &PBKDF2_SHA256.replace("$1000$", "$1001$")
        ));
        assert!(!verify(
            PASSWORD,
            &PBKDF2_SHA256.replace("saltsalt12", "saltsalt13")
        ));
    }

    #[test]
    fn bcrypt_in_djangos_two_forms() {
        let plain = bcrypt::hash(PASSWORD, 4).unwrap();
        assert!(verify(PASSWORD, &format!("bcrypt${plain}")));
        assert!(!verify("other-password-1", &format!("bcrypt${plain}")));
        let digest = hex::encode(Sha256::digest(PASSWORD.as_bytes()));
        let over_digest = bcrypt::hash(digest, 4).unwrap();
        assert!(verify(PASSWORD, &format!("bcrypt_sha256${over_digest}")));
        // The plain form is not the digest form.
        assert!(!verify(PASSWORD, &format!("bcrypt_sha256${plain}")));
    }

    #[test]
    fn stored_hashes_are_told_apart_by_their_prefix() {
        assert_eq!(StoredHash::of("$2b$12$abc"), StoredHash::Bcrypt);
        assert_eq!(StoredHash::of("!erased"), StoredHash::Unusable);
        assert_eq!(
            StoredHash::of("!VeryLongUnusable$abc"),
            StoredHash::Unusable
        );
        assert_eq!(
            StoredHash::of(PBKDF2_SHA256),
            StoredHash::Django(DjangoAlgorithm::Pbkdf2Sha256)
        );
        assert_eq!(
            StoredHash::of("bcrypt_sha256$$2b$12$x"),
            StoredHash::Django(DjangoAlgorithm::BcryptSha256)
        );
        assert_eq!(
            StoredHash::of("argon2$argon2id$v=19$m=1,t=1,p=1$a$b"),
            StoredHash::Django(DjangoAlgorithm::Argon2)
        );
        assert_eq!(StoredHash::of("md5$salt$hash"), StoredHash::Unknown);
        assert_eq!(StoredHash::of(""), StoredHash::Unknown);
    }

    #[test]
    fn malformed_hashes_match_nothing() {
        for stored in [
            "pbkdf2_sha256$",
            "pbkdf2_sha256$x$salt$aGFzaA==",
            "pbkdf2_sha256$0$salt$aGFzaA==",
            "pbkdf2_sha256$1000$salt$not base64!",
            "pbkdf2_sha256$1000$salt$",
            "pbkdf2_sha256$4000000000$salt$aGFzaA==",
            "scrypt$16385$salt$8$1$aGFzaA==",
            "scrypt$16384$salt$8$1$",
            "scrypt$1099511627776$salt$8$1$aGFzaA==",
            "argon2$argon2id$garbage",
            "bcrypt$not-a-bcrypt-hash",
            "bcrypt_sha256$",
            "!",
            "unknown$1$2$3",
        ] {
            assert!(!verify("lantern-quiet-orbit", stored), "{stored}");
        }
    }
}
