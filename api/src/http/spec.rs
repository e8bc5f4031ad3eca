//! The published OpenAPI document: poem-openapi's, with what it leaves out put in.
//! An optional field (`Option<T>`) is sent as `null` when absent and accepted as
//! `null`, but poem-openapi's OpenAPI 3.0 schema marks it only as not required; here
//! every property that is not required is marked `nullable` (a `$ref` through
//! `allOf`, as OpenAPI 3.0 ignores the siblings of a `$ref`). `/openapi.json`,
//! `/openapi.yaml` and `pingjia openapi --write` all give this document.

use serde_json::{Value, json};

/// The document as JSON.
pub fn document() -> Value {
    let mut doc: Value = serde_json::from_str(&super::openapi_service().spec()).unwrap_or_default();
    mark_nullable(&mut doc);
    doc
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
