//! What an independent attack on the API broke, each finding reproduced and held:
//! imports bounded before and while they are read, sums that stay finite, index models
//! and calendars written by admins only, results cut to the caller's scope. Finding
//! numbers refer to the review's list.

use std::io::{Cursor, Read, Write};

use pingjia_api::domain::Role;
use pingjia_tests::fixtures::{agency_ids, builtin_questionnaire, open_campaign};
use pingjia_tests::{Reply, TestApp, for_each_backend};
use poem::http::Method;
use serde_json::json;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn upload(app: &TestApp, path: &str, key: &str, content_type: &str, body: Vec<u8>) -> Reply {
    app.raw(
        Method::POST,
        path,
        &[
            ("Authorization", &format!("Bearer {key}")),
            ("Content-Type", content_type),
        ],
        body,
    )
    .await
}

/// A workbook whose first sheet holds `cells` ((row, column, text), 0-based).
fn workbook(cells: &[(u32, u16, &str)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (row, col, text) in cells {
        sheet.write_string(*row, *col, *text).expect("cell");
    }
    book.save_to_buffer().expect("xlsx")
}

/// The same workbook with each part passed through `edit` (name, bytes), and the
/// extra parts added.
fn repack(
    xlsx: &[u8],
    edit: impl Fn(&str, Vec<u8>) -> Vec<u8>,
    extra: &[(&str, &[u8])],
) -> Vec<u8> {
    let mut input = zip::ZipArchive::new(Cursor::new(xlsx)).expect("zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..input.len() {
        let mut part = input.by_index(i).expect("part");
        let name = part.name().expect("part name").into_owned();
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes).expect("read part");
        out.start_file(name.as_str(), options).expect("start part");
        out.write_all(&edit(&name, bytes)).expect("write part");
    }
    for (name, bytes) in extra {
        out.start_file(*name, options).expect("start extra part");
        out.write_all(bytes).expect("write extra part");
    }
    out.finish().expect("finish zip").into_inner()
}

/// Finding 1: every import route checks the key's role before it reads the file, so a
/// key that may not import gets 403 however broken or large the file is.
#[tokio::test]
async fn imports_refuse_a_key_before_reading_its_file() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = app.key(Role::Agency, None, Some(6)).await;
        let channel = app.channel_key("telegram").await;
        let q = builtin_questionnaire(&app, &city, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &city, q, "invitation", "320700").await;
        let garbage = b"PK\x03\x04 this is no workbook".to_vec();
        for (path, key) in [
            (format!("/api/v1/campaigns/{campaign}/imports"), &agency),
            (format!("/api/v1/campaigns/{campaign}/imports"), &channel),
            ("/api/v1/tickets/imports/hotline".to_owned(), &agency),
            ("/api/v1/file-reviews/imports".to_owned(), &channel),
            ("/api/v1/three-systems/imports".to_owned(), &agency),
            ("/api/v1/training-records/imports".to_owned(), &channel),
        ] {
            upload(&app, &path, key, XLSX, garbage.clone())
                .await
                .expect_error(403, "forbidden");
        }
        // A bureau outside the campaign's region is refused before its file is read.
        let other = app.key(Role::Bureau, Some("320707"), None).await;
        let county_campaign = open_campaign(&app, &city, q, "invitation", "320706").await;
        upload(
            &app,
            &format!("/api/v1/campaigns/{county_campaign}/imports"),
            &other,
            XLSX,
            garbage,
        )
        .await
        .expect_error(403, "forbidden");
    })
    .await;
}

/// Finding 1: a sheet's declared dimension, the position of every cell, the length of
/// a cell and the workbook's unpacked size are bounded; each is refused with a clear
/// 413 or 422 and stores nothing.
#[tokio::test]
async fn workbooks_past_the_limits_are_refused_while_read() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let q = builtin_questionnaire(&app, &city, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &city, q, "invitation", "320700").await;
        let path = format!("/api/v1/campaigns/{campaign}/imports");

        // Two cells, A1 and XFD1048576: the declared dimension is refused.
        let far = workbook(&[(0, 0, "agency_id"), (1_048_575, 16_383, "x")]);
        assert!(far.len() < 10_000, "a small file: {} bytes", far.len());
        let reply = upload(&app, &path, &evaluator, XLSX, far.clone()).await;
        let reply = reply.expect_error(413, "payload_too_large");
        assert!(reply.text.contains("5000"), "{}", reply.text);

        // The same sheet declaring only A1: refused at the far cell.
        let lying = repack(
            &far,
            |name, bytes| {
                if name.starts_with("xl/worksheets/") {
                    let xml = String::from_utf8(bytes).expect("xml");
                    assert!(xml.contains("<dimension ref=\"A1:XFD1048576\"/>"), "{xml}");
                    xml.replace(
                        "<dimension ref=\"A1:XFD1048576\"/>",
                        "<dimension ref=\"A1\"/>",
                    )
                    .into_bytes()
                } else {
                    bytes
                }
            },
            &[],
        );
        upload(&app, &path, &evaluator, XLSX, lying)
            .await
            .expect_error(413, "payload_too_large");

        // Too wide: 101 columns in the first row.
        let header: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        let cells: Vec<(u32, u16, &str)> = header
            .iter()
            .enumerate()
            .map(|(i, h)| (0, i as u16, h.as_str()))
            .collect();
        upload(&app, &path, &evaluator, XLSX, workbook(&cells))
            .await
            .expect_error(413, "payload_too_large");

        // A zip bomb: a small upload unpacking to 40 MiB.
        let bomb = repack(
            &workbook(&[(0, 0, "agency_id")]),
            |_, bytes| bytes,
            &[("xl/media/padding.bin", &vec![0u8; 40 << 20])],
        );
        assert!(
            bomb.len() < 1 << 20,
            "fits the body limit: {} bytes",
            bomb.len()
        );
        upload(&app, &path, &evaluator, XLSX, bomb)
            .await
            .expect_error(413, "payload_too_large");

        // One cell longer than 4000 characters.
        let long = "长".repeat(4001);
        let reply = upload(
            &app,
            &path,
            &evaluator,
            XLSX,
            workbook(&[
                (0, 0, "agency_id"),
                (0, 1, "guidance"),
                (1, 0, "6"),
                (1, 1, &long),
            ]),
        )
        .await
        .expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["file"]);

        // Nothing of it was stored.
        let results = app
            .get(
                &format!("/api/v1/campaigns/{campaign}/results?by=dimension&min_n=1"),
                &city,
            )
            .await
            .expect(200);
        assert_eq!(
            results.body.as_array().map(Vec::len),
            Some(0),
            "{}",
            results.text
        );
    })
    .await;
}

/// Finding 6: a CSV import past 5,000 rows is refused as it is read, and a report lists
/// the first 100 errors and counts the rest; an array in a body is capped, and a 422
/// names the first 100 fields and counts them all.
#[tokio::test]
async fn imports_and_arrays_are_capped_and_reports_bounded() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let q = builtin_questionnaire(&app, &city, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &city, q, "invitation", "320700").await;
        let path = format!("/api/v1/campaigns/{campaign}/imports");

        let mut many = String::from("agency_id\n");
        for _ in 0..5001 {
            many.push_str("6\n");
        }
        let reply = upload(&app, &path, &evaluator, "text/csv", many.into_bytes())
            .await
            .expect_error(413, "payload_too_large");
        assert!(reply.text.len() < 1000, "a short answer: {}", reply.text);
        let hotline = "hotline_id,received_at,kind,category,region_code,description\n".to_owned()
            + &"x,2026-01-01 08:00,投诉,other,320706,一二三四五六七八九十\n".repeat(5001);
        upload(
            &app,
            "/api/v1/tickets/imports/hotline",
            &city,
            "text/csv",
            hotline.into_bytes(),
        )
        .await
        .expect_error(413, "payload_too_large");

        let mut bad = String::from("agency_id,attitude\n");
        for _ in 0..300 {
            bad.push_str("99999,abc\n");
        }
        let report = upload(&app, &path, &evaluator, "text/csv", bad.into_bytes())
            .await
            .expect(200);
        assert_eq!(report.body["error_count"], 600, "{}", report.text);
        assert_eq!(report.body["errors"].as_array().map(Vec::len), Some(100));
        assert_eq!(report.body["stored"], 0);

        let agencies = agency_ids(&app, &city).await;
        let officers: Vec<i64> = (0..140_000).collect();
        let reply = app
            .post(
                "/api/v1/cases",
                &city,
                json!({"cases": [{"agency_id": agencies[0], "case_number": "连执罚〔2026〕1号",
                    "kind": "penalty", "procedure": "general", "decision_date": "2026-11-01",
                    "officer_ids": officers}]}),
            )
            .await;
        assert!(
            reply.status.is_client_error(),
            "{} {}",
            reply.status,
            reply.text
        );
        assert!(
            reply.text.len() < 2000,
            "a short answer: {} bytes",
            reply.text.len()
        );

        let cases: Vec<_> = (0..1000)
            .map(|i| {
                json!({"agency_id": 99_999, "case_number": format!("x{i}"), "kind": "penalty",
                "procedure": "general", "decision_date": "2026-11-01"})
            })
            .collect();
        let reply = app
            .post("/api/v1/cases", &city, json!({ "cases": cases }))
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(reply.fields().len(), 100, "{}", &reply.text[..500]);
        assert_eq!(reply.body["details"]["field_count"], 1000);
        assert!(
            reply.text.len() < 20_000,
            "a bounded answer: {} bytes",
            reply.text.len()
        );
    })
    .await;
}

/// Finding 2: a design weight must be positive, finite and at most the configured
/// maximum; and should stored statistics ever hold a value that is not finite, the
/// index flags that agency's indicator instead of failing for everyone.
#[tokio::test]
async fn weights_are_bounded_and_one_bad_cell_never_fails_the_index() {
    for_each_backend(|app| async move {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

        let now = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 15, 4, 0, 0)
            .single()
            .expect("time");
        app.with_demo_activity(now).await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let q = builtin_questionnaire(&app, &city, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &city, q, "invitation", "320700").await;
        let path = format!("/api/v1/campaigns/{campaign}/imports");
        let csv = "agency_id,attitude,weight\n6,5,1e308\n6,5,1e308\n6,4,0\n6,4,-1\n6,4,20000\n6,4,inf\n";
        let report = upload(&app, &path, &evaluator, "text/csv", csv.as_bytes().to_vec())
            .await
            .expect(200);
        assert_eq!(report.body["stored"], 0, "{}", report.text);
        assert_eq!(report.body["error_count"], 6, "{}", report.text);
        assert!(
            report.body["errors"].as_array().expect("errors").iter().all(|e| e["column"] == "weight"),
            "{}",
            report.text
        );
        // Within the maximum: stored.
        let fine = upload(&app, &path, &evaluator, "text/csv", b"agency_id,attitude,credentials,rights,procedure,fairness,integrity,burden,guidance,overall,weight\n6,5,1,1,4,4,0,5,4,5,250.5\n".to_vec())
            .await
            .expect(200);
        assert_eq!(fine.body["stored"], 1, "{}", fine.text);

        // Stored cells that overflowed (as the review's two rows of 1e308 made them):
        // every cell of agency 8 in November.
        use pingjia_api::store::survey_stat::{Column, Entity};
        let broken = Entity::update_many()
            .col_expr(Column::Sw, sea_orm::sea_query::Expr::value(f64::INFINITY))
            .col_expr(Column::Sw2, sea_orm::sea_query::Expr::value(f64::INFINITY))
            .col_expr(Column::Swy, sea_orm::sea_query::Expr::value(f64::INFINITY))
            .col_expr(Column::Sw2y, sea_orm::sea_query::Expr::value(f64::INFINITY))
            .col_expr(Column::Sw2y2, sea_orm::sea_query::Expr::value(f64::INFINITY))
            .filter(Column::AgencyId.eq(8))
            .filter(Column::Month.eq("2026-11"))
            .exec(&app.db)
            .await
            .expect("plant the overflowed cells");
        assert!(broken.rows_affected > 0, "agency 8 has statistics in November");

        let ranking = app
            .get("/api/v1/scores/ranking?period=2026-Q4", &city)
            .await
            .expect(200);
        let items = ranking.body["items"].as_array().expect("items");
        assert_eq!(items.len(), 12, "{}", ranking.text);
        let eight = items.iter().find(|i| i["agency_id"] == 8).expect("agency 8");
        assert!(
            eight["flags"].as_array().expect("flags").iter().any(|f| f
                .as_str()
                .is_some_and(|f| f.starts_with("invalid_data:"))),
            "{eight}"
        );
        for i in items.iter().filter(|i| i["agency_id"] != 8) {
            assert!(i["score"].is_number(), "{i}");
            assert!(
                !i["flags"].to_string().contains("invalid_data"),
                "only agency 8 is flagged: {i}"
            );
        }
        for path in [
            "/api/v1/scores?period=2026-Q4",
            "/api/v1/scores/regions?period=2026-Q4",
            "/api/v1/scores/export?period=2026-Q4",
            "/api/v1/scores/trend?agency_id=8&period=2026-Q4",
            "/api/v1/scores/agencies/8?period=2026-Q4",
        ] {
            app.get(path, &city).await.expect(200);
        }
    })
    .await;
}

/// Finding 3: the index model and the holiday calendar are the whole deployment's, so
/// a bureau can neither redefine the model every agency is scored by nor replace a
/// year of holidays; an admin can.
#[tokio::test]
async fn only_admins_write_index_models_and_calendars() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let county = app.key(Role::Bureau, Some("320707"), None).await;
        let shipped = app.get("/api/v1/index-models/default", &county).await.expect(200);
        let body = json!({"key": "default", "name": "县里的模型", "definition": shipped.body["definition"]});
        app.post("/api/v1/index-models", &county, body.clone())
            .await
            .expect_error(403, "forbidden");
        let versions = app.get("/api/v1/index-models", &county).await.expect(200);
        assert_eq!(versions.body.as_array().map(Vec::len), Some(1), "{}", versions.text);
        app.post("/api/v1/index-models", &admin, body).await.expect(201);

        let before = app.get("/api/v1/calendar/2026", &county).await.expect(200);
        let put = |key: &str, query: &str, text: &str| {
            let (app, key, text) = (&app, key.to_owned(), text.to_owned());
            let path = format!("/api/v1/calendar/2026{query}");
            async move {
                app.raw(
                    Method::PUT,
                    &path,
                    &[("Authorization", &format!("Bearer {key}")), ("Content-Type", "text/csv")],
                    text.into_bytes(),
                )
                .await
            }
        };
        put(&county, "", "date,kind,name\n2026-01-01,holiday,元旦\n")
            .await
            .expect_error(403, "forbidden");
        assert_eq!(app.get("/api/v1/calendar/2026", &county).await.expect(200).body, before.body);

        // Finding 11: an empty, header-less or foreign body never wipes a year.
        let days = before.body["days"].as_array().map(Vec::len).expect("days");
        assert!(days > 20, "the shipped 2026 calendar: {}", before.text);
        for text in ["", "[]", "hello", "2026-01-01,holiday,元旦\n", "date,kind,name\n"] {
            let refused = put(&admin, "", text).await.expect_error(422, "validation_failed");
            assert!(!refused.fields().is_empty(), "{text:?}: {}", refused.text);
        }
        assert_eq!(app.get("/api/v1/calendar/2026", &county).await.expect(200).body, before.body);
        // Clearing a year is an explicit act.
        let cleared = put(&admin, "?empty=true", "date,kind,name\n").await.expect(200);
        assert_eq!(cleared.body["days"], json!([]));
    })
    .await;
}

/// Enterprise answers for the built-in questionnaire, one CSV row per agency id, with
/// `overall` as given and 120 seconds (or `fast` seconds) to answer.
fn answer_rows(rows: &[(i64, u8, bool)]) -> Vec<u8> {
    let mut csv = String::from(
        "agency_id,attitude,credentials,rights,procedure,fairness,integrity,burden,guidance,overall,duration_secs\n",
    );
    for (agency, overall, fast) in rows {
        let secs = if *fast { 1 } else { 120 };
        csv.push_str(&format!("{agency},4,1,1,4,4,0,5,4,{overall},{secs}\n"));
    }
    csv.into_bytes()
}

/// Findings 4 and 5: a county bureau reads a city-wide campaign's results about its own
/// agencies only; an agency key never sees a group of fewer than five respondents, in
/// results or scores, and cannot difference two overlapping groups.
#[tokio::test]
async fn results_are_cut_to_scope_and_small_groups_hidden_from_agencies() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let county = app.key(Role::Bureau, Some("320707"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let lone = app.key(Role::Agency, None, Some(6)).await;
        let six = app.key(Role::Agency, None, Some(8)).await;
        let q = builtin_questionnaire(&app, &city, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &city, q, "invitation", "320700").await;
        // Agency 1 (the city's) 3 answers, agency 6 (海州区) one, agency 8 (赣榆区) six,
        // one of them too fast (flagged).
        let mut rows = vec![(1, 5, false), (1, 4, false), (1, 3, false), (6, 3, false)];
        rows.extend([
            (8, 5, false),
            (8, 5, false),
            (8, 4, false),
            (8, 4, false),
            (8, 3, false),
            (8, 3, true),
        ]);
        let stored = upload(
            &app,
            &format!("/api/v1/campaigns/{campaign}/imports"),
            &evaluator,
            "text/csv",
            answer_rows(&rows),
        )
        .await
        .expect(200);
        assert_eq!(stored.body["stored"], 10, "{}", stored.text);
        let results = |key: &str, query: &str| {
            let (app, key) = (&app, key.to_owned());
            let path = format!("/api/v1/campaigns/{campaign}/results?{query}");
            async move { app.get(&path, &key).await.expect(200).body }
        };
        let groups = |body: &serde_json::Value| {
            let mut g: Vec<String> = body
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| r["group"].as_str().expect("group").to_owned())
                .collect();
            g.sort();
            g.dedup();
            g
        };
        let overall_n = |body: &serde_json::Value| {
            body.as_array()
                .expect("rows")
                .iter()
                .find(|r| r["dimension"] == "overall_index")
                .map(|r| r["n"].clone())
        };

        // Finding 4: the county bureau's view holds 赣榆区 only.
        assert_eq!(groups(&results(&county, "by=agency&min_n=1").await), ["8"]);
        assert_eq!(
            groups(&results(&county, "by=region&min_n=1").await),
            ["320707"]
        );
        assert_eq!(
            overall_n(&results(&county, "by=dimension&min_n=1").await),
            Some(json!(6))
        );
        assert_eq!(
            overall_n(&results(&city, "by=dimension&min_n=1").await),
            Some(json!(10))
        );
        assert_eq!(
            groups(&results(&city, "by=agency&min_n=1").await),
            ["1", "6", "8"]
        );

        // Finding 5: one respondent is not shown to its agency, whatever min_n asks.
        for by in ["agency", "region", "dimension"] {
            let body = results(&lone, &format!("by={by}&min_n=1")).await;
            assert_eq!(body, json!([]), "by={by}");
        }
        // Six respondents are; leaving the flagged one out gives the same group, so
        // two results never differ by one person's answers.
        let with = results(&six, "by=agency&min_n=1").await;
        assert_eq!(overall_n(&with), Some(json!(6)), "{with}");
        assert_eq!(
            results(&six, "by=agency&min_n=1&exclude_flagged=true").await,
            with
        );
        assert_eq!(
            results(&six, "by=dimension&min_n=1&exclude_flagged=true")
                .await
                .as_array()
                .map(Vec::len),
            with.as_array().map(Vec::len)
        );
        // The bureau does see the difference.
        let bureau_without = results(&county, "by=agency&min_n=1&exclude_flagged=true").await;
        assert_eq!(overall_n(&bureau_without), Some(json!(5)));

        // Scores: agency 6's enterprise indicator rests on one answer; its own key sees
        // neither that value nor the composite that would give it back.
        let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
        let period = {
            use chrono::Datelike;
            format!("{}-Q{}", today.year(), (today.month() - 1) / 3 + 1)
        };
        let mine = app
            .get(&format!("/api/v1/scores?period={period}"), &lone)
            .await
            .expect(200);
        let item = &mine.body["items"][0];
        assert_eq!(item["agency_id"], 6, "{}", mine.text);
        assert!(item["score"].is_null(), "{item}");
        assert!(
            item["flags"]
                .to_string()
                .contains("suppressed_small_sample"),
            "{item}"
        );
        let detail = app
            .get(&format!("/api/v1/scores/agencies/6?period={period}"), &lone)
            .await
            .expect(200);
        let enterprise = detail.body["indicators"]
            .as_array()
            .expect("indicators")
            .iter()
            .find(|i| i["key"] == "enterprise_satisfaction")
            .expect("the enterprise indicator")
            .clone();
        assert!(
            enterprise["value"].is_null() && enterprise["raw"].is_null(),
            "{enterprise}"
        );
        let export = app
            .get(
                &format!("/api/v1/scores/export?period={period}&format=csv"),
                &lone,
            )
            .await
            .expect(200);
        assert!(
            export.text.contains("suppressed_small_sample"),
            "{}",
            export.text
        );
        // The bureau sees agency 6's enterprise value.
        let bureau_view = app
            .get(&format!("/api/v1/scores/agencies/6?period={period}"), &city)
            .await
            .expect(200);
        let value = bureau_view.body["indicators"]
            .as_array()
            .expect("indicators")
            .iter()
            .find(|i| i["key"] == "enterprise_satisfaction")
            .map(|i| i["value"].clone());
        assert!(value.is_some_and(|v| v.is_number()), "{}", bureau_view.text);
    })
    .await;
}

/// Every cell of a CSV export.
fn csv_cells(text: &str) -> Vec<String> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .flat_map(|r| {
            r.expect("a CSV record")
                .iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Finding 7: text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)
/// leaves every CSV export with a leading `'`: answers, enterprise and agency names.
#[tokio::test]
async fn csv_exports_never_carry_live_formulas() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let agency_name = "=HYPERLINK(\"http://evil.example\",\"点击查看\")";
        app.patch("/api/v1/agencies/6", &admin, json!({"name": agency_name}))
            .await
            .expect(200);
        let enterprises = app.get("/api/v1/enterprises?page_size=1", &city).await.expect(200);
        let enterprise = &enterprises.body["items"][0];
        let uscc = enterprise["uscc"].as_str().expect("uscc").to_owned();
        let enterprise_name = "+cmd|' /C calc'!A0";
        app.patch(
            &format!("/api/v1/enterprises/{}", enterprise["id"]),
            &admin,
            json!({"name": enterprise_name}),
        )
        .await
        .expect(200);
        let today = chrono::Utc::now().date_naive();
        app.post(
            "/api/v1/cases",
            &city,
            json!({"cases": [{"agency_id": 6, "case_number": "连执罚〔2026〕77号", "kind": "inspection",
                "procedure": "general", "enterprise_uscc": uscc, "decision_date": today.to_string()}]}),
        )
        .await
        .expect(200);
        let q = builtin_questionnaire(&app, &city, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &city, q, "invitation", "320700").await;
        app.post(&format!("/api/v1/campaigns/{campaign}/invitations"), &city, json!({}))
            .await
            .expect(201);
        let answer = "agency_id,attitude,credentials,rights,procedure,fairness,integrity,burden,guidance,overall,suggestion\n\
                      6,4,1,1,4,4,0,5,4,4,@SUM(1+1)*cmd|' /C calc'!A0\n6,4,1,1,4,4,0,5,4,4,-2+3\n";
        upload(&app, &format!("/api/v1/campaigns/{campaign}/imports"), &evaluator, "text/csv", answer.as_bytes().to_vec())
            .await
            .expect(200);

        let today_quarter = {
            use chrono::Datelike;
            let d = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
            format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
        };
        for (path, wanted) in [
            (format!("/api/v1/campaigns/{campaign}/visits?format=csv"), vec![agency_name, enterprise_name]),
            (
                format!("/api/v1/campaigns/{campaign}/responses?format=csv"),
                vec![agency_name, "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3"],
            ),
            (format!("/api/v1/scores/export?period={today_quarter}&format=csv"), vec![agency_name]),
        ] {
            let export = app.get(&path, &city).await.expect(200);
            let cells = csv_cells(&export.text);
            for cell in &cells {
                assert!(
                    !cell.starts_with(['=', '+', '@', '\t', '\r'])
                        && (!cell.starts_with('-') || cell.parse::<f64>().is_ok()),
                    "{path}: a live formula {cell:?}"
                );
            }
            for text in wanted {
                assert!(cells.contains(&format!("'{text}")), "{path}: {text:?} quoted in {cells:?}");
            }
        }
    })
    .await;
}

/// Finding 8: a questionnaire belongs to the bureau that created it; another bureau
/// can neither edit nor publish its draft, and the built-ins are changed by admins
/// only (so no bureau's draft blocks the others).
#[tokio::test]
async fn only_a_questionnaires_owner_changes_it() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let ganyu = app.key(Role::Bureau, Some("320707"), None).await;
        let questions = json!([
            {"key": "attitude", "text": "执法人员态度如何？", "type": "likert5", "dimension": "attitude", "required": true}
        ]);
        let created = app
            .post(
                "/api/v1/questionnaires",
                &haizhou,
                json!({"key": "haizhou_survey", "title": "海州区专项调查", "audience": "citizen", "questions": questions}),
            )
            .await
            .expect(201);
        assert_eq!(created.body["owner_region"], "320706", "{}", created.text);
        let id = created.body["id"].as_i64().expect("id");
        let v1 = format!("/api/v1/questionnaires/{id}/versions/1");
        app.call(Method::PUT, &v1, Some(&ganyu), Some(json!({"questions": questions})))
            .await
            .expect_error(403, "forbidden");
        app.post(&format!("{v1}/publish"), &ganyu, json!({}))
            .await
            .expect_error(403, "forbidden");
        let draft = app.get(&v1, &admin).await.expect(200);
        assert_eq!(draft.body["status"], "draft", "unchanged: {}", draft.text);
        app.post(&format!("{v1}/publish"), &haizhou, json!({})).await.expect(200);
        app.post(&format!("/api/v1/questionnaires/{id}/versions"), &ganyu, json!({"questions": questions}))
            .await
            .expect_error(403, "forbidden");

        let builtin = builtin_questionnaire(&app, &ganyu, "citizen_satisfaction").await;
        let builtin_versions = format!("/api/v1/questionnaires/{builtin}/versions");
        for bureau in [&ganyu, &haizhou] {
            app.post(&builtin_versions, bureau, json!({"questions": questions}))
                .await
                .expect_error(403, "forbidden");
        }
        app.post(&builtin_versions, &admin, json!({"questions": questions}))
            .await
            .expect(201);
        app.post(&format!("/api/v1/questionnaires/{id}/versions"), &admin, json!({"questions": questions}))
            .await
            .expect(201);
    })
    .await;
}

/// A complaint about `agency` in `region`, as the tickets API takes it.
fn ticket_body(agency: i64, region: &str) -> serde_json::Value {
    json!({
        "kind": "complaint", "category": "态度粗暴", "agency_id": agency, "region_code": region,
        "description": "执法人员检查时态度粗暴，未出示执法证件。", "channel": "telegram",
    })
}

/// Finding 9: a ticket names an agency that serves its region (the region's own or one
/// above it), whoever files it (bureau, channel, hotline import), and an assignment
/// keeps to the same rule.
#[tokio::test]
async fn a_tickets_agency_serves_its_region() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let telegram = app.channel_key("telegram").await;
        // Agency 8 is 赣榆区's (320707): not for a ticket in 海州区 (320706).
        let refused = app
            .post("/api/v1/tickets", &haizhou, ticket_body(8, "320706"))
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(refused.fields(), ["agency_id"]);
        let mut through_channel = ticket_body(8, "320706");
        through_channel["user_id"] = json!("7001");
        app.post(
            "/api/v1/channel/tickets",
            &telegram,
            through_channel.clone(),
        )
        .await
        .expect_error(422, "validation_failed");
        // Nothing was filed for agency 8.
        let listed = app
            .get("/api/v1/tickets?page_size=100", &city)
            .await
            .expect(200);
        assert!(
            listed.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .all(|t| t["agency_id"] != 8),
            "{}",
            listed.text
        );
        // 海州区's own agency and a city agency serve 海州区.
        app.post("/api/v1/tickets", &haizhou, ticket_body(6, "320706"))
            .await
            .expect(201);
        let filed = app
            .post("/api/v1/tickets", &haizhou, ticket_body(1, "320706"))
            .await
            .expect(201);
        through_channel["agency_id"] = json!(6);
        app.post("/api/v1/channel/tickets", &telegram, through_channel)
            .await
            .expect(201);

        // The hotline import: the row is refused on agency_code.
        let agencies = app
            .get("/api/v1/agencies?page_size=100", &city)
            .await
            .expect(200);
        let code_of = |id: i64| {
            agencies.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .find(|a| a["id"] == id)
                .and_then(|a| a["code"].as_str())
                .expect("agency code")
                .to_owned()
        };
        let csv = format!(
            "hotline_id,received_at,kind,category,region_code,agency_code,description\n\
             12345-9001,2026-11-02 10:00,投诉,乱罚款,320706,{},春节前集中检查对商户重复罚款。\n",
            code_of(8)
        );
        let report = upload(
            &app,
            "/api/v1/tickets/imports/hotline",
            &city,
            "text/csv",
            csv.into_bytes(),
        )
        .await
        .expect(200);
        assert_eq!(report.body["created"], json!([]), "{}", report.text);
        assert_eq!(
            report.body["errors"][0]["column"], "agency_code",
            "{}",
            report.text
        );

        // Assigning to an agency of another county is refused too.
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        app.post(
            &format!("/api/v1/tickets/{id}/moves"),
            &city,
            json!({"action": "assign", "agency_id": 8}),
        )
        .await
        .expect_error(422, "validation_failed");
        app.post(
            &format!("/api/v1/tickets/{id}/moves"),
            &city,
            json!({"action": "assign", "agency_id": 6}),
        )
        .await
        .expect(200);
    })
    .await;
}

/// The body of the i-th of several parallel writes.
type BodyOf = Box<dyn Fn(usize) -> serde_json::Value + Send + Sync>;

/// Finding 10: sixteen parallel writers on each writable entity all succeed: a
/// read-then-write transaction waits for the write lock instead of failing with
/// `database is locked` (SQLite's busy snapshot) and answering 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_writers_never_answer_500() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let officer = app.get("/api/v1/officers?page_size=1", &admin).await.expect(200);
        let officer = officer.body["items"][0]["id"].as_i64().expect("an officer");
        let enterprise = app.get("/api/v1/enterprises?page_size=1", &admin).await.expect(200);
        let enterprise = enterprise.body["items"][0]["id"].as_i64().expect("an enterprise");
        let model = app.get("/api/v1/index-models/default", &admin).await.expect(200);
        let definition = model.body["definition"].clone();
        let writes: Vec<(Method, String, BodyOf)> = vec![
            (Method::PATCH, "/api/v1/agencies/6".into(), Box::new(|i| json!({"name": format!("海州区市场监督管理局{i}")}))),
            (Method::PATCH, "/api/v1/regions/320706".into(), Box::new(|i| json!({"name": format!("海州区{i}")}))),
            (Method::PATCH, format!("/api/v1/officers/{officer}"), Box::new(|i| json!({"name": format!("执法员{i}")}))),
            (Method::PATCH, format!("/api/v1/enterprises/{enterprise}"), Box::new(|i| json!({"name": format!("企业{i}")}))),
            (
                Method::POST,
                "/api/v1/index-models".into(),
                Box::new(move |i| json!({"key": "default", "name": format!("版本{i}"), "definition": definition})),
            ),
        ];
        for (method, path, body) in &writes {
            let replies = futures::future::join_all((0..16).map(|i| {
                app.call(method.clone(), path, Some(&admin), Some(body(i)))
            }))
            .await;
            for r in replies {
                assert!(r.status.is_success(), "{method} {path}: {} {}", r.status, r.text);
            }
        }
        let versions = app.get("/api/v1/index-models", &admin).await.expect(200);
        let mut numbers: Vec<i64> = versions
            .body
            .as_array()
            .expect("versions")
            .iter()
            .filter_map(|v| v["version"].as_i64())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=17).collect::<Vec<_>>(), "each write its own version");
    })
    .await;
}

/// How many channel users the database holds.
async fn channel_users(app: &TestApp) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    pingjia_api::store::channel_user::Entity::find()
        .count(&app.db)
        .await
        .expect("count")
}

/// Finding 17: a refused channel ticket, Open311 request or binding code leaves no
/// channel user behind.
#[tokio::test]
async fn a_refused_request_writes_nothing() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let telegram = app.channel_key("telegram").await;
        let web = app.channel_key("web").await;
        let mut body = ticket_body(6, "320706");
        body["user_id"] = json!("8801");
        body["latitude"] = json!(1e308);
        body["longitude"] = json!(119.2);
        app.post("/api/v1/channel/tickets", &telegram, body.clone())
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(channel_users(&app).await, 0);
        app.post("/api/v1/channel/bindings", &telegram, json!({"user_id": "8801", "code": "NOSUCHCODE"}))
            .await
            .expect_error(404, "not_found");
        assert_eq!(channel_users(&app).await, 0);
        let form = "service_code=other&jurisdiction_id=320706&description=%E5%A4%AA%E7%9F%AD&lat=34.6&long=119.2&account_id=web-8801";
        let reply = app
            .raw(
                Method::POST,
                &format!("/open311/v2/requests.json?api_key={web}"),
                &[("Content-Type", "application/x-www-form-urlencoded")],
                form.as_bytes().to_vec(),
            )
            .await;
        assert!(reply.status.is_client_error(), "{} {}", reply.status, reply.text);
        assert_eq!(channel_users(&app).await, 0);
        // The same ticket, valid, records its user.
        body["latitude"] = json!(34.6);
        app.post("/api/v1/channel/tickets", &telegram, body).await.expect(201);
        assert_eq!(channel_users(&app).await, 1);
    })
    .await;
}

/// Finding 18: dates outside reason, control characters and bidirectional overrides,
/// absurd deductions, non-strings for strings and a reused `Idempotency-Key` with
/// another body are all refused, on SQLite and PostgreSQL alike (PostgreSQL refuses
/// NUL in text: it must never reach it).
#[tokio::test]
async fn validation_gaps_are_closed() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let case = |number: &str, date: &str| {
            json!({"cases": [{"agency_id": 6, "case_number": number, "kind": "penalty",
                "procedure": "general", "decision_date": date}]})
        };
        for date in ["0001-01-01", "9999-12-31"] {
            let reply = app
                .post("/api/v1/cases", &city, case("连执罚〔2026〕5号", date))
                .await
                .expect_error(422, "validation_failed");
            assert_eq!(reply.fields(), ["cases[0].decision_date"], "{date}");
        }
        for number in ["连执罚\u{0}5号", "连执罚\u{202E}5号", "\u{1b}[31m连执罚5号"] {
            let reply = app
                .post("/api/v1/cases", &city, case(number, "2026-11-02"))
                .await
                .expect_error(422, "validation_failed");
            assert_eq!(reply.fields(), ["cases[0].case_number"], "{number:?}");
        }
        let mut ticket = ticket_body(6, "320706");
        ticket["description"] = json!("执法人员检查时态度粗暴\u{0}，未出示证件。");
        let reply = app.post("/api/v1/tickets", &city, ticket).await.expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["description"]);
        app.patch("/api/v1/agencies/6", &admin, json!({"name": "海州区\u{2066}市场监督管理局"}))
            .await
            .expect_error(422, "validation_failed");
        let search = app.get("/api/v1/agencies?q=%00", &city).await.expect_error(422, "validation_failed");
        assert_eq!(search.fields(), ["query.q"]);
        // A JSON boolean or number is not a string.
        for name in [json!(false), json!(12345)] {
            let reply = app.patch("/api/v1/agencies/6", &admin, json!({ "name": name })).await;
            assert!(reply.status.is_client_error(), "{name}: {} {}", reply.status, reply.text);
        }
        let agency = app.get("/api/v1/agencies/6", &admin).await.expect(200);
        assert_eq!(agency.body["name"], "海州区市场监督管理局");

        let review = json!({"records": [{"agency_id": 6, "case_number": "连执罚〔2026〕9号", "year": 2026,
            "score": 90, "reviewer": "评查组", "reviewed_on": "2026-11-01",
            "items": [{"item": "证据是否充分", "deduction": 1e300}]}]});
        let report = app.post("/api/v1/file-reviews", &city, review).await.expect(200);
        assert_eq!(report.body["stored"], 0, "{}", report.text);
        assert_eq!(report.body["errors"][0]["column"], "items", "{}", report.text);

        // An Idempotency-Key reused with another body.
        let q = builtin_questionnaire(&app, &city, "citizen_satisfaction").await;
        let campaign = open_campaign(&app, &city, q, "open", "320700").await;
        let answers = |overall: u8| {
            json!({"agency_id": 6, "answers": {"attitude": 4, "credentials": true, "rights": true,
                "procedure": 4, "fairness": 5, "integrity": false, "guidance": 3, "overall": overall}})
            .to_string()
            .into_bytes()
        };
        let post = |body: Vec<u8>| {
            let app = &app;
            let path = format!("/api/v1/public/campaigns/{campaign}/responses");
            async move {
                app.raw(
                    Method::POST,
                    &path,
                    &[("Content-Type", "application/json"), ("Idempotency-Key", "k-1")],
                    body,
                )
                .await
            }
        };
        let first = post(answers(4)).await.expect(201);
        let again = post(answers(4)).await.expect(201);
        assert_eq!(first.body["response_id"], again.body["response_id"]);
        let other = post(answers(5)).await.expect_error(422, "validation_failed");
        assert_eq!(other.fields(), ["Idempotency-Key"]);
        // A text answer with a control character is refused by the answer route too.
        let invitation_like = app
            .raw(
                Method::POST,
                &format!("/api/v1/public/campaigns/{campaign}/responses"),
                &[("Content-Type", "application/json")],
                json!({"agency_id": 6, "answers": {"attitude": 4, "credentials": true, "rights": true,
                    "procedure": 4, "fairness": 5, "integrity": false, "guidance": 3, "overall": 4,
                    "suggestion": "好\u{0}"}})
                .to_string()
                .into_bytes(),
            )
            .await;
        invitation_like.expect_error(422, "validation_failed");
    })
    .await;
}

/// Finding 13: failed key checks are counted per address atomically: of 100
/// concurrent wrong keys exactly the limit are checked (401) and the rest refused
/// (429); a valid key from that address still works; every secured operation
/// documents its 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_keys_are_counted_atomically_and_never_lock_out_a_valid_key() {
    let configure = |c: &mut pingjia_api::config::Config| {
        c.auth_failures_per_window = 20;
        c.auth_failure_window_secs = 86_400;
    };
    pingjia_tests::for_each_backend_with(configure, |app| async move {
        let admin = app.admin().await;
        let wrong: Vec<String> = (0..100).map(|i| format!("pj_wrong{i}")).collect();
        let replies =
            futures::future::join_all(wrong.iter().map(|k| app.get("/api/v1/agencies", k))).await;
        let unauthorized = replies.iter().filter(|r| r.status == 401).count();
        let limited = replies.iter().filter(|r| r.status == 429).count();
        assert_eq!((unauthorized, limited), (20, 80));
        app.get("/api/v1/agencies", &admin).await.expect(200);

        let spec: serde_json::Value =
            serde_json::from_str(&pingjia_api::http::openapi_service().spec()).expect("spec");
        for (path, item) in spec["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operations") {
                if op
                    .get("security")
                    .is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()))
                {
                    assert!(
                        op["responses"].get("429").is_some(),
                        "{method} {path} documents 429"
                    );
                }
            }
        }
    })
    .await;
}

/// Finding 12: only the handling bureau (the ticket's region's, and the one it was
/// escalated to) sees a reporter's name and phone; admins and the bureaus above see
/// them masked until they ask to reveal them, which the audit trail records; an
/// agency never does.
#[tokio::test]
async fn contact_data_is_open_to_the_handling_bureau_and_revealed_on_record() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let agency = app.key(Role::Agency, None, Some(6)).await;
        let mut body = ticket_body(6, "320706");
        body["reporter"] = json!({"name": "张三", "phone": "138-1234-1234"});
        let filed = app
            .post("/api/v1/tickets", &haizhou, body)
            .await
            .expect(201);
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        let phone = |key: &str, query: &str| {
            let (app, key) = (&app, key.to_owned());
            let path = format!("/api/v1/tickets/{id}{query}");
            async move {
                app.get(&path, &key).await.expect(200).body["ticket"]["reporter_phone"].clone()
            }
        };
        assert_eq!(phone(&haizhou, "").await, "13812341234");
        assert_eq!(phone(&city, "").await, "138****1234");
        assert_eq!(phone(&admin, "").await, "138****1234");
        assert_eq!(phone(&agency, "").await, "138****1234");
        let audit = |key: &str| {
            let (app, key) = (&app, key.to_owned());
            async move {
                app.get("/api/v1/audit?action=ticket.contact.reveal", &key)
                    .await
                    .expect(200)
                    .body["items"]
                    .as_array()
                    .map(Vec::len)
            }
        };
        assert_eq!(audit(&admin).await, Some(0));
        assert_eq!(phone(&admin, "?reveal=true").await, "13812341234");
        assert_eq!(phone(&city, "?reveal=true").await, "13812341234");
        assert_eq!(audit(&admin).await, Some(2), "each reveal is on record");
        assert_eq!(
            audit(&haizhou).await,
            Some(2),
            "and visible to the handling bureau"
        );
        app.get(&format!("/api/v1/tickets/{id}?reveal=true"), &agency)
            .await
            .expect_error(403, "forbidden");
    })
    .await;
}

/// Finding 16: one rule everywhere: an out-of-scope read answers 404, an
/// out-of-scope write 403.
#[tokio::test]
async fn out_of_scope_writes_are_403_and_reads_404() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let ganyu = app.key(Role::Bureau, Some("320707"), None).await;
        let telegram = app.channel_key("telegram").await;
        let q = builtin_questionnaire(&app, &haizhou, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &haizhou, q, "invitation", "320706").await;
        let point = app
            .post(
                "/api/v1/contact-points",
                &haizhou,
                json!({"name": "海州区个体劳动者协会", "kind": "association", "region_code": "320706"}),
            )
            .await
            .expect(201);
        let point = point.body["id"].as_i64().expect("id");
        let mut through_channel = ticket_body(6, "320706");
        through_channel["user_id"] = json!("5151");
        let ticket = app.post("/api/v1/channel/tickets", &telegram, through_channel).await.expect(201);
        let ticket = ticket.body["ticket"]["id"].as_i64().expect("id");

        // Writes about 海州区 by 赣榆区's bureau: 403.
        for (method, path, body) in [
            (Method::POST, format!("/api/v1/campaigns/{campaign}/invitations"), json!({})),
            (Method::POST, format!("/api/v1/campaigns/{campaign}/status"), json!({"status": "closed"})),
            (Method::PATCH, format!("/api/v1/contact-points/{point}"), json!({"name": "改名"})),
            (Method::POST, format!("/api/v1/contact-points/{point}/binding-codes"), json!({})),
            (Method::POST, format!("/api/v1/tickets/{ticket}/moves"), json!({"action": "assign"})),
            (
                Method::POST,
                format!("/api/v1/tickets/{ticket}/survey-invitation"),
                json!({"campaign_id": campaign}),
            ),
        ] {
            app.call(method.clone(), &path, Some(&ganyu), Some(body))
                .await
                .expect_error(403, "forbidden");
        }
        // Reads: 404.
        for path in [
            format!("/api/v1/contact-points/{point}"),
            format!("/api/v1/tickets/{ticket}"),
            "/api/v1/scores?period=2026-Q4&region=320706".to_owned(),
        ] {
            app.get(&path, &ganyu).await.expect_error(404, "not_found");
        }
        // And what does not exist is 404 for writes too.
        app.post("/api/v1/tickets/999999/moves", &ganyu, json!({"action": "assign"}))
            .await
            .expect_error(404, "not_found");
    })
    .await;
}

/// A path and the status a role gets for it.
type Expected = (String, u16);

/// Finding 15: the README's role table, row by row: what each role reads (200) and
/// what it may not (403 for a role, 404 for what it may not know of).
#[tokio::test]
async fn the_role_table_is_what_the_api_does() {
    let configure = |c: &mut pingjia_api::config::Config| {
        c.metrics_token = Some("scrape-7c1d".to_owned().into());
    };
    pingjia_tests::for_each_backend_with(configure, |app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let ganyu = app.key(Role::Bureau, Some("320707"), None).await;
        let agency = app.key(Role::Agency, None, Some(6)).await;
        let channel = app.channel_key("telegram").await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let q = builtin_questionnaire(&app, &city, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &city, q, "invitation", "320700").await;
        let draft = app
            .post(
                "/api/v1/questionnaires",
                &haizhou,
                json!({"key": "haizhou_draft", "title": "海州区草稿", "audience": "citizen", "questions": [
                    {"key": "attitude", "text": "执法人员态度如何？", "type": "likert5", "dimension": "attitude", "required": true}]}),
            )
            .await
            .expect(201);
        let draft = draft.body["id"].as_i64().expect("id");
        let period = "2026-Q4";
        let table: Vec<(&str, &String, Vec<Expected>)> = vec![
            ("admin", &admin, vec![
                ("/api/v1/index-models".into(), 200),
                ("/api/v1/tickets".into(), 200),
                ("/api/v1/audit".into(), 200),
                (format!("/api/v1/questionnaires/{draft}"), 200),
            ]),
            ("bureau", &haizhou, vec![
                ("/api/v1/campaigns".into(), 200),
                (format!("/api/v1/campaigns/{campaign}/results?by=agency"), 200),
                (format!("/api/v1/campaigns/{campaign}/visits"), 200),
                ("/api/v1/index-models".into(), 200),
                (format!("/api/v1/scores?period={period}"), 200),
                ("/api/v1/audit".into(), 200),
                ("/api/v1/tickets".into(), 200),
                (format!("/api/v1/questionnaires/{draft}"), 200),
                (format!("/api/v1/questionnaires/{draft}/versions/1"), 200),
            ]),
            ("another bureau", &ganyu, vec![
                (format!("/api/v1/questionnaires/{draft}"), 404),
                (format!("/api/v1/questionnaires/{draft}/versions/1"), 404),
            ]),
            ("agency", &agency, vec![
                ("/api/v1/index-models".into(), 200),
                (format!("/api/v1/scores?period={period}"), 200),
                ("/api/v1/tickets".into(), 200),
                ("/api/v1/enterprises".into(), 200),
                ("/api/v1/audit".into(), 403),
                (format!("/api/v1/campaigns/{campaign}/responses"), 403),
                (format!("/api/v1/questionnaires/{draft}"), 404),
            ]),
            ("channel", &channel, vec![
                ("/api/v1/regions".into(), 200),
                ("/api/v1/agencies".into(), 200),
                ("/api/v1/ticket-categories".into(), 200),
                ("/api/v1/questionnaires".into(), 200),
                ("/api/v1/campaigns".into(), 403),
                (format!("/api/v1/campaigns/{campaign}"), 403),
                (format!("/api/v1/campaigns/{campaign}/results"), 403),
                ("/api/v1/index-models".into(), 403),
                ("/api/v1/index-models/default".into(), 403),
                (format!("/api/v1/scores?period={period}"), 403),
                ("/api/v1/tickets".into(), 403),
                ("/api/v1/audit".into(), 403),
                (format!("/api/v1/questionnaires/{draft}/versions/1"), 404),
            ]),
            ("evaluator", &evaluator, vec![
                ("/api/v1/regions".into(), 200),
                ("/api/v1/agencies".into(), 200),
                ("/api/v1/enterprises".into(), 200),
                ("/api/v1/campaigns".into(), 200),
                (format!("/api/v1/campaigns/{campaign}/results?by=agency"), 200),
                (format!("/api/v1/campaigns/{campaign}/visits"), 200),
                (format!("/api/v1/campaigns/{campaign}/responses"), 200),
                ("/api/v1/index-models".into(), 403),
                (format!("/api/v1/scores?period={period}"), 403),
                ("/api/v1/tickets".into(), 403),
                ("/api/v1/audit".into(), 403),
                (format!("/api/v1/questionnaires/{draft}"), 404),
            ]),
        ];
        for (role, key, rows) in &table {
            for (path, status) in rows {
                let reply = app.get(path, key).await;
                assert_eq!(reply.status.as_u16(), *status, "{role} GET {path}: {}", reply.text);
            }
        }
        // The draft is listed to its owner only.
        let listed = |key: &str| {
            let (app, key) = (&app, key.to_owned());
            async move {
                app.get("/api/v1/questionnaires", &key).await.expect(200).body
                    .as_array()
                    .expect("list")
                    .iter()
                    .any(|q| q["id"] == draft)
            }
        };
        assert!(listed(&haizhou).await && listed(&admin).await);
        assert!(!listed(&ganyu).await && !listed(&channel).await && !listed(&evaluator).await);

        // /metrics asks for its token.
        app.call(Method::GET, "/metrics", None, None).await.expect_error(401, "unauthorized");
        let scraped = app
            .raw(Method::GET, "/metrics", &[("Authorization", "Bearer scrape-7c1d")], Vec::new())
            .await
            .expect(200);
        assert!(scraped.text.contains("pingjia_http_requests_total") || scraped.text.contains("# TYPE"), "{}", &scraped.text[..200.min(scraped.text.len())]);
    })
    .await;
}

/// Finding 29 (the API's part): a reporter who rated the reply in chat reads 已评价
/// with the rating, not 已回访 (nobody visited); and a reporter, a citizen, is never
/// invited to the enterprise questionnaire.
#[tokio::test]
async fn reporters_read_their_rating_and_get_only_citizen_surveys() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let telegram = app.channel_key("telegram").await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let agency = app.key(Role::Agency, None, Some(6)).await;
        let mut body = ticket_body(6, "320706");
        body["user_id"] = json!("9901");
        let filed = app
            .post("/api/v1/channel/tickets", &telegram, body)
            .await
            .expect(201);
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        let number = filed.body["ticket"]["number"]
            .as_str()
            .expect("number")
            .to_owned();
        for (key, m) in [
            (&haizhou, json!({"action": "assign"})),
            (&agency, json!({"action": "start"})),
            (
                &agency,
                json!({"action": "reply", "note": "已核实并整改。", "finding": "partly"}),
            ),
        ] {
            app.post(&format!("/api/v1/tickets/{id}/moves"), key, m)
                .await
                .expect(200);
        }
        app.post(
            &format!("/api/v1/channel/tickets/{number}/rating"),
            &telegram,
            json!({"user_id": "9901", "rating": "满意"}),
        )
        .await
        .expect(200);
        let own = app
            .get("/api/v1/channel/tickets?user_id=9901", &telegram)
            .await
            .expect(200);
        assert_eq!(
            own.body["items"][0]["state"], "return_visited",
            "{}",
            own.text
        );
        assert_eq!(own.body["items"][0]["state_label"], "已评价（满意）");

        let enterprise = builtin_questionnaire(&app, &haizhou, "enterprise_return_visit").await;
        let campaign = open_campaign(&app, &haizhou, enterprise, "invitation", "320706").await;
        let refused = app
            .post(
                &format!("/api/v1/tickets/{id}/survey-invitation"),
                &haizhou,
                json!({"campaign_id": campaign}),
            )
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(refused.fields(), ["campaign_id"]);
    })
    .await;
}

/// Finding 23 (the API's part): the short names people type find the agencies'
/// official names (`市场监管` → …市场监督管理局).
#[tokio::test]
async fn agencies_are_found_by_their_short_names() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let names = |q: &'static str| {
            let (app, city) = (&app, city.clone());
            async move {
                app.get(&format!("/api/v1/agencies?q={q}&page_size=100"), &city)
                    .await
                    .expect(200)
                    .body["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|a| a["name"].as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            }
        };
        let market = names("%E5%B8%82%E5%9C%BA%E7%9B%91%E7%AE%A1").await; // 市场监管
        assert!(
            market.contains(&"海州区市场监督管理局".to_owned()),
            "{market:?}"
        );
        assert_eq!(market.len(), 3, "the three market regulators: {market:?}");
        let urban = names("%E5%9F%8E%E7%AE%A1").await; // 城管
        assert_eq!(urban, ["海州区城市管理局"]);
    })
    .await;
}

/// Found by schemathesis (finding 20): a page number whose offset overflows is a 422,
/// never a 500, on every list.
#[tokio::test]
async fn a_page_past_any_list_is_refused() {
    for_each_backend(|app| async move {
        let admin = app.admin().await;
        for path in ["/api/v1/audit", "/api/v1/agencies", "/api/v1/tickets"] {
            let reply = app
                .get(&format!("{path}?page=9223372036854775806"), &admin)
                .await
                .expect_error(422, "validation_failed");
            assert_eq!(reply.fields(), ["page"], "{path}");
        }
        app.get("/api/v1/agencies?page=1000000", &admin)
            .await
            .expect(200);
    })
    .await;
}

/// Finding 12, escalated: a ticket escalated to the city bureau (two 不满意) opens its
/// contact data to that bureau, which saw it masked before.
#[tokio::test]
async fn the_bureau_a_ticket_is_escalated_to_sees_its_contact_data() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let telegram = app.channel_key("telegram").await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let agency = app.key(Role::Agency, None, Some(6)).await;
        let mut body = ticket_body(6, "320706");
        body["user_id"] = json!("9911");
        body["reporter"] = json!({"name": "李四", "phone": "139-0000-1111"});
        let filed = app
            .post("/api/v1/channel/tickets", &telegram, body)
            .await
            .expect(201);
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        let number = filed.body["ticket"]["number"]
            .as_str()
            .expect("number")
            .to_owned();
        let phone = |key: &str| {
            let (app, key) = (&app, key.to_owned());
            async move {
                app.get(&format!("/api/v1/tickets/{id}"), &key)
                    .await
                    .expect(200)
                    .body["ticket"]
                    .clone()
            }
        };
        let mv = |key: &str, m: serde_json::Value| {
            let (app, key) = (&app, key.to_owned());
            async move {
                app.post(&format!("/api/v1/tickets/{id}/moves"), &key, m)
                    .await
                    .expect(200)
            }
        };
        mv(&haizhou, json!({"action": "assign"})).await;
        for round in 1..=2 {
            mv(&agency, json!({"action": "start"})).await;
            mv(
                &agency,
                json!({"action": "reply", "note": "已核实。", "finding": "unfounded"}),
            )
            .await;
            app.post(
                &format!("/api/v1/channel/tickets/{number}/rating"),
                &telegram,
                json!({"user_id": "9911", "rating": "不满意", "note": "没有解决问题"}),
            )
            .await
            .expect(200);
            let seen = phone(&city).await;
            assert_eq!(seen["level"], round, "{seen}");
            let expected = if round == 2 {
                "13900001111"
            } else {
                "139****1111"
            };
            assert_eq!(seen["reporter_phone"], expected, "round {round}: {seen}");
        }
        assert_eq!(phone(&city).await["escalated_to"], "320700");
    })
    .await;
}
