//! Health, readiness, metrics, docs and the spec endpoint.

use pingjia_tests::{Backend, for_each_backend};
use poem::http::Method;
use serde_json::json;

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
        // Only the series names and labels, not the values (a duration may hold 4242).
        let labelled = text.lines().filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series));
        assert!(
            !labelled.clone().any(|series| series.contains("4242")),
            "identifiers never become labels: {:?}",
            labelled.filter(|s| s.contains("4242")).collect::<Vec<_>>()
        );
    })
    .await;
}

/// The value of an unlabelled series in a Prometheus exposition.
fn series(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
}

#[tokio::test]
async fn metrics_show_where_answers_wait_on_the_way_to_the_disk() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let (_, issued) = pingjia_api::demo::invited_cases(&app.db, 3, "METRICS")
            .await
            .expect("invitations");
        let answers = json!({"answers": {"attitude": 4, "credentials": true, "rights": true,
            "procedure": 4, "fairness": 5, "integrity": false, "burden": 4, "guidance": 4,
            "overall": 5}, "duration_secs": 95});
        let path = |token: &str| format!("/api/v1/public/invitations/{token}/responses");
        for inv in &issued {
            app.call(Method::POST, &path(&inv.token), None, Some(answers.clone()))
                .await
                .expect(201);
        }
        app.call(Method::POST, &path(&issued[0].token), None, Some(answers))
            .await
            .expect_error(409, "invitation_used");

        let text = app
            .call(Method::GET, "/metrics", None, None)
            .await
            .expect(200)
            .text;
        // Every submission, refused or not, waited in the queue and went through a group.
        assert_eq!(series(&text, "pingjia_answer_submit_seconds_count"), 4.0);
        assert_eq!(series(&text, "pingjia_answer_queued_seconds_count"), 4.0);
        assert_eq!(series(&text, "pingjia_answer_group_size_sum"), 4.0);
        let groups = series(&text, "pingjia_answer_group_seconds_count");
        assert_eq!(groups, series(&text, "pingjia_answer_group_size_count"));
        assert!((1.0..=4.0).contains(&groups), "{groups} groups");
        // Only SQLite's commits wait for a separate flush of the log.
        let flushed = series(&text, "pingjia_answer_flush_seconds_count");
        match app.backend {
            Backend::Sqlite => assert_eq!(flushed, groups),
            Backend::Postgres => assert_eq!(flushed, 0.0),
        }
        let submit = series(&text, "pingjia_answer_submit_seconds_sum");
        let stages = series(&text, "pingjia_answer_queued_seconds_sum")
            + series(&text, "pingjia_answer_group_seconds_sum");
        assert!(
            submit > 0.0 && stages > 0.0,
            "submit {submit}, stages {stages}"
        );
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
