//! Refuses, before any handler runs, a request whose text holds a character no stored
//! text may hold ([`crate::domain::text`]): in a JSON or form body (every string, keys
//! too) and in the query string; and a JSON body that gives a number or a boolean
//! where the operation's schema asks for a string (poem-openapi would take `false`
//! as the text "false"). Answered 422 `validation_failed` naming the field
//! (`cases[0].case_number`, `query.q`). The public answer route checks its text
//! answers itself (in the questionnaire's validation) and is not read twice here.

use std::sync::Arc;

use poem::http::header;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use serde_json::Value;

use crate::domain::text::refusal;
use crate::service::{FieldError, ServiceError};

use super::error::ApiError;
use super::metrics::RouteTemplates;

/// The middleware, with the spec it reads the request schemas from.
#[derive(Clone)]
pub struct CleanText {
    spec: Arc<Value>,
    routes: Arc<RouteTemplates>,
}

impl CleanText {
    /// From the OpenAPI document (JSON) and the route templates of its paths.
    pub fn new(spec: &str, routes: Arc<RouteTemplates>) -> Self {
        Self {
            spec: Arc::new(serde_json::from_str(spec).unwrap_or_default()),
            routes,
        }
    }

    /// The JSON schema of the request body of `method` on `path`, if documented.
    fn body_schema(&self, method: &str, path: &str) -> Option<&Value> {
        let template = self.routes.label(path);
        let operation = self.spec.get("paths")?.get(&*template)?.get(method)?;
        operation
            .get("requestBody")?
            .get("content")?
            .as_object()?
            .iter()
            .find(|(content_type, _)| content_type.starts_with("application/json"))
            .and_then(|(_, media)| media.get("schema"))
    }

    /// The methods the spec documents for the route of `path`, as an `Allow` value.
    fn allowed(&self, path: &str) -> Option<String> {
        let template = self.routes.label(path);
        let item = self.spec.get("paths")?.get(&*template)?.as_object()?;
        let methods: Vec<String> = item
            .keys()
            .filter(|m| {
                matches!(
                    m.as_str(),
                    "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
                )
            })
            .map(|m| m.to_ascii_uppercase())
            .collect();
        (!methods.is_empty()).then(|| methods.join(", "))
    }

    /// A `$ref` resolved against the spec's components.
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        for _ in 0..8 {
            let Some(name) = schema
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            else {
                break;
            };
            match self.spec.pointer(&format!("/components/schemas/{name}")) {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    /// Every place of `value` where `schema` asks for a string and gets a number or a
    /// boolean.
    fn strings(&self, value: &Value, schema: &Value, path: &mut String, out: &mut Vec<FieldError>) {
        if out.len() >= 100 {
            return;
        }
        let schema = self.resolve(schema);
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.strings(value, part, path, out);
            }
        }
        match (schema.get("type").and_then(Value::as_str), value) {
            (Some("string"), Value::Number(_) | Value::Bool(_)) => {
                out.push(FieldError::new(path.clone(), "must be a string"));
            }
            (_, Value::Object(map)) => {
                let properties = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties").filter(|a| a.is_object());
                for (k, v) in map {
                    let Some(inner) = properties.and_then(|p| p.get(k)).or(additional) else {
                        continue;
                    };
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    self.strings(v, inner, path, out);
                    path.truncate(len);
                }
            }
            (_, Value::Array(items)) => {
                if let Some(inner) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        let len = path.len();
                        path.push_str(&format!("[{i}]"));
                        self.strings(item, inner, path, out);
                        path.truncate(len);
                    }
                }
            }
            _ => {}
        }
    }
}

impl<E: Endpoint> Middleware<E> for CleanText {
    type Output = CleanTextEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        CleanTextEndpoint {
            inner,
            guard: self.clone(),
        }
    }
}

pub struct CleanTextEndpoint<E> {
    inner: E,
    guard: CleanText,
}

/// Every refused string of a JSON value, by path.
fn walk(value: &Value, path: &mut String, out: &mut Vec<FieldError>) {
    const MAX: usize = 100;
    if out.len() >= MAX {
        return;
    }
    match value {
        Value::String(s) => {
            if let Some(reason) = refusal(s) {
                out.push(FieldError::new(path.clone(), reason));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                if let Some(reason) = refusal(k) {
                    out.push(FieldError::new(path.clone(), reason));
                }
                walk(v, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Refused pairs of a URL-encoded string (a query or a form body).
fn pairs(encoded: &[u8], prefix: &str, out: &mut Vec<FieldError>) {
    for (k, v) in form_urlencoded_pairs(encoded) {
        for text in [&k, &v] {
            if let Some(reason) = refusal(text) {
                out.push(FieldError::new(format!("{prefix}{k}"), reason));
            }
        }
    }
}

/// Decodes `a=1&b=%00` pairs (as poem and serde_urlencoded read them).
fn form_urlencoded_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(encoded).unwrap_or_default()
}

/// Whether the request is the public answer route, whose answers are checked in the
/// questionnaire's validation.
fn is_answer_route(path: &str) -> bool {
    path.strip_prefix("/api/v1/public/invitations/")
        .is_some_and(|rest| rest.ends_with("/responses") && rest.matches('/').count() == 1)
}

impl<E: Endpoint> Endpoint for CleanTextEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let mut refused = Vec::new();
        if let Some(query) = req.uri().query() {
            pairs(query.as_bytes(), "query.", &mut refused);
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let starts = |prefix: &str| {
            content_type
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        let json = starts("application/json");
        let form = starts("application/x-www-form-urlencoded");
        if (json || form) && !is_answer_route(req.uri().path()) {
            // The frame has bounded the body already.
            let bytes = req.take_body().into_bytes().await?;
            if json {
                // A body that is not JSON is the handler's to refuse (400).
                if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
                    walk(&value, &mut String::new(), &mut refused);
                    let method = req.method().as_str().to_ascii_lowercase();
                    if let Some(schema) = self.guard.body_schema(&method, req.uri().path()) {
                        self.guard
                            .strings(&value, schema, &mut String::new(), &mut refused);
                    }
                }
            } else {
                pairs(&bytes, "", &mut refused);
            }
            req.set_body(bytes);
        }
        if !refused.is_empty() {
            return Ok(ApiError::from(ServiceError::Validation(refused)).into_response());
        }
        // A shared handle on the URI (no copy of the path), for a 405's Allow.
        let uri = req.uri().clone();
        match self.inner.call(req).await {
            Ok(response) => Ok(response.into_response()),
            // A 405 says which methods the route takes (RFC 9110).
            Err(err) if err.status() == poem::http::StatusCode::METHOD_NOT_ALLOWED => {
                let mut response = super::error::from_poem(&err).into_response();
                if let Some(allow) = self.guard.allowed(uri.path())
                    && let Ok(value) = poem::http::HeaderValue::from_str(&allow)
                {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                Ok(response)
            }
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_answer_route;

    #[test]
    fn only_the_answer_route_is_left_to_its_handler() {
        assert!(is_answer_route("/api/v1/public/invitations/abc/responses"));
        assert!(!is_answer_route("/api/v1/public/campaigns/1/responses"));
        assert!(!is_answer_route("/api/v1/public/invitations/abc"));
        assert!(!is_answer_route("/api/v1/public/invitations/a/b/responses"));
    }
}
