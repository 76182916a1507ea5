//! The OpenAPI 3.1 document, generated from the handlers' annotations;
//! `/docs/` shows it in Swagger UI (`web/swagger.rs`).

use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDocument, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::{
    activation, approvals, balance, credentials, mfa, operations, pagination, password_reset,
    profile, registration, second_step, sessions, tokens, users, well_known,
};
use crate::http::problem::{Problem, ProblemBody};
use crate::web::{reset_page, swagger};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AuthUsers",
        description = "User accounts with administrator approval, JWT authentication, profiles, \
            and a real and a virtual balance. Errors are `application/problem+json` (RFC 9457) \
            with a stable `code`. Paths end with a slash; without it the answer is the same. \
            Money is a decimal string with two places in responses, a number or a string in requests.",
    ),
    paths(
        registration::register,
        users::list,
        profile::show,
        profile::update,
        profile::replace,
        users::delete_me,
        users::show,
        credentials::set_password,
        credentials::set_email,
        password_reset::request,
        password_reset::confirm,
        activation::activate,
        activation::resend,
        reset_page::show,
        tokens::create,
        tokens::refresh,
        tokens::verify,
        tokens::blacklist,
        second_step::second_step,
        mfa::status,
        mfa::begin,
        mfa::confirm,
        mfa::remove,
        mfa::new_recovery_codes,
        second_step::step_up,
        mfa::reset,
        sessions::list,
        sessions::end_all,
        sessions::end_one,
        sessions::end_users,
        approvals::list,
        approvals::decide,
        balance::show,
        balance::change,
        balance::transactions,
        operations::healthz,
        operations::readyz,
        operations::metrics,
        openapi_json,
        swagger::page,
        swagger::asset,
        well_known::jwks,
        well_known::openid_configuration,
    ),
    components(schemas(
        ProblemBody,
        crate::api::tokens::TokenPairBody,
        pagination::PageBody<profile::ProfileBody>,
        pagination::PageBody<balance::LedgerEntryBody>,
        pagination::PageBody<sessions::SessionBody>,
        sessions::SessionsBody,
        balance::MoneyInput,
        users::StatusFilter,
        well_known::DiscoveryBody,
        well_known::KeySetBody,
    )),
    modifiers(&BearerScheme, &CommonProblems),
    tags(
        (name = "accounts", description = "Registration, profiles, passwords and e-mail, deleting an account"),
        (name = "tokens", description = "JWT access and refresh tokens, as simplejwt has them, each of a session"),
        (name = "second factor", description = "TOTP with recovery codes: turn it on, off, and get new recovery codes"),
        (name = "sessions", description = "A user's sessions: list them, end one or all; an administrator ends a user's"),
        (name = "approvals", description = "Administrators accept or reject registrations"),
        (name = "balance", description = "Real and virtual balances, the ledger"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
        (name = "pages", description = "Pages for people, served when no frontend has them"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.bearer_format = Some("JWT".into());
        bearer.description = Some(
            "An access token from /auth/jwt/create/. The older `JWT <token>` prefix is accepted too."
                .into(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// The answers every route of a kind can give, documented once: every
/// route that takes a body can answer 400 (`malformed_json`,
/// `validation_failed`), 413 and 415; every route that needs a token, 401;
/// both kinds, 503 `unavailable` when the database is busy.
struct CommonProblems;

impl CommonProblems {
    fn problem(description: &str) -> RefOr<Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ProblemBody")))
                        .build(),
                )
                .build(),
        )
    }
}

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                if operation.request_body.is_some() {
                    responses.entry("400".into()).or_insert_with(|| {
                        Self::problem("The body is not JSON (`malformed_json`), or a field is missing, unknown, repeated or invalid (`validation_failed`)")
                    });
                    responses.entry("413".into()).or_insert_with(|| {
                        Self::problem("The body is over 64 KiB (`payload_too_large`)")
                    });
                    responses.entry("415".into()).or_insert_with(|| {
                        Self::problem(
                            "The body is not sent as `application/json` (`unsupported_media_type`)",
                        )
                    });
                }
                if operation.security.is_some() {
                    responses.entry("401".into()).or_insert_with(|| {
                        Self::problem(
                            "No valid access token (`not_authenticated`, `token_not_valid`)",
                        )
                    });
                }
                if operation.security.is_some() || operation.request_body.is_some() {
                    responses.entry("503".into()).or_insert_with(|| {
                        Self::problem("No database connection came free within DATABASE_CONNECT_TIMEOUT_SECONDS (`unavailable`, with `Retry-After`)")
                    });
                }
            }
        }
    }
}

/// The document, or why it could not be written (then every request for
/// it is a 500 with that cause in the log, never an empty 200).
static DOCUMENT: LazyLock<Result<String, String>> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .map_err(|e| e.to_string())
});

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi_document", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Result<HttpResponse, Problem> {
    let document = DOCUMENT
        .as_ref()
        .map_err(|e| Problem::internal(&format!("the OpenAPI document: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(document.as_str()))
}
