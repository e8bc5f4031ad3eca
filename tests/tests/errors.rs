//! Every error status answers with the one JSON shape.

use pingjia_api::domain::Role;
use pingjia_tests::{for_each_backend, for_each_backend_with};
use poem::http::Method;
use serde_json::json;

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    for_each_backend(|app| async move {
        app.call(Method::GET, "/no/such/route", None, None)
            .await
            .expect_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        app.call(Method::DELETE, "/api/v1/agencies", Some(&key), None)
            .await
            .expect_error(405, "method_not_allowed");
    })
    .await;
}

#[tokio::test]
async fn missing_unknown_and_malformed_keys_are_401() {
    for_each_backend(|app| async move {
        app.call(Method::GET, "/api/v1/agencies", None, None)
            .await
            .expect_error(401, "unauthorized");
        app.call(Method::GET, "/api/v1/agencies", Some("pj_0000"), None)
            .await
            .expect_error(401, "unauthorized");
        app.raw(
            Method::GET,
            "/api/v1/agencies",
            &[("Authorization", "Basic Zm9vOmJhcg==")],
            vec![],
        )
        .await
        .expect_error(401, "unauthorized");
    })
    .await;
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let auth = format!("Bearer {key}");
        let reply = app
            .raw(
                Method::POST,
                "/api/v1/regions",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                b"{\"code\": \"320700\",".to_vec(),
            )
            .await
            .expect_error(400, "malformed_body");
        assert!(reply.body["details"]["reason"].is_string());
    })
    .await;
}

#[tokio::test]
async fn wrong_json_types_are_a_400() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        app.post(
            "/api/v1/regions",
            &key,
            json!({"code": ["320700"], "name": "连云港市", "level": "city"}),
        )
        .await
        .expect_error(400, "malformed_body");
        app.post(
            "/api/v1/regions",
            &key,
            json!({"code": "320700", "name": "连云港市", "level": "province"}),
        )
        .await
        .expect_error(400, "malformed_body");
    })
    .await;
}

#[tokio::test]
async fn unparsable_query_and_path_parameters_are_400_naming_them() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let reply = app
            .get("/api/v1/agencies?page=abc", &key)
            .await
            .expect_error(400, "invalid_parameter");
        assert_eq!(reply.body["details"]["parameter"], "page");
        app.get("/api/v1/agencies/not-a-number", &key)
            .await
            .expect_error(400, "invalid_parameter");
    })
    .await;
}

#[tokio::test]
async fn wrong_content_type_is_a_415() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let auth = format!("Bearer {key}");
        app.raw(
            Method::POST,
            "/api/v1/regions",
            &[("Authorization", &auth), ("Content-Type", "text/plain")],
            b"code=320700".to_vec(),
        )
        .await
        .expect_error(415, "unsupported_media_type");
    })
    .await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_and_change_nothing() {
    for_each_backend_with(
        |c| c.body_limit_bytes = 256,
        |app| async move {
            let key = app.admin().await;
            let auth = format!("Bearer {key}");
            let name = "很".repeat(200);
            let body =
                format!(r#"{{"code":"320700","level":"city","name":"{name}"}}"#).into_bytes();
            let len = body.len().to_string();
            // Declared by Content-Length: refused before reading.
            let reply = app
                .raw(
                    Method::POST,
                    "/api/v1/regions",
                    &[
                        ("Authorization", &auth),
                        ("Content-Type", "application/json"),
                        ("Content-Length", &len),
                    ],
                    body.clone(),
                )
                .await
                .expect_error(413, "payload_too_large");
            assert_eq!(reply.body["details"]["limit_bytes"], 256);
            // Without Content-Length (chunked): measured while read.
            app.raw(
                Method::POST,
                "/api/v1/regions",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                body,
            )
            .await
            .expect_error(413, "payload_too_large");
            app.get("/api/v1/regions/320700", &key)
                .await
                .expect_error(404, "not_found");
            // A small body still passes.
            app.post(
                "/api/v1/regions",
                &key,
                json!({"code": "320700", "name": "连云港市", "level": "city"}),
            )
            .await
            .expect(201);
        },
    )
    .await;
}

#[tokio::test]
async fn duplicates_are_409() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let city = json!({"code": "320700", "name": "连云港市", "level": "city"});
        app.post("/api/v1/regions", &key, city.clone())
            .await
            .expect(201);
        app.post("/api/v1/regions", &key, city)
            .await
            .expect_error(409, "already_exists");
    })
    .await;
}

#[tokio::test]
async fn validation_errors_are_422_naming_every_field() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let reply = app
            .post(
                "/api/v1/regions",
                &key,
                json!({"code": "32070", "name": "", "level": "county"}),
            )
            .await
            .expect_error(422, "validation_failed");
        let fields = reply.fields();
        for f in ["code", "name", "parent_code"] {
            assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
        }
        assert!(
            reply.body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("`code`")
        );
    })
    .await;
}

#[tokio::test]
async fn role_not_allowed_is_403() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let channel = app.key(Role::Channel, None, None).await;
        app.get("/api/v1/officers", &channel)
            .await
            .expect_error(403, "forbidden");
        app.post(
            "/api/v1/agencies",
            &channel,
            json!({"code": "X1", "name": "某局", "domain": "other", "region_code": "320706"}),
        )
        .await
        .expect_error(403, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn a_client_request_id_is_echoed() {
    for_each_backend(|app| async move {
        let reply = app
            .raw(
                Method::GET,
                "/healthz",
                &[("X-Request-Id", "trace-abc.1")],
                vec![],
            )
            .await
            .expect(200);
        assert_eq!(reply.headers["x-request-id"], "trace-abc.1");
        let reply = app
            .raw(
                Method::GET,
                "/healthz",
                &[("X-Request-Id", "bad id with spaces")],
                vec![],
            )
            .await
            .expect(200);
        assert_ne!(reply.headers["x-request-id"], "bad id with spaces");
    })
    .await;
}

#[tokio::test]
async fn repeated_failed_authentication_is_429_with_retry_after() {
    // A day-long window, so the test cannot straddle two windows.
    let configure = |c: &mut pingjia_api::config::Config| {
        c.auth_failures_per_window = 5;
        c.auth_failure_window_secs = 86_400;
    };
    for_each_backend_with(configure, |app| async move {
        let admin = app.admin().await;
        for i in 0..5 {
            app.get("/api/v1/agencies", &format!("pj_guess{i}"))
                .await
                .expect_error(401, "unauthorized");
        }
        let reply = app
            .get("/api/v1/agencies", "pj_guess_more")
            .await
            .expect_error(429, "too_many_requests");
        let retry: i64 = reply.headers["retry-after"]
            .to_str()
            .expect("header")
            .parse()
            .expect("seconds");
        assert!((1..=86_400).contains(&retry), "{retry}");
        assert_eq!(reply.body["details"]["retry_after_secs"], retry);
        // While limited, a valid key from that address still works: behind one proxy
        // one client's wrong keys must not lock out everyone (keys are 256-bit
        // secrets: telling a hit from a miss gives a guesser nothing).
        app.get("/api/v1/agencies", &admin).await.expect(200);
        app.get("/api/v1/agencies", "pj_guess_again")
            .await
            .expect_error(429, "too_many_requests");
    })
    .await;
}

#[tokio::test]
async fn an_internal_failure_is_a_500_that_reveals_nothing() {
    use sea_orm::ConnectionTrait;
    for_each_backend(|app| async move {
        let key = app.admin().await;
        // Break the store under the running app (training records refer to officers).
        for table in ["training_records", "officers"] {
            app.db
                .execute_unprepared(&format!("DROP TABLE {table}"))
                .await
                .expect("drop table");
        }
        let reply = app
            .get("/api/v1/officers", &key)
            .await
            .expect_error(500, "internal_error");
        let message = reply.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("request id"), "{message}");
        for leak in ["officers", "table", "relation", "SELECT", "sqlx"] {
            assert!(
                !reply.text.contains(leak),
                "500 body leaks {leak:?}: {}",
                reply.text
            );
        }
        assert_eq!(reply.body["details"], json!({}));
    })
    .await;
}
