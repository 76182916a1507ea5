//! The route table of both inbound adapters: the contract's routes
//! (`docs/api.md`), the operators', and the console's pages.

use std::collections::BTreeMap;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{guard, web, HttpRequest, HttpResponse, ResponseError, Route};

use crate::http::problem::Problem;

use crate::api::{
    activation, approvals, balance, credentials, docs, mfa, operations, password_reset, profile,
    registration, second_step, sessions, tokens, users, well_known,
};
use crate::web::reset_page::{self, RESET_PAGE_TEMPLATE};
use crate::web::{console, swagger};

/// Every endpoint, once: the server registers exactly these, and tests
/// check the OpenAPI document against the same list.
fn endpoints() -> Vec<(&'static str, Method, Route)> {
    // A GET route answers HEAD too (actix sends no body in answer to HEAD).
    let route = |method: Method| {
        if method == Method::GET {
            web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
        } else {
            web::method(method)
        }
    };
    vec![
        (
            "/auth/users/",
            Method::POST,
            route(Method::POST).to(registration::register),
        ),
        (
            "/auth/users/me/",
            Method::GET,
            route(Method::GET).to(profile::show),
        ),
        (
            "/auth/users/",
            Method::GET,
            route(Method::GET).to(users::list),
        ),
        (
            "/auth/users/me/",
            Method::PATCH,
            route(Method::PATCH).to(profile::update),
        ),
        (
            "/auth/users/me/",
            Method::PUT,
            route(Method::PUT).to(profile::replace),
        ),
        (
            "/auth/users/me/",
            Method::DELETE,
            route(Method::DELETE).to(users::delete_me),
        ),
        (
            "/auth/users/{id}/",
            Method::GET,
            route(Method::GET).to(users::show),
        ),
        (
            "/auth/users/set_password/",
            Method::POST,
            route(Method::POST).to(credentials::set_password),
        ),
        (
            "/auth/users/set_email/",
            Method::POST,
            route(Method::POST).to(credentials::set_email),
        ),
        (
            "/auth/users/activation/",
            Method::POST,
            route(Method::POST).to(activation::activate),
        ),
        (
            "/auth/users/resend_activation/",
            Method::POST,
            route(Method::POST).to(activation::resend),
        ),
        (
            "/auth/users/reset_password/",
            Method::POST,
            route(Method::POST).to(password_reset::request),
        ),
        (
            "/auth/users/reset_password_confirm/",
            Method::POST,
            route(Method::POST).to(password_reset::confirm),
        ),
        (
            RESET_PAGE_TEMPLATE,
            Method::GET,
            route(Method::GET).to(reset_page::show),
        ),
        (
            "/auth/jwt/create/",
            Method::POST,
            route(Method::POST).to(tokens::create),
        ),
        (
            "/auth/jwt/create/mfa/",
            Method::POST,
            route(Method::POST).to(second_step::second_step),
        ),
        (
            "/auth/jwt/step-up/",
            Method::POST,
            route(Method::POST).to(second_step::step_up),
        ),
        (
            "/auth/users/{id}/mfa/",
            Method::DELETE,
            route(Method::DELETE).to(mfa::reset),
        ),
        (
            "/auth/mfa/",
            Method::GET,
            route(Method::GET).to(mfa::status),
        ),
        (
            "/auth/mfa/totp/",
            Method::POST,
            route(Method::POST).to(mfa::begin),
        ),
        (
            "/auth/mfa/totp/",
            Method::DELETE,
            route(Method::DELETE).to(mfa::remove),
        ),
        (
            "/auth/mfa/totp/confirm/",
            Method::POST,
            route(Method::POST).to(mfa::confirm),
        ),
        (
            "/auth/mfa/recovery_codes/",
            Method::POST,
            route(Method::POST).to(mfa::new_recovery_codes),
        ),
        (
            "/auth/jwt/refresh/",
            Method::POST,
            route(Method::POST).to(tokens::refresh),
        ),
        (
            "/auth/jwt/verify/",
            Method::POST,
            route(Method::POST).to(tokens::verify),
        ),
        (
            "/auth/jwt/blacklist/",
            Method::POST,
            route(Method::POST).to(tokens::blacklist),
        ),
        (
            "/auth/sessions/",
            Method::GET,
            route(Method::GET).to(sessions::list),
        ),
        (
            "/auth/sessions/",
            Method::DELETE,
            route(Method::DELETE).to(sessions::end_all),
        ),
        (
            "/auth/sessions/{id}/",
            Method::DELETE,
            route(Method::DELETE).to(sessions::end_one),
        ),
        (
            "/auth/users/{id}/sessions/",
            Method::DELETE,
            route(Method::DELETE).to(sessions::end_users),
        ),
        (
            "/confirm-users/",
            Method::GET,
            route(Method::GET).to(approvals::list),
        ),
        (
            "/confirm-users/{id}/",
            Method::PATCH,
            route(Method::PATCH).to(approvals::decide),
        ),
        (
            "/balance/",
            Method::GET,
            route(Method::GET).to(balance::show),
        ),
        (
            "/balance/",
            Method::PATCH,
            route(Method::PATCH).to(balance::change),
        ),
        (
            "/balance/transactions/",
            Method::GET,
            route(Method::GET).to(balance::transactions),
        ),
        (
            "/healthz/",
            Method::GET,
            route(Method::GET).to(operations::healthz),
        ),
        (
            "/readyz/",
            Method::GET,
            route(Method::GET).to(operations::readyz),
        ),
        (
            "/metrics/",
            Method::GET,
            route(Method::GET).to(operations::metrics),
        ),
        (
            "/openapi.json/",
            Method::GET,
            route(Method::GET).to(docs::openapi_json),
        ),
        ("/docs/", Method::GET, route(Method::GET).to(swagger::page)),
        (
            "/docs/{file}/",
            Method::GET,
            route(Method::GET).to(swagger::asset),
        ),
        // The administrator's console: pages for people, signed in with a
        // cookie rather than a bearer token, so not part of the API's
        // OpenAPI document (see CONSOLE_PREFIX).
        (
            "/admin/",
            Method::GET,
            route(Method::GET).to(console::pending),
        ),
        (
            "/admin/login/",
            Method::GET,
            route(Method::GET).to(console::sign_in_or_console),
        ),
        (
            "/admin/login/",
            Method::POST,
            route(Method::POST).to(console::sign_in),
        ),
        (
            "/admin/login/code/",
            Method::POST,
            route(Method::POST).to(console::sign_in_code),
        ),
        (
            "/admin/mfa/",
            Method::GET,
            route(Method::GET).to(console::factor_show),
        ),
        (
            "/admin/mfa/",
            Method::POST,
            route(Method::POST).to(console::factor_begin),
        ),
        (
            "/admin/mfa/confirm/",
            Method::POST,
            route(Method::POST).to(console::factor_confirm),
        ),
        (
            "/admin/users/{id}/mfa/reset/",
            Method::POST,
            route(Method::POST).to(console::factor_reset),
        ),
        (
            "/admin/logout/",
            Method::POST,
            route(Method::POST).to(console::sign_out),
        ),
        (
            "/admin/registrations/{id}/",
            Method::POST,
            route(Method::POST).to(console::decide),
        ),
        (
            "/admin/users/",
            Method::GET,
            route(Method::GET).to(console::users),
        ),
        (
            "/admin/users/{id}/",
            Method::GET,
            route(Method::GET).to(console::user),
        ),
        (
            "/admin/users/{id}/enable/",
            Method::POST,
            route(Method::POST).to(console::enable),
        ),
        (
            "/admin/users/{id}/sessions/end/",
            Method::POST,
            route(Method::POST).to(console::end_sessions),
        ),
        (
            "/admin/mail/",
            Method::GET,
            route(Method::GET).to(console::mail),
        ),
        (
            "/admin/mail/retry/",
            Method::POST,
            route(Method::POST).to(console::retry_failed),
        ),
        (
            "/.well-known/jwks.json/",
            Method::GET,
            route(Method::GET).to(well_known::jwks),
        ),
        (
            "/.well-known/openid-configuration/",
            Method::GET,
            route(Method::GET).to(well_known::openid_configuration),
        ),
    ]
}

/// Where the administrator's console is served: its pages are in the
/// table (routed, logged and counted like every route) but not in the
/// OpenAPI document, which describes the API.
pub const CONSOLE_PREFIX: &str = "/admin/";

/// Each endpoint as `(METHOD, path)`, the path as registered.
pub fn endpoint_list() -> Vec<(String, String)> {
    endpoints()
        .into_iter()
        .map(|(path, method, _)| (method.to_string(), path.to_owned()))
        .collect()
}

/// Registers the table: one resource per path, with a 405 that names the
/// methods the path does serve.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut resources: BTreeMap<&str, Vec<(Method, Route)>> = BTreeMap::new();
    for (path, method, route) in endpoints() {
        resources.entry(path).or_default().push((method, route));
    }
    for (path, routes) in resources {
        let mut methods: Vec<Method> = routes.iter().map(|(method, _)| method.clone()).collect();
        if methods.contains(&Method::GET) {
            methods.push(Method::HEAD);
        }
        let resource = routes
            .into_iter()
            .fold(web::resource(path), |resource, (_, route)| {
                resource.route(route)
            });
        methods.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let allow = methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        cfg.service(resource.default_service(web::to(move |req: HttpRequest| {
            method_not_allowed(req, allow.clone())
        })));
    }
}

async fn method_not_allowed(req: HttpRequest, allow: String) -> HttpResponse {
    let mut response = Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
        format!("Method \"{}\" not allowed.", req.method()),
    )
    .error_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

pub async fn not_found() -> Problem {
    Problem::not_found("Not found.")
}
