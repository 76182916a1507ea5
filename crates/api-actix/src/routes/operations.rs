//! Endpoints for operators: liveness, readiness, metrics.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;

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
        (status = 503, description = "The database does not answer or migrations are pending",
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
    let pending = tokio::time::timeout(READINESS_TIMEOUT, state.database.pending_migrations())
        .await
        .map_err(|_| not_ready("The database did not answer in time.".into()))?
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            not_ready("The database does not answer.".into())
        })?;
    if pending > 0 {
        return Err(not_ready(format!(
            "{pending} database migration(s) are pending."
        )));
    }
    Ok(HttpResponse::Ok().json(HealthBody { status: "ready" }))
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations",
    responses((status = 200, description = "Metrics in the Prometheus text format",
        content_type = "text/plain", body = String)))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let text = state
        .metrics
        .render(
            &state.database,
            state.outbox.as_ref(),
            &state.delivery_counters,
        )
        .await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
