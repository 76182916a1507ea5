//! The composition root: configuration, start-up (which wires every
//! adapter to the domain), the route table of both inbound adapters, the
//! `authusers` command line, the outbox worker and the logs.

pub mod cli;
pub mod config;
pub mod delivery_worker;
pub mod django_import;
pub mod routes;
pub mod startup;
pub mod system_clock;
pub mod telemetry;
