use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{self, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};
use authusers_domain::accounts::{Accounts, HashingError, PasswordHasher, UserRepository};
use authusers_domain::activation::{ActivationPolicy, Activations};
use authusers_domain::clock::Clock;
use authusers_domain::mfa::{Mfa, MfaPorts, StepUp};
use authusers_domain::outbox::{
    DeliveryCounters, MailQueued, Mailroom, OutboxDelivery, OutboxRepository,
};
use authusers_domain::password_reset::{PasswordResets, ResetLinkTemplate, ResetPolicy};
use authusers_domain::sessions::{LegacyTokenVerifier, Sessions, SignIn};
use authusers_domain::throttling::Throttle;
use authusers_domain::wallet::Wallet;
use authusers_infra_crypto::{
    BcryptHasher, HashingQueue, RandomMfa, RandomResetTokens, RandomSessionIds, Rfc6238Codes,
    SecretBox,
};
use authusers_infra_diesel::{
    Database, DieselActivationRepository, DieselAttemptLog, DieselBalanceRepository,
    DieselMfaRepository, DieselOutboxRepository, DieselPasswordResetRepository,
    DieselSessionRepository, DieselUserRepository, StorageError,
};
use tokio::sync::Notify;

use crate::api::operations::MetricsGate;
use crate::api::well_known::WellKnown;
use crate::app::config::{AllowedOrigins, MetricsSettings, Settings};
use crate::app::delivery_worker::{
    self, DeliveryWorker, Housekeeping, MailBell, MailerSetupError, WorkerStopper,
};
use crate::app::routes;
use crate::app::system_clock::SystemClock;
use crate::http::body_deadline::{self, BodyDeadline};
use crate::http::client_address::TrustedProxies;
use crate::http::draining::{self, Draining};
use crate::http::json_body::MAX_BODY_BYTES;
use crate::http::metrics::Metrics;
use crate::http::request_span;
use crate::http::state::{AppState, MfaPolicy};
use authusers_infra_jwt::{CursorSeals, LegacyTokens, TokenService};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] StorageError),
    #[error("password hasher: {0}")]
    Hasher(#[from] HashingError),
    #[error("{0} database migration(s) are pending: run `authusers migrate` or serve without --no-migrate")]
    PendingMigrations(usize),
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("mail: {0}")]
    Mailer(#[from] MailerSetupError),
    #[error("password-reset link: {0}")]
    ResetLink(String),
    #[error("key set: {0}")]
    WellKnown(#[source] serde_json::Error),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// Whether `serve` applies pending migrations before it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    Apply,
    Skip,
}

/// A running service: the HTTP server, the outbox worker, and what they
/// were built from.
pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on `METRICS_ADDRESS`, and its port.
    metrics_server: Option<(Server, u16)>,
    worker: DeliveryWorker,
    accounts: Accounts,
    delivery_counters: Arc<DeliveryCounters>,
    draining: Arc<Draining>,
    /// `SHUTDOWN_DRAIN_SECONDS`.
    drain_for: Duration,
}

/// Stops a running service from outside it, without waiting: the server
/// at once, the outbox worker after the message it is sending.
#[derive(Clone)]
pub struct Stopper {
    servers: Vec<actix_web::dev::ServerHandle>,
    worker: WorkerStopper,
}

impl Stopper {
    pub fn stop(&self) {
        self.stop_servers(false);
    }

    /// As [`Self::stop`], letting in-flight requests finish first.
    pub fn stop_gracefully(&self) {
        self.stop_servers(true);
    }

    fn stop_servers(&self, graceful: bool) {
        // The command is sent at once; the future only waits for it.
        for server in &self.servers {
            drop(server.stop(graceful));
        }
        self.worker.stop();
    }
}

/// The account operations wired to their adapters.
pub fn accounts(
    settings: &Settings,
    database: Database,
    clock: Arc<dyn Clock>,
) -> Result<Accounts, StartupError> {
    let hasher = BcryptHasher::new(
        settings.bcrypt_cost,
        HashingQueue::new(settings.abuse.hashing),
    )?;
    Ok(Accounts::new(
        Arc::new(DieselUserRepository::new(database)),
        Arc::new(hasher),
        clock,
        settings.mail_language,
    ))
}

/// The session operations wired to their adapters.
pub fn sessions(
    settings: &Settings,
    database: Database,
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
) -> Sessions {
    Sessions::new(
        Arc::new(DieselSessionRepository::new(database)),
        users,
        Arc::new(RandomSessionIds),
        clock,
        settings.sessions.max_age,
    )
}

/// The service's own URL on `port`, from the address it listens on (never
/// from a request's `Host`): for links when `PUBLIC_URL` is not set.
fn listening_url(settings: &Settings, port: u16) -> String {
    let host = match settings.host.as_str() {
        "0.0.0.0" | "::" | "[::]" => "localhost".to_owned(),
        ipv6 if ipv6.contains(':') && !ipv6.starts_with('[') => format!("[{ipv6}]"),
        host => host.to_owned(),
    };
    format!("http://{host}:{port}")
}

/// The public keys and the discovery document, with absolute URLs from
/// `PUBLIC_URL` or else the listening address.
fn well_known(settings: &Settings, port: u16) -> Result<WellKnown, StartupError> {
    let base = settings.public_url.as_ref().map_or_else(
        || listening_url(settings, port),
        |url| url.to_string().trim_end_matches('/').to_owned(),
    );
    WellKnown::new(
        &settings.jwt.tokens.keys,
        settings.jwt.tokens.issuer.as_deref(),
        &base,
    )
    .map_err(StartupError::WellKnown)
}

/// Where reset mails send users: the configured frontend page, or else the
/// page this server serves on `port`.
fn reset_link(settings: &Settings, port: u16) -> Result<ResetLinkTemplate, StartupError> {
    if let Some(link) = &settings.password_reset.link {
        return Ok(link.clone());
    }
    let url = format!(
        "{}{}",
        listening_url(settings, port),
        crate::web::RESET_PAGE_TEMPLATE
    );
    ResetLinkTemplate::parse(&url)
        .map_err(|e| StartupError::ResetLink(format!("{url} from AUTHUSERS_HOST: {e}")))
}

/// The outbox delivery wired to the configured mailer.
pub fn outbox_delivery(
    settings: &Settings,
    database: Database,
    clock: Arc<dyn Clock>,
) -> Result<OutboxDelivery, StartupError> {
    delivery_over(
        settings,
        Arc::new(DieselOutboxRepository::new(database)),
        clock,
    )
}

/// The one construction of a delivery: `outbox` through the configured
/// mailer, with its retry policy and lease.
fn delivery_over(
    settings: &Settings,
    outbox: Arc<dyn OutboxRepository>,
    clock: Arc<dyn Clock>,
) -> Result<OutboxDelivery, StartupError> {
    Ok(OutboxDelivery::new(
        outbox,
        delivery_worker::mailer(&settings.mail)?,
        clock,
        settings.mail.retry,
    )
    .with_lease(delivery_worker::lease(&settings.mail)))
}

impl Application {
    pub async fn build(settings: &Settings, migrations: Migrations) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, migrations, Arc::new(SystemClock)).await
    }

    /// As [`Self::build`], with every operation reading `clock`.
    pub async fn build_with_clock(
        settings: &Settings,
        migrations: Migrations,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let database = match migrations {
            Migrations::Apply => Database::connect(&settings.database)?,
            Migrations::Skip => Database::connect_without_probe(&settings.database)?,
        };
        match migrations {
            Migrations::Apply => {
                let applied = database.migrate().await?;
                if !applied.is_empty() {
                    tracing::info!(?applied, "applied database migrations");
                }
            }
            // A database that does not answer now, or takes no writes (a
            // failover under way), is left to readiness: the server starts,
            // and serves once the database does.
            Migrations::Skip => match database.accepts_writes().await {
                Ok(true) => match database.pending_migrations().await? {
                    0 => {}
                    pending => return Err(StartupError::PendingMigrations(pending)),
                },
                Ok(false) => tracing::warn!(
                    "the database takes no writes at start-up: serving, not ready until it does"
                ),
                Err(error) if error.is_unavailable() => tracing::warn!(
                    %error,
                    "the database is unavailable at start-up: serving, not ready until it answers"
                ),
                Err(error) => return Err(error.into()),
            },
        }
        let address = settings.address();
        let bind_error = |source| StartupError::Bind {
            address: address.clone(),
            source,
        };
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();

        let outbox: Arc<dyn OutboxRepository> =
            Arc::new(DieselOutboxRepository::new(database.clone()));
        let delivery = delivery_over(settings, Arc::clone(&outbox), Arc::clone(&clock))?;
        let delivery_counters = delivery.counters();
        let outbox_wake = Arc::new(Notify::new());
        let bell: Arc<dyn MailQueued> = Arc::new(MailBell(Arc::clone(&outbox_wake)));
        // One hasher for every operation, so that its bound on concurrent
        // bcrypt work holds for all of them.
        let hashing = HashingQueue::new(settings.abuse.hashing);
        let hasher: Arc<dyn PasswordHasher> = Arc::new(BcryptHasher::new(
            settings.bcrypt_cost,
            Arc::clone(&hashing),
        )?);
        let throttle = Throttle::new(
            Arc::new(DieselAttemptLog::new(database.clone())),
            Arc::clone(&clock),
            settings.abuse.limits,
        );
        let users: Arc<dyn UserRepository> = Arc::new(DieselUserRepository::new(database.clone()));
        let resets = PasswordResets::new(
            Arc::clone(&users),
            Arc::new(DieselPasswordResetRepository::new(database.clone())),
            Arc::clone(&hasher),
            Arc::new(RandomResetTokens),
            Arc::clone(&clock),
            ResetPolicy {
                link: reset_link(settings, port)?,
                ttl: chrono::Duration::from_std(settings.password_reset.ttl)
                    .unwrap_or_else(|_| chrono::Duration::hours(1)),
                mails_per_hour: Some(settings.password_reset.mails_per_hour).filter(|n| *n > 0),
                language: settings.mail_language,
            },
        )
        .with_throttle(throttle.clone())
        .with_mail_listener(Arc::clone(&bell));
        let activations = Activations::new(
            Arc::clone(&users),
            Arc::new(DieselActivationRepository::new(database.clone())),
            Arc::new(RandomResetTokens),
            Arc::clone(&clock),
            settings
                .activation
                .link
                .clone()
                .map(|link| ActivationPolicy {
                    link,
                    ttl: chrono::Duration::from_std(settings.activation.ttl)
                        .unwrap_or_else(|_| chrono::Duration::days(3)),
                    language: settings.mail_language,
                }),
        )
        .with_throttle(throttle.clone())
        .with_mail_listener(Arc::clone(&bell));
        let sessions = sessions(
            settings,
            database.clone(),
            Arc::clone(&users),
            Arc::clone(&clock),
        );
        let wallet = Wallet::new(
            Arc::new(DieselBalanceRepository::new(database.clone())),
            Arc::clone(&clock),
            settings.bonus_policy,
            settings.idempotency_key_retention,
        );
        let mfa = Mfa::new(
            MfaPorts {
                repository: Arc::new(DieselMfaRepository::new(database.clone())),
                sealer: Arc::new(SecretBox::new(
                    settings.mfa.key.clone(),
                    settings.mfa.previous_keys.clone(),
                )),
                codes: Arc::new(Rfc6238Codes),
                random: Arc::new(RandomMfa),
                tokens: Arc::new(RandomResetTokens),
                clock: Arc::clone(&clock),
            },
            throttle.clone(),
            settings.mail_language,
        )
        .with_mail_listener(Arc::clone(&bell));
        let housekeeping = Housekeeping {
            mfa: mfa.clone(),
            sessions: sessions.clone(),
            throttle: throttle.clone(),
            wallet: wallet.clone(),
            retention: settings.sessions.retention,
            every: settings.sessions.housekeeping_interval,
        };
        let mut accounts = Accounts::new(users, hasher, Arc::clone(&clock), settings.mail_language)
            .with_throttle(throttle.clone())
            .with_mail_listener(Arc::clone(&bell));
        if activations.required() {
            accounts = accounts.with_activation(Arc::new(activations.clone()));
        }
        let state = AppState {
            sign_in: SignIn::new(accounts.clone(), sessions.clone(), mfa.clone()),
            mfa,
            mfa_policy: MfaPolicy {
                step_up: settings.mfa.step_up_out_above.map(|out_above| StepUp {
                    out_above,
                    window: settings.mfa.step_up_window,
                }),
                required_for_admins: settings.mfa.required_for_admins,
            },
            accounts,
            resets,
            activations,
            sessions,
            wallet,
            mailroom: Mailroom::new(Arc::clone(&outbox), Arc::clone(&clock))
                .with_mail_listener(bell),
            tokens: Arc::new(TokenService::new(&settings.jwt.tokens)),
            cursors: Arc::new(CursorSeals::new(&settings.jwt.tokens.keys)),
            legacy_tokens: settings.legacy_tokens.as_ref().map(
                |legacy| -> Arc<dyn LegacyTokenVerifier> {
                    Arc::new(LegacyTokens::new(
                        legacy.signing_key.expose(),
                        legacy.until,
                        settings.jwt.tokens.leeway,
                    ))
                },
            ),
            clock,
            language: settings.mail_language,
            public_url: settings.public_url.clone(),
            storage: Arc::new(database),
            outbox,
            delivery_counters: Arc::clone(&delivery_counters),
            metrics: Arc::new(Metrics::new(crate::app::telemetry::dropped_lines)?),
            throttle_counters: throttle.counters(),
            hashing,
            draining: Draining::new(),
        };
        let draining = Arc::clone(&state.draining);
        let accounts = state.accounts.clone();
        let metrics_server = match &settings.metrics.address {
            Some(address) => Some(metrics_only(address, state.clone(), &settings.metrics)?),
            None => None,
        };
        let gate = match (&settings.metrics.address, &settings.metrics.token) {
            (None, Some(token)) => MetricsGate::Token(token.clone()),
            _ => MetricsGate::Hidden,
        };
        let edge = Edge {
            origins: settings.cors.clone(),
            gate,
            deadline: BodyDeadline(settings.request_body_timeout),
            trusted_proxies: settings.abuse.trusted_proxies.clone(),
            well_known: well_known(settings, port)?,
        };
        let server = run(listener, state, edge).map_err(bind_error)?;
        let worker = DeliveryWorker::spawn(
            delivery,
            housekeeping,
            settings.mail.poll_interval,
            outbox_wake,
        );
        Ok(Self {
            port,
            server,
            metrics_server,
            worker,
            accounts,
            draining,
            drain_for: settings.shutdown_drain,
            delivery_counters,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The account operations the server uses, for set-up outside HTTP
    /// (tests, administration).
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    pub fn delivery_counters(&self) -> Arc<DeliveryCounters> {
        Arc::clone(&self.delivery_counters)
    }

    /// The port of `METRICS_ADDRESS`, when it is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_server.as_ref().map(|(_, port)| *port)
    }

    pub fn stopper(&self) -> Stopper {
        let mut servers = vec![self.server.handle()];
        servers.extend(
            self.metrics_server
                .iter()
                .map(|(server, _)| server.handle()),
        );
        Stopper {
            servers,
            worker: self.worker.stopper(),
        }
    }

    /// Serves until the process is told to stop. On SIGTERM its readiness
    /// fails at once and it keeps serving for `SHUTDOWN_DRAIN_SECONDS`, so
    /// that a load balancer takes it out; then it stops accepting and lets
    /// in-flight requests finish (up to 30 s). On SIGINT or SIGQUIT it
    /// drops them. Either way the outbox worker then finishes the message
    /// it is sending, and stops.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopper = self.stopper();
        let signals = tokio::spawn(stop_on_signal(stopper, self.draining, self.drain_for));
        let metrics = self.metrics_server.map(|(server, _)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let served = self.server.await;
        signals.abort();
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "the metrics listener failed"),
                Err(error) => tracing::error!(%error, "the metrics listener's task failed"),
            }
        }
        self.worker.stop().await;
        served
    }
}

/// Waits for SIGTERM (drain, then stop gracefully), SIGINT or SIGQUIT
/// (stop at once). The servers' own signal handling is off, as it knows no
/// drain.
async fn stop_on_signal(stopper: Stopper, draining: Arc<Draining>, drain_for: Duration) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::quit()),
    ) else {
        tracing::error!("cannot listen for signals: stop the server with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => {
            draining.begin();
            tracing::info!(seconds = drain_for.as_secs(), "SIGTERM: draining, then stopping gracefully");
            tokio::select! {
                _ = tokio::time::sleep(drain_for) => stopper.stop_gracefully(),
                _ = int.recv() => stopper.stop(),
                _ = quit.recv() => stopper.stop(),
            }
        }
        _ = int.recv() => { tracing::info!("SIGINT: stopping"); stopper.stop() }
        _ = quit.recv() => { tracing::info!("SIGQUIT: stopping"); stopper.stop() }
    }
}

/// CORS for browser frontends on the configured origins.
fn cors(origins: &AllowedOrigins) -> Cors {
    let cors = match origins {
        AllowedOrigins::None => return Cors::default(),
        AllowedOrigins::Any => Cors::default().allow_any_origin(),
        AllowedOrigins::List(list) => list
            .iter()
            .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin)),
    };
    cors.allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("idempotency-key"),
            request_span::REQUEST_ID,
        ])
        .expose_headers([
            request_span::REQUEST_ID,
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(3600)
}

/// A server of `/metrics` alone, on `METRICS_ADDRESS`.
fn metrics_only(
    address: &str,
    state: AppState,
    settings: &MetricsSettings,
) -> Result<(Server, u16), StartupError> {
    let bind_error = |source| StartupError::Bind {
        address: address.to_owned(),
        source,
    };
    let listener = TcpListener::bind(address).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    let state = web::Data::new(state);
    let gate = web::Data::new(match &settings.token {
        Some(token) => MetricsGate::Token(token.clone()),
        None => MetricsGate::Open,
    });
    let server = HttpServer::new(move || {
        App::new()
            .wrap(
                middleware::DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .wrap(NormalizePath::new(TrailingSlash::Always))
            .app_data(state.clone())
            .app_data(gate.clone())
            .route("/metrics/", web::get().to(crate::api::operations::metrics))
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(bind_error)?
    .run();
    Ok((server, port))
}

/// What the API's edge reads besides the application's state, each its own
/// `app_data` so that an extractor or a handler takes only what it needs.
struct Edge {
    origins: AllowedOrigins,
    gate: MetricsGate,
    deadline: BodyDeadline,
    /// Whose `X-Forwarded-For` is believed.
    trusted_proxies: TrustedProxies,
    /// The public keys and the discovery document.
    well_known: WellKnown,
}

fn run(listener: TcpListener, state: AppState, edge: Edge) -> std::io::Result<Server> {
    let draining = web::Data::from(Arc::clone(&state.draining));
    let state = web::Data::new(state);
    let gate = web::Data::new(edge.gate);
    let deadline = web::Data::new(edge.deadline);
    let trusted_proxies = web::Data::new(edge.trusted_proxies);
    let well_known = web::Data::new(edge.well_known);
    let origins = edge.origins;
    let server = HttpServer::new(move || {
        App::new()
            // Answers that set no caching of their own are never stored:
            // most carry a token or a user's data.
            .wrap(
                middleware::DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .wrap(cors(&origins))
            .wrap(middleware::from_fn(draining::close_connections))
            // Inside the request's span, so that its 408 is logged there.
            .wrap(middleware::from_fn(body_deadline::enforce))
            .wrap(middleware::from_fn(request_span::observe))
            // Outermost, so that logs and routing both see the slashed path.
            .wrap(NormalizePath::new(TrailingSlash::Always))
            .app_data(state.clone())
            .app_data(draining.clone())
            .app_data(gate.clone())
            .app_data(deadline.clone())
            .app_data(trusted_proxies.clone())
            .app_data(well_known.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
