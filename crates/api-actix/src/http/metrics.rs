//! Prometheus metrics: requests by route template and status, latency,
//! the database pool and SQLite's write groups, the outbox, refused attempts and the hashing queue.

use crate::http::storage_health::StorageHealth;
use std::time::Duration;

use authusers_domain::outbox::{DeliveryCounters, OutboxRepository};
use authusers_domain::throttling::{Counter, ThrottleCounters};

use authusers_infra_crypto::HashingQueue;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Everything `/metrics` reports. Request metrics are recorded as requests
/// finish; the gauges are read fresh at each scrape.
pub struct Metrics {
    registry: Registry,
    /// How many log lines the logger has dropped so far (its own count).
    dropped_log_lines: fn() -> u64,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_max: IntGauge,
    pool_in_use: IntGauge,
    pool_idle: IntGauge,
    pool_waiting: IntGauge,
    outbox_pending: IntGauge,
    outbox_failed: IntGauge,
    mail_sent: IntCounter,
    mail_retried: IntCounter,
    mail_failed: IntCounter,
    throttled: IntCounterVec,
    hashing_waiting: IntGauge,
    hashing_running: IntGauge,
    hashing_shed: IntCounter,
    sqlite_commits: IntCounter,
    sqlite_writes: IntCounter,
    log_lines_dropped: IntCounter,
}

impl Metrics {
    /// `dropped_log_lines` reads the logger's count of lines it dropped.
    pub fn new(dropped_log_lines: fn() -> u64) -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("authusers".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route template and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            ),
            &["method", "route"],
        )?;
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let metrics = Self {
            dropped_log_lines,
            pool_max: gauge(
                "db_pool_max_connections",
                "Largest size of the connection pool",
            )?,
            pool_in_use: gauge("db_pool_connections_in_use", "Pool connections in use")?,
            pool_idle: gauge("db_pool_connections_idle", "Idle pool connections")?,
            pool_waiting: gauge("db_pool_waiting", "Queries waiting for a free connection")?,
            outbox_pending: gauge("outbox_pending_messages", "E-mails waiting to be sent")?,
            outbox_failed: gauge("outbox_failed_messages", "E-mails that failed for good")?,
            mail_sent: counter("mail_sent_total", "E-mails delivered by this process")?,
            mail_retried: counter(
                "mail_retried_total",
                "Delivery attempts that will be retried",
            )?,
            mail_failed: counter("mail_failed_total", "E-mails given up on by this process")?,
            throttled: IntCounterVec::new(
                Opts::new(
                    "throttled_total",
                    "Attempts refused by a limit (429 too_many_attempts), by the limit reached",
                ),
                &["reason"],
            )?,
            hashing_waiting: gauge(
                "password_hashing_waiting",
                "Password hashes waiting for a thread (the queue's depth)",
            )?,
            hashing_running: gauge("password_hashing_running", "Password hashes running")?,
            hashing_shed: counter(
                "password_hashing_shed_total",
                "Requests refused at once because the hashing queue was full (503 overloaded)",
            )?,
            sqlite_commits: counter(
                "sqlite_write_commits_total",
                "SQLite commits of the one writing connection (each holds a group of writes)",
            )?,
            sqlite_writes: counter(
                "sqlite_writes_total",
                "SQLite writes committed; divided by the commits, the mean group size",
            )?,
            log_lines_dropped: counter(
                "log_lines_dropped_total",
                "Log lines dropped because the log's writer fell behind",
            )?,
            requests,
            latency,
            registry,
        };
        metrics.register_all()?;
        Ok(metrics)
    }

    fn register_all(&self) -> Result<(), prometheus::Error> {
        let r = &self.registry;
        r.register(Box::new(self.requests.clone()))?;
        r.register(Box::new(self.latency.clone()))?;
        r.register(Box::new(self.throttled.clone()))?;
        for gauge in [
            &self.pool_max,
            &self.pool_in_use,
            &self.pool_idle,
            &self.pool_waiting,
            &self.outbox_pending,
            &self.outbox_failed,
            &self.hashing_waiting,
            &self.hashing_running,
        ] {
            r.register(Box::new(gauge.clone()))?;
        }
        for counter in [
            &self.mail_sent,
            &self.mail_retried,
            &self.mail_failed,
            &self.hashing_shed,
            &self.sqlite_commits,
            &self.sqlite_writes,
            &self.log_lines_dropped,
        ] {
            r.register(Box::new(counter.clone()))?;
        }
        Ok(())
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, with the gauges brought up to date.
    pub async fn render(
        &self,
        storage: &dyn StorageHealth,
        outbox: &dyn OutboxRepository,
        delivery: &DeliveryCounters,
        throttled: &ThrottleCounters,
        hashing: &HashingQueue,
    ) -> Result<String, RenderError> {
        let pool = storage.pool_state();
        self.pool_max.set(i64::from(pool.max_size));
        self.pool_in_use
            .set(i64::from(pool.connections.saturating_sub(pool.idle)));
        self.pool_idle.set(i64::from(pool.idle));
        self.pool_waiting
            .set(i64::try_from(pool.waiting).unwrap_or(i64::MAX));
        let backlog = tokio::time::timeout(Duration::from_secs(2), outbox.backlog()).await;
        match backlog {
            Ok(Ok(backlog)) => {
                self.outbox_pending
                    .set(i64::try_from(backlog.pending).unwrap_or(i64::MAX));
                self.outbox_failed
                    .set(i64::try_from(backlog.failed).unwrap_or(i64::MAX));
            }
            Ok(Err(error)) => tracing::warn!(%error, "outbox backlog unavailable for metrics"),
            Err(_) => tracing::warn!("outbox backlog timed out for metrics"),
        }
        catch_up(&self.mail_sent, delivery.sent());
        catch_up(&self.mail_retried, delivery.retried());
        catch_up(&self.mail_failed, delivery.failed());
        // The limits that answer 429; the mail limits refuse silently.
        for counter in [
            Counter::LoginAccount,
            Counter::LoginAddress,
            Counter::Registration,
            Counter::ResetAddress,
        ] {
            catch_up(
                &self.throttled.with_label_values(&[counter.as_str()]),
                throttled.refused(counter),
            );
        }
        self.hashing_waiting
            .set(i64::try_from(hashing.waiting()).unwrap_or(i64::MAX));
        self.hashing_running
            .set(i64::try_from(hashing.running()).unwrap_or(i64::MAX));
        catch_up(&self.hashing_shed, hashing.shed());
        if let Some(groups) = storage.write_groups() {
            catch_up(&self.sqlite_commits, groups.commits);
            catch_up(&self.sqlite_writes, groups.writes);
        }
        catch_up(&self.log_lines_dropped, (self.dropped_log_lines)());

        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8(buffer)?)
    }
}

/// The metrics could not be written out: an answer of 500, never an empty
/// page that looks like no data.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the metrics could not be encoded")]
    Encoding(#[from] prometheus::Error),
    #[error("the metrics' text is not UTF-8")]
    NotText(#[from] std::string::FromUtf8Error),
}

/// Advances a Prometheus counter to a total kept elsewhere.
fn catch_up(counter: &IntCounter, total: u64) {
    let behind = total.saturating_sub(counter.get());
    if behind > 0 {
        counter.inc_by(behind);
    }
}
