//! The committed spec (`openapi/`) matches the code, and every operation documents
//! itself: summary, tag, security with roles, and typed error responses.

use std::path::PathBuf;

use pingjia_api::http::spec;
use serde_json::Value;

const REGENERATE: &str = "run `cargo run --bin pingjia -- openapi --write` and commit openapi/";

fn committed(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../openapi")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {REGENERATE}", path.display()))
}

#[test]
fn committed_json_spec_matches_the_code() {
    let generated = spec::json_text();
    assert!(
        committed("openapi.json").trim_end() == generated.trim_end(),
        "openapi/openapi.json is out of date: {REGENERATE}"
    );
}

#[test]
fn committed_yaml_spec_matches_the_code() {
    let generated = spec::yaml_text();
    assert!(
        committed("openapi.yaml").trim_end() == generated.trim_end(),
        "openapi/openapi.yaml is out of date: {REGENERATE}"
    );
}

const PUBLIC: &[&str] = &["/healthz", "/readyz", "/metrics"];

#[test]
fn every_operation_has_summary_tag_security_and_error_responses() {
    let spec: Value = spec::document();
    let paths = spec["paths"].as_object().expect("paths");
    assert!(paths.len() >= 10);
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("operations") {
            let name = format!("{} {path}", method.to_uppercase());
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: summary"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: tags"
            );
            assert!(op["operationId"].is_string(), "{name}: operationId");
            if PUBLIC.contains(&path.as_str()) || path.starts_with("/api/v1/public/") {
                assert!(
                    op.get("security").is_none(),
                    "{name}: public operations need no key"
                );
                continue;
            }
            assert_eq!(
                op["security"][0]["ApiKey"],
                serde_json::json!([]),
                "{name}: security scheme"
            );
            let description = op["description"].as_str().unwrap_or_default();
            assert!(
                description.starts_with("Roles:"),
                "{name}: roles in description"
            );
            let responses = op["responses"].as_object().expect("responses");
            for status in ["401", "404", "422", "500"] {
                let schema = &responses[status]["content"]["application/json; charset=utf-8"]["schema"]
                    ["$ref"];
                assert_eq!(
                    schema, "#/components/schemas/ErrorBody",
                    "{name}: {status} documented with the error body"
                );
            }
            if method != "get" {
                for status in ["403", "409", "413", "415"] {
                    assert!(responses.contains_key(status), "{name}: {status}");
                }
            }
        }
    }
}
