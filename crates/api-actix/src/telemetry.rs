use std::fmt::Debug;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

/// Installs the global subscriber: `RUST_LOG` filters (default `info`),
/// `LOG_FORMAT=json` gives one JSON object per line.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let output = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
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
