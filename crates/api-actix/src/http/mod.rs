//! What both inbound adapters share: the application's state, problems
//! (RFC 9457), request bodies, the caller's address, authentication, the
//! request span and the metrics it counts.

pub mod auth;
pub mod body_deadline;
pub mod client_address;
pub mod cursor;
pub(crate) mod domain_errors;
pub mod draining;
pub mod field_messages;
pub mod hashing_place;
pub mod json_body;
pub mod metrics;
pub(crate) mod path_id;
pub mod problem;
pub mod public_url;
pub(crate) mod request_span;
pub(crate) mod required;
pub mod secret;
pub mod state;
pub mod storage_health;
