//! The outermost middleware: request id, body limit, the JSON error shape for every
//! error, access log and metrics.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::error::{self, ApiError};
use super::metrics::{Metrics, RouteTemplates};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Settings of the frame middleware.
#[derive(Clone)]
pub struct Frame {
    pub metrics: Metrics,
    pub routes: Arc<RouteTemplates>,
    pub body_limit: usize,
}

impl<E: Endpoint> Middleware<E> for Frame {
    type Output = FrameEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        FrameEndpoint {
            inner,
            frame: self.clone(),
        }
    }
}

pub struct FrameEndpoint<E> {
    inner: E,
    frame: Frame,
}

/// Keeps a client's request id when it is short and plain, else makes one.
fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map(str::to_owned)
        // A v4 UUID from the thread's generator: no system call per request.
        .unwrap_or_else(|| {
            uuid::Builder::from_random_bytes(rand::random())
                .into_uuid()
                .to_string()
        })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("request body exceeds the limit of {limit} bytes"),
        serde_json::json!({ "limit_bytes": limit }),
    )
}

impl<E: Endpoint> FrameEndpoint<E> {
    /// Enforces the body limit, by header when given and by reading otherwise.
    async fn limit_body(&self, mut req: Request) -> Result<Request, ApiError> {
        let limit = self.frame.body_limit;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match declared {
            Some(n) if n > limit => Err(too_large(limit)),
            Some(_) => Ok(req),
            None => {
                let body = req.take_body();
                let bytes = body
                    .into_bytes_limit(limit)
                    .await
                    .map_err(|_| too_large(limit))?;
                req.set_body(bytes);
                Ok(req)
            }
        }
    }

    async fn handle(&self, req: Request) -> Response {
        let req = match self.limit_body(req).await {
            Ok(req) => req,
            Err(e) => return e.into_response(),
        };
        let response = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            // A typed error of an operation already carries its JSON response.
            Err(err) if err.is_from_response() => err.into_response(),
            Err(err) => error::from_poem(&err).into_response(),
        };
        let status = response.status();
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if (status.is_client_error() || status.is_server_error()) && !is_json {
            // e.g. a caught panic or a framework answer without a body.
            return error::generic(status).into_response();
        }
        response
    }
}

impl<E: Endpoint> Endpoint for FrameEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let id = request_id(&req);
        let method = req.method().to_string();
        // The template, never the raw path: paths and queries may carry identifiers.
        let route = self.frame.routes.label(req.uri().path());
        let mut response = error::with_request_id(id.clone(), self.handle(req)).await;
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        let status = response.status().as_u16();
        let elapsed = started.elapsed();
        self.frame
            .metrics
            .observe(&method, &route, status, elapsed.as_secs_f64());
        tracing::info!(
            request_id = %id,
            method = %method,
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
        Ok(response)
    }
}
