//! The demo data set with its year of activity (`serve --demo`): enough of every
//! source that the default model ranks every agency for the quarter, explains each
//! score, and exports it.

use chrono::{TimeZone, Utc};
use pingjia_api::domain::Role;
use pingjia_tests::{TestApp, for_each_backend};
use serde_json::Value;

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"))
}

#[tokio::test]
async fn the_demo_year_ranks_explains_and_exports_every_agency() {
    for_each_backend(|app: TestApp| async move {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 15, 4, 0, 0)
            .single()
            .expect("time");
        let done = app.with_demo_activity(now).await;
        assert!(done.cases > 500, "{done:?}");
        assert!(done.responses > 5_000, "{done:?}");
        assert!(done.tickets > 10 && done.reviews > 50, "{done:?}");
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;

        // This quarter's ranking holds every agency, with every indicator.
        let ranking = app
            .get("/api/v1/scores/ranking?period=2026-Q4", &bureau)
            .await
            .expect(200);
        let items = ranking.body["items"].as_array().expect("items").clone();
        assert_eq!(items.len(), 12, "{}", ranking.body);
        let ranks: Vec<u64> = items.iter().filter_map(|i| i["rank"].as_u64()).collect();
        let mut sorted = ranks.clone();
        sorted.sort_unstable();
        assert_eq!(ranks, sorted, "best first");
        assert_eq!(ranks[0], 1);
        for i in &items {
            assert_eq!(i["missing"], serde_json::json!([]), "{i}");
            let flags = i["flags"].as_array().expect("flags");
            assert!(
                !flags.iter().any(|f| f
                    .as_str()
                    .is_some_and(|f| f.starts_with("insufficient_sample"))),
                "{i}"
            );
        }
        let scores: Vec<f64> = items.iter().map(|i| number(&i["score"])).collect();
        assert!(scores[0] - scores[11] > 10.0, "agencies differ: {scores:?}");
        // The demo's best agency (海州区市场监督管理局) is ahead of its weakest
        // (连云港市市场监督管理局).
        let position = |name: &str| {
            items
                .iter()
                .position(|i| i["agency_name"] == name)
                .unwrap_or_else(|| panic!("{name} ranked"))
        };
        assert!(position("海州区市场监督管理局") < position("连云港市市场监督管理局"));

        // The breakdown explains the top score: six indicators, each with its value,
        // weight and contribution adding up to the composite.
        let top = items[0]["agency_id"].as_i64().expect("id");
        let breakdown = app
            .get(
                &format!("/api/v1/scores/agencies/{top}?period=2026-Q4"),
                &bureau,
            )
            .await
            .expect(200);
        let indicators = breakdown.body["indicators"].as_array().expect("indicators");
        assert_eq!(indicators.len(), 6, "{}", breakdown.body);
        let total: f64 = indicators.iter().map(|i| number(&i["contribution"])).sum();
        assert!((total - number(&breakdown.body["composite"])).abs() < 1e-9);
        for key in ["citizen_satisfaction", "enterprise_satisfaction"] {
            let survey = indicators
                .iter()
                .find(|i| i["key"] == key)
                .expect("survey indicator");
            assert!(number(&survey["n"]) >= 30.0, "{survey}");
        }

        // Complaints were handled through the workflow: some replies on time, some late.
        let metrics = app
            .get(
                "/api/v1/ticket-metrics?from=2026-01-01&to=2026-11-15",
                &bureau,
            )
            .await
            .expect(200);
        let (mut on_time, mut settled) = (0, 0);
        for a in metrics.body["agencies"].as_array().expect("agencies") {
            on_time += a["on_time"].as_i64().expect("on_time");
            settled += a["reply_settled"].as_i64().expect("reply_settled");
        }
        assert!(on_time > 0 && on_time < settled, "{on_time} of {settled}");

        // One complaint was left unanswered long past its deadline: listed as overdue,
        // and the upkeep raises it to the city bureau.
        let overdue = app
            .get("/api/v1/tickets?overdue=true&page_size=200", &bureau)
            .await
            .expect(200);
        let month_before = now - chrono::Duration::days(30);
        let stalled: Vec<&Value> = overdue.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|t| {
                serde_json::from_value::<chrono::DateTime<Utc>>(t["created_at"].clone())
                    .is_ok_and(|at| at < month_before)
            })
            .collect();
        assert_eq!(stalled.len(), 1, "{}", overdue.body);
        let id = stalled[0]["id"].as_i64().expect("id");
        // At the demo's "now" it is the only one overdue.
        let round = pingjia_api::service::tickets::upkeep(
            &app.db,
            &pingjia_api::domain::calendar::WorkCalendar::official(),
            now,
            7,
        )
        .await
        .expect("upkeep");
        assert_eq!(round.escalated, 1);
        let escalated = app
            .get(&format!("/api/v1/tickets/{id}"), &bureau)
            .await
            .expect(200);
        assert_eq!(escalated.body["ticket"]["escalated_to"], "320700");

        // The XLSX export reads back with a row per agency.
        let sheet = app
            .xlsx_sheet("/api/v1/scores/export?period=2026-Q4&format=xlsx", &bureau)
            .await;
        assert_eq!(sheet.height(), 13);
    })
    .await;
}
