//! Endpoints for operators: liveness, readiness, metrics.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use authusers_infra_diesel::StorageError;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::http::auth::bearer_token;
use crate::http::problem::{Problem, ProblemBody};
use crate::http::secret::Secret;
use crate::http::state::AppState;

/// How long readiness waits for the database.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is alive. Touches nothing else.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = HealthBody)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthBody { status: "ok" })
}

/// The database answers and every migration is applied.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = HealthBody),
        (status = 503, description = "The server is stopping, the database does not answer or takes no writes, or migrations are pending",
            body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let not_ready = |detail: String| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "Not ready",
            detail,
        )
    };
    if state.draining.is_draining() {
        return Err(not_ready("The server is stopping.".into()));
    }
    // Writability first: diesel's count of pending migrations writes (it
    // creates its table when missing), which a read-only server refuses.
    let storage = async {
        if !state.storage.accepts_writes().await? {
            return Ok(None);
        }
        state.storage.pending_migrations().await.map(Some)
    };
    let pending = tokio::time::timeout(READINESS_TIMEOUT, storage)
        .await
        .map_err(|_| not_ready("The database did not answer in time.".into()))?
        .map_err(|e: StorageError| {
            tracing::warn!(error = %e, "readiness check failed");
            not_ready(unready_storage(&e).into())
        })?
        .ok_or_else(|| not_ready(READ_ONLY.into()))?;
    if pending > 0 {
        return Err(not_ready(format!(
            "{pending} database migration(s) are pending."
        )));
    }
    Ok(HttpResponse::Ok().json(HealthBody { status: "ready" }))
}

const READ_ONLY: &str =
    "The database takes no writes: DATABASE_URL reaches a standby or a read-only server.";

/// Why the storage is not ready, in words that name no host: a libpq
/// multi-host URL with `target_session_attrs=read-write` whose hosts are all
/// standbys fails to connect with "read-only" in its message.
fn unready_storage(error: &StorageError) -> &'static str {
    match error {
        StorageError::Connect(_) | StorageError::Pool(_)
            if error.to_string().contains("read-only") =>
        {
            READ_ONLY
        }
        _ => "The database does not answer.",
    }
}

/// Who may read `/metrics` on one listener.
#[derive(Clone)]
pub enum MetricsGate {
    /// Not served here (404).
    Hidden,
    Open,
    /// Only with `Authorization: Bearer <METRICS_TOKEN>`.
    Token(Secret),
}

/// Prometheus text format. Served on the API's address only with
/// `METRICS_TOKEN` (as a bearer token), or on `METRICS_ADDRESS`; otherwise
/// 404.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses(
        (status = 200, description = "Metrics in the Prometheus text format",
            content_type = "text/plain", body = String),
        (status = 401, description = "`METRICS_TOKEN` is set and the request does not carry it", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "Metrics are not served on this address", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn metrics(
    state: web::Data<AppState>,
    gate: Option<web::Data<MetricsGate>>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    match gate.as_ref().map(|gate| gate.get_ref()) {
        None | Some(MetricsGate::Hidden) => return Err(Problem::not_found("Not found.")),
        Some(MetricsGate::Open) => {}
        Some(MetricsGate::Token(expected)) => {
            let sent = bearer_token(&req)?;
            let matches: bool = sent.as_bytes().ct_eq(expected.expose().as_bytes()).into();
            if !matches {
                return Err(Problem::token_not_valid());
            }
        }
    }
    let text = state
        .metrics
        .render(
            state.storage.as_ref(),
            state.outbox.as_ref(),
            &state.delivery_counters,
            &state.throttle_counters,
            &state.hashing,
        )
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
