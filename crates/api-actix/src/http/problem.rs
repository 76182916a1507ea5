//! Every error the API returns, as `application/problem+json` (RFC 9457).

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use authusers_domain::storage::RepositoryError;
use serde::Serialize;

use crate::http::field_messages::FieldMessages;

/// One error answer. `code` is the stable machine word clients match on.
#[derive(Debug, Clone)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    errors: Option<FieldMessages>,
    /// Seconds for a `Retry-After` header (429, 503).
    retry_after: Option<u64>,
    /// Members beside the standard ones (RFC 9457 3.2), as `mfa_token`;
    /// boxed, as few problems have any.
    extensions: Option<Box<Extensions>>,
}

/// A problem's members beside the standard ones.
#[derive(Debug, Clone)]
struct Extensions(Vec<(&'static str, serde_json::Value)>);

/// An error answer (RFC 9457 problem details).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "urn:authusers:problem:validation_failed",
    "title": "Invalid request",
    "status": 400,
    "detail": "Invalid input in: password.",
    "code": "validation_failed",
    "errors": {"password": ["This password is too common."]}
}))]
pub struct ProblemBody {
    /// `urn:authusers:problem:<code>`
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    /// A stable machine word: `invalid_credentials`, `insufficient_funds`, ...
    code: String,
    /// Messages per request field, for validation failures only.
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<BTreeMap<String, Vec<String>>>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            errors: None,
            retry_after: None,
            extensions: None,
        }
    }

    /// 401 `mfa_required`: the password was right and the account has a
    /// second factor; the sign-in goes on at `/auth/jwt/create/mfa/` with
    /// `mfa_token`.
    pub fn mfa_required(mfa_token: String) -> Self {
        Self {
            extensions: Some(Box::new(Extensions(vec![
                ("mfa_token", serde_json::Value::String(mfa_token)),
                ("methods", serde_json::json!(["totp", "recovery_code"])),
            ]))),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "mfa_required",
                "Second factor required",
                "The password is right; send a code from the authenticator app, or a recovery code, with mfa_token to /auth/jwt/create/mfa/.",
            )
        }
    }

    /// A 403 under `code`, saying what to do in `detail`.
    pub fn forbidden(code: &'static str, title: &'static str, detail: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, title, detail)
    }

    /// 429 `too_many_attempts`: a limit on attempts is reached, and lifts
    /// after `retry_after`.
    pub fn too_many_attempts(retry_after: chrono::Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Too many attempts",
            "Too many attempts from this address. Try again later.",
        )
        .with_retry_after(retry_after)
    }

    /// 503 `overloaded`: the password-hashing queue is full.
    pub fn overloaded(retry_after: chrono::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "Overloaded",
            "The service is busy. Try again shortly.",
        )
        .with_retry_after(retry_after)
    }

    /// 415 `unsupported_media_type`: the body is not of a type the route
    /// reads.
    pub fn unsupported_media_type(detail: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            detail,
        )
    }

    /// 408 `request_timeout`: the body did not arrive within `limit`.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "Request timeout",
            format!(
                "The request body did not arrive within {} seconds.",
                limit.as_secs_f64()
            ),
        )
    }

    /// Whole seconds, rounded up, at least one.
    fn with_retry_after(mut self, wait: chrono::Duration) -> Self {
        let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
        self.retry_after = Some(millis.div_ceil(1000).max(1));
        self
    }

    pub fn validation(errors: impl Into<FieldMessages>) -> Self {
        Self::field_errors("validation_failed", errors)
    }

    /// A 400 whose `errors` name the fields at fault, under a specific code.
    pub fn field_errors(code: &'static str, errors: impl Into<FieldMessages>) -> Self {
        let errors = errors.into();
        let fields: Vec<&str> = errors.fields().keys().map(String::as_str).collect();
        Self {
            detail: format!("Invalid input in: {}.", fields.join(", ")),
            errors: Some(errors),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                code,
                "Invalid request",
                String::new(),
            )
        }
    }

    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Malformed JSON",
            detail,
        )
    }

    pub fn not_authenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_authenticated",
            "Not authenticated",
            "Authentication credentials were not provided.",
        )
    }

    pub fn token_not_valid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "token_not_valid",
            "Invalid token",
            "Given token not valid for any token type, or expired.",
        )
    }

    pub fn permission_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            "Permission denied",
            "You do not have permission to perform this action.",
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", detail)
    }

    /// A failure the client cannot fix. The cause goes to the log; the
    /// client learns nothing about the internals.
    pub fn internal(cause: &dyn fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal server error",
            "The server could not complete the request.",
        )
    }

    /// A storage failure: 503 `unavailable` with `Retry-After` when the
    /// database did not answer in time (a retry may succeed), else a 500.
    /// The log line carries the whole chain of causes.
    pub fn storage(error: &RepositoryError) -> Self {
        let chain = causes(error);
        if error.is_unavailable() {
            tracing::warn!(error = %chain, "request refused: the database is unavailable");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "The database is busy. Try again shortly.",
            )
            .with_retry_after(chrono::Duration::seconds(1));
        }
        Self::internal(&chain)
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn title(&self) -> &'static str {
        self.title
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The messages of every field at fault, for a page to list.
    pub fn field_messages(&self) -> Vec<String> {
        self.errors
            .iter()
            .flat_map(|errors| errors.fields().values().flatten().cloned())
            .collect()
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

/// An error and each of its sources, `: `-separated; a source whose text
/// its error already ends with (`#[error("...: {0}")]` over `#[from]`) is
/// not repeated.
pub fn causes(error: &dyn std::error::Error) -> String {
    authusers_domain::error_chain::describe(error.to_string(), error.source())
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ProblemBody {
            kind: format!("urn:authusers:problem:{}", self.code),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.as_ref().map(|e| e.fields().clone()),
        };
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="api""#));
        }
        // Only the few problems with members of their own go through a
        // JSON value to gain them.
        let Some(extensions) = &self.extensions else {
            return response.json(body);
        };
        let mut body = serde_json::to_value(body).unwrap_or_default();
        if let Some(members) = body.as_object_mut() {
            for (name, value) in &extensions.0 {
                members.insert((*name).to_owned(), value.clone());
            }
        }
        response.json(body)
    }
}

/// Lets a handler answer with a problem directly (404, 405).
impl actix_web::Responder for Problem {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &actix_web::HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_database_is_503_with_retry_after_and_other_failures_500() {
        let busy = RepositoryError::unavailable(
            "the database",
            std::io::Error::new(std::io::ErrorKind::TimedOut, "no connection within 5s"),
        );
        let problem = Problem::storage(&busy);
        assert_eq!(problem.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(problem.code(), "unavailable");
        let response = problem.error_response();
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let failed = Problem::storage(&RepositoryError::failed("corrupt row"));
        assert_eq!(failed.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(failed.code(), "internal_error");
    }

    #[test]
    fn the_log_line_shows_every_cause() {
        let error =
            RepositoryError::caused_by("the database", std::io::Error::other("disk I/O error"));
        assert_eq!(
            causes(&error),
            "storage failure: the database: disk I/O error"
        );
        #[derive(Debug, thiserror::Error)]
        #[error("query failed: {0}")]
        struct Wrapped(#[from] std::io::Error);
        let wrapped = Wrapped(std::io::Error::other("disk I/O error"));
        assert_eq!(causes(&wrapped), "query failed: disk I/O error");
    }
}
