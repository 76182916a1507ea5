use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::LazyLock;

use crate::{Email, PersonName, User};

pub const MIN_PASSWORD_CHARS: usize = 8;
/// bcrypt reads at most 72 bytes; longer passwords are refused rather than
/// silently truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
/// Django's `UserAttributeSimilarityValidator` default.
const MAX_SIMILARITY: f64 = 0.7;

/// Django's list of 20 000 common passwords (lower-cased), so that the rule
/// refuses exactly what the previous service refused.
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

/// A new password that satisfies every registration rule. It is never
/// printed: `Debug` and `Display` are redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// What a password is compared against so that it is not too similar to
/// the account it protects.
#[derive(Debug, Clone, Copy)]
pub struct PasswordContext<'a> {
    pub email: Option<&'a Email>,
    pub first_name: Option<&'a PersonName>,
    pub last_name: Option<&'a PersonName>,
}

impl<'a> PasswordContext<'a> {
    /// The account's own e-mail and names, for a password that replaces
    /// another.
    pub fn of(user: &'a User) -> Self {
        Self {
            email: Some(&user.email),
            first_name: Some(&user.first_name),
            last_name: Some(&user.last_name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is shorter than {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("the password is only digits")]
    EntirelyNumeric,
    #[error("the password is a common one")]
    TooCommon,
    /// Too close to an attribute of the account, which it names.
    #[error("the password is too similar to the {0}")]
    TooSimilar(&'static str),
}

impl Password {
    /// Applies every rule and reports all that fail, as Django does.
    pub fn parse(raw: &str, context: PasswordContext<'_>) -> Result<Self, Vec<PasswordError>> {
        let mut problems = Vec::new();
        if raw.chars().count() < MIN_PASSWORD_CHARS {
            problems.push(PasswordError::TooShort);
        }
        if raw.len() > MAX_PASSWORD_BYTES {
            problems.push(PasswordError::TooLong);
        }
        if !raw.is_empty() && raw.chars().all(|c| c.is_numeric()) {
            problems.push(PasswordError::EntirelyNumeric);
        }
        if COMMON_PASSWORDS.contains(raw.trim().to_lowercase().as_str()) {
            problems.push(PasswordError::TooCommon);
        }
        if let Some(attribute) = too_similar_attribute(raw, context) {
            problems.push(PasswordError::TooSimilar(attribute));
        }
        if problems.is_empty() {
            Ok(Self(raw.to_owned()))
        } else {
            Err(problems)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password as stored: a bcrypt hash string, never the password itself.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

fn too_similar_attribute(raw: &str, context: PasswordContext<'_>) -> Option<&'static str> {
    let password = raw.to_lowercase();
    let attributes = [
        ("email address", context.email.map(Email::as_str)),
        ("first name", context.first_name.map(PersonName::as_str)),
        ("last name", context.last_name.map(PersonName::as_str)),
    ];
    attributes
        .into_iter()
        .filter_map(|(label, value)| Some((label, value?)))
        .find(|(_, value)| is_too_similar(&password, &value.to_lowercase()))
        .map(|(label, _)| label)
}

/// Django's rule: the password against the whole value and each of its
/// word-separated parts, using `SequenceMatcher.quick_ratio`.
fn is_too_similar(password: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    value
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .chain(std::iter::once(value))
        .filter(|part| !part.is_empty())
        .filter(|part| !exceeds_maximum_length_ratio(password, part))
        .any(|part| quick_ratio(password, part) >= MAX_SIMILARITY)
}

/// A value far shorter than the password cannot reach the similarity bound.
fn exceeds_maximum_length_ratio(password: &str, value: &str) -> bool {
    let password_len = password.chars().count() as f64;
    let value_len = value.chars().count() as f64;
    password_len >= 10.0 * value_len && value_len < MAX_SIMILARITY / 2.0 * password_len
}

/// `difflib.SequenceMatcher.quick_ratio`: 2 × (shared characters, as
/// multisets) / (total length).
fn quick_ratio(a: &str, b: &str) -> f64 {
    let mut available: HashMap<char, usize> = HashMap::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        if let Some(count) = available.get_mut(&c).filter(|count| **count > 0) {
            *count -= 1;
            matches += 1;
        }
    }
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        1.0
    } else {
        2.0 * matches as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_context() -> PasswordContext<'static> {
        PasswordContext {
            email: None,
            first_name: None,
            last_name: None,
        }
    }

    #[test]
    fn accepts_a_good_password() {
        let password = Password::parse("correct-horse-battery", no_context()).unwrap();
        assert_eq!(password.expose(), "correct-horse-battery");
        assert_eq!(format!("{password:?}"), "Password(***)");
    }

    #[test]
    fn refuses_short_passwords() {
        assert_eq!(
            Password::parse("x7#kq2!", no_context()),
            Err(vec![PasswordError::TooShort])
        );
    }

    #[test]
    fn counts_characters_not_bytes_for_the_minimum() {
        assert!(Password::parse("жёлтыйкит", no_context()).is_ok());
    }

    #[test]
    fn accepts_72_bytes_and_refuses_73() {
        let exactly = format!("{}Zz9!", "q7w".repeat(22) + "ab");
        assert_eq!(exactly.len(), 72);
        assert!(Password::parse(&exactly, no_context()).is_ok());
        let over = format!("{exactly}x");
        assert_eq!(
            Password::parse(&over, no_context()),
            Err(vec![PasswordError::TooLong])
        );
    }

    #[test]
    fn refuses_multibyte_passwords_over_72_bytes() {
        // 40 characters, 80 bytes.
        let raw = "ж".repeat(40);
        assert!(Password::parse(&raw, no_context())
            .unwrap_err()
            .contains(&PasswordError::TooLong));
    }

    #[test]
    fn refuses_entirely_numeric_passwords() {
        assert_eq!(
            Password::parse("8302749163", no_context()),
            Err(vec![PasswordError::EntirelyNumeric])
        );
    }

    #[test]
    fn refuses_common_passwords_whatever_their_case() {
        for raw in ["password", "Password1", "QWERTYUIOP", "iloveyou"] {
            assert!(
                Password::parse(raw, no_context())
                    .unwrap_err()
                    .contains(&PasswordError::TooCommon),
                "{raw}"
            );
        }
    }

    #[test]
    fn reports_every_failing_rule() {
        let problems = Password::parse("1234567", no_context()).unwrap_err();
        assert!(problems.contains(&PasswordError::TooShort));
        assert!(problems.contains(&PasswordError::EntirelyNumeric));
        assert!(problems.contains(&PasswordError::TooCommon));
    }

    #[test]
    fn refuses_passwords_too_similar_to_the_email() {
        let email = Email::parse("margarita.nikolaeva@example.com").unwrap();
        let context = PasswordContext {
            email: Some(&email),
            ..no_context()
        };
        assert_eq!(
            Password::parse("Nikolaeva1", context),
            Err(vec![PasswordError::TooSimilar("email address")])
        );
        assert!(Password::parse("Blue-Teapot-Sunrise", context).is_ok());
    }

    #[test]
    fn refuses_passwords_too_similar_to_a_name() {
        let first = PersonName::parse("Bartholomew").unwrap();
        let context = PasswordContext {
            first_name: Some(&first),
            ..no_context()
        };
        assert_eq!(
            Password::parse("bartholomew!", context),
            Err(vec![PasswordError::TooSimilar("first name")])
        );
    }

    #[test]
    fn quick_ratio_matches_difflib() {
        // difflib.SequenceMatcher(a="abcd", b="bcde").quick_ratio() == 0.75
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-12);
        assert!((quick_ratio("abc", "") - 0.0).abs() < 1e-12);
    }
}
