//! The one JSON error shape, and the one place where service errors and framework
//! errors become HTTP responses.

use poem::error::{MethodNotAllowedError, NotFoundError, ParseJsonError, ResponseError};
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use serde_json::json;

use crate::service::ServiceError;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `fut` with `id` as the current request id.
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The id of the request being served (empty outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Body of every error response.
#[derive(Object, Debug, Clone, PartialEq)]
#[oai(example)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The request id (also in the `X-Request-Id` header); quote it when reporting.
    pub request_id: String,
    /// Structured details, e.g. `{"fields": [{"field": "uscc", "reason": "…"}]}`.
    pub details: serde_json::Value,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        ErrorBody {
            code: "validation_failed".into(),
            message: "invalid field `uscc`: check digit is 'C' but should be 'B'".into(),
            request_id: "0b7e3c9e-5a51-4c1b-8c43-3f6f0f7d2a10".into(),
            details: json!({"fields": [{"field": "uscc", "reason": "check digit is 'C' but should be 'B'"}]}),
        }
    }
}

/// An HTTP error: a status and the JSON body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", body.message)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Seconds for the `Retry-After` header of a 429.
    pub retry_after_secs: Option<i64>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            status,
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                request_id: current_request_id(),
                details,
            },
            retry_after_secs: None,
        }
    }

    /// A 429 with `Retry-After`.
    pub fn too_many_requests(message: &str, retry_after_secs: i64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            message,
            json!({ "retry_after_secs": retry_after_secs }),
        );
        err.retry_after_secs = Some(retry_after_secs);
        err
    }

    /// A 500 that tells the client nothing but the request id; the cause is logged.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let request_id = current_request_id();
        tracing::error!(request_id = %request_id, error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error; quote the request id when reporting it",
            json!({}),
        )
    }

    pub fn unauthorized(code: &str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message, json!({}))
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

fn json_response(status: StatusCode, body: &ErrorBody) -> Response {
    let payload = serde_json::to_vec(&json!({
        "code": body.code,
        "message": body.message,
        "request_id": body.request_id,
        "details": body.details,
    }))
    .unwrap_or_default();
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(payload)
}

/// Fields listed in a 422's `details.fields`; `details.field_count` counts them all.
pub const MAX_REPORTED_FIELDS: usize = 100;

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound { entity } => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{entity} not found"),
                json!({}),
            ),
            ServiceError::Forbidden(message) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", message, json!({}))
            }
            ServiceError::Conflict { code, message } => {
                Self::new(StatusCode::CONFLICT, code, message, json!({}))
            }
            ServiceError::Validation(fields) => {
                // A body with a huge array can break a rule in every element: the
                // answer lists the first fields and counts the rest.
                let shown = &fields[..fields.len().min(MAX_REPORTED_FIELDS)];
                let mut message = shown
                    .iter()
                    .take(10)
                    .map(|f| format!("invalid field `{}`: {}", f.field, f.reason))
                    .collect::<Vec<_>>()
                    .join("; ");
                if fields.len() > 10 {
                    message.push_str(&format!("; and {} more", fields.len() - 10));
                }
                let details = json!({
                    "fields": shown
                        .iter()
                        .map(|f| json!({"field": f.field, "reason": f.reason}))
                        .collect::<Vec<_>>(),
                    "field_count": fields.len(),
                });
                Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    message,
                    details,
                )
            }
            ServiceError::TooLarge(message) => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                message,
                json!({}),
            ),
            ServiceError::RateLimited { retry_after_secs } => Self::too_many_requests(
                "too many answers from this address; please try again later",
                retry_after_secs,
            ),
            ServiceError::Internal(cause) => Self::internal(&format!("{cause:#}")),
        }
    }
}

/// Converts any framework error (bad parameters, unknown route, missing key…) into the
/// JSON error shape.
pub fn from_poem(err: &poem::Error) -> ApiError {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.clone();
    }
    let status = err.status();
    let (code, message, details) = if let Some(e) = err.downcast_ref::<ParseParamError>() {
        (
            "invalid_parameter",
            format!("invalid parameter `{}`: {}", e.name, e.reason),
            json!({"parameter": e.name, "reason": e.reason}),
        )
    } else if let Some(e) = err.downcast_ref::<ParsePathError>() {
        (
            "invalid_parameter",
            format!("invalid path parameter `{}`: {}", e.name, e.reason),
            json!({"parameter": e.name, "reason": e.reason}),
        )
    } else if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        (
            "malformed_body",
            format!("malformed request body: {}", e.reason),
            json!({"reason": e.reason}),
        )
    } else if let Some(e) = err.downcast_ref::<ParseJsonError>() {
        (
            "malformed_body",
            format!("malformed JSON body: {e}"),
            json!({}),
        )
    } else if err.is::<ContentTypeError>() {
        (
            "unsupported_media_type",
            format!("{err}; send `Content-Type: application/json`"),
            json!({}),
        )
    } else if err.is::<AuthorizationError>() {
        (
            "unauthorized",
            "missing or malformed API key: send `Authorization: Bearer <key>`".to_owned(),
            json!({}),
        )
    } else if err.is::<NotFoundError>() {
        (
            "not_found",
            "no such resource or route".to_owned(),
            json!({}),
        )
    } else if err.is::<MethodNotAllowedError>() {
        (
            "method_not_allowed",
            "this route does not accept that method".to_owned(),
            json!({}),
        )
    } else if status.is_server_error() {
        return ApiError::internal(err);
    } else {
        (status_code_name(status), err.to_string(), json!({}))
    };
    ApiError::new(status, code, message, details)
}

/// A snake_case code for a status without a more specific one.
pub fn status_code_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "too_many_requests",
        503 => "service_unavailable",
        s if s >= 500 => "internal_error",
        _ => "error",
    }
}

/// Standard message for an error status whose response had no JSON body.
pub fn generic(status: StatusCode) -> ApiError {
    if status.is_server_error() {
        return ApiError::internal(&format!("handler answered {status} without a body"));
    }
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    ApiError::new(status, status_code_name(status), message, json!({}))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &self.body);
        if let Some(secs) = self.retry_after_secs
            && let Ok(value) = poem::http::HeaderValue::from_str(&secs.to_string())
        {
            response
                .headers_mut()
                .insert(poem::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// Errors of read operations.
#[derive(ApiResponse, Debug)]
pub enum ReadError {
    /// A query or path parameter could not be parsed.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, unknown or revoked API key.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The key's role may not use this operation.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Not found, or outside the key's scope.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// A filter or pagination value breaks a rule; `details.fields` names it.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many failed key checks from this address (a valid key still works); see
    /// `Retry-After`.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        #[oai(header = "Retry-After")] Option<String>,
    ),
    /// Unexpected failure; only the request id is reported.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

/// Errors of write operations.
#[derive(ApiResponse, Debug)]
pub enum WriteError {
    /// Malformed JSON or a value of the wrong type.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, unknown or revoked API key.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The key's role or scope does not allow this write.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// The target does not exist.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Conflicts with existing data (e.g. duplicate code).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Body larger than the configured limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Validation failed; `details.fields` names every bad field and why.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many requests; see `Retry-After`.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        #[oai(header = "Retry-After")] Option<String>,
    ),
    /// Unexpected failure; only the request id is reported.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

/// Errors of public operations (no key): the token or code is the credential.
#[derive(ApiResponse, Debug)]
pub enum PublicError {
    /// Malformed JSON or a value of the wrong type.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Unknown token, code or campaign.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Already answered, expired, not open yet or closed (`code` says which).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// Body larger than the configured limit.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Answers break the questionnaire; `details.fields` names each question.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many answers from this address; see `Retry-After`.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        #[oai(header = "Retry-After")] Option<String>,
    ),
    /// Unexpected failure; only the request id is reported.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
}

/// A status an operation's error type does not declare: logged, reported as 500.
fn undeclared(e: ApiError) -> Json<ErrorBody> {
    tracing::error!(status = e.status.as_u16(), code = %e.body.code, "error status not declared for this operation");
    Json(ApiError::internal(&format!("undeclared status {}", e.status)).body)
}

impl From<ApiError> for PublicError {
    fn from(e: ApiError) -> Self {
        match e.status.as_u16() {
            400 => Self::BadRequest(Json(e.body)),
            404 => Self::NotFound(Json(e.body)),
            409 => Self::Conflict(Json(e.body)),
            413 => Self::PayloadTooLarge(Json(e.body)),
            415 => Self::UnsupportedMediaType(Json(e.body)),
            422 => Self::Unprocessable(Json(e.body)),
            429 => Self::TooManyRequests(Json(e.body), e.retry_after_secs.map(|s| s.to_string())),
            500 => Self::Internal(Json(e.body)),
            _ => Self::Internal(undeclared(e)),
        }
    }
}

impl From<ServiceError> for PublicError {
    fn from(e: ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ApiError> for ReadError {
    fn from(e: ApiError) -> Self {
        let body = Json(e.body);
        match e.status.as_u16() {
            400 => Self::BadRequest(body),
            401 => Self::Unauthorized(body),
            403 => Self::Forbidden(body),
            404 => Self::NotFound(body),
            422 => Self::Unprocessable(body),
            429 => Self::TooManyRequests(body, e.retry_after_secs.map(|s| s.to_string())),
            500 => Self::Internal(body),
            _ => Self::Internal(undeclared(ApiError {
                status: e.status,
                body: body.0,
                retry_after_secs: None,
            })),
        }
    }
}

impl From<ApiError> for WriteError {
    fn from(e: ApiError) -> Self {
        let body = Json(e.body);
        match e.status.as_u16() {
            400 => Self::BadRequest(body),
            401 => Self::Unauthorized(body),
            403 => Self::Forbidden(body),
            404 => Self::NotFound(body),
            409 => Self::Conflict(body),
            413 => Self::PayloadTooLarge(body),
            415 => Self::UnsupportedMediaType(body),
            422 => Self::Unprocessable(body),
            429 => Self::TooManyRequests(body, e.retry_after_secs.map(|s| s.to_string())),
            500 => Self::Internal(body),
            _ => Self::Internal(undeclared(ApiError {
                status: e.status,
                body: body.0,
                retry_after_secs: None,
            })),
        }
    }
}

impl From<ServiceError> for ReadError {
    fn from(e: ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ServiceError> for WriteError {
    fn from(e: ServiceError) -> Self {
        ApiError::from(e).into()
    }
}
