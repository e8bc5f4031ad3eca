//! Tickets through channels: a channel user's tickets, ratings and notifications
//! (outbox with cursor and acknowledgement, redelivery of what was not acknowledged);
//! contact points with one-time binding codes and liaisons; per-region deadlines,
//! categories and calendars as configuration.

use pingjia_api::domain::Role;
use pingjia_tests::{TestApp, for_each_backend};
use poem::http::Method;
use serde_json::{Value, json};

async fn first_agency(app: &TestApp, key: &str) -> i64 {
    let page = app
        .get("/api/v1/agencies?region=320706&page_size=1", key)
        .await
        .expect(200);
    page.body["items"][0]["id"].as_i64().expect("agency id")
}

fn channel_complaint(user: &str, region: &str) -> Value {
    json!({
        "user_id": user,
        "kind": "complaint",
        "category": "乱罚款",
        "region_code": region,
        "description": "城管执法人员对流动摊贩当场罚款且未开具票据。",
        "reporter": {"name": "李四", "phone": "13900001111"},
    })
}

async fn mv(app: &TestApp, key: &str, id: i64, body: Value) -> pingjia_tests::Reply {
    app.post(&format!("/api/v1/tickets/{id}/moves"), key, body)
        .await
}

fn at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    serde_json::from_value(v.clone()).expect("an RFC 3339 time")
}

async fn outbox(app: &TestApp, key: &str, after: i64) -> (Vec<Value>, i64) {
    let batch = app
        .get(&format!("/api/v1/channel/outbox?after={after}"), key)
        .await
        .expect(200);
    (
        batch.body["items"].as_array().expect("items").clone(),
        batch.body["cursor"].as_i64().expect("cursor"),
    )
}

#[tokio::test]
async fn a_channel_user_files_is_notified_rates_and_nothing_is_lost() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let telegram = app.channel_key("telegram").await;
        let web = app.channel_key("web").await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let agency_key = app.key(Role::Agency, None, Some(agency)).await;

        // Only channel keys act for channel users; the user id is checked.
        app.post(
            "/api/v1/channel/tickets",
            &bureau,
            channel_complaint("1001", "320706"),
        )
        .await
        .expect(403);
        let bad = app
            .post(
                "/api/v1/channel/tickets",
                &telegram,
                channel_complaint("", "320706"),
            )
            .await
            .expect(422);
        assert!(bad.fields().contains(&"user_id".to_owned()));

        let filed = app
            .post(
                "/api/v1/channel/tickets",
                &telegram,
                channel_complaint("7300451928", "320706"),
            )
            .await
            .expect(201);
        let t = &filed.body["ticket"];
        assert_eq!(t["channel"], "telegram");
        let id = t["id"].as_i64().expect("id");
        let number = t["number"].as_str().expect("number").to_owned();

        // The user's own list; another user and another channel see nothing of it.
        let own = app
            .get("/api/v1/channel/tickets?user_id=7300451928", &telegram)
            .await
            .expect(200);
        assert_eq!(own.body["total"], 1);
        assert_eq!(own.body["items"][0]["number"], number.as_str());
        assert!(own.body["items"][0].get("reporter_phone").is_none());
        for (key, user) in [(&telegram, "1002"), (&web, "7300451928")] {
            let other = app
                .get(&format!("/api/v1/channel/tickets?user_id={user}"), key)
                .await
                .expect(200);
            assert_eq!(other.body["total"], 0);
        }

        // The user id is stored only as a pseudonym and a sealed copy.
        use sea_orm::EntityTrait;
        let users = pingjia_api::store::channel_user::Entity::find()
            .all(&app.db)
            .await
            .expect("users");
        assert_eq!(users.len(), 1);
        assert!(!users[0].user_hash.contains("7300451928") && !users[0].user_sealed.contains("7300451928"));

        // Handling queues notifications; filing itself does not.
        assert!(outbox(&app, &telegram, 0).await.0.is_empty());
        mv(&app, &bureau, id, json!({"action": "assign", "agency_id": agency}))
            .await
            .expect(200);
        mv(&app, &agency_key, id, json!({"action": "start"}))
            .await
            .expect(200);
        mv(
            &app,
            &agency_key,
            id,
            json!({"action": "reply", "note": "经核实，已责令退还罚款。", "finding": "substantiated"}),
        )
        .await
        .expect(200);
        let (items, cursor) = outbox(&app, &telegram, 0).await;
        let kinds: Vec<&str> = items.iter().filter_map(|i| i["kind"].as_str()).collect();
        assert_eq!(kinds, ["status_change", "status_change", "rating_request"]);
        assert!(items.iter().all(|i| i["user_id"] == "7300451928"));
        assert_eq!(items[0]["payload"]["state_label"], "已转办");
        let request = &items[2]["payload"];
        assert_eq!(request["number"], number.as_str());
        assert!(
            request["text"]
                .as_str()
                .expect("text")
                .contains("经核实，已责令退还罚款。")
        );
        assert_eq!(request["ratings"], json!(["满意", "基本满意", "不满意"]));
        assert_eq!(cursor, items[2]["id"].as_i64().expect("id"));
        // Another channel's outbox holds none of it.
        assert!(outbox(&app, &web, 0).await.0.is_empty());

        // Acknowledge the first two; reading from the cursor gives nothing new, and a
        // fresh read from 0 (a restarted bot) redelivers only the unacknowledged one.
        let ids: Vec<i64> = items[..2].iter().filter_map(|i| i["id"].as_i64()).collect();
        let acked = app
            .post("/api/v1/channel/outbox/ack", &telegram, json!({"ids": ids}))
            .await
            .expect(200);
        assert_eq!(acked.body["acknowledged"], 2);
        let again = app
            .post("/api/v1/channel/outbox/ack", &telegram, json!({"ids": ids}))
            .await
            .expect(200);
        assert_eq!(again.body["acknowledged"], 0);
        let ignored = app
            .post(
                "/api/v1/channel/outbox/ack",
                &web,
                json!({"ids": [items[2]["id"]]}),
            )
            .await
            .expect(200);
        assert_eq!(ignored.body["acknowledged"], 0, "not web's notification");
        assert!(outbox(&app, &telegram, cursor).await.0.is_empty());
        let (redelivered, _) = outbox(&app, &telegram, 0).await;
        assert_eq!(redelivered.len(), 1);
        assert_eq!(redelivered[0]["kind"], "rating_request");

        // Only the reporter rates through the channel: another user gets 404.
        let rate = |user: &str, rating: &str| {
            let (app, telegram, number) = (&app, &telegram, &number);
            let body = json!({"user_id": user, "rating": rating});
            async move {
                app.post(
                    &format!("/api/v1/channel/tickets/{number}/rating"),
                    telegram,
                    body,
                )
                .await
            }
        };
        rate("1002", "满意").await.expect(404);
        rate("7300451928", "很好").await.expect(422);
        // 不满意 reopens one level up, to the county bureau over the ticket.
        let reopened = rate("7300451928", "不满意").await.expect(200);
        assert_eq!(reopened.body["state"], "assigned");
        let t = app
            .get(&format!("/api/v1/tickets/{id}"), &bureau)
            .await
            .expect(200);
        assert_eq!(t.body["ticket"]["level"], 1);
        assert_eq!(t.body["ticket"]["escalated_to"], "320706");
        assert_eq!(t.body["ticket"]["rating"], "不满意");
        let actors: Vec<&str> = t.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["actor"].as_str())
            .collect();
        assert!(actors.last().expect("event").starts_with("reporter via key:"));
        // The reporter is not notified of their own rating.
        assert_eq!(outbox(&app, &telegram, cursor).await.0.len(), 0);

        // Handled again and rated 满意: return-visited; the rating request of the
        // second reply was queued, and rating twice is refused.
        mv(&app, &agency_key, id, json!({"action": "start"}))
            .await
            .expect(200);
        mv(
            &app,
            &agency_key,
            id,
            json!({"action": "reply", "note": "罚款已退还，当事人已确认。", "finding": "substantiated"}),
        )
        .await
        .expect(200);
        let (later, _) = outbox(&app, &telegram, cursor).await;
        assert_eq!(
            later.iter().filter_map(|i| i["kind"].as_str()).collect::<Vec<_>>(),
            ["status_change", "rating_request"]
        );
        let done = rate("7300451928", "满意").await.expect(200);
        assert_eq!(done.body["state"], "return_visited");
        assert_eq!(done.body["awaiting_rating"], false);
        rate("7300451928", "满意").await.expect_error(409, "illegal_transition");
    })
    .await;
}

#[tokio::test]
async fn liaisons_bind_with_one_time_codes_and_tag_their_tickets() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let telegram = app.channel_key("telegram").await;
        let bureau = app.key(Role::Bureau, Some("320706"), None).await;
        let other_bureau = app.key(Role::Bureau, Some("320707"), None).await;

        let bad = app
            .post(
                "/api/v1/contact-points",
                &bureau,
                json!({"name": "", "kind": "club", "region_code": "320707"}),
            )
            .await
            .expect(422);
        let mut fields = bad.fields();
        fields.sort();
        assert_eq!(fields, ["kind", "name", "region_code"]);
        let point = app
            .post(
                "/api/v1/contact-points",
                &bureau,
                json!({"name": "海州区个体劳动者协会", "kind": "association",
                       "region_code": "320706", "address": "海州区解放路8号"}),
            )
            .await
            .expect(201);
        let point_id = point.body["id"].as_i64().expect("id");
        // Outside its region a bureau does not see it.
        app.get(&format!("/api/v1/contact-points/{point_id}"), &other_bureau)
            .await
            .expect(404);

        let issue = |hours: i64| {
            let (app, bureau) = (&app, &bureau);
            async move {
                app.post(
                    &format!("/api/v1/contact-points/{point_id}/binding-codes"),
                    bureau,
                    json!({"valid_hours": hours}),
                )
                .await
            }
        };
        issue(0).await.expect(422);
        let code = issue(72).await.expect(201).body["code"]
            .as_str()
            .expect("code")
            .to_owned();

        // Of concurrent redemptions of one code exactly one binds.
        let attempts = (0..6).map(|i| {
            let (app, telegram, code) = (&app, &telegram, &code);
            async move {
                app.post(
                    "/api/v1/channel/bindings",
                    telegram,
                    json!({"user_id": format!("20{i}"), "code": code.to_lowercase()}),
                )
                .await
                .status
            }
        });
        let mut statuses = futures::future::join_all(attempts).await;
        statuses.sort();
        assert_eq!(statuses, [200, 409, 409, 409, 409, 409]);
        app.post(
            "/api/v1/channel/bindings",
            &telegram,
            json!({"user_id": "200", "code": "NOSUCHCODE"}),
        )
        .await
        .expect(404);

        // A fresh code for a known liaison, then their ticket carries the point.
        let code = issue(1).await.expect(201).body["code"]
            .as_str()
            .expect("code")
            .to_owned();
        let bound = app
            .post(
                "/api/v1/channel/bindings",
                &telegram,
                json!({"user_id": "300", "code": code}),
            )
            .await
            .expect(200);
        assert_eq!(bound.body["name"], "海州区个体劳动者协会");
        let filed = app
            .post(
                "/api/v1/channel/tickets",
                &telegram,
                json!({"user_id": "300", "kind": "suggestion", "category": "其他",
                       "region_code": "320706",
                       "description": "建议对小微企业首次轻微违法推行不罚清单。"}),
            )
            .await
            .expect(201);
        assert_eq!(filed.body["ticket"]["contact_point_id"], point_id);

        // Activity of the period counts it; unbinding stops the tagging.
        let now = chrono::Utc::now();
        let period = format!(
            "from={}&to={}",
            (now - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ"),
            (now + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ")
        );
        let activity = app
            .get(
                &format!("/api/v1/contact-points/activity?{period}"),
                &bureau,
            )
            .await
            .expect(200);
        let row = &activity.body["items"][0];
        assert_eq!(
            (
                row["suggestions"].clone(),
                row["total"].clone(),
                row["liaisons"].clone()
            ),
            (json!(1), json!(1), json!(2))
        );
        let liaisons = app
            .get(
                &format!("/api/v1/contact-points/{point_id}/liaisons"),
                &bureau,
            )
            .await
            .expect(200);
        let last = liaisons
            .body
            .as_array()
            .expect("liaisons")
            .last()
            .expect("one")
            .clone();
        let unbind = format!(
            "/api/v1/contact-points/{point_id}/liaisons/{}",
            last["id"].as_i64().expect("id")
        );
        app.call(Method::DELETE, &unbind, Some(&bureau), None)
            .await
            .expect(200);
        app.call(Method::DELETE, &unbind, Some(&bureau), None)
            .await
            .expect_error(409, "already_unbound");
        let untagged = app
            .post(
                "/api/v1/channel/tickets",
                &telegram,
                json!({"user_id": "300", "kind": "praise", "category": "其他",
                       "region_code": "320706",
                       "description": "市场监管所上门指导，办事效率很高。"}),
            )
            .await
            .expect(201);
        assert!(untagged.body["ticket"]["contact_point_id"].is_null());

        // An inactive point issues no codes.
        app.patch(
            &format!("/api/v1/contact-points/{point_id}"),
            &bureau,
            json!({"active": false}),
        )
        .await
        .expect(200);
        issue(24).await.expect_error(409, "contact_point_inactive");
    })
    .await;
}

#[tokio::test]
async fn deadlines_categories_and_calendars_are_configuration() {
    for_each_backend(|app| async move {
        use pingjia_api::domain::calendar::WorkCalendar;

        app.with_demo().await;
        let admin = app.admin().await;
        let bureau = app.key(Role::Bureau, Some("320706"), None).await;
        let telegram = app.channel_key("telegram").await;

        // Defaults, then the county sets the 15-day preset; its towns inherit it.
        let d = app
            .get("/api/v1/regions/320706/ticket-deadlines", &bureau)
            .await
            .expect(200);
        assert_eq!((d.body["reply_days"].clone(), d.body["source_region"].clone()), (json!(5), Value::Null));
        let bad = app
            .call(
                Method::PUT,
                "/api/v1/regions/320706/ticket-deadlines",
                Some(&bureau),
                Some(json!({"ack_days": 9, "reply_days": 0, "visit_days": 5})),
            )
            .await
            .expect(422);
        let mut fields = bad.fields();
        fields.sort();
        assert_eq!(fields, ["ack_days", "reply_days"]);
        app.call(
            Method::PUT,
            "/api/v1/regions/320707/ticket-deadlines",
            Some(&bureau),
            Some(json!({"ack_days": 1, "reply_days": 3, "visit_days": 5})),
        )
        .await
        .expect(403);
        app.call(
            Method::PUT,
            "/api/v1/regions/320706/ticket-deadlines",
            Some(&bureau),
            Some(json!({"ack_days": 2, "reply_days": 15, "visit_days": 10})),
        )
        .await
        .expect(200);
        let town = app
            .get("/api/v1/regions?parent=320706&page_size=1", &bureau)
            .await
            .expect(200);
        let town = town.body["items"][0]["code"].as_str().expect("town").to_owned();
        let inherited = app
            .get(&format!("/api/v1/regions/{town}/ticket-deadlines"), &bureau)
            .await
            .expect(200);
        assert_eq!(
            (inherited.body["reply_days"].clone(), inherited.body["source_region"].clone()),
            (json!(15), json!("320706"))
        );
        let filed = app
            .post(
                "/api/v1/channel/tickets",
                &telegram,
                json!({"user_id": "9", "kind": "complaint", "category": "inaction",
                       "region_code": town,
                       "description": "多次反映占道经营问题，无人处理。"}),
            )
            .await
            .expect(201);
        let t = &filed.body["ticket"];
        assert_eq!(t["category"], "不作为", "categories are named by code or name");
        assert_eq!(t["reply_days"], 15);
        let created: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(t["created_at"].clone()).expect("created_at");
        let expected = WorkCalendar::official().deadline(created, 15).due;
        let reply_due: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(t["reply_due"].clone()).expect("reply_due");
        assert_eq!(reply_due, expected);
        let ack_due: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(t["ack_due"].clone()).expect("ack_due");
        assert_eq!(ack_due, WorkCalendar::official().deadline(created, 2).due);

        // Categories: admins add and retire them; bureaus may not.
        let put = |key: &str, code: &str, body: Value| {
            let app = &app;
            let (key, path) = (key.to_owned(), format!("/api/v1/ticket-categories/{code}"));
            async move { app.call(Method::PUT, &path, Some(&key), Some(body)).await }
        };
        put(&bureau, "noise", json!({"name": "噪音扰民执法"})).await.expect(403);
        put(&admin, "Bad-Code", json!({"name": "x"})).await.expect(422);
        put(&admin, "dup", json!({"name": "乱罚款"})).await.expect_error(409, "already_exists");
        let added = put(&admin, "noise", json!({"name": "噪音扰民执法"})).await.expect(200);
        assert_eq!(added.body["position"], 12);
        let list = app.get("/api/v1/ticket-categories", &telegram).await.expect(200);
        assert_eq!(list.body.as_array().expect("list").len(), 12);
        let with = |category: &str| {
            json!({"user_id": "9", "kind": "complaint", "category": category,
                   "region_code": "320706", "description": "夜间施工噪音执法不到位。"})
        };
        app.post("/api/v1/channel/tickets", &telegram, with("噪音扰民执法"))
            .await
            .expect(201);
        put(&admin, "noise", json!({"name": "噪音扰民执法", "active": false}))
            .await
            .expect(200);
        let refused = app
            .post("/api/v1/channel/tickets", &telegram, with("noise"))
            .await
            .expect(422);
        assert_eq!(refused.fields(), ["category"]);

        // Calendars: a bad file is refused line by line; a good one is used at once.
        app.get("/api/v1/calendar/2026", &bureau).await.expect(200);
        app.get("/api/v1/calendar/2031", &bureau).await.expect(404);
        let load = |text: &str| {
            let (app, admin) = (&app, &admin);
            let text = text.to_owned();
            async move {
                app.raw(
                    Method::PUT,
                    "/api/v1/calendar/2031",
                    &[
                        ("Authorization", &format!("Bearer {admin}")),
                        ("Content-Type", "text/csv"),
                    ],
                    text.into_bytes(),
                )
                .await
            }
        };
        let bad = load("date,kind,name\n2031-01-01,holiday,元旦\n2030-12-31,holiday,x\n2031-01-02,party,y\n")
            .await
            .expect(422);
        let mut lines = bad.fields();
        lines.sort();
        assert_eq!(lines, ["line 3", "line 4"]);
        app.get("/api/v1/calendar/2031", &bureau).await.expect(404);
        // 2031-01-04 is a Saturday worked in this made-up notice.
        load("date,kind,name\n2031-01-01,holiday,元旦\n2031-01-02,holiday,元旦\n2031-01-04,workday,元旦调休上班\n")
            .await
            .expect(200);
        let year = app.get("/api/v1/calendar/2031", &bureau).await.expect(200);
        assert_eq!(
            year.body["days"],
            json!([
                {"date": "2031-01-01", "kind": "holiday"},
                {"date": "2031-01-02", "kind": "holiday"},
                {"date": "2031-01-04", "kind": "workday"}
            ])
        );
    })
    .await;
}

#[tokio::test]
async fn hotline_orders_import_idempotently_with_a_row_report() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let hotline = app.channel_key("hotline_12345").await;
        let web = app.channel_key("web").await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = app
            .get("/api/v1/agencies?region=320706&page_size=1", &bureau)
            .await
            .expect(200);
        let agency_code = agencies.body["items"][0]["code"]
            .as_str()
            .expect("code")
            .to_owned();
        let csv = format!(
            "hotline_id,received_at,kind,category,region_code,agency_code,description,reporter_name,reporter_phone,address\n\
             12345-0001,2026-02-13 10:00,投诉,乱罚款,320706,{agency_code},春节前集中检查对商户重复罚款。,赵六,13600003333,海州区通灌路\n\
             12345-0002,2026-09-30T09:00:00+08:00,建议,其他,320706,,建议执法检查前公布检查清单。,,,\n\
             12345-0003,2026-03-02 09:00,咨询,其他,320706,,咨询执法程序是否合法的问题。,,,\n\
             12345-0004,2026-03-02 09:00,投诉,不作为,320706,NOPE,太短,钱七,,\n\
             12345-0001,2026-03-03 09:00,投诉,不作为,320706,,重复编号的第二条工单内容。,,,\n"
        );
        let import = |key: &str| {
            let (app, csv) = (&app, csv.clone());
            let auth = format!("Bearer {key}");
            async move {
                app.raw(
                    Method::POST,
                    "/api/v1/tickets/imports/hotline",
                    &[("Authorization", &auth), ("Content-Type", "text/csv")],
                    csv.into_bytes(),
                )
                .await
            }
        };
        import(&web).await.expect(403);
        let first = import(&hotline).await.expect(200);
        assert_eq!(first.body["rows"], 5);
        assert_eq!(first.body["created"].as_array().expect("created").len(), 2);
        let mut errors: Vec<(i64, String)> = first.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                (
                    e["row"].as_i64().expect("row"),
                    e["column"].as_str().expect("column").to_owned(),
                )
            })
            .collect();
        errors.sort();
        assert_eq!(
            errors,
            [
                (3, "kind".to_owned()),
                (4, "agency_code".to_owned()),
                (4, "reporter_phone".to_owned()),
                (5, "hotline_id".to_owned()),
            ]
        );
        // Again: nothing new, the two imported rows are duplicates of the same tickets.
        let again = import(&hotline).await.expect(200);
        assert!(again.body["created"].as_array().expect("created").is_empty());
        let numbers = |r: &Value, list: &str| -> Vec<String> {
            r[list]
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|o| o["number"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(numbers(&again.body, "duplicates"), numbers(&first.body, "created"));

        // Filed with the hotline's id and time; the reply deadline counts working days
        // from receipt across the Spring Festival: 2/14 (a make-up working Saturday)
        // is day 1, 2/15–2/23 are holidays, 2/24–2/27 days 2–5.
        let list = app
            .get("/api/v1/tickets?page_size=10", &bureau)
            .await
            .expect(200);
        let spring = list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|t| t["external_id"] == "12345-0001")
            .expect("imported")
            .clone();
        assert_eq!(spring["channel"], "hotline_12345");
        assert_eq!(at(&spring["created_at"]), at(&json!("2026-02-13T02:00:00Z")));
        assert_eq!(at(&spring["reply_due"]), at(&json!("2026-02-27T16:00:00Z")));
        // The city bureau is above the handling (county) bureau: masked, unless it
        // asks to reveal the contact data (an audited act).
        assert_eq!(spring["reporter_phone"], "136****3333");
        let revealed = app
            .get(&format!("/api/v1/tickets/{}?reveal=true", spring["id"]), &bureau)
            .await
            .expect(200);
        assert_eq!(revealed.body["ticket"]["reporter_phone"], "13600003333");
        assert!(spring["number"].as_str().expect("number").starts_with("TS2026-"));
        // Across National Day: received 9/30, the holiday runs 10/1–10/7 (10/10 a
        // make-up Saturday), so the five working days are 10/8, 10/9, 10/10, 10/12, 10/13.
        let national = list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|t| t["external_id"] == "12345-0002")
            .expect("imported")
            .clone();
        assert_eq!(at(&national["reply_due"]), at(&json!("2026-10-13T16:00:00Z")));
    })
    .await;
}

#[tokio::test]
async fn a_reporter_is_invited_to_a_survey_through_the_outbox() {
    for_each_backend(|app| async move {
        use chrono::{Duration, Utc};
        use sea_orm::EntityTrait;

        app.with_demo().await;
        let telegram = app.channel_key("telegram").await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let list = app.get("/api/v1/questionnaires", &bureau).await.expect(200);
        let citizen = list
            .body
            .as_array()
            .and_then(|l| l.iter().find(|q| q["key"] == "citizen_satisfaction"))
            .and_then(|q| q["id"].as_i64())
            .expect("built-in citizen questionnaire");
        let today = Utc::now().date_naive();
        let campaign = app
            .post(
                "/api/v1/campaigns",
                &bureau,
                json!({
                    "name": "投诉人满意度回访",
                    "questionnaire_id": citizen,
                    "version": 1,
                    "region_code": "320700",
                    "mode": "invitation",
                    "period_start": (today - Duration::days(30)).to_string(),
                    "period_end": today.to_string(),
                    "opens_at": (Utc::now() - Duration::hours(1)).to_rfc3339(),
                    "closes_at": (Utc::now() + Duration::days(30)).to_rfc3339(),
                }),
            )
            .await
            .expect(201);
        let campaign = campaign.body["id"].as_i64().expect("id");
        app.post(
            &format!("/api/v1/campaigns/{campaign}/status"),
            &bureau,
            json!({"status": "open"}),
        )
        .await
        .expect(200);

        let mut body = channel_complaint("5550001", "320706");
        body["agency_id"] = json!(agency);
        let filed = app
            .post("/api/v1/channel/tickets", &telegram, body)
            .await
            .expect(201);
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        let invite = |ticket: i64| {
            let (app, bureau) = (&app, &bureau);
            async move {
                app.post(
                    &format!("/api/v1/tickets/{ticket}/survey-invitation"),
                    bureau,
                    json!({"campaign_id": campaign}),
                )
                .await
            }
        };
        let sent = invite(id).await.expect(201);
        assert_eq!(sent.body["agency_id"], agency);
        invite(id).await.expect_error(409, "already_invited");
        // A ticket filed without a channel user cannot be reached.
        let mut direct = channel_complaint("x", "320706");
        direct["channel"] = json!("telegram");
        direct["agency_id"] = json!(agency);
        let direct = app
            .post("/api/v1/tickets", &telegram, direct)
            .await
            .expect(201);
        let unreachable = invite(direct.body["ticket"]["id"].as_i64().expect("id"))
            .await
            .expect(422);
        assert_eq!(unreachable.fields(), ["ticket_id"]);

        // The token is sealed in the outbox and handed out only when read.
        let stored = pingjia_api::store::outbox::Entity::find()
            .all(&app.db)
            .await
            .expect("outbox");
        assert!(stored.iter().all(|o| o.payload.get("token").is_none()));
        let (items, _) = outbox(&app, &telegram, 0).await;
        let invitation = items
            .iter()
            .find(|i| i["kind"] == "survey_invitation")
            .expect("the invitation")
            .clone();
        assert_eq!(invitation["user_id"], "5550001");
        let token = invitation["payload"]["token"].as_str().expect("token");
        assert!(
            invitation["payload"]["link"]
                .as_str()
                .expect("link")
                .ends_with(token)
        );
        assert!(!stored.iter().any(|o| o.payload.to_string().contains(token)));
        // The token opens the questionnaire.
        let opened = app
            .call(
                Method::GET,
                &format!("/api/v1/public/invitations/{token}"),
                None,
                None,
            )
            .await
            .expect(200);
        assert!(
            opened.body["questions"]
                .as_array()
                .is_some_and(|q| !q.is_empty())
        );
        // Answered in the bot, it says so; a made-up channel is refused.
        let mut answers = serde_json::Map::new();
        for q in opened.body["questions"].as_array().expect("questions") {
            let key = q["key"].as_str().expect("key").to_owned();
            match q["type"].as_str() {
                Some("likert5") => answers.insert(key, json!(4)),
                Some("yes_no") => answers.insert(key, json!(q["reverse"] != true)),
                _ => None,
            };
        }
        let answer = |via: &str| {
            let app = &app;
            let body = json!({"answers": answers.clone(), "via": via});
            let path = format!("/api/v1/public/invitations/{token}/responses");
            async move { app.call(Method::POST, &path, None, Some(body)).await }
        };
        let refused = answer("carrier_pigeon").await.expect(422);
        assert_eq!(refused.fields(), ["via"]);
        answer("bot").await.expect(201);
        let stored = pingjia_api::store::response::Entity::find()
            .all(&app.db)
            .await
            .expect("responses");
        assert_eq!(
            stored
                .iter()
                .map(|r| r.channel.as_str())
                .collect::<Vec<_>>(),
            ["bot"]
        );

        // The channel shows its user the ticket with its timeline; others see nothing.
        let number = filed.body["ticket"]["number"].as_str().expect("number");
        let own = app
            .get(
                &format!("/api/v1/channel/tickets/{number}?user_id=5550001"),
                &telegram,
            )
            .await
            .expect(200);
        assert_eq!(own.body["state_label"], "已受理");
        assert_eq!(own.body["timeline"][0]["step"], "受理");
        assert!(own.body.get("reporter_phone").is_none());
        app.get(
            &format!("/api/v1/channel/tickets/{number}?user_id=5550002"),
            &telegram,
        )
        .await
        .expect(404);
        app.get(
            &format!("/api/v1/channel/tickets/{number}?user_id=5550001"),
            &bureau,
        )
        .await
        .expect(403);
    })
    .await;
}
