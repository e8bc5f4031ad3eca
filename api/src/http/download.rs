//! Answers that come in several formats (JSON, CSV, XLSX) under one 200. The derived
//! `ApiResponse` keeps only the last of several variants with the same status, so
//! the spec showed every export as an XLSX file with a required
//! `Content-Disposition`; these are described by hand: one 200 with each format it
//! can carry, and `Content-Disposition` on the files.

use poem::{IntoResponse, Response};
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef,
};
use poem_openapi::types::Type;

pub const CSV: &str = "text/csv; charset=utf-8";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const JSON: &str = "application/json; charset=utf-8";

/// The single 200 of a download: `json` when the default answer is a JSON list, then
/// CSV and XLSX files.
pub fn formats(description: &'static str, json: Option<MetaSchemaRef>) -> MetaResponses {
    let file = || MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")));
    let mut content = Vec::new();
    if let Some(schema) = json {
        content.push(MetaMediaType {
            content_type: JSON,
            schema,
        });
    }
    content.push(MetaMediaType {
        content_type: CSV,
        schema: file(),
    });
    content.push(MetaMediaType {
        content_type: XLSX,
        schema: file(),
    });
    MetaResponses {
        responses: vec![MetaResponse {
            description,
            status: Some(200),
            status_range: None,
            content,
            headers: vec![MetaHeader {
                name: "Content-Disposition".into(),
                description: Some("`attachment; filename=…` on CSV and XLSX files".into()),
                required: false,
                deprecated: false,
                schema: String::schema_ref(),
            }],
        }],
    }
}

/// A file answer: its bytes, content type and `Content-Disposition`.
pub fn file(
    content_type: &'static str,
    body: impl Into<poem::Body>,
    disposition: &str,
) -> Response {
    let mut response = Response::builder()
        .content_type(content_type)
        .body(body.into());
    if let Ok(value) = poem::http::HeaderValue::from_str(disposition) {
        response
            .headers_mut()
            .insert(poem::http::header::CONTENT_DISPOSITION, value);
    }
    response.into_response()
}
