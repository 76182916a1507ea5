//! The HTTP routes of the contract (`shared/spec/API.md`). Handlers only
//! translate: JSON in, a domain call, JSON or a problem out.

mod approvals;
mod balance;
mod pagination;
mod profile;
mod registration;
mod tokens;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};

use crate::problem::Problem;

pub use profile::ProfileBody;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/auth/users/")
            .route(web::post().to(registration::register))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/auth/users/me/")
            .route(web::get().to(profile::show))
            .route(web::patch().to(profile::update))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/auth/jwt/create/")
            .route(web::post().to(tokens::create))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/auth/jwt/refresh/")
            .route(web::post().to(tokens::refresh))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/auth/jwt/verify/")
            .route(web::post().to(tokens::verify))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/balance/")
            .route(web::get().to(balance::show))
            .route(web::patch().to(balance::change))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/balance/transactions/")
            .route(web::get().to(balance::transactions))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/confirm-users/")
            .route(web::get().to(approvals::list))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/confirm-users/{id}/")
            .route(web::patch().to(approvals::decide))
            .default_service(web::to(method_not_allowed)),
    );
}

async fn method_not_allowed(req: HttpRequest) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed",
        format!("Method \"{}\" not allowed.", req.method()),
    )
}

pub async fn not_found() -> Problem {
    Problem::not_found("Not found.")
}
