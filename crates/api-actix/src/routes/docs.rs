//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! a readable page of it that needs nothing from the network.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDocument, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use super::{
    activation, approvals, balance, credentials, operations, pagination, password_reset, profile,
    registration, reset_page, sessions, tokens, users, well_known,
};
use crate::html::{self, escape};
use crate::problem::{Problem, ProblemBody};

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
        page,
        well_known::jwks,
        well_known::openid_configuration,
    ),
    components(schemas(
        ProblemBody,
        crate::routes::tokens::TokenPairBody,
        pagination::PageBody<profile::ProfileBody>,
        pagination::PageBody<balance::LedgerEntryBody>,
        balance::MoneyInput,
        users::StatusFilter,
        well_known::DiscoveryBody,
        well_known::KeySetBody,
    )),
    modifiers(&BearerScheme, &CommonProblems),
    tags(
        (name = "accounts", description = "Registration, profiles, passwords and e-mail, deleting an account"),
        (name = "tokens", description = "JWT access and refresh tokens, as simplejwt has them, each of a session"),
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

static PAGE: LazyLock<String> = LazyLock::new(|| render_page(&ApiDoc::openapi()));

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

/// This document as a page to read.
#[utoipa::path(get, path = "/docs/", operation_id = "docs_page", tag = "operations",
    responses((status = 200, description = "HTML", content_type = "text/html")))]
pub async fn page() -> HttpResponse {
    html::styled_page(StatusCode::OK, DOCS_STYLE, PAGE.clone())
}

fn operations_of(item: &utoipa::openapi::PathItem) -> Vec<(&'static str, &Operation)> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|op| (method, op)))
    .collect()
}

fn render_operation(html: &mut String, method: &str, path: &str, operation: &Operation) {
    html.push_str(&format!(
        "<section><h3><span class=\"method\">{method}</span> <code>{}</code></h3>",
        escape(path)
    ));
    for text in [&operation.summary, &operation.description]
        .into_iter()
        .flatten()
    {
        html.push_str(&format!("<p>{}</p>", escape(text)));
    }
    if operation.security.is_some() {
        html.push_str(
            "<p class=\"auth\">Needs <code>Authorization: Bearer &lt;access token&gt;</code>.</p>",
        );
    }
    if let Some(body) = &operation.request_body {
        let schemas: Vec<String> = body
            .content
            .values()
            .filter_map(|content| match &content.schema {
                Some(RefOr::Ref(reference)) => Some(reference.ref_location.clone()),
                _ => None,
            })
            .collect();
        html.push_str(&format!(
            "<p>Body: <code>{}</code></p>",
            escape(&schemas.join(", ").replace("#/components/schemas/", ""))
        ));
    }
    html.push_str("<table><tr><th>Status</th><th>Meaning</th></tr>");
    for (status, response) in &operation.responses.responses {
        let description = match response {
            RefOr::T(response) => response.description.clone(),
            RefOr::Ref(reference) => reference.ref_location.clone(),
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(status),
            escape(&description)
        ));
    }
    html.push_str("</table></section>");
}

/// The page's one stylesheet; the page's Content-Security-Policy allows
/// exactly it.
const DOCS_STYLE: &str = "\
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}\
code,pre{background:#f4f4f4;padding:0 .2rem}pre{padding:.5rem;overflow:auto}\
section{border-top:1px solid #ddd;padding:.5rem 0}.method{font-weight:bold;color:#05a}\
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}\
.auth{color:#a50}";

fn render_page(openapi: &OpenApiDocument) -> String {
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>AuthUsers API</title><style>{DOCS_STYLE}</style></head><body>"
    );
    html.push_str(&format!(
        "<h1>{} {}</h1><p>{}</p><p>The machine-readable document: <a href=\"../openapi.json\">/openapi.json</a> (OpenAPI 3.1).</p>",
        escape(&openapi.info.title),
        escape(&openapi.info.version),
        escape(openapi.info.description.as_deref().unwrap_or_default())
    ));
    for tag in openapi.tags.iter().flatten() {
        html.push_str(&format!(
            "<h2>{}</h2><p>{}</p>",
            escape(&tag.name),
            escape(tag.description.as_deref().unwrap_or_default())
        ));
        for (path, item) in &openapi.paths.paths {
            for (method, operation) in operations_of(item) {
                let tagged = operation
                    .tags
                    .as_ref()
                    .is_some_and(|tags| tags.contains(&tag.name));
                if tagged {
                    render_operation(&mut html, method, path, operation);
                }
            }
        }
    }
    html.push_str("<h2>Schemas</h2>");
    if let Some(components) = &openapi.components {
        for (name, schema) in &components.schemas {
            let json = serde_json::to_string_pretty(schema).unwrap_or_default();
            html.push_str(&format!(
                "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
                escape(name),
                escape(&json)
            ));
        }
    }
    html.push_str("</body></html>");
    html
}
