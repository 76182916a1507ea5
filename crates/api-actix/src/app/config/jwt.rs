//! The token settings: which algorithm signs, with which key, which retired
//! keys still verify, and the claims every token must carry.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Environment, Reader, Secret, MIN_PRODUCTION_SECRET_BYTES};
use authusers_infra_jwt::{
    read_key_file, write_new_key_file, KeyFileError, KeyProblem, KeyRing, PrivateKey,
    SigningAlgorithm, TokenSettings,
};

/// Where development keeps the key it generates, one file per algorithm.
pub const DEVELOPMENT_KEY_FOLDER: &str = "var";

#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// What the token service signs with and checks: the key ring, `iss`,
    /// `aud`, the leeway and the lifetimes.
    pub tokens: TokenSettings,
    /// Where the signing key came from.
    pub origin: KeyOrigin,
    /// `JWT_PREVIOUS_KEY_FILES`: retired keys that verify but never sign.
    pub previous_key_files: Vec<PathBuf>,
}

impl JwtSettings {
    /// HS256 with `secret` and the default lifetimes.
    pub fn with_secret(secret: &str) -> Self {
        Self {
            tokens: TokenSettings::with_secret(secret),
            origin: KeyOrigin::Secret,
            previous_key_files: Vec::new(),
        }
    }
}

/// Where the signing key came from, for the start-up log and
/// `authusers config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `JWT_SECRET` (HS256).
    Secret,
    /// HS256 in development without `JWT_SECRET`: random, so tokens end
    /// with the process.
    EphemeralSecret,
    /// `JWT_PRIVATE_KEY_FILE`.
    File(PathBuf),
    /// Development without a key: generated into `var/` once, then reused.
    Development { path: PathBuf, generated: bool },
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    /// The token settings, or `None` when a problem leaves no key to sign
    /// with (the problems say why).
    pub(super) fn jwt(&mut self, environment: Environment) -> Option<JwtSettings> {
        let access_ttl = self.number("JWT_ACCESS_TTL_SECONDS", 300u64, 1, 86_400 * 365);
        let refresh_ttl = self.number("JWT_REFRESH_TTL_SECONDS", 86_400u64, 1, 86_400 * 365);
        let leeway = self.number("JWT_LEEWAY_SECONDS", 0u64, 0, 300);
        let issuer = self.claim("JWT_ISSUER");
        let audience = self.claim("JWT_AUDIENCE");
        let algorithm = self.raw("JWT_ALGORITHM").and_then(|raw| {
            raw.parse::<SigningAlgorithm>()
                .map_err(|e| {
                    self.problems
                        .push(format!("JWT_ALGORITHM={raw:?} is not valid: {e}"))
                })
                .ok()
        });
        let secret = self.raw("JWT_SECRET").map(Secret::new);
        if let Some(secret) = &secret {
            if environment == Environment::Production
                && secret.expose().len() < MIN_PRODUCTION_SECRET_BYTES
            {
                self.problems.push(format!(
                    "JWT_SECRET is too short for production: use at least {MIN_PRODUCTION_SECRET_BYTES} random bytes"
                ));
            }
        }
        let key_file = self.raw("JWT_PRIVATE_KEY_FILE").map(PathBuf::from);
        let previous_key_files: Vec<PathBuf> = self
            .raw("JWT_PREVIOUS_KEY_FILES")
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|path| !path.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();

        let shared = algorithm == Some(SigningAlgorithm::HS256)
            || (algorithm.is_none() && key_file.is_none() && secret.is_some());
        let (keys, origin) = if shared {
            self.shared_secret(environment, secret, key_file.is_some(), &previous_key_files)
        } else {
            self.private_keys(
                environment,
                algorithm,
                key_file,
                &previous_key_files,
                secret,
            )
        };
        Some(JwtSettings {
            tokens: TokenSettings {
                keys: Arc::new(keys?),
                issuer,
                audience,
                leeway: Duration::from_secs(leeway),
                access_ttl: Duration::from_secs(access_ttl),
                refresh_ttl: Duration::from_secs(refresh_ttl),
            },
            origin,
            previous_key_files,
        })
    }

    /// `JWT_ISSUER` or `JWT_AUDIENCE`: printable, at most 255 characters.
    fn claim(&mut self, name: &str) -> Option<String> {
        let raw = self.raw(name)?;
        let value = raw.trim();
        if value.chars().count() > 255 || value.chars().any(char::is_control) {
            self.problems.push(format!(
                "{name}={raw:?} is not valid: expected at most 255 printable characters, as in https://auth.example.com"
            ));
            return None;
        }
        Some(value.to_owned())
    }

    fn shared_secret(
        &mut self,
        environment: Environment,
        secret: Option<Secret>,
        key_file_set: bool,
        previous: &[PathBuf],
    ) -> (Option<KeyRing>, KeyOrigin) {
        if key_file_set {
            self.problems.push(
                "JWT_PRIVATE_KEY_FILE is for EdDSA, ES256 and RS256: JWT_ALGORITHM=HS256 signs with JWT_SECRET".into(),
            );
        }
        if !previous.is_empty() {
            self.problems.push(
                "JWT_PREVIOUS_KEY_FILES needs a private signing key (JWT_ALGORITHM=EdDSA, ES256 or RS256)".into(),
            );
        }
        match (secret, environment) {
            (Some(secret), _) => (
                Some(KeyRing::shared_secret(secret.expose())),
                KeyOrigin::Secret,
            ),
            (None, Environment::Production) => {
                self.problems.push(
                    "JWT_SECRET is required when AUTHUSERS_ENV=production and JWT_ALGORITHM=HS256"
                        .into(),
                );
                (None, KeyOrigin::Secret)
            }
            (None, Environment::Development) => (
                Some(KeyRing::shared_secret(&super::random_secret())),
                KeyOrigin::EphemeralSecret,
            ),
        }
    }

    fn private_keys(
        &mut self,
        environment: Environment,
        algorithm: Option<SigningAlgorithm>,
        key_file: Option<PathBuf>,
        previous: &[PathBuf],
        retired_secret: Option<Secret>,
    ) -> (Option<KeyRing>, KeyOrigin) {
        let (current, origin) = match (key_file, environment) {
            (Some(path), _) => (
                read_key_file(&path, algorithm)
                    .map_err(|e| self.problems.push(format!("JWT_PRIVATE_KEY_FILE={e}")))
                    .ok(),
                KeyOrigin::File(path),
            ),
            (None, Environment::Production) => {
                self.problems.push(
                    "JWT_PRIVATE_KEY_FILE is required when AUTHUSERS_ENV=production (make one with `authusers keys generate`), or JWT_SECRET with JWT_ALGORITHM=HS256".into(),
                );
                (None, KeyOrigin::Secret)
            }
            (None, Environment::Development) => {
                let algorithm = algorithm.unwrap_or(SigningAlgorithm::EdDSA);
                let path = Path::new(DEVELOPMENT_KEY_FOLDER)
                    .join(format!("jwt-{}.pem", algorithm.as_str().to_lowercase()));
                let (key, generated) = match development_key(&path, algorithm) {
                    Ok((key, generated)) => (Some(key), generated),
                    Err(e) => {
                        self.problems.push(format!("development signing key {e}"));
                        (None, false)
                    }
                };
                (key, KeyOrigin::Development { path, generated })
            }
        };
        let retired: Vec<PrivateKey> = previous
            .iter()
            .filter_map(|path| {
                read_key_file(path, None)
                    .map_err(|e| self.problems.push(format!("JWT_PREVIOUS_KEY_FILES: {e}")))
                    .ok()
            })
            .collect();
        let ring = current.and_then(|current| {
            KeyRing::private_keys(current, retired, retired_secret.as_ref().map(Secret::expose))
                .map_err(|e| {
                    self.problems.push(format!(
                        "JWT_PREVIOUS_KEY_FILES: {e} (once as JWT_PRIVATE_KEY_FILE or twice in the list)"
                    ))
                })
                .ok()
        });
        (ring, origin)
    }
}

/// The development key at `path`, generated first if there is none; and
/// whether it was.
fn development_key(
    path: &Path,
    algorithm: SigningAlgorithm,
) -> Result<(PrivateKey, bool), KeyFileError> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(|e| KeyFileError {
            path: folder.to_owned(),
            problem: KeyProblem::Unwritable(e),
        })?;
    }
    // A key already there (an earlier run's, or another process's that
    // wrote it first) is used, not replaced.
    let generated = match write_new_key_file(path, algorithm) {
        Ok(()) => true,
        Err(e) if matches!(e.problem, KeyProblem::Exists) => false,
        Err(e) => return Err(e),
    };
    Ok((read_key_file(path, Some(algorithm))?, generated))
}

#[cfg(test)]
mod tests {
    use super::super::{ConfigErrors, Settings};
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    fn key_file(algorithm: SigningAlgorithm) -> PathBuf {
        let path = std::env::temp_dir().join(format!("authusers-jwt-{}.pem", uuid::Uuid::new_v4()));
        write_new_key_file(&path, algorithm).unwrap();
        path
    }

    #[test]
    fn the_key_file_chooses_the_algorithm_unless_one_is_named() {
        let path = key_file(SigningAlgorithm::ES256);
        let file = path.display().to_string();
        let jwt = settings(&[("JWT_PRIVATE_KEY_FILE", &file)]).unwrap().jwt;
        assert_eq!(jwt.tokens.keys.algorithm(), SigningAlgorithm::ES256);
        assert_eq!(jwt.origin, KeyOrigin::File(path.clone()));
        let named = settings(&[("JWT_ALGORITHM", "es256"), ("JWT_PRIVATE_KEY_FILE", &file)]);
        assert_eq!(named.unwrap().jwt.tokens.keys.kid(), jwt.tokens.keys.kid());
        let other = settings(&[("JWT_ALGORITHM", "RS256"), ("JWT_PRIVATE_KEY_FILE", &file)]);
        assert!(other.unwrap_err().0[0].contains("but JWT_ALGORITHM=RS256 needs an RSA key"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_secret_beside_a_key_is_retired_and_hs256_takes_no_key_file() {
        let path = key_file(SigningAlgorithm::EdDSA);
        let file = path.display().to_string();
        let jwt = settings(&[("JWT_PRIVATE_KEY_FILE", &file), ("JWT_SECRET", "old")])
            .unwrap()
            .jwt;
        assert!(jwt.tokens.keys.has_retired_secret());
        assert_eq!(jwt.tokens.keys.algorithm(), SigningAlgorithm::EdDSA);
        let hs256 = settings(&[
            ("JWT_ALGORITHM", "HS256"),
            ("JWT_SECRET", "s"),
            ("JWT_PRIVATE_KEY_FILE", &file),
            ("JWT_PREVIOUS_KEY_FILES", &file),
        ])
        .unwrap_err();
        assert_eq!(hs256.0.len(), 2, "{hs256}");
        let secret_only = settings(&[("JWT_SECRET", "s")]).unwrap().jwt;
        assert_eq!(secret_only.tokens.keys.algorithm(), SigningAlgorithm::HS256);
        assert!(!secret_only.tokens.keys.has_retired_secret());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn issuer_audience_and_algorithm_are_checked() {
        let errors = settings(&[
            ("JWT_SECRET", "s"),
            ("JWT_ALGORITHM", "none"),
            ("JWT_ISSUER", &"i".repeat(256)),
            ("JWT_AUDIENCE", "orders\u{7}"),
        ])
        .unwrap_err();
        assert_eq!(errors.0.len(), 3, "{errors}");
        assert!(errors.0[0].starts_with("JWT_ISSUER="), "{errors}");
        assert!(errors.0[1].starts_with("JWT_AUDIENCE="), "{errors}");
        assert!(errors.0[2].contains("expected one of HS256, EdDSA, ES256, RS256"));
        let jwt = settings(&[
            ("JWT_SECRET", "s"),
            ("JWT_ISSUER", &format!(" {} ", "i".repeat(255))),
            ("JWT_AUDIENCE", "orders-service"),
        ])
        .unwrap()
        .jwt;
        assert_eq!(
            jwt.tokens.issuer.map(|i| i.len()),
            Some(255),
            "trimmed, 255 kept"
        );
        assert_eq!(jwt.tokens.audience.as_deref(), Some("orders-service"));
    }
}
