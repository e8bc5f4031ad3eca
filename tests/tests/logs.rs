//! Personal data never reaches the logs: a real-name ticket's phone number, name,
//! description and the channel's user id are absent from everything the service logs
//! while filing, handling and refusing it. Its own test binary, so the subscriber
//! installed here is the process's only one.

use pingjia_api::domain::Role;
use pingjia_tests::{TestApp, for_each_backend};
use serde_json::{Value, json};

async fn first_agency(app: &TestApp, key: &str) -> i64 {
    let page = app
        .get("/api/v1/agencies?region=320706&page_size=1", key)
        .await
        .expect(200);
    page.body["items"][0]["id"].as_i64().expect("agency id")
}

fn complaint(agency: i64) -> Value {
    json!({
        "user_id": "7766554433",
        "kind": "complaint",
        "category": "态度粗暴",
        "agency_id": agency,
        "region_code": "320706",
        "description": "执法人员检查时态度粗暴，未出示执法证件。",
        "address": "海州区朝阳中路1号",
        "reporter": {"name": "张三", "phone": "138-1234-1234"},
    })
}

#[tokio::test]
async fn personal_data_never_reaches_the_logs() {
    // The service's own filter, with everything Pingjia itself logs down to trace.
    let logs = pingjia_tests::CapturedLogs::install("pingjia_api=trace");
    for_each_backend(|app| async move {
        app.with_demo().await;
        let telegram = app.channel_key("telegram").await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let agency_key = app.key(Role::Agency, None, Some(agency)).await;
        let body = complaint(agency);
        let filed = app
            .post("/api/v1/channel/tickets", &telegram, body)
            .await
            .expect(201);
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        app.post(
            &format!("/api/v1/tickets/{id}/moves"),
            &bureau,
            json!({"action": "assign"}),
        )
        .await
        .expect(200);
        let masked = app
            .get(&format!("/api/v1/tickets/{id}"), &agency_key)
            .await
            .expect(200);
        assert_eq!(masked.body["ticket"]["reporter_phone"], "138****1234");
        assert_eq!(masked.body["ticket"]["reporter_name"], "张*");
        // Bad input is logged as a request too, with nothing of its content.
        let mut bad = complaint(agency);
        bad["reporter"]["phone"] = json!("12812341234");
        app.post("/api/v1/channel/tickets", &telegram, bad)
            .await
            .expect(422);
        app.get("/api/v1/channel/outbox", &telegram)
            .await
            .expect(200);
    })
    .await;
    let text = logs.text();
    assert!(text.contains("\"request\""), "requests are logged: {text}");
    for secret in [
        "13812341234",
        "1234-1234",
        "张三",
        "7766554433",
        "执法人员检查时态度粗暴",
        "海州区朝阳中路",
        "12812341234",
    ] {
        assert!(!text.contains(secret), "{secret} appears in the logs");
    }
}
