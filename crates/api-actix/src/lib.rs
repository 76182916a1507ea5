//! The AuthUsers HTTP service: actix-web handlers over the domain, JWT,
//! bcrypt and configuration. The only crate that knows every other one.

pub mod auth;
pub mod body_deadline;
pub mod cli;
pub mod client_address;
pub mod config;
pub mod delivery_worker;
pub mod django_import;
mod domain_errors;
pub mod field_messages;
pub mod hashing_place;
mod html;
pub mod json_body;
pub mod metrics;
pub mod problem;
mod request_span;
mod required;
pub mod routes;
pub mod startup;
pub mod state;
pub mod storage_health;
pub mod system_clock;
pub mod telemetry;
