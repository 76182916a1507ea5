//! A server that has been told to stop but still serves while a load
//! balancer takes it out: `/readyz` answers 503 from the first moment, and
//! every answer asks its client to close the connection, so that a client
//! that keeps connections open comes back through the balancer elsewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{web, Error};

/// Whether the server is draining; shared by every worker.
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// From now on readiness fails and connections close after each answer.
    pub fn begin(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Middleware: while draining, each answer closes its connection. Reads the
/// `Draining` the server registers as its own `app_data`.
pub async fn close_connections(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let draining = req
        .app_data::<web::Data<Draining>>()
        .map(|draining| draining.clone().into_inner());
    let mut response = next.call(req).await?;
    if draining.is_some_and(|draining| draining.is_draining()) {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}
