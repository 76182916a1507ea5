use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};
use authusers_domain::accounts::Accounts;
use authusers_domain::ports::{Clock, HashingError, SystemClock};
use authusers_domain::wallet::Wallet;
use authusers_infra_diesel::{
    Database, DieselBalanceRepository, DieselUserRepository, StorageError,
};
use authusers_infra_smtp::LogMailer;
use tracing_actix_web::TracingLogger;

use crate::auth::TokenService;
use crate::config::Settings;
use crate::json_body::MAX_BODY_BYTES;
use crate::password_hasher::BcryptHasher;
use crate::routes;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("database: {0}")]
    Database(#[from] StorageError),
    #[error("password hasher: {0}")]
    Hasher(#[from] HashingError),
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

/// A running service: the HTTP server and what it was built from.
pub struct Application {
    port: u16,
    server: Server,
    accounts: Accounts,
}

/// The domain operations wired to their adapters.
pub fn accounts(
    settings: &Settings,
    database: Database,
    clock: Arc<dyn Clock>,
) -> Result<Accounts, StartupError> {
    Ok(Accounts::new(
        Arc::new(DieselUserRepository::new(database)),
        Arc::new(BcryptHasher::new(settings.bcrypt_cost)?),
        Arc::new(LogMailer),
        clock,
        settings.mail_language,
    ))
}

impl Application {
    pub async fn build(settings: &Settings, migrations: Migrations) -> Result<Self, StartupError> {
        let database = Database::connect(&settings.database)?;
        if migrations == Migrations::Apply {
            let applied = database.migrate().await?;
            if !applied.is_empty() {
                tracing::info!(?applied, "applied database migrations");
            }
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let wallet = Wallet::new(
            Arc::new(DieselBalanceRepository::new(database.clone())),
            Arc::clone(&clock),
            settings.bonus_policy,
            settings.idempotency_key_retention,
        );
        let state = AppState {
            accounts: accounts(settings, database, Arc::clone(&clock))?,
            wallet,
            tokens: TokenService::new(&settings.jwt),
            clock,
        };
        let address = settings.address();
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        let accounts = state.accounts.clone();
        let server = run(listener, state).map_err(|source| StartupError::Bind {
            address: settings.address(),
            source,
        })?;
        Ok(Self {
            port,
            server,
            accounts,
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

    /// Serves until the process is told to stop (SIGINT or SIGTERM), then
    /// lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::default())
            // Outermost, so that logs and routing both see the slashed path.
            .wrap(NormalizePath::new(TrailingSlash::Always))
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .configure(routes::configure)
            .default_service(web::to(routes::not_found))
    })
    .listen(listener)?
    .run();
    Ok(server)
}
