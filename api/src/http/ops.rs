//! `/healthz`, `/readyz`, `/metrics`.

use poem::web::Data;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::ApiTags;
use super::error::{ApiError, ErrorBody};
use crate::startup::AppState;

/// Liveness or readiness.
#[derive(Object, Debug)]
pub struct Status {
    /// `ok`
    pub status: String,
}

/// Readiness answer.
#[derive(ApiResponse, Debug)]
pub enum Readiness {
    /// The service can reach its database.
    #[oai(status = 200)]
    Ready(Json<Status>),
    /// The database is unreachable.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// Operational endpoints (no key needed).
pub struct OpsApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl OpsApi {
    /// Liveness
    ///
    /// Public. Answers while the process runs.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> Json<Status> {
        Json(Status {
            status: "ok".into(),
        })
    }

    /// Readiness
    ///
    /// Public. Checks that the database answers.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self, state: Data<&AppState>) -> Readiness {
        match state.db.ping().await {
            Ok(()) => Readiness::Ready(Json(Status {
                status: "ok".into(),
            })),
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                let err = ApiError::new(
                    poem::http::StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database does not answer",
                    serde_json::json!({}),
                );
                Readiness::Unavailable(Json(err.body))
            }
        }
    }

    /// Metrics
    ///
    /// Prometheus text format: request counts and latency histograms by method, route
    /// template and status. When the deployment sets `metrics_token`, the scraper
    /// sends `Authorization: Bearer <metrics_token>` (401 otherwise); without it the
    /// route is open, for a listener only the monitoring network reaches.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self, req: &poem::Request, state: Data<&AppState>) -> Metrics {
        if let Some(expected) = &state.metrics_token {
            use sha2::{Digest, Sha256};
            let given = req
                .headers()
                .get(poem::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Compared as digests: the time taken says nothing about the token.
            if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.as_bytes()) {
                return Metrics::Unauthorized(Json(
                    ApiError::unauthorized(
                        "unauthorized",
                        "send Authorization: Bearer <metrics_token>",
                    )
                    .body,
                ));
            }
        }
        Metrics::Ok(PlainText(state.metrics.render()))
    }
}

/// The metrics, or 401 without the configured token.
#[derive(ApiResponse, Debug)]
pub enum Metrics {
    /// Prometheus text format.
    #[oai(status = 200)]
    Ok(PlainText<String>),
    /// `metrics_token` is set and the request does not carry it.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
}
