//! Small building blocks the suites share: the demo's agencies, a built-in
//! questionnaire, an open campaign over the demo city.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::TestApp;

/// The id of the built-in questionnaire `key` (`citizen_satisfaction`,
/// `enterprise_return_visit`).
pub async fn builtin_questionnaire(app: &TestApp, api_key: &str, key: &str) -> i64 {
    let list = app.get("/api/v1/questionnaires", api_key).await.expect(200);
    list.body
        .as_array()
        .and_then(|l| l.iter().find(|q| q["key"] == key))
        .and_then(|q| q["id"].as_i64())
        .unwrap_or_else(|| panic!("built-in questionnaire {key}: {}", list.text))
}

/// The ids of the agencies `api_key` lists (first page of 100).
pub async fn agency_ids(app: &TestApp, api_key: &str) -> Vec<i64> {
    let reply = app
        .get("/api/v1/agencies?page_size=100", api_key)
        .await
        .expect(200);
    reply.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["id"].as_i64())
        .collect()
}

/// Creates and opens a campaign over the demo city (320700) with version 1 of
/// `questionnaire`, in `mode` (`invitation` or `open`), covering the last 30 days.
pub async fn open_campaign(
    app: &TestApp,
    api_key: &str,
    questionnaire: i64,
    mode: &str,
    region: &str,
) -> i64 {
    let today = Utc::now().date_naive();
    let created = app
        .post(
            "/api/v1/campaigns",
            api_key,
            json!({
                "name": format!("{mode} 批次"),
                "questionnaire_id": questionnaire,
                "version": 1,
                "region_code": region,
                "mode": mode,
                "period_start": (today - Duration::days(30)).to_string(),
                "period_end": today.to_string(),
                "opens_at": (Utc::now() - Duration::hours(1)).to_rfc3339(),
                "closes_at": (Utc::now() + Duration::days(60)).to_rfc3339(),
            }),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_i64().expect("id");
    app.post(
        &format!("/api/v1/campaigns/{id}/status"),
        api_key,
        json!({"status": "open"}),
    )
    .await
    .expect(200);
    id
}
