//! The effective configuration as `authusers config` prints it: every
//! variable with the value in force, secrets masked.

use super::{
    AllowedOrigins, Environment, KeyOrigin, LogFormat, MailTransport, MfaKeyOrigin, Settings,
};

const MASK: &str = "***";

/// A limit's most, or 0 when it is off.
fn limit_max(limit: Option<authusers_domain::throttling::Limit>) -> String {
    limit.map_or_else(|| "0".to_owned(), |l| l.max.to_string())
}

impl Settings {
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mail = &self.mail;
        let (transport, smtp_url, mail_dir) = match &mail.transport {
            MailTransport::Log => ("log", "-".to_owned(), "-".to_owned()),
            MailTransport::File { folder } => {
                ("file", "-".to_owned(), folder.display().to_string())
            }
            MailTransport::Smtp { url } => (
                "smtp",
                authusers_domain::text::mask_url_password(url.expose()),
                "-".to_owned(),
            ),
        };
        let cors = match &self.cors {
            AllowedOrigins::None => "-".to_owned(),
            AllowedOrigins::Any => "*".to_owned(),
            AllowedOrigins::List(origins) => origins.join(","),
        };
        let jwt = &self.jwt;
        let (secret, key_file) = match &jwt.origin {
            KeyOrigin::Secret => (MASK.to_owned(), "-".to_owned()),
            KeyOrigin::EphemeralSecret => (
                "(not set: random for this process)".to_owned(),
                "-".to_owned(),
            ),
            KeyOrigin::File(path) => (
                if jwt.tokens.keys.has_retired_secret() {
                    format!("{MASK} (retired: verifies, never signs)")
                } else {
                    "-".to_owned()
                },
                path.display().to_string(),
            ),
            KeyOrigin::Development { path, .. } => (
                "-".to_owned(),
                format!("(not set: development key {})", path.display()),
            ),
        };
        let previous = if jwt.previous_key_files.is_empty() {
            "-".to_owned()
        } else {
            let paths: Vec<String> = jwt
                .previous_key_files
                .iter()
                .map(|path| path.display().to_string())
                .collect();
            paths.join(",")
        };
        let claim = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
        vec![
            (
                "AUTHUSERS_ENV",
                match self.environment {
                    Environment::Development => "development",
                    Environment::Production => "production",
                }
                .to_owned(),
            ),
            ("AUTHUSERS_HOST", self.host.clone()),
            ("AUTHUSERS_PORT", self.port.to_string()),
            (
                "PUBLIC_URL",
                self.public_url.as_ref().map_or_else(
                    || "(not set: links are relative)".to_owned(),
                    ToString::to_string,
                ),
            ),
            (
                "REQUEST_BODY_TIMEOUT_SECONDS",
                self.request_body_timeout.as_secs().to_string(),
            ),
            (
                "SHUTDOWN_DRAIN_SECONDS",
                self.shutdown_drain.as_secs().to_string(),
            ),
            ("DATABASE_URL", self.database.url.to_string()),
            ("DATABASE_POOL_SIZE", self.database.pool_size.to_string()),
            (
                "DATABASE_CONNECT_TIMEOUT_SECONDS",
                self.database.connect_timeout.as_secs().to_string(),
            ),
            (
                "SQLITE_SYNCHRONOUS",
                self.database.sqlite_synchronous.as_str().to_owned(),
            ),
            (
                "JWT_ALGORITHM",
                format!(
                    "{} (kid {})",
                    jwt.tokens.keys.algorithm(),
                    jwt.tokens.keys.kid()
                ),
            ),
            ("JWT_PRIVATE_KEY_FILE", key_file),
            ("JWT_PREVIOUS_KEY_FILES", previous),
            ("JWT_SECRET", secret),
            ("JWT_ISSUER", claim(&jwt.tokens.issuer)),
            ("JWT_AUDIENCE", claim(&jwt.tokens.audience)),
            (
                "JWT_ACCESS_TTL_SECONDS",
                self.jwt.tokens.access_ttl.as_secs().to_string(),
            ),
            (
                "JWT_REFRESH_TTL_SECONDS",
                self.jwt.tokens.refresh_ttl.as_secs().to_string(),
            ),
            (
                "JWT_LEEWAY_SECONDS",
                self.jwt.tokens.leeway.as_secs().to_string(),
            ),
            (
                "LEGACY_SIMPLEJWT_SIGNING_KEY",
                self.legacy_tokens.as_ref().map_or("-", |_| MASK).to_owned(),
            ),
            (
                "LEGACY_SIMPLEJWT_UNTIL",
                self.legacy_tokens.as_ref().map_or_else(
                    || "-".to_owned(),
                    |legacy| {
                        legacy
                            .until
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    },
                ),
            ),
            (
                "MFA_SECRET_KEY",
                match &self.mfa.origin {
                    MfaKeyOrigin::Environment => format!("{MASK} (key {})", self.mfa.key.id()),
                    MfaKeyOrigin::Development { path, .. } => format!(
                        "(not set: development key {}, key {})",
                        path.display(),
                        self.mfa.key.id()
                    ),
                },
            ),
            (
                "MFA_PREVIOUS_SECRET_KEYS",
                if self.mfa.previous_keys.is_empty() {
                    "-".to_owned()
                } else {
                    let ids: Vec<String> = self
                        .mfa
                        .previous_keys
                        .iter()
                        .map(|key| format!("{MASK} (key {})", key.id()))
                        .collect();
                    ids.join(",")
                },
            ),
            (
                "MFA_STEP_UP_OUT_ABOVE",
                self.mfa
                    .step_up_out_above
                    .map_or_else(|| "-".to_owned(), |amount| amount.to_string()),
            ),
            (
                "MFA_STEP_UP_SECONDS",
                self.mfa.step_up_window.num_seconds().to_string(),
            ),
            (
                "MFA_REQUIRED_FOR_ADMINS",
                if self.mfa.required_for_admins {
                    "on"
                } else {
                    "off"
                }
                .to_owned(),
            ),
            (
                "SESSION_MAX_AGE_SECONDS",
                self.sessions.max_age.num_seconds().to_string(),
            ),
            (
                "SESSION_RETENTION_SECONDS",
                self.sessions.retention.num_seconds().to_string(),
            ),
            (
                "HOUSEKEEPING_INTERVAL_SECONDS",
                self.sessions.housekeeping_interval.as_secs().to_string(),
            ),
            ("BCRYPT_COST", self.bcrypt_cost.to_string()),
            (
                "PASSWORD_HASHING_THREADS",
                self.abuse.hashing.threads.to_string(),
            ),
            (
                "PASSWORD_HASHING_QUEUE",
                self.abuse.hashing.queue.map_or_else(
                    || {
                        "(not set: what the threads hash within the wait, timed at start-up)"
                            .to_owned()
                    },
                    |queue| queue.to_string(),
                ),
            ),
            (
                "PASSWORD_HASHING_MAX_WAIT_MS",
                self.abuse.hashing.max_wait.as_millis().to_string(),
            ),
            (
                "LOGIN_MAX_FAILURES_PER_ACCOUNT",
                limit_max(self.abuse.limits.login_per_account),
            ),
            (
                "LOGIN_MAX_FAILURES_PER_ADDRESS",
                limit_max(self.abuse.limits.login_per_address),
            ),
            (
                "LOGIN_FAILURE_WINDOW_SECONDS",
                self.abuse
                    .limits
                    .login_per_account
                    .or(self.abuse.limits.login_per_address)
                    .map_or_else(|| "-".to_owned(), |l| l.window.num_seconds().to_string()),
            ),
            (
                "REGISTRATIONS_PER_ADDRESS_PER_HOUR",
                limit_max(self.abuse.limits.registrations_per_address),
            ),
            (
                "PASSWORD_RESETS_PER_ADDRESS_PER_HOUR",
                limit_max(self.abuse.limits.resets_per_address),
            ),
            (
                "TRUSTED_PROXIES",
                if self.abuse.trusted_proxies.is_empty() {
                    "(none: the peer is the client)".to_owned()
                } else {
                    self.abuse.trusted_proxies.to_string()
                },
            ),
            ("CONVERT_BONUS_RATE", self.bonus_policy.rate().to_string()),
            (
                "IDEMPOTENCY_KEY_RETENTION_HOURS",
                self.idempotency_key_retention.num_hours().to_string(),
            ),
            (
                "PASSWORD_RESET_URL",
                self.password_reset.link.as_ref().map_or_else(
                    || "(not set: the page this service serves)".to_owned(),
                    ToString::to_string,
                ),
            ),
            (
                "PASSWORD_RESET_TTL_SECONDS",
                self.password_reset.ttl.as_secs().to_string(),
            ),
            (
                "PASSWORD_RESET_MAILS_PER_HOUR",
                self.password_reset.mails_per_hour.to_string(),
            ),
            (
                "REGISTRATION_REQUIRES_ACTIVATION",
                if self.activation.link.is_some() {
                    "on"
                } else {
                    "off"
                }
                .to_owned(),
            ),
            (
                "ACTIVATION_URL",
                self.activation
                    .link
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), ToString::to_string),
            ),
            (
                "ACTIVATION_TTL_SECONDS",
                self.activation.ttl.as_secs().to_string(),
            ),
            ("CORS_ALLOWED_ORIGINS", cors),
            (
                "METRICS_TOKEN",
                if self.metrics.token.is_some() {
                    MASK.to_owned()
                } else {
                    "-".to_owned()
                },
            ),
            (
                "METRICS_ADDRESS",
                self.metrics
                    .address
                    .clone()
                    .unwrap_or_else(|| "-".to_owned()),
            ),
            ("MAIL_TRANSPORT", transport.to_owned()),
            ("SMTP_URL", smtp_url),
            ("MAIL_FROM", mail.from.to_string()),
            ("MAIL_DIR", mail_dir),
            ("MAIL_LANGUAGE", self.mail_language.code().to_owned()),
            (
                "SMTP_TIMEOUT_SECONDS",
                mail.smtp_timeout.as_secs().to_string(),
            ),
            (
                "OUTBOX_POLL_INTERVAL_MS",
                mail.poll_interval.as_millis().to_string(),
            ),
            (
                "OUTBOX_RETRY_FIRST_DELAY_MS",
                mail.retry.first_delay.num_milliseconds().to_string(),
            ),
            (
                "OUTBOX_RETRY_MAX_DELAY_MS",
                mail.retry.max_delay.num_milliseconds().to_string(),
            ),
            ("OUTBOX_MAX_ATTEMPTS", mail.retry.max_attempts.to_string()),
            (
                "LOG_FORMAT",
                match self.log_format {
                    LogFormat::Pretty => "pretty",
                    LogFormat::Json => "json",
                }
                .to_owned(),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::super::VARIABLES;
    use super::*;
    use std::collections::HashMap;

    /// Settings from `vars`, with a secret and a second factor key unless
    /// they name them: no test here writes a development key into the
    /// source tree.
    fn settings(vars: &[(&str, &str)]) -> Settings {
        let mut vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.entry("JWT_SECRET".into())
            .or_insert_with(|| "development-secret".into());
        vars.entry("MFA_SECRET_KEY".into())
            .or_insert_with(|| MFA_KEY.into());
        Settings::from_lookup(move |name| vars.get(name).cloned()).unwrap()
    }

    const MFA_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const RETIRED_MFA_KEY: &str = "YW5vdGhlci1rZXktb2YtdGhpcnR5LXR3by1ieXRlcyE=";

    #[test]
    fn names_every_variable_in_order() {
        let names: Vec<&str> = settings(&[])
            .describe()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, VARIABLES);
    }

    #[test]
    fn masks_every_secret() {
        let described = settings(&[
            ("JWT_SECRET", "jwt-secret-value"),
            ("DATABASE_URL", "postgres://app:db-password@db/users"),
            ("MAIL_TRANSPORT", "smtp"),
            (
                "SMTP_URL",
                "smtps://mailer:smtp-password@mail.example.com:465",
            ),
            ("MFA_PREVIOUS_SECRET_KEYS", RETIRED_MFA_KEY),
        ])
        .describe();
        let text = format!("{described:?}");
        for secret in [
            "jwt-secret-value",
            "db-password",
            "smtp-password",
            MFA_KEY,
            RETIRED_MFA_KEY,
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let value = |name: &str| {
            described
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap()
                .1
                .clone()
        };
        assert_eq!(value("SMTP_URL"), "smtps://mailer:***@mail.example.com:465");
        assert_eq!(value("JWT_SECRET"), "***");
        assert_eq!(value("DATABASE_URL"), "postgres://app:***@db/users");
        assert!(value("MFA_SECRET_KEY").starts_with("*** (key "));
        assert!(value("MFA_PREVIOUS_SECRET_KEYS").starts_with("*** (key "));
    }
}
