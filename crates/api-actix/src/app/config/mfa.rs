//! The second factor's settings: the key that seals TOTP secrets at rest
//! (and the retired ones that still open them), step-up before money
//! leaves, and whether administrators must have a second factor.

use std::io::Write;
use std::path::{Path, PathBuf};

use authusers_domain::Amount;
use authusers_infra_crypto::SealingKey;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;

use super::{switch, Environment, Reader, DEVELOPMENT_KEY_FOLDER};

/// The file development keeps its generated sealing key in.
pub const DEVELOPMENT_MFA_KEY_FILE: &str = "mfa-secret.key";

/// `MFA_STEP_UP_SECONDS` unless set: five minutes.
pub const DEFAULT_STEP_UP_SECONDS: i64 = 300;

#[derive(Debug, Clone)]
pub struct MfaSettings {
    /// `MFA_SECRET_KEY`: seals new secrets and opens them.
    pub key: SealingKey,
    /// `MFA_PREVIOUS_SECRET_KEYS`: open what they sealed, never seal.
    pub previous_keys: Vec<SealingKey>,
    /// Where the key came from.
    pub origin: MfaKeyOrigin,
    /// `MFA_STEP_UP_OUT_ABOVE`: an `out` above it, by an account with a
    /// second factor, needs one proved within `step_up_window`.
    pub step_up_out_above: Option<Amount>,
    /// `MFA_STEP_UP_SECONDS`.
    pub step_up_window: chrono::Duration,
    /// `MFA_REQUIRED_FOR_ADMINS`: an administrator without a second factor
    /// reaches only its enrolment and their profile.
    pub required_for_admins: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaKeyOrigin {
    Environment,
    /// Development without a key: generated into `var/` once, then reused.
    Development {
        path: PathBuf,
        generated: bool,
    },
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    pub(super) fn mfa(&mut self, environment: Environment) -> Option<MfaSettings> {
        let previous_keys = self
            .raw("MFA_PREVIOUS_SECRET_KEYS")
            .map(|raw| {
                raw.split(',')
                    .filter(|key| !key.trim().is_empty())
                    .enumerate()
                    .filter_map(|(index, key)| {
                        SealingKey::from_base64(key)
                            .map_err(|e| {
                                self.problems.push(format!(
                                    "MFA_PREVIOUS_SECRET_KEYS: key {} {e}",
                                    index + 1
                                ))
                            })
                            .ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let step_up_out_above = self.raw("MFA_STEP_UP_OUT_ABOVE").and_then(|raw| {
            Amount::parse(raw.trim())
                .map_err(|e| {
                    self.problems.push(format!(
                        "MFA_STEP_UP_OUT_ABOVE={raw:?} is not valid: {e}, as in 1000.00"
                    ))
                })
                .ok()
        });
        let step_up_window = chrono::Duration::seconds(self.number(
            "MFA_STEP_UP_SECONDS",
            DEFAULT_STEP_UP_SECONDS,
            10,
            86_400,
        ));
        let required_for_admins = self.parsed(
            "MFA_REQUIRED_FOR_ADMINS",
            environment == Environment::Production,
            "on or off (true or false, 1 or 0)",
            switch,
        );
        let (key, origin) = self.mfa_key(environment)?;
        Some(MfaSettings {
            key,
            previous_keys,
            origin,
            step_up_out_above,
            step_up_window,
            required_for_admins,
        })
    }

    fn mfa_key(&mut self, environment: Environment) -> Option<(SealingKey, MfaKeyOrigin)> {
        match (self.raw("MFA_SECRET_KEY"), environment) {
            (Some(raw), _) => SealingKey::from_base64(&raw)
                .map(|key| (key, MfaKeyOrigin::Environment))
                .map_err(|e| self.problems.push(format!("MFA_SECRET_KEY {e}")))
                .ok(),
            (None, Environment::Production) => {
                self.problems.push(
                    "MFA_SECRET_KEY is required when AUTHUSERS_ENV=production: it seals the second factors' secrets (make one with `openssl rand -base64 32`)".into(),
                );
                None
            }
            (None, Environment::Development) => {
                let path = Path::new(DEVELOPMENT_KEY_FOLDER).join(DEVELOPMENT_MFA_KEY_FILE);
                match development_key(&path) {
                    Ok((key, generated)) => {
                        Some((key, MfaKeyOrigin::Development { path, generated }))
                    }
                    Err(e) => {
                        self.problems
                            .push(format!("the development MFA key {}: {e}", path.display()));
                        None
                    }
                }
            }
        }
    }
}

/// The development key at `path`, written first (32 random bytes, owner
/// only) if there is none; and whether it was.
fn development_key(path: &Path) -> Result<(SealingKey, bool), String> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    // A key already there (an earlier run's, or another process's that
    // wrote it first) is used, not replaced.
    let generated = match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", STANDARD.encode(bytes)).as_bytes())
                .map_err(|e| e.to_string())?;
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(e.to_string()),
    };
    let stored = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let key = SealingKey::from_base64(&stored).map_err(|e| e.to_string())?;
    Ok((key, generated))
}

#[cfg(test)]
mod tests {
    use super::super::{ConfigErrors, Settings};
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    #[test]
    fn a_key_of_the_wrong_size_or_not_base64_is_named() {
        let short = settings(&[("MFA_SECRET_KEY", "c2hvcnQ=")]).unwrap_err();
        assert!(
            short
                .0
                .iter()
                .any(|p| p.starts_with("MFA_SECRET_KEY is 5 bytes")),
            "{short:?}"
        );
        let garbled =
            settings(&[("MFA_SECRET_KEY", KEY), ("MFA_PREVIOUS_SECRET_KEYS", "%%%")]).unwrap_err();
        assert!(
            garbled
                .0
                .iter()
                .any(|p| p.starts_with("MFA_PREVIOUS_SECRET_KEYS: key 1 is not base64")),
            "{garbled:?}"
        );
    }

    #[test]
    fn production_refuses_to_start_without_a_key_and_requires_administrators_to_enrol() {
        let production = [
            ("AUTHUSERS_ENV", "production"),
            ("JWT_SECRET", "a-production-secret-of-32-bytes!!"),
            (
                "PASSWORD_RESET_URL",
                "https://app.example.com/reset/{uid}/{token}",
            ),
        ];
        let missing = settings(&production).unwrap_err();
        assert_eq!(
            missing.0,
            ["MFA_SECRET_KEY is required when AUTHUSERS_ENV=production: it seals the second factors' secrets (make one with `openssl rand -base64 32`)"]
        );
        let mut with_key = production.to_vec();
        with_key.push(("MFA_SECRET_KEY", KEY));
        let read = settings(&with_key).unwrap().mfa;
        assert!(read.required_for_admins, "on by default in production");
        assert_eq!(read.step_up_out_above, None);
        assert_eq!(read.step_up_window, chrono::Duration::seconds(300));
    }

    #[test]
    fn development_generates_its_key_once_and_reuses_it() {
        let folder = std::env::temp_dir().join(format!("authusers-mfa-key-{}", std::process::id()));
        let path = folder.join(DEVELOPMENT_MFA_KEY_FILE);
        let (first, generated) = development_key(&path).unwrap();
        assert!(generated);
        let (again, generated) = development_key(&path).unwrap();
        assert!(!generated);
        assert_eq!(first.id(), again.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(folder).unwrap();
    }

    #[test]
    fn step_up_and_the_administrators_rule_are_read() {
        let read = settings(&[
            ("MFA_SECRET_KEY", KEY),
            ("MFA_PREVIOUS_SECRET_KEYS", &format!("{KEY},{KEY}")),
            ("MFA_STEP_UP_OUT_ABOVE", "1000.00"),
            ("MFA_STEP_UP_SECONDS", "120"),
            ("MFA_REQUIRED_FOR_ADMINS", "on"),
        ])
        .unwrap()
        .mfa;
        assert_eq!(read.origin, MfaKeyOrigin::Environment);
        assert_eq!(read.previous_keys.len(), 2);
        assert_eq!(
            read.step_up_out_above.map(|a| a.to_string()),
            Some("1000.00".to_owned())
        );
        assert_eq!(read.step_up_window, chrono::Duration::seconds(120));
        assert!(read.required_for_admins);
        let refused =
            settings(&[("MFA_SECRET_KEY", KEY), ("MFA_STEP_UP_OUT_ABOVE", "-5")]).unwrap_err();
        assert!(
            refused
                .0
                .iter()
                .any(|p| p.starts_with("MFA_STEP_UP_OUT_ABOVE=\"-5\" is not valid")),
            "{refused:?}"
        );
    }
}
