//! Health, readiness, metrics, docs and the spec endpoint.

use pingjia_tests::for_each_backend;
use poem::http::Method;

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    for_each_backend(|app| async move {
        let reply = app
            .call(Method::GET, "/healthz", None, None)
            .await
            .expect(200);
        assert_eq!(reply.body["status"], "ok");
        let reply = app
            .call(Method::GET, "/readyz", None, None)
            .await
            .expect(200);
        assert_eq!(reply.body["status"], "ok");
    })
    .await;
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    for_each_backend(|app| async move {
        app.db.clone().close().await.expect("close pool");
        app.call(Method::GET, "/readyz", None, None)
            .await
            .expect_error(503, "database_unavailable");
        app.call(Method::GET, "/healthz", None, None)
            .await
            .expect(200);
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        app.get("/api/v1/agencies/4242", &key).await.expect(404);
        app.get("/api/v1/agencies/4343", &key).await.expect(404);
        app.call(Method::GET, "/definitely/unknown", None, None).await.expect(404);
        let reply = app.call(Method::GET, "/metrics", None, None).await.expect(200);
        let text = reply.text;
        assert!(
            text.contains(r#"pingjia_http_requests_total{method="GET",route="/api/v1/agencies/{id}",status="404"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
        assert!(text.contains("pingjia_http_request_duration_seconds_bucket"), "{text}");
        assert!(!text.contains("4242"), "identifiers never become labels");
    })
    .await;
}

#[tokio::test]
async fn docs_and_spec_are_served() {
    for_each_backend(|app| async move {
        let reply = app.call(Method::GET, "/docs", None, None).await.expect(200);
        assert!(reply.text.contains("swagger"), "Swagger UI page");
        let reply = app
            .call(Method::GET, "/openapi.json", None, None)
            .await
            .expect(200);
        assert!(reply.body["paths"]["/api/v1/agencies"].is_object());
        let reply = app
            .call(Method::GET, "/openapi.yaml", None, None)
            .await
            .expect(200);
        assert!(
            reply.text.contains("openapi: 3"),
            "{}",
            &reply.text[..80.min(reply.text.len())]
        );
    })
    .await;
}
