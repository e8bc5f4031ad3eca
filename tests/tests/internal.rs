//! Internal assessment data: case-file reviews (graded by configurable thresholds,
//! upserted, CSV with a row report, atomic mode), reproducible review samples, the
//! three systems and training against its targets; scopes of each.

use pingjia_api::domain::Role;
use pingjia_tests::{Reply, TestApp, for_each_backend};
use poem::http::Method;
use serde_json::{Value, json};

async fn agencies_of(app: &TestApp, key: &str, region: &str) -> Vec<i64> {
    let page = app
        .get(
            &format!("/api/v1/agencies?region={region}&page_size=100"),
            key,
        )
        .await
        .expect(200);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["id"].as_i64())
        .collect()
}

async fn csv(app: &TestApp, path: &str, key: &str, text: &str) -> Reply {
    app.raw(
        Method::POST,
        path,
        &[
            ("Authorization", &format!("Bearer {key}")),
            ("Content-Type", "text/csv"),
        ],
        text.as_bytes().to_vec(),
    )
    .await
}

fn error_cells(report: &Value) -> Vec<(u64, String)> {
    let mut cells: Vec<(u64, String)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().expect("row"),
                e["column"].as_str().expect("column").to_owned(),
            )
        })
        .collect();
    cells.sort();
    cells
}

#[tokio::test]
async fn case_file_reviews_are_graded_upserted_and_reported_row_by_row() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320706"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let admin = app.admin().await;
        let mine = agencies_of(&app, &admin, "320706").await;
        let elsewhere = agencies_of(&app, &admin, "320707").await[0];
        let agency_key = app.key(Role::Agency, None, Some(mine[0])).await;
        let review = |agency: i64, number: &str, score: f64| {
            json!({"agency_id": agency, "case_number": number, "year": 2026, "score": score,
                   "reviewer": "市司法局评查组", "reviewed_on": "2026-11-02",
                   "items": [{"item": "证据是否充分", "deduction": 5, "note": "缺少现场照片"}]})
        };
        let batch = json!({"records": [
            review(mine[0], "海市监罚〔2026〕1号", 95.0),
            review(mine[0], "海市监罚〔2026〕2号", 72.5),
            review(mine[1], "海城管罚〔2026〕7号", 58.0),
            review(elsewhere, "灌罚〔2026〕1号", 80.0),
            review(mine[0], "海市监罚〔2026〕3号", 120.0),
        ]});
        app.post("/api/v1/file-reviews", &agency_key, batch.clone())
            .await
            .expect(403);
        let report = app
            .post("/api/v1/file-reviews", &bureau, batch.clone())
            .await
            .expect(200);
        assert_eq!(
            (report.body["rows"].clone(), report.body["stored"].clone()),
            (json!(5), json!(3))
        );
        assert_eq!(
            error_cells(&report.body),
            [(4, "agency_id".to_owned()), (5, "score".to_owned())]
        );
        // Again: the same three, updated in place.
        app.post("/api/v1/file-reviews", &bureau, batch)
            .await
            .expect(200);
        let list = app
            .get("/api/v1/file-reviews?year=2026", &bureau)
            .await
            .expect(200);
        let grades: Vec<(String, String)> = list
            .body
            .as_array()
            .expect("list")
            .iter()
            .map(|r| {
                (
                    r["case_number"].as_str().expect("n").to_owned(),
                    r["grade_label"].as_str().expect("g").to_owned(),
                )
            })
            .collect();
        assert_eq!(grades.len(), 3);
        assert!(grades.contains(&("海市监罚〔2026〕1号".into(), "优秀".into())));
        assert!(grades.contains(&("海市监罚〔2026〕2号".into(), "合格".into())));
        assert!(grades.contains(&("海城管罚〔2026〕7号".into(), "不合格".into())));
        // The agency sees its own reviews only.
        let own = app
            .get("/api/v1/file-reviews?year=2026", &agency_key)
            .await
            .expect(200);
        assert_eq!(own.body.as_array().expect("own").len(), 2);

        // Thresholds are configuration: at 70 / 50 the 58 passes (new reviews only).
        app.call(
            Method::PUT,
            "/api/v1/regions/320706/review-thresholds",
            Some(&bureau),
            Some(json!({"excellent": 50, "pass": 70})),
        )
        .await
        .expect(422);
        app.call(
            Method::PUT,
            "/api/v1/regions/320706/review-thresholds",
            Some(&bureau),
            Some(json!({"excellent": 70, "pass": 50})),
        )
        .await
        .expect(200);
        let t = app
            .get("/api/v1/regions/320706/review-thresholds", &evaluator)
            .await
            .expect(200);
        assert_eq!(t.body["source_region"], "320706");
        // A CSV from a third-party evaluator, atomic: one bad row stores nothing.
        let file = format!(
            "agency_id,case_number,year,score,reviewer,reviewed_on,items\n\
             {a},海城管罚〔2026〕8号,2026,58,第三方评查,2026-10-01,文书规范:2:未载明救济途径\n\
             {a},海城管罚〔2026〕9号,2026,abc,第三方评查,2026-10-01,\n\
             {a},,2026,80,第三方评查,2099-01-01,\n",
            a = mine[1]
        );
        let atomic = csv(
            &app,
            "/api/v1/file-reviews/imports?atomic=true",
            &evaluator,
            &file,
        )
        .await
        .expect(200);
        assert_eq!(atomic.body["stored"], 0);
        assert_eq!(
            error_cells(&atomic.body),
            [
                (2, "score".to_owned()),
                (3, "case_number".to_owned()),
                (3, "reviewed_on".to_owned())
            ]
        );
        let partial = csv(&app, "/api/v1/file-reviews/imports", &evaluator, &file)
            .await
            .expect(200);
        assert_eq!(partial.body["stored"], 1);
        let stored = app
            .get(
                &format!("/api/v1/file-reviews?year=2026&agency_id={}", mine[1]),
                &admin,
            )
            .await
            .expect(200);
        let new = stored
            .body
            .as_array()
            .expect("list")
            .iter()
            .find(|r| r["case_number"] == "海城管罚〔2026〕8号")
            .expect("imported")
            .clone();
        assert_eq!(
            new["grade"], "pass",
            "58 passes at the region's own thresholds"
        );
        assert_eq!(new["items"][0]["item"], "文书规范");
        assert_eq!(new["items"][0]["deduction"], 2.0);
    })
    .await;
}

#[tokio::test]
async fn review_samples_follow_the_rule_and_the_seed() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = agencies_of(&app, &bureau, "320706").await[0];
        let cases: Vec<Value> = (0..30)
            .map(|i| {
                json!({"agency_id": agency, "case_number": format!("样本〔2026〕{i:02}号"),
                       "kind": "penalty", "procedure": "general", "decision_date": "2026-03-15"})
            })
            .collect();
        app.post("/api/v1/cases", &bureau, json!({"cases": cases}))
            .await
            .expect(200);
        let draw = |seed: Option<&str>| {
            let (app, bureau) = (&app, &bureau);
            let body = json!({"agency_id": agency, "year": 2026, "seed": seed});
            async move {
                app.post("/api/v1/file-reviews/samples", bureau, body)
                    .await
                    .expect(201)
                    .body
            }
        };
        let a = draw(Some("20261124")).await;
        // 21–50 cases: 40%, rounded up: 12 of 30.
        assert_eq!(
            (a["population"].clone(), a["required"].clone()),
            (json!(30), json!(12))
        );
        let numbers = |s: &Value| -> Vec<String> {
            s["cases"]
                .as_array()
                .expect("cases")
                .iter()
                .filter_map(|c| c["case_number"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(numbers(&a).len(), 12);
        let expected: Vec<String> = pingjia_scoring::sampling::select(30, 12, 20261124)
            .expect("selection")
            .into_iter()
            .map(|i| format!("样本〔2026〕{i:02}号"))
            .collect();
        assert_eq!(numbers(&a), expected, "the library's seeded selection");
        assert_eq!(numbers(&draw(Some("20261124")).await), numbers(&a));
        assert_ne!(numbers(&draw(Some("7")).await), numbers(&a));
        let random = draw(None).await;
        assert!(
            random["seed"]
                .as_str()
                .expect("seed")
                .parse::<u64>()
                .is_ok()
        );
        // A year without cases samples nothing.
        let empty = app
            .post(
                "/api/v1/file-reviews/samples",
                &bureau,
                json!({"agency_id": agency, "year": 2025}),
            )
            .await
            .expect(201);
        assert_eq!(empty.body["required"], 0);
        app.post(
            "/api/v1/file-reviews/samples",
            &bureau,
            json!({"agency_id": agency, "year": 2026, "seed": "minus one"}),
        )
        .await
        .expect(422);
    })
    .await;
}

#[tokio::test]
async fn three_systems_and_training_are_stored_and_summarised() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let bureau = app.key(Role::Bureau, Some("320706"), None).await;
        let agency = agencies_of(&app, &bureau, "320706").await[0];
        let agency_key = app.key(Role::Agency, None, Some(agency)).await;

        let report = app
            .post(
                "/api/v1/three-systems",
                &bureau,
                json!({"records": [
                    {"agency_id": agency, "period": "2026-q3", "publicity": 92, "recording": 85.5, "legal_review": 100},
                    {"agency_id": agency, "period": "2026-Q5", "publicity": 92, "recording": 85, "legal_review": 100},
                    {"agency_id": agency, "period": "2026-Q4", "publicity": -1, "recording": 85, "legal_review": 100},
                ]}),
            )
            .await
            .expect(200);
        assert_eq!(report.body["stored"], 1);
        assert_eq!(
            error_cells(&report.body),
            [(2, "period".to_owned()), (3, "publicity".to_owned())]
        );
        let file = format!("agency_id,period,publicity,recording,legal_review,notes\n{agency},2026-Q3,90,88,100,复核后更正\n");
        csv(&app, "/api/v1/three-systems/imports", &bureau, &file)
            .await
            .expect(200);
        let q3 = app
            .get("/api/v1/three-systems?period=2026-Q3", &agency_key)
            .await
            .expect(200);
        let rows = q3.body.as_array().expect("rows");
        assert_eq!(rows.len(), 1, "upserted on agency + period");
        assert_eq!((rows[0]["publicity"].clone(), rows[0]["notes"].clone()), (json!(90.0), json!("复核后更正")));

        // Training: the agency's officers, by id and by badge number.
        let officers = app
            .get(&format!("/api/v1/officers?agency_id={agency}&page_size=100"), &admin)
            .await
            .expect(200);
        let officers: Vec<(i64, String)> = officers.body["items"]
            .as_array()
            .expect("officers")
            .iter()
            .map(|o| (o["id"].as_i64().expect("id"), o["badge_no"].as_str().expect("badge").to_owned()))
            .collect();
        assert!(officers.len() >= 3, "demo agencies have three officers");
        let records = json!({"records": [
            // Meets everything.
            {"officer_id": officers[0].0, "year": 2026, "total_hours": 72, "business_hours": 50, "discretion_hours": 12, "exam_passed": true},
            // Enough hours, too little business share, failed the exam.
            {"badge_no": officers[1].1, "year": 2026, "total_hours": 64, "business_hours": 30, "discretion_hours": 10, "exam_passed": false},
            // Bad: business exceeds total.
            {"officer_id": officers[2].0, "year": 2026, "total_hours": 20, "business_hours": 30, "discretion_hours": 0},
        ]});
        let report = app
            .post("/api/v1/training-records", &agency_key, records)
            .await
            .expect(200);
        assert_eq!(report.body["stored"], 2);
        assert_eq!(error_cells(&report.body), [(3, "business_hours".to_owned())]);
        let file = format!(
            "badge_no,year,total_hours,business_hours,discretion_hours,exam_passed\n{},2026,61,40,10,通过\nNOPE,2026,61,40,10,通过\n",
            officers[2].1
        );
        let imported = csv(&app, "/api/v1/training-records/imports", &agency_key, &file)
            .await
            .expect(200);
        assert_eq!(imported.body["stored"], 1);
        assert_eq!(error_cells(&imported.body), [(2, "officer_id".to_owned())]);

        let summary = app
            .get("/api/v1/training/summary?year=2026", &bureau)
            .await
            .expect(200);
        let row = summary
            .body
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["agency_id"] == agency)
            .expect("the agency")
            .clone();
        let n = officers.len() as u64;
        assert_eq!(row["officers"], n);
        assert_eq!(row["recorded"], 3);
        assert_eq!(row["met_hours"], 3);
        assert_eq!(row["met_business_share"], 2);
        assert_eq!(row["met_discretion"], 3);
        assert_eq!(row["completed"], 2);
        assert_eq!((row["examined"].clone(), row["passed"].clone()), (json!(3), json!(2)));
        let completion = row["completion_rate"].as_f64().expect("rate");
        assert!((completion - 2.0 / n as f64).abs() < 1e-12);
        let pass = row["pass_rate"].as_f64().expect("rate");
        assert!((pass - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(row["targets_met"], false);
        // An agency key sees its own row only.
        let own = app
            .get("/api/v1/training/summary?year=2026", &agency_key)
            .await
            .expect(200);
        assert_eq!(own.body.as_array().expect("rows").len(), 1);
    })
    .await;
}
