//! The API's documentation page: Swagger UI, its files compiled into the
//! binary (`utoipa-swagger-ui` with its `vendored` feature: nothing is
//! fetched at build time or from the page), reading `/openapi.json`, with
//! "Try it out" sending its requests to this same origin.

use std::sync::{Arc, LazyLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

use crate::http::problem::{Problem, ProblemBody};

static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::from("/openapi.json")
            .try_it_out_enabled(true)
            .display_request_duration(true),
    )
});

/// Scripts, stylesheets, images and requests from this origin only: the
/// page loads nothing from elsewhere, runs no inline script, and "Try it
/// out" reaches this service alone.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// Swagger UI over this document.
#[utoipa::path(get, path = "/docs/", operation_id = "docs_page", tag = "operations",
    responses((status = 200, description = "Swagger UI (HTML)", content_type = "text/html")))]
pub async fn page() -> Result<HttpResponse, Problem> {
    file("index.html")
}

/// One of Swagger UI's files, as its page asks for them.
#[utoipa::path(get, path = "/docs/{file}/", operation_id = "docs_file", tag = "operations",
    params(("file" = String, Path, description = "A file of Swagger UI, as `swagger-ui.css`")),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "No such file (`not_found`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, Problem> {
    file(&name)
}

fn file(name: &str) -> Result<HttpResponse, Problem> {
    let served = utoipa_swagger_ui::serve(name, Arc::clone(&CONFIG))
        .map_err(|e| Problem::internal(&format!("Swagger UI's {name}: {e}")))?
        .ok_or_else(|| Problem::not_found("Not found."))?;
    Ok(HttpResponse::Ok()
        .content_type(served.content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(served.bytes.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_files_are_in_the_binary() {
        for name in [
            "index.html",
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "swagger-initializer.js",
        ] {
            let served = utoipa_swagger_ui::serve(name, Arc::clone(&CONFIG)).unwrap();
            assert!(served.is_some_and(|file| !file.bytes.is_empty()), "{name}");
        }
        let initializer = utoipa_swagger_ui::serve("swagger-initializer.js", Arc::clone(&CONFIG))
            .unwrap()
            .unwrap();
        let script = String::from_utf8(initializer.bytes.into_owned()).unwrap();
        assert!(script.contains("/openapi.json"), "{script}");
    }
}
