//! The survey statistics kept with every stored response equal a full recomputation
//! from the responses by `pingjia-scoring` — after answers to invitations (the group
//! writer), public answers to an open campaign, a weighted third-party import, and
//! with or without the responses flagged too fast.

use chrono::{Duration, Utc};
use pingjia_api::domain::Role;
use pingjia_api::domain::period::Period;
use pingjia_api::service::index::{survey_means, survey_means_recomputed};
use pingjia_tests::{TestApp, for_each_backend_with};
use poem::http::Method;
use serde_json::{Value, json};

/// A deterministic stream of small numbers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A valid citizen answer sheet.
fn sheet(rng: &mut Lcg) -> Value {
    let likert = |rng: &mut Lcg| rng.next(5) + 1;
    let overall = likert(rng);
    let mut answers = json!({
        "attitude": likert(rng), "credentials": rng.next(2) == 1, "rights": rng.next(2) == 1,
        "procedure": likert(rng), "fairness": likert(rng), "integrity": rng.next(2) == 1,
        "guidance": likert(rng), "overall": overall,
    });
    if overall <= 2 {
        answers["dissatisfied_reason"] = json!(["attitude"]);
    }
    answers
}

async fn campaign(app: &TestApp, key: &str, questionnaire: i64, mode: &str) -> i64 {
    let today = Utc::now().date_naive();
    let created = app
        .post(
            "/api/v1/campaigns",
            key,
            json!({"name": format!("{mode} 批次"), "questionnaire_id": questionnaire, "version": 1,
                   "region_code": "320700", "mode": mode, "too_fast_secs": 30,
                   "period_start": (today - Duration::days(30)).to_string(),
                   "period_end": today.to_string(),
                   "opens_at": (Utc::now() - Duration::hours(1)).to_rfc3339(),
                   "closes_at": (Utc::now() + Duration::days(30)).to_rfc3339()}),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_i64().expect("id");
    app.post(
        &format!("/api/v1/campaigns/{id}/status"),
        key,
        json!({"status": "open"}),
    )
    .await
    .expect(200);
    id
}

#[tokio::test]
async fn maintained_statistics_equal_a_full_recomputation() {
    let configure = |c: &mut pingjia_api::config::Config| c.open_answers_per_hour = 1000;
    for_each_backend_with(configure, |app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let list = app.get("/api/v1/questionnaires", &bureau).await.expect(200);
        let citizen = list
            .body
            .as_array()
            .and_then(|l| l.iter().find(|q| q["key"] == "citizen_satisfaction"))
            .and_then(|q| q["id"].as_i64())
            .expect("citizen questionnaire");
        let agencies: Vec<i64> = app
            .get("/api/v1/agencies?page_size=3", &bureau)
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|a| a["id"].as_i64())
            .collect();
        let mut rng = Lcg(2026);

        // 1. Invitations answered through the group writer.
        let cases: Vec<Value> = (0..8)
            .map(|i| {
                json!({"agency_id": agencies[i % 3], "case_number": format!("统计〔2026〕{i}号"),
                       "kind": "penalty", "procedure": "general",
                       "decision_date": (Utc::now().date_naive() - Duration::days(2)).to_string()})
            })
            .collect();
        app.post("/api/v1/cases", &bureau, json!({"cases": cases}))
            .await
            .expect(200);
        let invited = campaign(&app, &bureau, citizen, "invitation").await;
        let generated = app
            .post(&format!("/api/v1/campaigns/{invited}/invitations"), &bureau, json!({}))
            .await
            .expect(201);
        for (i, inv) in generated.body["invitations"].as_array().expect("invitations").iter().enumerate() {
            let token = inv["token"].as_str().expect("token");
            app.call(
                Method::POST,
                &format!("/api/v1/public/invitations/{token}/responses"),
                None,
                Some(json!({"answers": sheet(&mut rng), "duration_secs": if i % 3 == 0 { 10 } else { 120 }})),
            )
            .await
            .expect(201);
        }

        // 2. Public answers to an open campaign.
        let open = campaign(&app, &bureau, citizen, "open").await;
        for i in 0..12 {
            app.call(
                Method::POST,
                &format!("/api/v1/public/campaigns/{open}/responses"),
                None,
                Some(json!({"agency_id": agencies[i % 3], "answers": sheet(&mut rng),
                            "duration_secs": if i % 4 == 0 { 5 } else { 90 }})),
            )
            .await
            .expect(201);
        }

        // 3. A weighted third-party import.
        let keys = ["attitude", "credentials", "rights", "procedure", "fairness", "integrity", "guidance", "overall"];
        let mut csv = format!("agency_id,weight,duration_secs,{},dissatisfied_reason\n", keys.join(","));
        for i in 0..40 {
            let s = sheet(&mut rng);
            let cells: Vec<String> = keys
                .iter()
                .map(|k| match &s[*k] {
                    Value::Bool(b) => if *b { "1".into() } else { "0".into() },
                    v => v.to_string(),
                })
                .collect();
            let reason = if s.get("dissatisfied_reason").is_some() { "attitude" } else { "" };
            csv.push_str(&format!(
                "{},{},{},{},{reason}\n",
                agencies[i % 3],
                0.5 + (i % 4) as f64 * 0.75,
                if i % 5 == 0 { 3 } else { 200 },
                cells.join(",")
            ));
        }
        let imported = app
            .raw(
                Method::POST,
                &format!("/api/v1/campaigns/{open}/imports"),
                &[("Authorization", &format!("Bearer {bureau}")), ("Content-Type", "text/csv")],
                csv.into_bytes(),
            )
            .await
            .expect(200);
        assert_eq!(imported.body["stored"], 40, "{}", imported.body);

        let period = Period::Quarter(0, 1).holding(pingjia_api::domain::calendar::shanghai_date(Utc::now()));
        let mut compared = 0;
        for dimension in ["attitude", "credentials", "integrity", "overall", "overall_index"] {
            for exclude in [false, true] {
                let kept = survey_means(&app.db, &agencies, period, "citizen_satisfaction", dimension, exclude)
                    .await
                    .expect("statistics");
                let full = survey_means_recomputed(&app.db, &agencies, period, "citizen_satisfaction", dimension, exclude)
                    .await
                    .expect("recomputation");
                assert_eq!(kept.len(), full.len(), "{dimension}");
                for (id, want) in &full {
                    let got = kept.get(id).expect("same agencies");
                    assert_eq!(got.n, want.n, "{dimension} n");
                    assert!((got.value - want.value).abs() < 1e-9, "{dimension} mean {} vs {}", got.value, want.value);
                    let (gs, ws) = (got.se.expect("se"), want.se.expect("se"));
                    assert!((gs - ws).abs() < 1e-9 * ws.max(1.0), "{dimension} se {gs} vs {ws}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 5 * 2 * 3);
        // Excluding flagged responses changed the counts.
        let all = survey_means(&app.db, &agencies, period, "citizen_satisfaction", "overall", false).await.expect("all");
        let clean = survey_means(&app.db, &agencies, period, "citizen_satisfaction", "overall", true).await.expect("clean");
        let total = |m: &std::collections::HashMap<i64, pingjia_api::service::index::Raw>| {
            m.values().filter_map(|r| r.n).sum::<u64>()
        };
        let answered = generated.body["invitations"].as_array().expect("inv").len() as u64 + 12 + 40;
        assert_eq!(total(&all), answered);
        assert!(total(&clean) < total(&all));
    })
    .await;
}
