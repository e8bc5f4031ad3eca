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
