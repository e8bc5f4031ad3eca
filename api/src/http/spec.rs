//! The published OpenAPI document: poem-openapi's, with what it leaves out put in.
//! - An optional field (`Option<T>`) is sent as `null` when absent and accepted as
//!   `null`, but poem-openapi's OpenAPI 3.0 schema marks it only as not required: every
//!   property that is not required is marked `nullable` (a `$ref` through `allOf`, as
//!   OpenAPI 3.0 ignores the siblings of a `$ref`).
//! - Dates are the standard `format: date` (poem-openapi writes `naive-date`), and
//!   unsigned integers have `minimum: 0`.
//! - `answers` and `definition`, free-form JSON to poem-openapi, get their types.
//! - The rules the handlers enforce on common parameters: `page` 1–1,000,000, `page_size`
//!   1–200, `period` its pattern, `year` 2000–2100 (from the constants that enforce
//!   them).
//!
//! `/openapi.json`, `/openapi.yaml` and `pingjia openapi --write` all give this
//! document.

use serde_json::{Value, json};

/// The document as JSON.
pub fn document() -> Value {
    let mut doc: Value = serde_json::from_str(&super::openapi_service().spec()).unwrap_or_default();
    mark_nullable(&mut doc);
    standard_formats(&mut doc);
    parameter_rules(&mut doc);
    free_form_types(&mut doc);
    doc
}

/// The JSON values poem-openapi describes as "anything": a questionnaire's answers
/// (`{question_key: answer}`, an answer a number, a boolean, a string or a list of
/// strings) and an index model's definition (an object).
fn free_form_types(doc: &mut Value) {
    let answer = json!({"oneOf": [
        {"type": "integer"}, {"type": "boolean"}, {"type": "string"},
        {"type": "array", "items": {"type": "string"}}
    ]});
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (field, typed) in [
            (
                "answers",
                json!({"type": "object", "additionalProperties": answer.clone()}),
            ),
            ("definition", json!({"type": "object"})),
        ] {
            if let Some(Value::Object(property)) = properties.get_mut(field)
                && property.get("type").is_none()
                && property.get("$ref").is_none()
                && property.get("allOf").is_none()
            {
                tracing::trace!(schema = %name, field, "typing a free-form property");
                if let Value::Object(t) = typed {
                    property.extend(t);
                }
            }
        }
    }
}

/// `naive-date` → `date`; unsigned integers at least 0.
fn standard_formats(node: &mut Value) {
    match node {
        Value::Object(map) => {
            match map.get("format").and_then(Value::as_str) {
                Some("naive-date") => {
                    map.insert("format".into(), json!("date"));
                }
                Some(f) if f.starts_with("uint") => {
                    map.entry("minimum").or_insert(json!(0));
                }
                _ => {}
            }
            map.values_mut().for_each(standard_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(standard_formats),
        _ => {}
    }
}

/// The bounds every operation enforces on its common parameters.
fn parameter_rules(doc: &mut Value) {
    use crate::domain::period;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(operations) = item.as_object_mut() else {
            continue;
        };
        for op in operations.values_mut() {
            let Some(parameters) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in parameters {
                let name = p["name"].as_str().unwrap_or_default().to_owned();
                let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else {
                    continue;
                };
                match name.as_str() {
                    "page" => {
                        schema.insert("minimum".into(), json!(1));
                        schema.insert("maximum".into(), json!(crate::service::page::MAX_PAGE));
                    }
                    "page_size" => {
                        schema.insert("minimum".into(), json!(1));
                        schema.insert("maximum".into(), json!(crate::service::page::MAX_PAGE_SIZE));
                    }
                    "period" => {
                        schema.insert("pattern".into(), json!(period::PATTERN));
                    }
                    "year" => {
                        schema.insert("minimum".into(), json!(period::YEARS.start()));
                        schema.insert("maximum".into(), json!(period::YEARS.end()));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The document as pretty JSON text.
pub fn json_text() -> String {
    serde_json::to_string_pretty(&document()).unwrap_or_default()
}

/// The document as YAML text.
pub fn yaml_text() -> String {
    serde_yaml::to_string(&document()).unwrap_or_default()
}

/// Marks every property that is not required `nullable`, everywhere in `node`.
fn mark_nullable(node: &mut Value) {
    match node {
        Value::Object(map) => {
            let required: Vec<String> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Object(properties)) = map.get_mut("properties") {
                for (name, schema) in properties.iter_mut() {
                    if !required.contains(name) {
                        nullable(schema);
                    }
                }
            }
            for value in map.values_mut() {
                mark_nullable(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mark_nullable),
        _ => {}
    }
}

fn nullable(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    if let Some(reference) = map.remove("$ref") {
        map.insert("allOf".into(), json!([{ "$ref": reference }]));
    }
    map.insert("nullable".into(), Value::Bool(true));
}

/// `/openapi.json`.
#[poem::handler]
pub fn json_endpoint() -> poem::Response {
    poem::Response::builder()
        .content_type("application/json; charset=utf-8")
        .body(json_text())
}

/// `/openapi.yaml`.
#[poem::handler]
pub fn yaml_endpoint() -> poem::Response {
    poem::Response::builder()
        .content_type("application/yaml; charset=utf-8")
        .body(yaml_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_properties_are_nullable_and_required_ones_not() {
        let mut doc = json!({"components": {"schemas": {"A": {"type": "object", "required": ["id"],
            "properties": {"id": {"type": "integer"}, "note": {"type": "string"},
                           "region": {"$ref": "#/components/schemas/R", "description": "d"}}}}}});
        mark_nullable(&mut doc);
        let p = &doc["components"]["schemas"]["A"]["properties"];
        assert!(p["id"].get("nullable").is_none());
        assert_eq!(p["note"]["nullable"], true);
        assert_eq!(p["region"]["allOf"][0]["$ref"], "#/components/schemas/R");
        assert_eq!(p["region"]["nullable"], true);
        assert!(p["region"].get("$ref").is_none());
    }
}

#[cfg(test)]
mod document_tests {
    use super::document;

    #[test]
    fn the_published_document_carries_the_enforced_rules() {
        let doc = document();
        let text = doc.to_string();
        assert!(!text.contains("naive-date"), "standard date formats");
        let params = |path: &str| doc["paths"][path]["get"]["parameters"].clone();
        let agencies = params("/api/v1/agencies");
        let find = |list: &serde_json::Value, name: &str| {
            list.as_array()
                .and_then(|l| l.iter().find(|p| p["name"] == name).cloned())
                .unwrap_or_default()
        };
        assert_eq!(find(&agencies, "page")["schema"]["minimum"], 1);
        assert_eq!(find(&agencies, "page_size")["schema"]["maximum"], 200);
        let scores = params("/api/v1/scores");
        assert_eq!(
            find(&scores, "period")["schema"]["pattern"],
            crate::domain::period::PATTERN
        );
        let reviews = params("/api/v1/file-reviews");
        assert_eq!(find(&reviews, "year")["schema"]["minimum"], 2000);
        let answers = &doc["components"]["schemas"]["PublicAnswers"]["properties"]["answers"];
        assert_eq!(answers["type"], "object");
        assert_eq!(
            answers["additionalProperties"]["oneOf"]
                .as_array()
                .map(Vec::len),
            Some(4)
        );
        assert_eq!(
            doc["components"]["schemas"]["NewIndexModel"]["properties"]["definition"]["type"],
            "object"
        );
    }
}
