//! Request limits: a deadline per request and a cap on requests in flight.
//!
//! Both answer in the API's error format (503 `unavailable`), which tower-http's timeout (408
//! with an empty body) and tower's concurrency limit (queues without bound) would not. Over the
//! cap a request is refused at once with `Retry-After` instead of queued: a queue would only add
//! latency to requests that time out anyway, and it is memory an overloaded server does not have.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Limits of the API router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long one request may take, from routing to the response head.
    pub request_timeout: Duration,
    /// Requests served at once (`/healthz` does not count); more are refused with 503.
    pub max_concurrent_requests: usize,
    /// Live streams (`/api/v1/stream`) open at once; more are refused with 503. A stream counts
    /// as a request in flight only until its head is sent, so it needs a cap of its own.
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            max_streams: 256,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Gate {
    timeout: Duration,
    permits: Arc<Semaphore>,
}

impl Gate {
    pub(crate) fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            timeout: limits.request_timeout,
            permits: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
        })
    }
}

/// Applies the concurrency cap and the deadline.
pub(crate) async fn limited(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let Ok(_permit) = gate.permits.clone().try_acquire_owned() else {
        return ApiError::Busy.into_response();
    };
    deadline(gate.timeout, req, next).await
}

/// Applies only the deadline (for `/healthz`, which must answer even when the cap is reached).
pub(crate) async fn timed(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    deadline(gate.timeout, req, next).await
}

async fn deadline(timeout: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(timeout).into_response(),
    }
}
