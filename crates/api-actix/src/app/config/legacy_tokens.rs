//! The bridge for the old service's tokens: its key, and when it closes.

use chrono::{DateTime, Utc};

use super::Secret;

/// `LEGACY_SIMPLEJWT_SIGNING_KEY` and `LEGACY_SIMPLEJWT_UNTIL`.
#[derive(Debug, Clone)]
pub struct LegacyTokenSettings {
    pub signing_key: Secret,
    /// When the bridge closes: from then on every old token is refused.
    pub until: DateTime<Utc>,
}

/// The shortest key Django's own check accepts without a warning
/// (`security.W009`: fewer than 50 characters).
pub const DJANGO_MIN_SECRET_KEY_CHARS: usize = 50;

impl LegacyTokenSettings {
    /// Whether the key is shorter than Django's checks allow. It is the old
    /// service's key, so it is used all the same; start-up warns once.
    pub fn key_is_weak(&self) -> bool {
        self.signing_key.expose().chars().count() < DJANGO_MIN_SECRET_KEY_CHARS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "django-insecure-legacy-signing-key-for-the-import-tests-0123456789";

    #[test]
    fn a_key_shorter_than_djangos_checks_allow_is_weak() {
        let settings = |key: &str| LegacyTokenSettings {
            signing_key: Secret::new(key.into()),
            until: Utc::now(),
        };
        assert!(settings("short").key_is_weak());
        assert!(!settings(KEY).key_is_weak());
    }
}
