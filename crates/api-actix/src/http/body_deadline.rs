//! Every request body has a deadline. A client that sends a request's head
//! and then trickles its body (or sends nothing more) would otherwise hold
//! a connection, and whatever its handler had taken, for as long as the
//! connection stays open. Past `REQUEST_BODY_TIMEOUT_SECONDS` after the
//! head arrived, reading the body fails, the answer is 408 whatever the
//! handler made of the failed read, the connection is closed, and a
//! warning is logged.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError};
use futures_core::Stream;
use tokio::time::Sleep;

use crate::http::problem::Problem;

/// `REQUEST_BODY_TIMEOUT_SECONDS`: how long after its head a request's
/// body may take to arrive whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDeadline(pub Duration);

impl BodyDeadline {
    pub const DEFAULT: Self = Self(Duration::from_secs(5));
}

/// A request that announces no body (`Content-Length: 0`, or neither a
/// length nor a transfer coding) has nothing to wait for.
fn announces_a_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|length| length.trim() != "0")
}

/// The middleware: puts the deadline on the body's stream, and answers 408
/// when the deadline cut it short.
pub async fn enforce(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let deadline = req
        .app_data::<web::Data<BodyDeadline>>()
        .map_or(BodyDeadline::DEFAULT, |d| *d.get_ref());
    if !announces_a_body(&req) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let expired = Rc::new(Cell::new(false));
    let body = TimedBody {
        inner: req.take_payload(),
        deadline: Box::pin(tokio::time::sleep(deadline.0)),
        expired: Rc::clone(&expired),
    };
    req.set_payload(Payload::from(
        Box::pin(body) as Pin<Box<dyn Stream<Item = _>>>
    ));
    let answered = next.call(req).await;
    if !expired.get() {
        return answered.map(ServiceResponse::map_into_left_body);
    }
    tracing::warn!(
        limit_seconds = deadline.0.as_secs_f64(),
        "request body not received in time: answered 408 and closed"
    );
    let problem = Problem::request_timeout(deadline.0);
    let answered = answered.map_err(|_| problem.clone())?;
    let mut response: HttpResponse = problem.error_response();
    // The rest of the body may still come: the connection cannot carry
    // another request.
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    Ok(answered.into_response(response).map_into_right_body())
}

/// The body's stream, failing once the deadline passes.
struct TimedBody {
    inner: Payload,
    deadline: Pin<Box<Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for TimedBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.get() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.set(true);
            let timed_out = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            );
            return Poll::Ready(Some(Err(PayloadError::Io(timed_out))));
        }
        Poll::Pending
    }
}
