//! Configuration, read once from the environment and validated at start-up:
//! every problem is reported, one line each, before anything runs.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

mod describe;
mod file;
mod jwt;
mod legacy_tokens;
mod mfa;

pub use crate::http::public_url::{PublicUrl, PublicUrlError};
pub use crate::http::secret::Secret;
pub use file::read_config_file;
pub use jwt::{JwtSettings, KeyOrigin, DEVELOPMENT_KEY_FOLDER};
pub use legacy_tokens::{LegacyTokenSettings, DJANGO_MIN_SECRET_KEY_CHARS};
pub use mfa::{MfaKeyOrigin, MfaSettings, DEFAULT_STEP_UP_SECONDS, DEVELOPMENT_MFA_KEY_FILE};

use authusers_domain::balance::BonusPolicy;
use authusers_domain::notification::Language;
use authusers_domain::outbox::RetryPolicy;
use authusers_domain::password_reset::ResetLinkTemplate;
use authusers_domain::throttling::{
    AbuseLimits, DEFAULT_LOGIN_FAILURE_WINDOW, DEFAULT_LOGIN_MAX_FAILURES_PER_ACCOUNT,
    DEFAULT_LOGIN_MAX_FAILURES_PER_ADDRESS, DEFAULT_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR,
    DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR,
};
use authusers_domain::wallet::DEFAULT_KEY_RETENTION_HOURS;
use authusers_infra_diesel::{DatabaseConfig, DatabaseUrl, SqliteSynchronous};
use authusers_infra_smtp::Mailbox;
use authusers_infra_smtp::{parse_sender, SmtpMailer};
use rust_decimal::Decimal;

use crate::http::client_address::TrustedProxies;
use authusers_infra_crypto::HashingCapacity;

pub const DEFAULT_DATABASE_URL: &str = "authusers.db";
pub const DEFAULT_MAIL_FROM: &str = "AuthUsers <no-reply@localhost>";
const MIN_PRODUCTION_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub host: String,
    pub port: u16,
    /// The base of absolute links; without it links are relative.
    pub public_url: Option<PublicUrl>,
    /// `REQUEST_BODY_TIMEOUT_SECONDS`: how long a request's body may take
    /// to arrive whole after its head.
    pub request_body_timeout: Duration,
    /// `SHUTDOWN_DRAIN_SECONDS`: how long a server told to stop (SIGTERM)
    /// keeps serving, its readiness failing, so that a load balancer takes
    /// it out before it stops accepting.
    pub shutdown_drain: Duration,
    pub database: DatabaseConfig,
    pub jwt: JwtSettings,
    /// `LEGACY_SIMPLEJWT_SIGNING_KEY` and `LEGACY_SIMPLEJWT_UNTIL`: the
    /// bridge for the old service's tokens, while it is open.
    pub legacy_tokens: Option<LegacyTokenSettings>,
    pub bcrypt_cost: u32,
    pub mail_language: Language,
    pub log_format: LogFormat,
    pub bonus_policy: BonusPolicy,
    pub idempotency_key_retention: chrono::Duration,
    pub mail: MailSettings,
    pub cors: AllowedOrigins,
    pub password_reset: PasswordResetSettings,
    pub activation: ActivationSettings,
    pub metrics: MetricsSettings,
    pub sessions: SessionSettings,
    pub abuse: AbuseSettings,
    /// `MFA_*`: the second factor.
    pub mfa: MfaSettings,
}

/// Limits on attempts, who is a trusted proxy, and the hashing queue.
#[derive(Debug, Clone)]
pub struct AbuseSettings {
    /// `LOGIN_MAX_FAILURES_PER_ACCOUNT`, `LOGIN_MAX_FAILURES_PER_ADDRESS`,
    /// `LOGIN_FAILURE_WINDOW_SECONDS`, `REGISTRATIONS_PER_ADDRESS_PER_HOUR`,
    /// `PASSWORD_RESETS_PER_ADDRESS_PER_HOUR`.
    pub limits: AbuseLimits,
    /// `TRUSTED_PROXIES`.
    pub trusted_proxies: TrustedProxies,
    /// `PASSWORD_HASHING_THREADS`, `PASSWORD_HASHING_QUEUE`.
    pub hashing: HashingCapacity,
}

/// How long sessions live, and how long ended ones are kept.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `SESSION_MAX_AGE_SECONDS`: a session's absolute lifetime.
    pub max_age: chrono::Duration,
    /// `SESSION_RETENTION_SECONDS`: how long ended and expired sessions
    /// are kept (for the record) before the background worker forgets them.
    pub retention: chrono::Duration,
    /// `HOUSEKEEPING_INTERVAL_SECONDS`: how often the worker forgets them.
    pub housekeeping_interval: Duration,
}

/// Who may read `/metrics`: it shows login failures and mail volumes.
#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// `METRICS_TOKEN`: a bearer token `/metrics` requires.
    pub token: Option<Secret>,
    /// `METRICS_ADDRESS`: an address of its own for `/metrics` (such as an
    /// internal interface); the API's address then does not serve it.
    pub address: Option<String>,
}

/// The shortest `METRICS_TOKEN` accepted.
const MIN_METRICS_TOKEN_BYTES: usize = 16;

/// How password-reset links are made.
#[derive(Debug, Clone)]
pub struct PasswordResetSettings {
    /// `PASSWORD_RESET_URL`; `None` in development without one: the links
    /// point at the page this service serves itself.
    pub link: Option<ResetLinkTemplate>,
    pub ttl: Duration,
    /// The most reset mails to one address in an hour; 0 for no limit.
    pub mails_per_hour: u32,
}

/// djoser's activation: whether registrations confirm their address first.
#[derive(Debug, Clone)]
pub struct ActivationSettings {
    /// `REGISTRATION_REQUIRES_ACTIVATION` and `ACTIVATION_URL`: the
    /// frontend page links point at; `None` when activation is off.
    pub link: Option<ResetLinkTemplate>,
    /// `ACTIVATION_TTL_SECONDS`: how long a link works.
    pub ttl: Duration,
}

/// Which browser origins may call the API (CORS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Same-origin only: no CORS headers.
    None,
    Any,
    List(Vec<String>),
}

/// Every variable the configuration reads, in the order `authusers config`
/// prints them. A configuration file may set any of these, and nothing else.
pub const VARIABLES: &[&str] = &[
    "AUTHUSERS_ENV",
    "AUTHUSERS_HOST",
    "AUTHUSERS_PORT",
    "PUBLIC_URL",
    "REQUEST_BODY_TIMEOUT_SECONDS",
    "SHUTDOWN_DRAIN_SECONDS",
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "DATABASE_CONNECT_TIMEOUT_SECONDS",
    "SQLITE_SYNCHRONOUS",
    "JWT_ALGORITHM",
    "JWT_PRIVATE_KEY_FILE",
    "JWT_PREVIOUS_KEY_FILES",
    "JWT_SECRET",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "JWT_ACCESS_TTL_SECONDS",
    "JWT_REFRESH_TTL_SECONDS",
    "JWT_LEEWAY_SECONDS",
    "LEGACY_SIMPLEJWT_SIGNING_KEY",
    "LEGACY_SIMPLEJWT_UNTIL",
    "MFA_SECRET_KEY",
    "MFA_PREVIOUS_SECRET_KEYS",
    "MFA_STEP_UP_OUT_ABOVE",
    "MFA_STEP_UP_SECONDS",
    "MFA_REQUIRED_FOR_ADMINS",
    "SESSION_MAX_AGE_SECONDS",
    "SESSION_RETENTION_SECONDS",
    "HOUSEKEEPING_INTERVAL_SECONDS",
    "BCRYPT_COST",
    "PASSWORD_HASHING_THREADS",
    "PASSWORD_HASHING_QUEUE",
    "PASSWORD_HASHING_MAX_WAIT_MS",
    "LOGIN_MAX_FAILURES_PER_ACCOUNT",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "LOGIN_FAILURE_WINDOW_SECONDS",
    "REGISTRATIONS_PER_ADDRESS_PER_HOUR",
    "PASSWORD_RESETS_PER_ADDRESS_PER_HOUR",
    "TRUSTED_PROXIES",
    "CONVERT_BONUS_RATE",
    "IDEMPOTENCY_KEY_RETENTION_HOURS",
    "PASSWORD_RESET_URL",
    "PASSWORD_RESET_TTL_SECONDS",
    "PASSWORD_RESET_MAILS_PER_HOUR",
    "REGISTRATION_REQUIRES_ACTIVATION",
    "ACTIVATION_URL",
    "ACTIVATION_TTL_SECONDS",
    "CORS_ALLOWED_ORIGINS",
    "METRICS_TOKEN",
    "METRICS_ADDRESS",
    "MAIL_TRANSPORT",
    "SMTP_URL",
    "MAIL_FROM",
    "MAIL_DIR",
    "MAIL_LANGUAGE",
    "SMTP_TIMEOUT_SECONDS",
    "OUTBOX_POLL_INTERVAL_MS",
    "OUTBOX_RETRY_FIRST_DELAY_MS",
    "OUTBOX_RETRY_MAX_DELAY_MS",
    "OUTBOX_MAX_ATTEMPTS",
    "LOG_FORMAT",
];

/// Where outgoing mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Noted in the log only.
    Log,
    /// One `.eml` file per message in a folder.
    File { folder: PathBuf },
    /// An SMTP server; the URL may hold credentials.
    Smtp { url: Secret },
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: Mailbox,
    pub smtp_timeout: Duration,
    /// How often the delivery worker looks for due messages when nothing
    /// wakes it earlier.
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
}

/// All that is wrong with the configuration, one line per problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads variables through `lookup`, so tests need not touch the process
/// environment.
struct Reader<F> {
    lookup: F,
    problems: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    fn parsed<T>(
        &mut self,
        name: &str,
        default: T,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> T {
        match self.raw(name) {
            None => default,
            Some(raw) => parse(raw.trim()).unwrap_or_else(|| {
                self.problems
                    .push(format!("{name}={raw:?} is not valid: expected {what}"));
                default
            }),
        }
    }

    fn number<T: std::str::FromStr + PartialOrd + fmt::Display + Copy>(
        &mut self,
        name: &str,
        default: T,
        min: T,
        max: T,
    ) -> T {
        let what = format!("a whole number from {min} to {max}");
        self.parsed(name, default, &what, |raw| {
            raw.parse::<T>().ok().filter(|n| *n >= min && *n <= max)
        })
    }
}

/// A setting that is on or off.
fn switch(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Some(true),
        "off" | "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The environment, over the TOML file named by `file` or by
    /// `AUTHUSERS_CONFIG`, if any: a variable set in both takes the
    /// environment's value.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigErrors> {
        let named = std::env::var("AUTHUSERS_CONFIG")
            .ok()
            .filter(|p| !p.is_empty());
        let path = file.map(PathBuf::from).or(named.map(PathBuf::from));
        let from_file = match path {
            Some(path) => read_config_file(&path)?,
            None => Default::default(),
        };
        Self::from_lookup(|name| {
            std::env::var(name)
                .ok()
                .or_else(|| from_file.get(name).cloned())
        })
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let mut env = Reader {
            lookup,
            problems: Vec::new(),
        };
        let environment = env.parsed(
            "AUTHUSERS_ENV",
            Environment::Development,
            "development or production",
            |raw| match raw {
                "development" | "dev" => Some(Environment::Development),
                "production" | "prod" => Some(Environment::Production),
                _ => None,
            },
        );
        let host = env
            .raw("AUTHUSERS_HOST")
            .unwrap_or_else(|| "127.0.0.1".into());
        let port = env.number("AUTHUSERS_PORT", 8000u16, 0, u16::MAX);
        let public_url = env.raw("PUBLIC_URL").and_then(|raw| {
            raw.parse()
                .map_err(|e: PublicUrlError| {
                    env.problems
                        .push(format!("PUBLIC_URL={raw:?} is not valid: {e}"))
                })
                .ok()
        });

        let request_body_timeout = Duration::from_secs(
            env.number(
                "REQUEST_BODY_TIMEOUT_SECONDS",
                crate::http::body_deadline::BodyDeadline::DEFAULT
                    .0
                    .as_secs(),
                1,
                600,
            ),
        );

        let shutdown_drain =
            Duration::from_secs(env.number("SHUTDOWN_DRAIN_SECONDS", 0u64, 0, 300));

        let raw_url = env
            .raw("DATABASE_URL")
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let url = DatabaseUrl::parse(&raw_url).unwrap_or_else(|e| {
            env.problems.push(e.to_string());
            DatabaseUrl::Sqlite {
                path: DEFAULT_DATABASE_URL.into(),
            }
        });
        let mut database = DatabaseConfig::new(url);
        database.pool_size = env.number(
            "DATABASE_POOL_SIZE",
            DatabaseConfig::standard_pool_size(),
            1,
            1_000,
        );
        database.connect_timeout =
            Duration::from_secs(env.number("DATABASE_CONNECT_TIMEOUT_SECONDS", 5u64, 1, 600));
        database.sqlite_synchronous = env.parsed(
            "SQLITE_SYNCHRONOUS",
            SqliteSynchronous::Full,
            "full or normal",
            SqliteSynchronous::parse,
        );

        let jwt = env.jwt(environment);
        let mfa = env.mfa(environment);
        let legacy_tokens = Self::legacy_tokens(&mut env);
        let bcrypt_cost = env.number("BCRYPT_COST", 12u32, 4, 31);
        let mail_language = env.parsed(
            "MAIL_LANGUAGE",
            Language::English,
            "en or ru",
            Language::parse,
        );
        let log_format =
            env.parsed(
                "LOG_FORMAT",
                LogFormat::Pretty,
                "pretty or json",
                |raw| match raw {
                    "pretty" | "text" => Some(LogFormat::Pretty),
                    "json" => Some(LogFormat::Json),
                    _ => None,
                },
            );

        let bonus_policy = env.parsed(
            "CONVERT_BONUS_RATE",
            BonusPolicy::standard(),
            "a decimal from 0 to 1 with at most 4 places, such as 0.05",
            |raw| {
                Decimal::from_str_exact(raw)
                    .ok()
                    .and_then(|rate| BonusPolicy::with_rate(rate).ok())
            },
        );
        let retention_hours = env.number(
            "IDEMPOTENCY_KEY_RETENTION_HOURS",
            DEFAULT_KEY_RETENTION_HOURS,
            DEFAULT_KEY_RETENTION_HOURS,
            24 * 365,
        );

        let password_reset = Self::password_reset(&mut env, environment);
        let activation = Self::activation(&mut env);
        let mail = Self::mail(&mut env);
        let cors = Self::cors(&mut env);
        let metrics = Self::metrics(&mut env);
        let abuse = Self::abuse(&mut env);
        let sessions = SessionSettings {
            max_age: chrono::Duration::seconds(env.number(
                "SESSION_MAX_AGE_SECONDS",
                authusers_domain::sessions::DEFAULT_MAX_AGE.num_seconds(),
                60,
                365 * 86_400,
            )),
            retention: chrono::Duration::seconds(env.number(
                "SESSION_RETENTION_SECONDS",
                7 * 86_400i64,
                0,
                365 * 86_400,
            )),
            housekeeping_interval: Duration::from_secs(env.number(
                "HOUSEKEEPING_INTERVAL_SECONDS",
                600u64,
                1,
                86_400,
            )),
        };

        match mail.zip(jwt).zip(mfa).filter(|_| env.problems.is_empty()) {
            Some(((mail, jwt), mfa)) => Ok(Self {
                environment,
                host,
                port,
                public_url,
                request_body_timeout,
                shutdown_drain,
                database,
                jwt,
                legacy_tokens,
                bcrypt_cost,
                mail_language,
                log_format,
                bonus_policy,
                idempotency_key_retention: chrono::Duration::hours(retention_hours),
                mail,
                cors,
                password_reset,
                activation,
                metrics,
                sessions,
                abuse,
                mfa,
            }),
            None => Err(ConfigErrors(env.problems)),
        }
    }

    fn password_reset<F: Fn(&str) -> Option<String>>(
        env: &mut Reader<F>,
        environment: Environment,
    ) -> PasswordResetSettings {
        let link = match (env.raw("PASSWORD_RESET_URL"), environment) {
            (Some(raw), _) => ResetLinkTemplate::parse(&raw)
                .map_err(|e| {
                    env.problems.push(format!(
                        "PASSWORD_RESET_URL={raw:?} is not valid: {e}, as in https://app.example.com/password/reset/confirm/{{uid}}/{{token}}"
                    ))
                })
                .ok(),
            (None, Environment::Production) => {
                env.problems.push(
                    "PASSWORD_RESET_URL is required when AUTHUSERS_ENV=production: the frontend page that takes {uid} and {token}".into(),
                );
                None
            }
            (None, Environment::Development) => None,
        };
        let ttl = env.number("PASSWORD_RESET_TTL_SECONDS", 3_600u64, 60, 7 * 86_400);
        let mails_per_hour = env.number("PASSWORD_RESET_MAILS_PER_HOUR", 3u32, 0, 1_000);
        PasswordResetSettings {
            link,
            ttl: Duration::from_secs(ttl),
            mails_per_hour,
        }
    }

    fn legacy_tokens<F: Fn(&str) -> Option<String>>(
        env: &mut Reader<F>,
    ) -> Option<LegacyTokenSettings> {
        let key = env.raw("LEGACY_SIMPLEJWT_SIGNING_KEY");
        let until = env.raw("LEGACY_SIMPLEJWT_UNTIL").and_then(|raw| {
            chrono::DateTime::parse_from_rfc3339(raw.trim())
                .map(|until| until.with_timezone(&chrono::Utc))
                .map_err(|_| {
                    env.problems.push(format!(
                        "LEGACY_SIMPLEJWT_UNTIL={raw:?} is not valid: expected an RFC 3339 instant, as 2027-01-15T00:00:00Z"
                    ))
                })
                .ok()
                .map(Some)
                .unwrap_or(None)
        });
        match (key, until) {
            (Some(key), Some(until)) => Some(LegacyTokenSettings {
                signing_key: Secret::new(key),
                until,
            }),
            (Some(_), None) if env.raw("LEGACY_SIMPLEJWT_UNTIL").is_none() => {
                env.problems.push(
                    "LEGACY_SIMPLEJWT_UNTIL is required with LEGACY_SIMPLEJWT_SIGNING_KEY: the instant the old service's tokens stop being believed".into(),
                );
                None
            }
            (None, Some(_)) => {
                env.problems.push(
                    "LEGACY_SIMPLEJWT_UNTIL is set without LEGACY_SIMPLEJWT_SIGNING_KEY: the old service's SIMPLE_JWT SIGNING_KEY (by default its SECRET_KEY)".into(),
                );
                None
            }
            _ => None,
        }
    }

    fn activation<F: Fn(&str) -> Option<String>>(env: &mut Reader<F>) -> ActivationSettings {
        let required = env.parsed(
            "REGISTRATION_REQUIRES_ACTIVATION",
            false,
            "on or off (true or false, 1 or 0)",
            switch,
        );
        let ttl = env.number("ACTIVATION_TTL_SECONDS", 3 * 86_400u64, 60, 30 * 86_400);
        let link = match (env.raw("ACTIVATION_URL"), required) {
            (Some(raw), true) => ResetLinkTemplate::parse(&raw)
                .map_err(|e| {
                    env.problems.push(format!(
                        "ACTIVATION_URL={raw:?} is not valid: {e}, as in https://app.example.com/activate/{{uid}}/{{token}}"
                    ))
                })
                .ok(),
            (None, true) => {
                env.problems.push(
                    "ACTIVATION_URL is required when REGISTRATION_REQUIRES_ACTIVATION is on: the frontend page that takes {uid} and {token} and posts them to /auth/users/activation/".into(),
                );
                None
            }
            (_, false) => None,
        };
        ActivationSettings {
            link,
            ttl: Duration::from_secs(ttl),
        }
    }

    fn abuse<F: Fn(&str) -> Option<String>>(env: &mut Reader<F>) -> AbuseSettings {
        let per_account = env.number(
            "LOGIN_MAX_FAILURES_PER_ACCOUNT",
            DEFAULT_LOGIN_MAX_FAILURES_PER_ACCOUNT,
            0,
            1_000_000,
        );
        let per_address = env.number(
            "LOGIN_MAX_FAILURES_PER_ADDRESS",
            DEFAULT_LOGIN_MAX_FAILURES_PER_ADDRESS,
            0,
            1_000_000,
        );
        let window = env.number(
            "LOGIN_FAILURE_WINDOW_SECONDS",
            DEFAULT_LOGIN_FAILURE_WINDOW.num_seconds(),
            1,
            30 * 86_400,
        );
        let registrations = env.number(
            "REGISTRATIONS_PER_ADDRESS_PER_HOUR",
            DEFAULT_REGISTRATIONS_PER_ADDRESS_PER_HOUR,
            0,
            1_000_000,
        );
        let resets = env.number(
            "PASSWORD_RESETS_PER_ADDRESS_PER_HOUR",
            DEFAULT_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR,
            0,
            1_000_000,
        );
        let trusted_proxies = match env.raw("TRUSTED_PROXIES") {
            None => TrustedProxies::default(),
            Some(raw) => TrustedProxies::parse(&raw).unwrap_or_else(|e| {
                env.problems.push(format!(
                    "TRUSTED_PROXIES={raw:?} is not valid: {e}; expected addresses or networks such as 10.0.0.0/8, separated by commas"
                ));
                TrustedProxies::default()
            }),
        };
        let standard = HashingCapacity::standard();
        let threads = env.number("PASSWORD_HASHING_THREADS", standard.threads, 1, 1_024);
        let queue = env
            .raw("PASSWORD_HASHING_QUEUE")
            .map(|_| env.number("PASSWORD_HASHING_QUEUE", threads, 0, 100_000));
        let max_wait = Duration::from_millis(env.number(
            "PASSWORD_HASHING_MAX_WAIT_MS",
            authusers_infra_crypto::DEFAULT_MAX_WAIT.as_millis() as u64,
            100,
            60_000,
        ));
        AbuseSettings {
            limits: AbuseLimits::new(
                per_account,
                per_address,
                chrono::Duration::seconds(window),
                registrations,
            )
            .with_resets_per_address(resets),
            trusted_proxies,
            hashing: HashingCapacity {
                threads,
                queue,
                max_wait,
            },
        }
    }

    fn metrics<F: Fn(&str) -> Option<String>>(env: &mut Reader<F>) -> MetricsSettings {
        let token = env.raw("METRICS_TOKEN").map(|token| {
            if token.len() < MIN_METRICS_TOKEN_BYTES {
                env.problems.push(format!(
                    "METRICS_TOKEN is too short: use at least {MIN_METRICS_TOKEN_BYTES} random bytes"
                ));
            }
            Secret::new(token)
        });
        let address = env.raw("METRICS_ADDRESS").map(|raw| {
            let raw = raw.trim().to_owned();
            if raw.parse::<std::net::SocketAddr>().is_err() {
                env.problems.push(format!(
                    "METRICS_ADDRESS={raw:?} is not valid: expected an address and port, such as 127.0.0.1:9100"
                ));
            }
            raw
        });
        MetricsSettings { token, address }
    }

    fn cors<F: Fn(&str) -> Option<String>>(env: &mut Reader<F>) -> AllowedOrigins {
        let Some(raw) = env.raw("CORS_ALLOWED_ORIGINS") else {
            return AllowedOrigins::None;
        };
        if raw.trim() == "*" {
            return AllowedOrigins::Any;
        }
        let origins: Vec<String> = raw
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/').to_owned())
            .filter(|origin| !origin.is_empty())
            .collect();
        for origin in &origins {
            let valid = origin.split_once("://").is_some_and(|(scheme, host)| {
                matches!(scheme, "http" | "https") && !host.is_empty() && !host.contains('/')
            });
            if !valid {
                env.problems.push(format!(
                    "CORS_ALLOWED_ORIGINS has {origin:?}: expected origins like https://app.example.com, comma-separated, or *"
                ));
            }
        }
        AllowedOrigins::List(origins)
    }

    /// `None` when a problem was recorded that leaves no usable value.
    fn mail<F: Fn(&str) -> Option<String>>(env: &mut Reader<F>) -> Option<MailSettings> {
        let transport = match env.raw("MAIL_TRANSPORT").as_deref().map(str::trim) {
            None | Some("log") => MailTransport::Log,
            Some("file") => MailTransport::File {
                folder: env
                    .raw("MAIL_DIR")
                    .unwrap_or_else(|| "var/mail".into())
                    .into(),
            },
            Some("smtp") => match env.raw("SMTP_URL") {
                Some(url) => {
                    if let Err(error) = SmtpMailer::check_url(&url) {
                        env.problems.push(error.to_string());
                    }
                    MailTransport::Smtp {
                        url: Secret::new(url),
                    }
                }
                None => {
                    env.problems
                        .push("SMTP_URL is required when MAIL_TRANSPORT=smtp".into());
                    MailTransport::Log
                }
            },
            Some(other) => {
                env.problems.push(format!(
                    "MAIL_TRANSPORT={other:?} is not valid: expected log, file or smtp"
                ));
                MailTransport::Log
            }
        };
        let raw_from = env
            .raw("MAIL_FROM")
            .unwrap_or_else(|| DEFAULT_MAIL_FROM.into());
        let from = parse_sender(&raw_from)
            .map_err(|e| env.problems.push(e.to_string()))
            .ok();
        let millis = |env: &mut Reader<F>, name: &str, default: u64| {
            Duration::from_millis(env.number(name, default, 1, 86_400_000))
        };
        let smtp_timeout = Duration::from_secs(env.number("SMTP_TIMEOUT_SECONDS", 10u64, 1, 600));
        let poll_interval = millis(env, "OUTBOX_POLL_INTERVAL_MS", 1_000);
        let first_delay = millis(env, "OUTBOX_RETRY_FIRST_DELAY_MS", 5_000);
        let max_delay = millis(env, "OUTBOX_RETRY_MAX_DELAY_MS", 900_000);
        let max_attempts = env.number("OUTBOX_MAX_ATTEMPTS", 12u32, 1, 1_000);
        let to_chrono = |d: Duration| {
            chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::days(1))
        };
        Some(MailSettings {
            transport,
            from: from?,
            smtp_timeout,
            poll_interval,
            retry: RetryPolicy {
                first_delay: to_chrono(first_delay),
                max_delay: to_chrono(max_delay),
                max_attempts,
            },
        })
    }

    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use authusers_infra_jwt::SigningAlgorithm;
    use std::collections::HashMap;

    /// Settings from `vars`; in development with no key named, a secret,
    /// and a second factor key unless one is named, so that no test here
    /// writes a development key into the source tree (`config::jwt`'s and
    /// `config::mfa`'s tests cover the keys).
    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
        let mut vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let names_a_key = ["JWT_SECRET", "JWT_PRIVATE_KEY_FILE", "JWT_ALGORITHM"]
            .iter()
            .any(|name| vars.contains_key(*name));
        let production = vars.get("AUTHUSERS_ENV").map(String::as_str) == Some("production");
        if !names_a_key && !production {
            vars.insert("JWT_SECRET".into(), "development-secret".into());
        }
        // Likewise the second factor's key (`config::mfa`'s tests cover it).
        vars.entry("MFA_SECRET_KEY".into())
            .or_insert_with(|| "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=".into());
        Settings::from_lookup(move |name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_serve_sqlite_in_development() {
        let settings = settings(&[]).unwrap();
        assert_eq!(settings.environment, Environment::Development);
        assert_eq!(settings.address(), "127.0.0.1:8000");
        assert_eq!(settings.database.url.to_string(), "sqlite://authusers.db");
        assert_eq!(settings.bcrypt_cost, 12);
        assert_eq!(settings.jwt.tokens.access_ttl, Duration::from_secs(300));
        assert_eq!(settings.jwt.tokens.refresh_ttl, Duration::from_secs(86_400));
        assert_eq!(
            settings.jwt.tokens.keys.algorithm(),
            SigningAlgorithm::HS256
        );
        assert_eq!(settings.bonus_policy, BonusPolicy::standard());
        assert_eq!(
            settings.idempotency_key_retention,
            chrono::Duration::hours(24)
        );
    }

    #[test]
    fn the_bonus_rate_and_key_retention_are_configurable() {
        let custom = settings(&[
            ("CONVERT_BONUS_RATE", "0.1"),
            ("IDEMPOTENCY_KEY_RETENTION_HOURS", "48"),
        ])
        .unwrap();
        assert_eq!(custom.bonus_policy.rate(), Decimal::new(1, 1));
        assert_eq!(
            custom.idempotency_key_retention,
            chrono::Duration::hours(48)
        );
        let bad = settings(&[
            ("CONVERT_BONUS_RATE", "5%"),
            ("IDEMPOTENCY_KEY_RETENTION_HOURS", "1"),
        ])
        .unwrap_err();
        assert_eq!(bad.0.len(), 2, "{bad}");
    }

    #[test]
    fn production_needs_a_key_or_a_long_secret() {
        let reset_url = (
            "PASSWORD_RESET_URL",
            "https://app.example.com/reset/{uid}/{token}",
        );
        let missing = settings(&[("AUTHUSERS_ENV", "production"), reset_url]).unwrap_err();
        assert_eq!(
            missing.0,
            ["JWT_PRIVATE_KEY_FILE is required when AUTHUSERS_ENV=production (make one with `authusers keys generate`), or JWT_SECRET with JWT_ALGORITHM=HS256"]
        );
        let short = settings(&[("AUTHUSERS_ENV", "production"), ("JWT_SECRET", "abc")]);
        assert!(short.unwrap_err().0[0].starts_with("JWT_SECRET is too short"));
        let good = settings(&[
            ("AUTHUSERS_ENV", "production"),
            ("JWT_SECRET", &"k".repeat(32)),
            (
                "PASSWORD_RESET_URL",
                "https://app.example.com/reset/{uid}/{token}",
            ),
        ]);
        assert_eq!(good.unwrap().jwt.origin, KeyOrigin::Secret);
    }

    #[test]
    fn production_needs_a_reset_link_and_development_serves_its_own() {
        let missing = settings(&[
            ("AUTHUSERS_ENV", "production"),
            ("JWT_SECRET", &"k".repeat(32)),
        ])
        .unwrap_err();
        assert_eq!(missing.0.len(), 1);
        assert!(missing.0[0].starts_with("PASSWORD_RESET_URL is required"));
        let development = settings(&[]).unwrap().password_reset;
        assert_eq!(development.link, None);
        assert_eq!(development.ttl, Duration::from_secs(3_600));
        assert_eq!(development.mails_per_hour, 3);
    }

    #[test]
    fn reset_settings_are_checked() {
        let errors = settings(&[
            ("PASSWORD_RESET_URL", "https://app.example.com/reset/{uid}"),
            ("PASSWORD_RESET_TTL_SECONDS", "59"),
            ("PASSWORD_RESET_MAILS_PER_HOUR", "-1"),
        ])
        .unwrap_err();
        assert_eq!(errors.0.len(), 3, "{errors}");
        assert!(errors.0[0].contains("{uid} and {token}"), "{errors}");
        let custom = settings(&[
            (
                "PASSWORD_RESET_URL",
                "https://app.example.com/#/reset/{uid}/{token}",
            ),
            ("PASSWORD_RESET_TTL_SECONDS", "600"),
            ("PASSWORD_RESET_MAILS_PER_HOUR", "0"),
        ])
        .unwrap()
        .password_reset;
        assert_eq!(
            custom.link.map(|l| l.to_string()).as_deref(),
            Some("https://app.example.com/#/reset/{uid}/{token}")
        );
        assert_eq!(custom.ttl, Duration::from_secs(600));
        assert_eq!(custom.mails_per_hour, 0);
    }

    #[test]
    fn reports_every_bad_value_on_its_own_line() {
        let errors = settings(&[
            ("BCRYPT_COST", "twelve"),
            ("AUTHUSERS_PORT", "70000"),
            ("DATABASE_URL", "mysql://localhost/db"),
            ("JWT_ACCESS_TTL_SECONDS", "-5"),
            ("MAIL_LANGUAGE", "fr"),
        ])
        .unwrap_err();
        assert_eq!(errors.0.len(), 5, "{errors}");
        assert!(errors.0.iter().any(|line| line.starts_with("BCRYPT_COST=")));
        assert!(errors.0.iter().any(|line| line.contains("mysql")));
    }

    #[test]
    fn a_bad_smtp_url_is_a_configuration_error_that_hides_the_password() {
        let errors = settings(&[
            ("MAIL_TRANSPORT", "smtp"),
            ("SMTP_URL", "http://user:hunter2@mail.example.com"),
        ])
        .unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert!(errors.0[0].starts_with("SMTP_URL is not valid"));
        assert!(!errors.0[0].contains("hunter2"));
    }

    #[test]
    fn never_prints_the_secret() {
        let settings = settings(&[("JWT_SECRET", "super-secret-value")]).unwrap();
        assert!(!format!("{settings:?}").contains("super-secret-value"));
    }
}
