use std::fmt::Debug;
use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::app::config::LogFormat;

/// Lines waiting for the log's writer at most; past them a line is dropped
/// (and counted) rather than make a request wait for standard error.
const LOG_BUFFER_LINES: usize = 64 * 1024;

/// The writer thread's guard: dropped by [`flush`], it writes what is left.
static WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// How many lines were dropped because the buffer was full.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Log lines dropped since start-up because the writer fell behind, for
/// metrics (`authusers_log_lines_dropped_total`).
pub fn dropped_lines() -> u64 {
    DROPPED.get().map_or(0, |counter| {
        u64::try_from(counter.dropped_lines()).unwrap_or(u64::MAX)
    })
}

/// Writes out the lines still buffered; call once before the process ends.
pub fn flush() {
    if let Ok(mut writer) = WRITER.lock() {
        drop(writer.take());
    }
}

/// Installs the global subscriber: `RUST_LOG` filters (default `info`),
/// `LOG_FORMAT=json` gives one JSON object per line. Lines go to standard
/// error through a thread of their own and a bounded buffer: a request
/// never waits on the terminal or a pipe to log.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(LOG_BUFFER_LINES)
        .thread_name("log-writer")
        .finish(std::io::stderr());
    let _ = DROPPED.set(writer.error_counter());
    if let Ok(mut slot) = WRITER.lock() {
        *slot = Some(guard);
    }
    let output = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(writer)
            .boxed(),
    };
    // The warning is emitted after the output has dropped the original
    // event: a second event inside the dispatch of the first would reset
    // the per-layer filter's verdict. A second initialisation (tests) keeps
    // the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output.with_filter(NotClientErrors))
        .with(ClientErrorsAsWarnings)
        .try_init();
}

/// actix-http reports, at error level (through the `log` crate), requests
/// it could not parse and connections clients broke: the clients' doing,
/// not the service's.
fn is_client_error(event: &Event<'_>) -> bool {
    let normalized = event.normalized_metadata();
    let meta: &Metadata<'_> = normalized.as_ref().unwrap_or_else(|| event.metadata());
    *meta.level() == Level::ERROR && meta.target().starts_with("actix_http::h1")
}

/// Logs each of those as a warning instead: still visible, never paging
/// anyone.
struct ClientErrorsAsWarnings;

impl<S: Subscriber> Layer<S> for ClientErrorsAsWarnings {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !is_client_error(event) {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        tracing::warn!(error = %message.0, "malformed request refused");
    }
}

/// Keeps the original error-level lines out of the output.
struct NotClientErrors;

impl<S: Subscriber> Filter<S> for NotClientErrors {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        !is_client_error(event)
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}
