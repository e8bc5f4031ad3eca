//! The assessment index on a small hand-computed case: three agencies, internal
//! assessment data only, a model weighting three systems, case-file review and
//! training by hand with identity, linear and rate normalisations and a deduction
//! rule; then min–max, AHP (CR checked) and entropy weights; scopes.

use pingjia_api::domain::Role;
use pingjia_tests::{TestApp, for_each_backend};
use serde_json::{Value, json};

async fn agencies_of(app: &TestApp, key: &str) -> Vec<i64> {
    let page = app
        .get("/api/v1/agencies?region=320700&page_size=100", key)
        .await
        .expect(200);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["id"].as_i64())
        .collect()
}

fn indicator(key: &str, source: Value, normalisation: Value, weight: f64) -> Value {
    json!({"key": key, "name": key, "weight": weight,
           "indicator": {"source": source, "direction": "benefit", "normalisation": normalisation}})
}

fn model(weights: Value, normalise_reviews: Value, rules: Value) -> Value {
    json!({
        "root": {"key": "total", "name": "综合", "weights": weights, "children": [
            indicator("ts", json!({"kind": "three_systems", "metric": "mean"}), json!({"method": "identity"}), 0.5),
            indicator("fr", json!({"kind": "file_review", "metric": "mean_score"}), normalise_reviews, 0.3),
            indicator("tr", json!({"kind": "training", "metric": "completion_rate"}), json!({"method": "rate"}), 0.2),
        ]},
        "rules": rules,
        "aggregation": "equal",
    })
}

async fn seed(app: &TestApp, bureau: &str, admin: &str, a: i64, b: i64, c: i64) {
    app.post(
        "/api/v1/three-systems",
        bureau,
        json!({"records": [
            {"agency_id": a, "period": "2026-Q3", "publicity": 90, "recording": 80, "legal_review": 100},
            {"agency_id": b, "period": "2026-Q3", "publicity": 60, "recording": 60, "legal_review": 60},
            {"agency_id": c, "period": "2026", "publicity": 75, "recording": 75, "legal_review": 75},
        ]}),
    )
    .await
    .expect(200);
    let review = |agency: i64, number: &str, score: f64| {
        json!({"agency_id": agency, "case_number": number, "year": 2026, "score": score,
               "reviewer": "评查组", "reviewed_on": "2026-09-01"})
    };
    app.post(
        "/api/v1/file-reviews",
        bureau,
        json!({"records": [review(a, "A1", 100.0), review(a, "A2", 90.0), review(b, "B1", 70.0)]}),
    )
    .await
    .expect(200);
    let mut training = Vec::new();
    for (agency, completing) in [(a, 3), (b, 1), (c, 0)] {
        let officers = app
            .get(&format!("/api/v1/officers?agency_id={agency}"), admin)
            .await
            .expect(200);
        let ids: Vec<i64> = officers.body["items"]
            .as_array()
            .expect("officers")
            .iter()
            .filter_map(|o| o["id"].as_i64())
            .collect();
        assert_eq!(ids.len(), 3, "demo agencies have three officers");
        // Agency c reports one officer, short of the hours.
        let reported = if agency == c { 1 } else { 3 };
        for (i, id) in ids.iter().take(reported).enumerate() {
            let hours = if i < completing { 70 } else { 20 };
            training.push(json!({"officer_id": id, "year": 2026, "total_hours": hours,
                                 "business_hours": hours * 7 / 10, "discretion_hours": 12}));
        }
    }
    app.post(
        "/api/v1/training-records",
        bureau,
        json!({"records": training}),
    )
    .await
    .expect(200);
}

fn close(got: &Value, want: f64) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("{got} is not a number"));
    assert!((g - want).abs() < 1e-9, "{g} vs {want}");
}

#[tokio::test]
async fn the_index_matches_a_hand_computed_case() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let ids = agencies_of(&app, &bureau).await;
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        let agency_key = app.key(Role::Agency, None, Some(b)).await;
        seed(&app, &bureau, &admin, a, b, c).await;

        let rules = json!([{"indicator": "tr", "below": 50, "deduct": 10, "note": "培训达标率低于50%扣10分"}]);
        let created = app
            .post(
                "/api/v1/index-models",
                &admin,
                json!({"key": "county", "name": "县级考核",
                       "definition": model(json!({"method": "manual"}),
                                           json!({"method": "linear", "floor": 60, "target": 100}),
                                           rules.clone())}),
            )
            .await
            .expect(201);
        assert_eq!(created.body["version"], 1);

        // A: 0.5·90 + 0.3·87.5 + 0.2·100 = 91.25.
        // B: 0.5·60 + 0.3·25 + 0.2·33.33… = 44.1667, − 10 = 34.1667.
        // C: no reviews: (0.5·75 + 0.2·0)/0.7 = 53.5714, − 10 = 43.5714.
        let list = app
            .get("/api/v1/scores?model=county&period=2026-Q3", &bureau)
            .await
            .expect(200);
        let items = list.body["items"].as_array().expect("items").clone();
        let find = |id: i64| {
            items
                .iter()
                .find(|i| i["agency_id"] == id)
                .expect("agency listed")
                .clone()
        };
        close(&find(a)["score"], 91.25);
        close(&find(b)["score"], 30.0 + 7.5 + 0.2 * 100.0 / 3.0 - 10.0);
        close(&find(c)["score"], 37.5 / 0.7 - 10.0);
        assert_eq!(
            [find(a)["rank"].clone(), find(c)["rank"].clone(), find(b)["rank"].clone()],
            [json!(1), json!(2), json!(3)]
        );
        assert_eq!(items[0]["agency_id"], a, "listed by rank");
        assert_eq!(find(c)["missing"], json!(["fr"]));
        assert!(find(c)["flags"].as_array().expect("flags").contains(&json!("missing_indicators")));
        // Agencies without any data have no score and no rank.
        for other in &ids[3..] {
            assert!(find(*other)["score"].is_null() && find(*other)["rank"].is_null());
        }
        // Compared by level: the three are city-level agencies (连云港市…), ranked among
        // the city's; county-level agencies are compared with each other only.
        let by_level = |level: &'static str| {
            let (app, bureau) = (&app, &bureau);
            async move {
                app.get(&format!("/api/v1/scores?model=county&period=2026-Q3&level={level}"), bureau)
                    .await
                    .expect(200)
                    .body["items"]
                    .as_array()
                    .expect("items")
                    .clone()
            }
        };
        let city = by_level("city").await;
        assert_eq!(city.len(), 5);
        assert_eq!(city[..3].iter().map(|i| i["agency_id"].clone()).collect::<Vec<_>>(), [json!(a), json!(c), json!(b)]);
        let county = by_level("county").await;
        assert_eq!(county.len(), ids.len() - 5);
        assert!(county.iter().all(|i| i["rank"].is_null() && ![a, b, c].contains(&i["agency_id"].as_i64().unwrap_or_default())));
        app.get("/api/v1/scores?model=county&period=2026-Q3&level=province", &bureau)
            .await
            .expect(400);
        // A's uncertainty comes from its two reviews: se 5 on the raw mean, ×2.5 by the
        // linear normalisation, ×0.3 by the weight.
        close(&find(a)["se"], 3.75);

        // The breakdown explains C: renormalised weights, contributions, the deduction.
        let breakdown = app
            .get(&format!("/api/v1/scores/agencies/{c}?model=county&period=2026-Q3"), &bureau)
            .await
            .expect(200);
        let ind = |key: &str| {
            breakdown.body["indicators"]
                .as_array()
                .expect("indicators")
                .iter()
                .find(|i| i["key"] == key)
                .expect("indicator")
                .clone()
        };
        close(&ind("ts")["weight"], 0.5 / 0.7);
        close(&ind("ts")["contribution"], 37.5 / 0.7);
        close(&ind("ts")["raw"], 75.0);
        assert!(ind("fr")["value"].is_null());
        close(&ind("tr")["raw"], 0.0);
        close(&breakdown.body["composite"], 37.5 / 0.7);
        assert_eq!(breakdown.body["deductions"][0]["rule"], "培训达标率低于50%扣10分");
        assert_eq!(breakdown.body["rank"], 2);

        // An agency key sees its own row, ranked among all, and not the others'.
        let own = app
            .get("/api/v1/scores?model=county&period=2026-Q3", &agency_key)
            .await
            .expect(200);
        assert_eq!(own.body["items"].as_array().expect("items").len(), 1);
        assert_eq!(own.body["items"][0]["rank"], 3);
        app.get(&format!("/api/v1/scores/agencies/{a}?model=county&period=2026-Q3"), &agency_key)
            .await
            .expect(404);

        // Min–max across the compared agencies: A's 95 → 100, B's 70 → 0.
        app.post(
            "/api/v1/index-models",
            &admin,
            json!({"key": "county", "name": "县级考核（极差）",
                   "definition": model(json!({"method": "manual"}), json!({"method": "min_max"}), json!([]))}),
        )
        .await
        .expect(201);
        let minmax = app
            .get("/api/v1/scores?model=county@2&period=2026-Q3", &bureau)
            .await
            .expect(200);
        let row = |body: &Value, id: i64| {
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|i| i["agency_id"] == id)
                .expect("row")
                .clone()
        };
        close(&row(&minmax.body, a)["score"], 45.0 + 30.0 + 20.0);
        close(&row(&minmax.body, b)["score"], 30.0 + 0.0 + 0.2 * 100.0 / 3.0);
        // Version 1 still computes as before.
        let v1 = app
            .get("/api/v1/scores?model=county@1&period=2026-Q3", &bureau)
            .await
            .expect(200);
        close(&row(&v1.body, a)["score"], 91.25);

        // AHP: a consistent matrix gives its eigenvector weights; an inconsistent one is
        // refused with its CR.
        let consistent = json!([[1.0, 2.0, 4.0], [0.5, 1.0, 2.0], [0.25, 0.5, 1.0]]);
        let ahp = app
            .post("/api/v1/ahp", &bureau, json!({"matrix": consistent}))
            .await
            .expect(200);
        close(&ahp.body["weights"][0], 4.0 / 7.0);
        close(&ahp.body["cr"], 0.0);
        let refused = app
            .post(
                "/api/v1/index-models",
                &admin,
                json!({"key": "ahp_bad", "name": "x", "definition": model(
                    json!({"method": "ahp", "matrix": [[1, 9, 0.111111111], [0.111111111, 1, 9], [9, 0.111111111, 1]]}),
                    json!({"method": "identity"}), json!([]))}),
            )
            .await
            .expect(422);
        assert_eq!(refused.fields(), ["definition.root.weights.matrix"]);
        assert!(refused.body["message"].as_str().expect("message").contains("CR ="));
        app.post(
            "/api/v1/index-models",
            &admin,
            json!({"key": "ahp_ok", "name": "层次分析", "definition": model(
                json!({"method": "ahp", "matrix": consistent}),
                json!({"method": "linear", "floor": 60, "target": 100}), json!([]))}),
        )
        .await
        .expect(201);
        let weighted = app
            .get("/api/v1/scores?model=ahp_ok&period=2026-Q3", &bureau)
            .await
            .expect(200);
        close(
            &row(&weighted.body, a)["score"],
            (4.0 * 90.0 + 2.0 * 87.5 + 100.0) / 7.0,
        );

        // Entropy weights from the period's data (agencies with every indicator: A, B).
        app.post(
            "/api/v1/index-models",
            &admin,
            json!({"key": "entropy", "name": "熵权", "definition": model(
                json!({"method": "entropy"}), json!({"method": "identity"}), json!([]))}),
        )
        .await
        .expect(201);
        let entropy = app
            .get(&format!("/api/v1/scores/agencies/{a}?model=entropy&period=2026-Q3"), &bureau)
            .await
            .expect(200);
        let expected = pingjia_scoring::weights::entropy_weights(
            &[vec![90.0, 95.0, 1.0], vec![60.0, 70.0, 1.0 / 3.0]],
            &[pingjia_scoring::weights::Direction::Benefit; 3],
        )
        .expect("entropy");
        let used = entropy.body["groups"][0]["child_weights"].as_array().expect("weights").clone();
        for (got, want) in used.iter().zip(&expected.weights) {
            close(&got["weight"], *want);
        }

        // Bad definitions name every problem.
        let bad = app
            .post(
                "/api/v1/index-models",
                &admin,
                json!({"key": "bad", "name": "x", "definition": {"root": {"key": "total", "name": "x", "children": [
                    indicator("a", json!({"kind": "tickets", "metric": "speed"}), json!({"method": "rate"}), 0.7),
                    indicator("a", json!({"kind": "training", "metric": "pass_rate"}), json!({"method": "linear", "floor": 1, "target": 1}), 0.7),
                ]}}}),
            )
            .await
            .expect(422);
        let mut fields = bad.fields();
        fields.sort();
        assert_eq!(
            fields,
            [
                "definition.root.children",
                "definition.root.children[0].indicator.source.metric",
                "definition.root.children[1].indicator.normalisation",
                "definition.root.children[1].key",
            ]
        );
        app.get("/api/v1/scores?model=county&period=2026-Q9", &bureau)
            .await
            .expect(422);
        let evaluator = app.key(Role::Evaluator, None, None).await;
        app.get("/api/v1/scores?period=2026-Q3", &evaluator)
            .await
            .expect(403);
        // The shipped model exists and computes.
        let default = app
            .get("/api/v1/scores?period=2026-Q3", &admin)
            .await
            .expect(200);
        assert_eq!(default.body["model"], "default");
    })
    .await;
}

#[tokio::test]
async fn changes_regions_trends_and_exports() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let ids = agencies_of(&app, &bureau).await;
        // Two agencies of 海州区 and one of 赣榆区, for the county scores.
        let county = |code: &'static str| {
            let (app, bureau) = (&app, &bureau);
            async move {
                app.get(&format!("/api/v1/agencies?region={code}"), bureau)
                    .await
                    .expect(200)
                    .body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|a| a["id"].as_i64())
                    .collect::<Vec<i64>>()
            }
        };
        let haizhou = county("320706").await;
        let (a, b, c) = (haizhou[0], haizhou[1], county("320707").await[0]);
        seed(&app, &bureau, &admin, a, b, c).await;
        let rules = json!([{"indicator": "tr", "below": 50, "deduct": 10}]);
        app.post(
            "/api/v1/index-models",
            &admin,
            json!({"key": "county", "name": "县级考核",
                   "definition": model(json!({"method": "manual"}),
                                       json!({"method": "linear", "floor": 60, "target": 100}),
                                       rules)}),
        )
        .await
        .expect(201);
        let list = |period: &str| {
            let (app, bureau) = (&app, &bureau);
            let path = format!("/api/v1/scores?model=county&period={period}");
            async move { app.get(&path, bureau).await.expect(200).body }
        };
        let q3 = list("2026-Q3").await;
        let q2 = list("2026-Q2").await;
        let row = |body: &Value, id: i64| {
            body["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|i| i["agency_id"] == id)
                .expect("row")
                .clone()
        };
        // In Q2 A has no three-systems record: (0.3·87.5 + 0.2·100)/0.5 = 92.5.
        close(&row(&q2, a)["score"], 92.5);
        close(&row(&q3, a)["previous"], 92.5);
        close(&row(&q3, a)["change"], 91.25 - 92.5);
        let f = |v: &Value| v.as_f64().expect("number");
        let test = pingjia_scoring::compare::z_difference(
            f(&row(&q3, a)["score"]),
            f(&row(&q3, a)["se"]),
            f(&row(&q2, a)["score"]),
            f(&row(&q2, a)["se"]),
        )
        .expect("test");
        close(&row(&q3, a)["change_p"], test.p_value);
        assert_eq!(row(&q3, a)["change_significant"], false);
        // Shrinkage: the scored agencies move toward their mean, never past it.
        let scored: Vec<Value> = [a, b, c].iter().map(|id| row(&q3, *id)).collect();
        let mean = scored.iter().map(|r| f(&r["score"])).sum::<f64>() / 3.0;
        for r in &scored {
            let (s, eb) = (f(&r["score"]), f(&r["eb_score"]));
            assert!((eb - mean).abs() <= (s - mean).abs() + 1e-9, "{s} → {eb}");
        }

        // Regions: each county's score is the equal-weight mean of its scored agencies.
        let regions = app
            .get(
                "/api/v1/scores/regions?model=county&period=2026-Q3",
                &bureau,
            )
            .await
            .expect(200);
        let items = regions.body["items"].as_array().expect("regions").clone();
        assert!(!items.is_empty());
        for r in &items {
            let members = r["agencies"].as_array().expect("agencies");
            if members.is_empty() {
                assert!(r["score"].is_null());
                continue;
            }
            let want = members
                .iter()
                .map(|m| f(&row(&q3, m["agency_id"].as_i64().expect("id"))["score"]))
                .sum::<f64>()
                / members.len() as f64;
            close(&r["score"], want);
        }
        assert_eq!(items[0]["rank"], 1, "{}", regions.body);
        let agency_key = app.key(Role::Agency, None, Some(a)).await;
        app.get(
            "/api/v1/scores/regions?model=county&period=2026-Q3",
            &agency_key,
        )
        .await
        .expect(403);

        // The ranking holds the ranked agencies only, best first.
        let ranking = app
            .get(
                "/api/v1/scores/ranking?model=county&period=2026-Q3",
                &bureau,
            )
            .await
            .expect(200);
        let ranks: Vec<u64> = ranking.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["rank"].as_u64())
            .collect();
        assert_eq!(ranks, [1, 2, 3]);

        // Trend: Q2 then Q3.
        let trend = app
            .get(
                &format!(
                    "/api/v1/scores/trend?model=county&agency_id={a}&period=2026-Q3&periods=2"
                ),
                &bureau,
            )
            .await
            .expect(200);
        let points = trend.body.as_array().expect("points");
        assert_eq!(points[0]["period"], "2026-Q2");
        close(&points[0]["score"], 92.5);
        close(&points[1]["score"], 91.25);

        // Exports with Chinese headers; the XLSX reads back.
        let csv = app
            .get(
                "/api/v1/scores/export?model=county&period=2026-Q3&format=csv",
                &bureau,
            )
            .await
            .expect(200);
        let text = csv.text.trim_start_matches('\u{feff}').to_owned();
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        assert!(header.starts_with("排名,执法机关,区划代码,执法领域,综合得分"));
        assert!(header.contains("ts（得分）"));
        let first = lines.next().expect("first row");
        assert!(first.starts_with("1,"), "{first}");
        assert_eq!(text.lines().count(), ids.len() + 1);
        use calamine::DataType;
        let sheet = app
            .xlsx_sheet(
                "/api/v1/scores/export?model=county&period=2026-Q3&format=xlsx",
                &bureau,
            )
            .await;
        assert_eq!(
            sheet.get_value((0, 4)).map(|v| v.to_string()),
            Some("综合得分".to_owned())
        );
        let top = sheet
            .get_value((1, 4))
            .and_then(|v| v.as_f64())
            .expect("score");
        assert!((top - 91.25).abs() < 1e-3);
    })
    .await;
}

/// The current quarter in Asia/Shanghai (answers and tickets are stored at "now").
fn this_quarter() -> (String, chrono::NaiveDate) {
    use chrono::Datelike;
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    (
        format!("{}-Q{}", today.year(), (today.month() - 1) / 3 + 1),
        today,
    )
}

#[tokio::test]
async fn survey_and_ticket_indicators_match_a_hand_computed_case() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let admin = app.admin().await;
        let ids = agencies_of(&app, &bureau).await;
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        let (period, today) = this_quarter();

        // Enterprise answers, imported: A answers overall 5 and 4, B 3 and 3.
        let list = app.get("/api/v1/questionnaires", &bureau).await.expect(200);
        let questionnaire = list
            .body
            .as_array()
            .expect("questionnaires")
            .iter()
            .find(|q| q["key"] == "enterprise_return_visit")
            .and_then(|q| q["id"].as_i64())
            .expect("built-in questionnaire");
        let campaign = app
            .post(
                "/api/v1/campaigns",
                &bureau,
                json!({"name": "第三方测评", "questionnaire_id": questionnaire, "version": 1,
                       "region_code": "320700", "mode": "invitation",
                       "period_start": (today - chrono::Duration::days(30)).to_string(),
                       "period_end": today.to_string(),
                       "opens_at": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
                       "closes_at": (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339()}),
            )
            .await
            .expect(201)
            .body["id"]
            .as_i64()
            .expect("id");
        let csv = format!(
            "agency_id,attitude,credentials,rights,procedure,fairness,integrity,burden,guidance,overall\n\
             {a},4,1,1,4,4,0,4,4,5\n{a},4,1,1,4,4,0,4,4,4\n{b},3,1,1,3,3,0,3,3,3\n{b},3,1,1,3,3,0,3,3,3\n"
        );
        let imported = app
            .raw(
                poem::http::Method::POST,
                &format!("/api/v1/campaigns/{campaign}/imports"),
                &[("Authorization", &format!("Bearer {evaluator}")), ("Content-Type", "text/csv")],
                csv.into_bytes(),
            )
            .await;
        assert_eq!(imported.status, 200, "{}", imported.text);
        assert_eq!(imported.body["stored"], 4, "{}", imported.text);

        // Cases decided this quarter (A 40, B 10, C 10) and complaints (A 1, B 1).
        let mut cases = Vec::new();
        for (agency, n) in [(a, 40), (b, 10), (c, 10)] {
            for k in 0..n {
                cases.push(json!({"agency_id": agency, "case_number": format!("{agency}-{k}"),
                                  "kind": "penalty", "procedure": "general",
                                  "decision_date": today.to_string()}));
            }
        }
        app.post("/api/v1/cases", &bureau, json!({"cases": cases}))
            .await
            .expect(200);
        for agency in [a, b] {
            app.post(
                "/api/v1/tickets",
                &bureau,
                json!({"kind": "complaint", "category": "态度粗暴", "agency_id": agency,
                       "region_code": "320700", "channel": "supervisor",
                       "description": "执法人员检查时态度粗暴，未出示执法证件。"}),
            )
            .await
            .expect(201);
        }

        let survey = json!({"kind": "survey", "questionnaire": "enterprise_return_visit", "dimension": "overall"});
        let complaints = json!({"kind": "tickets", "metric": "complaints_per_100_cases"});
        let definition = json!({
            "root": {"key": "total", "name": "外部评价", "weights": {"method": "manual"}, "children": [
                {"key": "es", "name": "企业满意度", "weight": 0.6,
                 "indicator": {"source": survey, "direction": "benefit", "normalisation": {"method": "likert"}}},
                {"key": "cp", "name": "投诉率", "weight": 0.4,
                 "indicator": {"source": complaints, "direction": "cost",
                               "normalisation": {"method": "linear", "floor": 5, "target": 0}}},
            ]},
            "rules": [], "aggregation": "equal",
        });
        app.post(
            "/api/v1/index-models",
            &admin,
            json!({"key": "external", "name": "外部评价", "definition": definition}),
        )
        .await
        .expect(201);
        let list = app
            .get(&format!("/api/v1/scores?model=external&period={period}"), &bureau)
            .await
            .expect(200);
        let find = |id: i64| {
            list.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|i| i["agency_id"] == id)
                .expect("agency listed")
                .clone()
        };
        // A: survey 100·(4.5 − 1)/4 = 87.5; 1 complaint per 40 cases = 2.5 per 100,
        // halfway from 5 to 0 = 50; 0.6·87.5 + 0.4·50 = 72.5.
        close(&find(a)["score"], 72.5);
        // Its SE: the svymean SE of (100, 75) is 12.5, ×0.6; the Poisson SE of the rate,
        // 100·√1/40 = 2.5, ×20 (the slope 100/5) ×0.4.
        close(&find(a)["se"], (7.5_f64.powi(2) + 20.0_f64.powi(2)).sqrt());
        // B: survey 50; 10 per 100 is past the floor: 0. 0.6·50 = 30.
        close(&find(b)["score"], 30.0);
        // C: no answers, no complaints in 10 cases: the complaints indicator alone.
        close(&find(c)["score"], 100.0);
        assert_eq!(find(c)["missing"], json!(["es"]));
        // Two answers are fewer than the model's minimum: flagged, still scored.
        let flags = find(a)["flags"].clone();
        assert!(
            flags.as_array().expect("flags").contains(&json!("insufficient_sample:es")),
            "{flags}"
        );
        let breakdown = app
            .get(&format!("/api/v1/scores/agencies/{a}?model=external&period={period}"), &bureau)
            .await
            .expect(200);
        let es = breakdown.body["indicators"]
            .as_array()
            .expect("indicators")
            .iter()
            .find(|i| i["key"] == "es")
            .expect("es")
            .clone();
        close(&es["raw"], 4.5);
        close(&es["value"], 87.5);
        assert_eq!(es["n"], 2);
    })
    .await;
}
