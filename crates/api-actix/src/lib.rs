//! The AuthUsers HTTP service, the only crate that knows every other one.
//! Two inbound adapters side by side — the JSON API (`api`) and the pages
//! people look at (`web`: the administrators' console and the reset page) —
//! share the small HTTP helpers of `http`; `app` is the composition root:
//! configuration, start-up, the route table, the CLI and the workers.

pub mod api;
pub mod app;
pub mod http;
pub mod web;
