//! The `authusers` command line: `serve`, `migrate`, `config`, `outbox`,
//! `sessions`, `create-admin`, `keys`.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use authusers_domain::accounts::{CreateAdminError, CreateAdminRequest};
use authusers_domain::outbox::OutboxRepository;
use authusers_domain::sessions::OperatorSessionsError;
use authusers_domain::storage::RepositoryError;
use authusers_infra_diesel::{
    Database, DieselImportRepository, DieselOutboxRepository, DieselUserRepository, StorageError,
};
use chrono::SecondsFormat;
use clap::{Parser, Subcommand};

use crate::app::config::{KeyOrigin, Settings};
use crate::app::django_import;
use crate::app::startup::{self, Application, Migrations, StartupError};
use crate::app::system_clock::SystemClock;
use crate::app::telemetry;
use crate::http::field_messages::FieldMessages;
use crate::http::problem::causes;
use authusers_infra_jwt::{write_new_key_file, KeyFileError, SigningAlgorithm};

pub const ADMIN_PASSWORD_ENV: &str = "AUTHUSERS_ADMIN_PASSWORD";

#[derive(Debug, Parser)]
#[command(
    name = "authusers",
    version,
    about = "User accounts with administrator approval, JWT and balances"
)]
pub struct Cli {
    /// A TOML file of settings (the environment variables' names, in any
    /// case); the environment overrides it. Also AUTHUSERS_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (applies pending migrations first).
    Serve {
        /// Do not apply pending migrations at start-up.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets masked, and exit.
    Config,
    /// List e-mail waiting in the outbox (pending or failed) and exit.
    Outbox {
        /// Show at most this many messages, oldest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// First put every failed message back in the queue, with a fresh
        /// set of attempts (after fixing what made them fail).
        #[arg(long)]
        retry_failed: bool,
    },
    /// List a user's open sessions and exit; with --end-all, end them
    /// first (their tokens are refused from then on, by every server).
    Sessions {
        /// The user's e-mail address.
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// End every session of the user.
        #[arg(long)]
        end_all: bool,
    },
    /// Create an administrator, approved from the start. The password comes
    /// from AUTHUSERS_ADMIN_PASSWORD, or is asked for on the terminal.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Token signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Move users in from another service.
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
}

#[derive(Debug, Subcommand)]
enum ImportSource {
    /// Users, password hashes and balances from the output of `python
    /// manage.py dumpdata <app>.<user model>` of the Django service, json or
    /// jsonl. Ids, addresses, names, dates, statuses and administrators are
    /// kept; each balance gets an opening ledger entry. Running it again
    /// changes nothing; a run cut short goes on where it stopped. Exits
    /// non-zero when a record was skipped (unless --allow-skips) or the
    /// input stops before its end.
    Django(DjangoImportArgs),
}

#[derive(Debug, clap::Args)]
struct DjangoImportArgs {
    /// The dump; `-` for standard input.
    #[arg(value_name = "FILE")]
    file: String,
    /// json (one list) or jsonl (one record a line); detected when not given.
    #[arg(long, value_parser = parse_format)]
    format: Option<django_import::Format>,
    /// The user model's label in the dump; records of others are counted
    /// and passed over.
    #[arg(long, default_value = "users.user")]
    model: String,
    /// A field the model names otherwise, as MEANING=NAME
    /// (real_balance=wallet_real); repeat for several.
    #[arg(long = "field", value_name = "MEANING=NAME")]
    fields: Vec<String>,
    /// Read and check everything, against the database too; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also write every skipped record and warning to FILE, as JSON Lines.
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
    /// Exit 0 even when records were skipped.
    #[arg(long)]
    allow_skips: bool,
    /// Users a transaction.
    #[arg(long, default_value_t = django_import::DEFAULT_BATCH_SIZE, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    batch_size: u32,
}

fn parse_format(raw: &str) -> Result<django_import::Format, String> {
    django_import::Format::parse(raw).ok_or_else(|| "expected json or jsonl".into())
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Write a new private key (PEM, readable by its owner only) for
    /// JWT_PRIVATE_KEY_FILE; never over an existing file. Reads no other
    /// configuration.
    Generate {
        /// EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA, 3072 bits).
        #[arg(long, default_value = "EdDSA", value_parser = parse_algorithm)]
        algorithm: SigningAlgorithm,
        /// The file to create.
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Print the JWK Set the current configuration publishes at
    /// /.well-known/jwks.json: the signing key and the retired ones.
    Jwks,
}

fn parse_algorithm(name: &str) -> Result<SigningAlgorithm, String> {
    match name.parse() {
        Ok(SigningAlgorithm::HS256) => {
            Err("HS256 signs with a shared secret (JWT_SECRET), not a key file".into())
        }
        Ok(algorithm) => Ok(algorithm),
        Err(_) => Err("expected EdDSA, ES256 or RS256".into()),
    }
}

/// Why a command did not succeed, which decides its exit code.
enum Failure {
    /// The configuration cannot be used (exit code 2): one line each.
    Configuration(Vec<String>),
    /// The command itself failed (exit code 1).
    Command(CommandError),
}

impl From<CommandError> for Failure {
    fn from(error: CommandError) -> Self {
        Self::Command(error)
    }
}

/// How a command failed; printed with its causes, on one line.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Startup(#[from] StartupError),
    #[error("the server stopped")]
    Served(#[source] std::io::Error),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    FieldFlag(#[from] django_import::FieldFlagError),
    #[error(transparent)]
    Import(#[from] django_import::ImportError),
    #[error("cannot write the report {}", path.display())]
    ReportUnwritable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the report is incomplete")]
    ReportIncomplete(#[source] std::io::Error),
    #[error("the input stops {stopped}; what came before was {}", if *.dry_run { "checked" } else { "imported" })]
    InputStops { stopped: String, dry_run: bool },
    #[error("{skipped} record(s) skipped, each told above{}; --allow-skips accepts that", if *.reported { " and in the report" } else { "" })]
    RecordsSkipped { skipped: u64, reported: bool },
    #[error("{0} database migration(s) are pending: run `authusers migrate` first")]
    MigrationsPending(usize),
    #[error(transparent)]
    OperatorSessions(#[from] OperatorSessionsError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    /// The administrator's e-mail or password, each field's messages.
    #[error("{0}")]
    InvalidAdministrator(String),
    #[error(transparent)]
    CreateAdmin(CreateAdminError),
    #[error("cannot read a password: set {ADMIN_PASSWORD_ENV}")]
    NoTerminal(#[source] std::io::Error),
    #[error("the two passwords differ")]
    PasswordsDiffer,
    #[error("the JWK Set could not be written")]
    Jwks(#[source] serde_json::Error),
}

/// Runs the command; every failure is one clear line on stderr and a
/// non-zero exit code, never a panic.
pub async fn run(cli: Cli) -> ExitCode {
    let outcome = execute(cli).await;
    telemetry::flush();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Configuration(lines)) => {
            for line in &lines {
                eprintln!("authusers: configuration error: {line}");
            }
            ExitCode::from(2)
        }
        Err(Failure::Command(error)) => {
            // Drivers' messages can span lines; the operator gets one.
            let message = causes(&error);
            let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("authusers: {line}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> Result<(), Failure> {
    // Read by each command that needs it, not before: a first key is made
    // before there is a configuration that names it.
    let configured = || {
        let settings =
            Settings::load(cli.config.as_deref()).map_err(|e| Failure::Configuration(e.0))?;
        telemetry::init(settings.log_format);
        Ok::<_, Failure>(settings)
    };
    match cli.command {
        Command::Keys {
            command: KeysCommand::Generate { algorithm, out },
        } => Ok(generate_key(algorithm, &out)?),
        Command::Serve { no_migrate } => Ok(serve(&configured()?, no_migrate).await?),
        Command::Migrate => Ok(migrate(&configured()?).await?),
        Command::Config => {
            print_lines(
                configured()?
                    .describe()
                    .into_iter()
                    .map(|(name, value)| format!("{name}={value}")),
            );
            Ok(())
        }
        Command::Outbox {
            limit,
            retry_failed,
        } => Ok(outbox(&configured()?, limit, retry_failed).await?),
        Command::Sessions { user, end_all } => Ok(sessions(&configured()?, &user, end_all).await?),
        Command::CreateAdmin { email } => Ok(create_admin(&configured()?, email).await?),
        Command::Keys {
            command: KeysCommand::Jwks,
        } => Ok(
            serde_json::to_string_pretty(configured()?.jwt.tokens.keys.jwks())
                .map(|jwks| print_lines([jwks]))
                .map_err(CommandError::Jwks)?,
        ),
        Command::Import {
            source: ImportSource::Django(args),
        } => Ok(import_django(&configured()?, args).await?),
    }
}

async fn import_django(settings: &Settings, args: DjangoImportArgs) -> Result<(), CommandError> {
    let mut fields = django_import::FieldNames::default();
    for field in &args.fields {
        fields.rename(field)?;
    }
    let input = match args.file.as_str() {
        "-" => django_import::Input::Stdin,
        path => django_import::Input::File(path.into()),
    };
    let options = django_import::ImportOptions {
        input: input.clone(),
        format: args.format,
        model: args.model,
        fields,
        batch_size: args.batch_size as usize,
    };
    let report_file = match &args.report {
        Some(path) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|source| CommandError::ReportUnwritable {
                path: path.clone(),
                source,
            })?,
        )) as Box<dyn Write + Send>),
        None => None,
    };
    let mut report = django_import::Report::new(report_file, Box::new(std::io::stderr()));
    let database = migrated_database(settings).await?;
    let importer = authusers_domain::import::Importer::new(
        Arc::new(DieselImportRepository::new(database)),
        Arc::new(SystemClock),
    );
    let progress = import_progress(&input);
    let summary =
        django_import::import(options, importer.run(args.dry_run), &mut report, &|read| {
            progress.set_message(format!("{read} records"))
        })
        .await;
    progress.finish_and_clear();
    report.flush().map_err(CommandError::ReportIncomplete)?;
    let summary = summary?;
    if !args.dry_run && summary.imported > 0 {
        importer.settle().await?;
    }
    print_lines([summary.line(args.dry_run)]);
    if let Some(stopped) = summary.stopped {
        return Err(CommandError::InputStops {
            stopped: stopped.to_string(),
            dry_run: args.dry_run,
        });
    }
    let skipped = summary.skipped_total();
    if skipped > 0 && !args.allow_skips {
        return Err(CommandError::RecordsSkipped {
            skipped,
            reported: args.report.is_some(),
        });
    }
    Ok(())
}

/// A spinner with the records read so far, on a terminal only; elsewhere
/// the summary line says it all.
fn import_progress(input: &django_import::Input) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let name = match input {
        django_import::Input::File(path) => path.display().to_string(),
        django_import::Input::Stdin => "standard input".to_owned(),
    };
    let bar = indicatif::ProgressBar::new_spinner().with_prefix(name);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg} ({per_sec}, {elapsed})")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

fn generate_key(algorithm: SigningAlgorithm, out: &std::path::Path) -> Result<(), CommandError> {
    write_new_key_file(out, algorithm)?;
    print_lines([format!(
        "wrote a new {algorithm} private key to {}",
        out.display()
    )]);
    Ok(())
}

async fn serve(settings: &Settings, no_migrate: bool) -> Result<(), CommandError> {
    let (algorithm, kid) = (
        settings.jwt.tokens.keys.algorithm(),
        settings.jwt.tokens.keys.kid(),
    );
    match &settings.jwt.origin {
        KeyOrigin::EphemeralSecret => tracing::warn!(
            "JWT_SECRET is not set: using a random secret, so tokens end with this process"
        ),
        KeyOrigin::Development {
            path,
            generated: true,
        } => tracing::info!(
            path = %path.display(), %algorithm, kid,
            "generated a development signing key; it is reused from now on"
        ),
        _ => tracing::info!(%algorithm, kid, "signing tokens"),
    }
    if let Some(legacy) = &settings.legacy_tokens {
        tracing::info!(until = %legacy.until, "the old service's simplejwt tokens are believed until then");
        if legacy.key_is_weak() {
            tracing::warn!(
                "LEGACY_SIMPLEJWT_SIGNING_KEY is shorter than Django's checks allow ({} characters): it is used, as it is the old service's key; close the bridge (LEGACY_SIMPLEJWT_UNTIL) soon",
                crate::app::config::DJANGO_MIN_SECRET_KEY_CHARS
            );
        }
    }
    let migrations = if no_migrate {
        Migrations::Skip
    } else {
        Migrations::Apply
    };
    let app = Application::build(settings, migrations).await?;
    tracing::info!(
        address = %settings.address(),
        port = app.port(),
        database = %settings.database.url,
        "serving"
    );
    app.run_until_stopped().await.map_err(CommandError::Served)
}

async fn migrate(settings: &Settings) -> Result<(), CommandError> {
    let database = Database::connect(&settings.database)?;
    let applied = database.migrate().await?;
    if applied.is_empty() {
        print_lines(["database is up to date".to_owned()]);
    }
    print_lines(applied.iter().map(|v| format!("applied migration {v}")));
    Ok(())
}

/// The database, if its schema is up to date: the commands that only read
/// and change rows never migrate it behind the operator's back.
async fn migrated_database(settings: &Settings) -> Result<Database, CommandError> {
    let database = Database::connect(&settings.database)?;
    let pending = database.pending_migrations().await?;
    if pending > 0 {
        return Err(CommandError::MigrationsPending(pending));
    }
    Ok(database)
}

async fn outbox(settings: &Settings, limit: u32, retry_failed: bool) -> Result<(), CommandError> {
    let database = migrated_database(settings).await?;
    let outbox = DieselOutboxRepository::new(database);
    if retry_failed {
        let requeued = outbox.requeue_failed(chrono::Utc::now()).await?;
        print_lines([format!("re-queued {requeued} failed message(s)")]);
    }
    let backlog = outbox.backlog().await?;
    let entries = outbox.unsent(limit).await?;
    let summary = format!("pending: {}  failed: {}", backlog.pending, backlog.failed);
    print_lines(std::iter::once(summary).chain(entries.into_iter().map(|entry| {
        let next = entry
            .next_attempt_at
            .map_or_else(|| "-".to_owned(), |at| at.to_rfc3339());
        format!(
            "#{id} {status} attempts={attempts} next={next} to={to} subject={subject:?} message_id={message_id} error={error}",
            id = entry.id,
            status = entry.status.as_str(),
            attempts = entry.attempts,
            to = entry.recipient,
            subject = entry.subject,
            message_id = entry.message_id,
            error = entry.last_error.as_deref().unwrap_or("-"),
        )
    })));
    Ok(())
}

async fn sessions(settings: &Settings, email: &str, end_all: bool) -> Result<(), CommandError> {
    let database = migrated_database(settings).await?;
    let users = Arc::new(DieselUserRepository::new(database.clone()));
    let sessions = startup::sessions(settings, database, users, Arc::new(SystemClock));
    let (user, open) = sessions.of_user_by_email(email).await?;
    if end_all {
        let ended = sessions.end_all_by_operator(&user).await?;
        print_lines([format!("ended {ended} session(s) of {}", user.email)]);
        return Ok(());
    }
    print_lines(
        std::iter::once(format!("{} open session(s) of {}", open.len(), user.email)).chain(
            open.iter().map(|session| {
                format!(
                    "{id} created={created} last_used={used} expires={expires} address={address} user_agent={agent:?}",
                    id = session.id,
                    created = session.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    used = session.last_used_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    expires = session.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    address = session.client.address.as_deref().unwrap_or("-"),
                    agent = session.client.user_agent.as_deref().unwrap_or("-"),
                )
            }),
        ),
    );
    Ok(())
}

async fn create_admin(settings: &Settings, email: String) -> Result<(), CommandError> {
    let password = admin_password()?;
    let database = Database::connect(&settings.database)?;
    database.migrate().await?;
    let accounts = startup::accounts(settings, database, Arc::new(SystemClock))?;
    let admin = accounts
        .create_admin(CreateAdminRequest { email, password })
        .await
        .map_err(|e| match e {
            CreateAdminError::Invalid(errors) => CommandError::InvalidAdministrator(
                FieldMessages::from(errors)
                    .fields()
                    .iter()
                    .flat_map(|(field, messages)| {
                        messages.iter().map(move |m| format!("{field}: {m}"))
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            other => CommandError::CreateAdmin(other),
        })?;
    print_lines([format!(
        "created administrator {} (id {})",
        admin.email, admin.id
    )]);
    Ok(())
}

/// Writes lines to stdout, stopping quietly if the reader went away
/// (`authusers config | head`), where `println!` would panic.
fn print_lines(lines: impl IntoIterator<Item = String>) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return;
        }
    }
}

fn admin_password() -> Result<String, CommandError> {
    if let Ok(password) = std::env::var(ADMIN_PASSWORD_ENV) {
        return Ok(password);
    }
    let first =
        rpassword::prompt_password("Administrator password: ").map_err(CommandError::NoTerminal)?;
    let second =
        rpassword::prompt_password("Repeat the password: ").map_err(CommandError::NoTerminal)?;
    if first != second {
        return Err(CommandError::PasswordsDiffer);
    }
    Ok(first)
}
