//! Tickets (工单) end to end: filing with numbered, secret-guarded public lookup;
//! contact data sealed at rest and masked by role; the workflow's rules through the
//! API; and of concurrent moves exactly one wins.

use pingjia_api::domain::Role;
use pingjia_tests::{TestApp, for_each_backend, for_each_backend_with};
use poem::http::Method;
use serde_json::{Value, json};

async fn first_agency(app: &TestApp, key: &str) -> i64 {
    let page = app
        .get("/api/v1/agencies?region=320706&page_size=1", key)
        .await
        .expect(200);
    page.body["items"][0]["id"].as_i64().expect("agency id")
}

fn complaint(agency: Option<i64>, reporter: bool) -> Value {
    let mut body = json!({
        "kind": "complaint",
        "category": "态度粗暴",
        "agency_id": agency,
        "region_code": "320706",
        "description": "执法人员检查时态度粗暴，未出示执法证件。",
        "attachments": ["tg:AgADBAADq6cxG"],
        "latitude": 34.6,
        "longitude": 119.2,
        "address": "海州区朝阳中路1号",
        "channel": "telegram",
    });
    if reporter {
        body["reporter"] = json!({"name": "张三", "phone": "138-1234-1234"});
    }
    body
}

async fn status(app: &TestApp, number: &str, secret: &str) -> pingjia_tests::Reply {
    app.call(
        Method::GET,
        &format!("/api/v1/public/tickets/{number}?secret={secret}"),
        None,
        None,
    )
    .await
}

#[tokio::test]
async fn tickets_are_numbered_sealed_masked_and_looked_up_by_secret() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let channel = app.key(Role::Channel, None, None).await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let agency_key = app.key(Role::Agency, None, Some(agency)).await;

        let filed = app
            .post("/api/v1/tickets", &channel, complaint(Some(agency), true))
            .await
            .expect(201);
        let year = chrono::Utc::now().format("%Y").to_string();
        assert_eq!(filed.body["ticket"]["number"], format!("TS{year}-000001"));
        assert_eq!(filed.body["ticket"]["state"], "received");
        assert_eq!(filed.body["ticket"]["state_label"], "已受理");
        // The channel key filed it but does not handle it: masked.
        assert_eq!(filed.body["ticket"]["reporter_phone"], "138****1234");
        assert_eq!(filed.body["ticket"]["reporter_name"], "张*");
        let number = filed.body["ticket"]["number"]
            .as_str()
            .expect("number")
            .to_owned();
        let secret = filed.body["secret"].as_str().expect("secret").to_owned();
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        assert!(
            filed.body["ticket"]["reply_due"].as_str()
                > filed.body["ticket"]["created_at"].as_str()
        );

        let anonymous = app
            .post("/api/v1/tickets", &channel, complaint(None, false))
            .await
            .expect(201);
        assert_eq!(
            anonymous.body["ticket"]["number"],
            format!("TS{year}-000002")
        );
        assert_eq!(anonymous.body["ticket"]["anonymous"], true);
        assert_eq!(anonymous.body["ticket"]["reporter_phone"], Value::Null);

        // The handling bureau (海州区's, the ticket's region) sees the contact data;
        // the city bureau above it and the agency see it masked.
        let handling = app.key(Role::Bureau, Some("320706"), None).await;
        let above = app
            .get(&format!("/api/v1/tickets/{id}"), &bureau)
            .await
            .expect(200);
        assert_eq!(above.body["ticket"]["reporter_phone"], "138****1234");
        let seen = app
            .get(&format!("/api/v1/tickets/{id}"), &handling)
            .await
            .expect(200);
        assert_eq!(seen.body["ticket"]["reporter_phone"], "13812341234");
        assert_eq!(seen.body["ticket"]["contact_masked"], false);
        assert_eq!(seen.body["events"][0]["action"], "create");
        let seen = app
            .get(&format!("/api/v1/tickets/{id}"), &agency_key)
            .await
            .expect(200);
        assert_eq!(seen.body["ticket"]["reporter_phone"], "138****1234");
        assert_eq!(seen.body["ticket"]["contact_masked"], true);
        // An agency never sees tickets of other agencies: the anonymous one names none.
        let other = anonymous.body["ticket"]["id"].as_i64().expect("id");
        app.get(&format!("/api/v1/tickets/{other}"), &agency_key)
            .await
            .expect(404);

        // At rest the phone number and name are sealed.
        let stored: Vec<(Option<String>, Option<String>)> = {
            use sea_orm::{EntityTrait, QuerySelect};
            pingjia_api::store::ticket::Entity::find()
                .select_only()
                .column(pingjia_api::store::ticket::Column::ReporterName)
                .column(pingjia_api::store::ticket::Column::ReporterPhone)
                .into_tuple()
                .all(&app.db)
                .await
                .expect("rows")
        };
        let sealed = &stored[0];
        for value in [&sealed.0, &sealed.1] {
            let value = value.as_deref().expect("sealed");
            assert!(value.starts_with("v1:"), "{value}");
            assert!(!value.contains("1381234") && !value.contains("张三"));
        }

        // Public lookup: status and timeline, no personal data; a wrong secret is 404.
        let public = status(&app, &number, &secret).await.expect(200);
        assert_eq!(public.body["state"], "received");
        assert_eq!(
            public.body["timeline"].as_array().expect("timeline").len(),
            1
        );
        for private in ["13812341234", "138****1234", "张", "朝阳中路", "态度粗暴，"] {
            assert!(
                !public.text.contains(private),
                "{private} in {}",
                public.text
            );
        }
        status(&app, &number, "WRONGSECRET00000")
            .await
            .expect_error(404, "not_found");
        status(&app, "TS2000-000001", &secret)
            .await
            .expect_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn filing_rejects_bad_input_naming_each_field() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let channel = app.key(Role::Channel, None, None).await;
        let agency_key = app.key(Role::Agency, None, Some(1)).await;
        let mut bad = complaint(Some(999_999), true);
        bad["kind"] = json!("rumour");
        bad["category"] = json!("别的");
        bad["description"] = json!("太短");
        bad["latitude"] = json!(95.0);
        bad["reporter"]["phone"] = json!("12345");
        bad["region_code"] = json!("999999");
        let reply = app.post("/api/v1/tickets", &channel, bad).await.expect(422);
        let fields: Vec<&str> = reply.body["details"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        for f in [
            "kind",
            "category",
            "description",
            "latitude",
            "reporter.phone",
            "region_code",
            "agency_id",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        app.post("/api/v1/tickets", &agency_key, complaint(None, false))
            .await
            .expect(403);
        // Nothing was stored by either.
        let admin = app.admin().await;
        let all = app.get("/api/v1/tickets", &admin).await.expect(200);
        assert_eq!(all.body["total"], 0);
    })
    .await;
}

async fn mv(app: &TestApp, key: &str, id: i64, body: Value) -> pingjia_tests::Reply {
    app.post(&format!("/api/v1/tickets/{id}/moves"), key, body)
        .await
}

#[tokio::test]
async fn the_workflow_is_enforced_through_the_api() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let channel = app.key(Role::Channel, None, None).await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let agency_key = app.key(Role::Agency, None, Some(agency)).await;
        let filed = app
            .post("/api/v1/tickets", &channel, complaint(None, true))
            .await
            .expect(201);
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        let number = filed.body["ticket"]["number"]
            .as_str()
            .expect("n")
            .to_owned();
        let secret = filed.body["secret"].as_str().expect("s").to_owned();

        // A county bureau cannot hand the ticket to an agency of another county.
        let county = app.key(Role::Bureau, Some("320706"), None).await;
        let elsewhere = app
            .get("/api/v1/agencies?region=320707&page_size=1", &bureau)
            .await
            .expect(200)
            .body["items"][0]["id"]
            .as_i64()
            .expect("agency of 赣榆区");
        let refused = mv(
            &app,
            &county,
            id,
            json!({"action": "assign", "agency_id": elsewhere}),
        )
        .await
        .expect(422);
        assert_eq!(refused.body["details"]["fields"][0]["field"], "agency_id");
        // Assigning needs the agency; agencies cannot assign (a write on a ticket
        // that is not theirs: 403).
        mv(&app, &bureau, id, json!({"action": "assign"}))
            .await
            .expect(422);
        mv(
            &app,
            &agency_key,
            id,
            json!({"action": "assign", "agency_id": agency}),
        )
        .await
        .expect(403);
        let t = mv(
            &app,
            &bureau,
            id,
            json!({"action": "assign", "agency_id": agency}),
        )
        .await
        .expect(200);
        assert_eq!(t.body["state"], "assigned");
        // Wrong state, then the agency works it.
        mv(
            &app,
            &agency_key,
            id,
            json!({"action": "reply", "note": "已处理"}),
        )
        .await
        .expect_error(409, "illegal_transition");
        mv(&app, &agency_key, id, json!({"action": "start"}))
            .await
            .expect(200);
        mv(&app, &agency_key, id, json!({"action": "reply"}))
            .await
            .expect(422);
        let t = mv(
            &app,
            &agency_key,
            id,
            json!({"action": "reply", "note": "经核实，已对涉事执法人员批评教育。", "finding": "substantiated"}),
        )
        .await
        .expect(200);
        assert_eq!(t.body["state"], "replied");
        // The reporter is not satisfied: reopened one level up.
        mv(
            &app,
            &bureau,
            id,
            json!({"action": "reopen", "rating": "满意"}),
        )
        .await
        .expect(422);
        let t = mv(
            &app,
            &bureau,
            id,
            json!({"action": "reopen", "rating": "不满意"}),
        )
        .await
        .expect(200);
        assert_eq!(
            (t.body["state"].clone(), t.body["level"].clone()),
            (json!("assigned"), json!(1))
        );
        mv(&app, &agency_key, id, json!({"action": "start"}))
            .await
            .expect(200);
        mv(
            &app,
            &agency_key,
            id,
            json!({"action": "rectify", "note": "整改执法记录仪使用"}),
        )
        .await
        .expect(200);
        mv(
            &app,
            &agency_key,
            id,
            json!({"action": "reply", "note": "已整改并当面致歉。", "finding": "substantiated"}),
        )
        .await
        .expect(200);
        let t = mv(
            &app,
            &bureau,
            id,
            json!({"action": "rate", "rating": "基本满意"}),
        )
        .await
        .expect(200);
        assert_eq!(t.body["rating"], "基本满意");
        mv(&app, &agency_key, id, json!({"action": "close"}))
            .await
            .expect(403);
        let t = mv(&app, &bureau, id, json!({"action": "close"}))
            .await
            .expect(200);
        assert_eq!(t.body["state"], "closed");
        mv(
            &app,
            &bureau,
            id,
            json!({"action": "reopen", "rating": "不满意"}),
        )
        .await
        .expect_error(409, "illegal_transition");

        // The timeline records every move; the public one shows the replies only.
        let detail = app
            .get(&format!("/api/v1/tickets/{id}"), &bureau)
            .await
            .expect(200);
        let actions: Vec<&str> = detail.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "create", "assign", "start", "reply", "reopen", "start", "rectify", "reply",
                "rate", "close"
            ]
        );
        let public = status(&app, &number, &secret).await.expect(200);
        assert_eq!(public.body["state_label"], "已办结");
        let notes: Vec<&str> = public.body["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|s| s["note"].as_str())
            .collect();
        assert_eq!(
            notes,
            ["经核实，已对涉事执法人员批评教育。", "已整改并当面致歉。"]
        );
        assert!(
            !public.text.contains("整改执法记录仪使用"),
            "internal note leaked"
        );

        // Appeals: the agency contests, the bureau decides.
        let other = app
            .post("/api/v1/tickets", &channel, complaint(Some(agency), false))
            .await
            .expect(201);
        let oid = other.body["ticket"]["id"].as_i64().expect("id");
        mv(&app, &bureau, oid, json!({"action": "assign"}))
            .await
            .expect(200);
        mv(
            &app,
            &agency_key,
            oid,
            json!({"action": "appeal", "note": "投诉人所述与执法记录不符"}),
        )
        .await
        .expect(200);
        let t = mv(
            &app,
            &bureau,
            oid,
            json!({"action": "dismiss_appeal", "note": "证据不足，继续核实"}),
        )
        .await
        .expect(200);
        assert_eq!(t.body["state"], "verifying");
        // Overdue: nothing is past its deadline yet.
        let overdue = app
            .get("/api/v1/tickets?overdue=true", &bureau)
            .await
            .expect(200);
        assert_eq!(overdue.body["total"], 0);
        let verifying = app
            .get("/api/v1/tickets?state=verifying", &agency_key)
            .await
            .expect(200);
        assert_eq!(verifying.body["total"], 1);
    })
    .await;
}

#[tokio::test]
async fn of_concurrent_moves_on_one_ticket_exactly_one_wins() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let channel = app.key(Role::Channel, None, None).await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let filed = app
            .post("/api/v1/tickets", &channel, complaint(Some(agency), false))
            .await
            .expect(201);
        let id = filed.body["ticket"]["id"].as_i64().expect("id");
        let server = app.serve().await;
        // Ten bureau clients race: half assign, half reject.
        let attempts: Vec<_> = (0..10)
            .map(|i| {
                let body = if i % 2 == 0 {
                    json!({"action": "assign"})
                } else {
                    json!({"action": "reject", "note": "重复投诉"})
                };
                let (key, addr) = (bureau.clone(), server.addr);
                tokio::spawn(post_status(
                    addr,
                    format!("/api/v1/tickets/{id}/moves"),
                    key,
                    body.to_string(),
                ))
            })
            .collect();
        let mut statuses = Vec::new();
        for a in attempts {
            statuses.push(a.await.expect("task"));
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        let detail = app
            .get(&format!("/api/v1/tickets/{id}"), &bureau)
            .await
            .expect(200);
        assert_eq!(detail.body["events"].as_array().expect("events").len(), 2);
        assert_eq!(detail.body["ticket"]["revision"], 1);
    })
    .await;
}

/// A POST over a fresh connection; returns the status code.
async fn post_status(addr: std::net::SocketAddr, path: String, key: String, body: String) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn overdue_tickets_escalate_by_level_and_silence_counts_as_basically_satisfied() {
    for_each_backend(|app| async move {
        use chrono::{Duration, Utc};
        use pingjia_api::domain::calendar::WorkCalendar;
        use pingjia_api::service::tickets::{Upkeep, upkeep};
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

        app.with_demo().await;
        let channel = app.key(Role::Channel, None, None).await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let agency_key = app.key(Role::Agency, None, Some(agency)).await;
        // Filed through the channel API, so its reporter is told of the escalation.
        let mut through_channel = complaint(Some(agency), false);
        through_channel["user_id"] = json!("424242");
        let late = app
            .post("/api/v1/channel/tickets", &channel, through_channel)
            .await
            .expect(201);
        let late_id = late.body["ticket"]["id"].as_i64().expect("id");
        mv(&app, &bureau, late_id, json!({"action": "assign"}))
            .await
            .expect(200);
        let answered = app
            .post("/api/v1/tickets", &channel, complaint(Some(agency), false))
            .await
            .expect(201);
        let answered_id = answered.body["ticket"]["id"].as_i64().expect("id");
        mv(&app, &bureau, answered_id, json!({"action": "assign"}))
            .await
            .expect(200);
        mv(&app, &agency_key, answered_id, json!({"action": "start"}))
            .await
            .expect(200);
        mv(
            &app,
            &agency_key,
            answered_id,
            json!({"action": "reply", "note": "已答复", "finding": "unfounded"}),
        )
        .await
        .expect(200);

        let calendar = WorkCalendar::official();
        let run = |now| upkeep(&app.db, &calendar, now, 7);
        assert_eq!(run(Utc::now()).await.expect("round"), Upkeep::default());
        let reply_due = pingjia_api::store::ticket::Entity::find_by_id(late_id)
            .one(&app.db)
            .await
            .expect("query")
            .expect("ticket")
            .reply_due;
        // Six days on: the reply deadline (5 working days) has not passed and the
        // reporter still has a day to rate.
        assert_eq!(
            run(Utc::now() + Duration::days(6)).await.expect("round"),
            Upkeep::default()
        );
        // Just past the deadline (at least 7 days on): up to the county bureau, once;
        // and the silent reply is deemed 基本满意.
        // (The deadline is counted in Asia/Shanghai working days, so on some filing days
        // it falls less than 7 days on; the round then runs once both have passed.)
        let past = reply_due.max(Utc::now() + Duration::days(7)) + Duration::minutes(1);
        assert_eq!(
            run(past).await.expect("round"),
            Upkeep {
                escalated: 1,
                deemed_rated: 1
            }
        );
        assert_eq!(run(past).await.expect("round"), Upkeep::default());
        let t = app
            .get(&format!("/api/v1/tickets/{late_id}"), &bureau)
            .await
            .expect(200);
        assert_eq!(t.body["ticket"]["level"], 1);
        assert_eq!(
            t.body["ticket"]["escalated_to"], "320706",
            "the county bureau"
        );
        assert_eq!(
            t.body["ticket"]["state"], "assigned",
            "escalation keeps the state"
        );
        let notices = app
            .get("/api/v1/channel/outbox", &channel)
            .await
            .expect(200);
        let kinds: Vec<&str> = notices.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["kind"].as_str())
            .collect();
        assert_eq!(kinds, ["status_change", "escalation"]);
        // The reporter's status lookup shows the escalation as its own step.
        let public = status(
            &app,
            late.body["ticket"]["number"].as_str().expect("number"),
            late.body["secret"].as_str().expect("secret"),
        )
        .await
        .expect(200);
        let steps: Vec<&str> = public.body["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|s| s["step"].as_str())
            .collect();
        assert_eq!(steps, ["受理", "转办至执法机关", "逾期未办结，升级督办"]);
        let last = t.body["events"]
            .as_array()
            .expect("events")
            .last()
            .cloned()
            .expect("event");
        assert_eq!(
            (last["action"].clone(), last["actor"].clone()),
            (json!("escalate"), json!("system"))
        );
        // A month on: the city bureau; never beyond.
        let month = reply_due + Duration::days(30);
        assert_eq!(run(month).await.expect("round").escalated, 1);
        assert_eq!(
            run(month + Duration::days(30))
                .await
                .expect("round")
                .escalated,
            0
        );
        let t = app
            .get(&format!("/api/v1/tickets/{late_id}"), &bureau)
            .await
            .expect(200);
        assert_eq!(t.body["ticket"]["level"], 2);
        assert_eq!(
            t.body["ticket"]["escalated_to"], "320700",
            "the city bureau"
        );
        let t = app
            .get(&format!("/api/v1/tickets/{answered_id}"), &bureau)
            .await
            .expect(200);
        assert_eq!(t.body["ticket"]["state"], "return_visited");
        assert_eq!(t.body["ticket"]["rating"], "基本满意");

        // The overdue list shows open tickets past their reply deadline.
        let overdue = app
            .get("/api/v1/tickets?overdue=true", &bureau)
            .await
            .expect(200);
        assert_eq!(overdue.body["total"], 0);
        let mut row: pingjia_api::store::ticket::ActiveModel =
            pingjia_api::store::ticket::Entity::find_by_id(late_id)
                .one(&app.db)
                .await
                .expect("query")
                .expect("ticket")
                .into();
        row.reply_due = Set(Utc::now() - Duration::days(1));
        row.update(&app.db).await.expect("backdate");
        let overdue = app
            .get("/api/v1/tickets?overdue=true", &bureau)
            .await
            .expect(200);
        assert_eq!(overdue.body["total"], 1);
        assert_eq!(overdue.body["items"][0]["id"], late_id);
    })
    .await;
}

#[tokio::test]
async fn guessing_ticket_secrets_is_throttled_per_client() {
    for_each_backend_with(
        |c| c.auth_failures_per_window = 3,
        |app| async move {
            app.with_demo().await;
            let channel = app.key(Role::Channel, None, None).await;
            let filed = app
                .post("/api/v1/tickets", &channel, complaint(None, false))
                .await
                .expect(201);
            let number = filed.body["ticket"]["number"]
                .as_str()
                .expect("n")
                .to_owned();
            let secret = filed.body["secret"].as_str().expect("s").to_owned();
            // The right pair works as often as needed; it never counts.
            for _ in 0..5 {
                status(&app, &number, &secret).await.expect(200);
            }
            for guess in ["AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB", "CCCCCCCCCCCCCCCC"] {
                status(&app, &number, guess)
                    .await
                    .expect_error(404, "not_found");
            }
            let limited = status(&app, &number, "DDDDDDDDDDDDDDDD").await;
            let limited = limited.expect(429);
            assert!(limited.headers.contains_key("retry-after"));
            // Now even the right secret waits for the window.
            status(&app, &number, &secret).await.expect(429);
        },
    )
    .await;
}

#[tokio::test]
async fn ticket_metrics_per_agency_agree_with_the_scoring_library() {
    for_each_backend(|app| async move {
        use chrono::{Duration, Utc};
        use pingjia_scoring::proportion::{rate_per_100, wilson_ci};
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

        app.with_demo().await;
        let channel = app.key(Role::Channel, None, None).await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agency = first_agency(&app, &bureau).await;
        let agency_key = app.key(Role::Agency, None, Some(agency)).await;
        let today = Utc::now().date_naive();
        let cases: Vec<Value> = (0..40)
            .map(|i| {
                json!({
                    "agency_id": agency,
                    "case_number": format!("海执罚〔2026〕{i:03}号"),
                    "kind": "penalty",
                    "procedure": "general",
                    "decision_date": (today - Duration::days(2)).to_string(),
                })
            })
            .collect();
        app.post("/api/v1/cases", &bureau, json!({ "cases": cases }))
            .await
            .expect(200);

        // Five tickets against the agency: replied and rated 满意 (substantiated);
        // replied, found unfounded and rated 不满意; a report found partly true, not
        // rated; one not accepted (left out); one left unreplied past its deadline.
        let mut ids = Vec::new();
        for kind in ["complaint", "complaint", "report", "complaint", "complaint"] {
            let mut body = complaint(Some(agency), false);
            body["kind"] = json!(kind);
            let filed = app
                .post("/api/v1/tickets", &channel, body)
                .await
                .expect(201);
            ids.push(filed.body["ticket"]["id"].as_i64().expect("id"));
        }
        let handle = |id: i64, finding: &'static str| {
            let (app, bureau, agency_key) = (&app, &bureau, &agency_key);
            async move {
                mv(app, bureau, id, json!({"action": "assign"}))
                    .await
                    .expect(200);
                mv(app, agency_key, id, json!({"action": "start"}))
                    .await
                    .expect(200);
                mv(
                    app,
                    agency_key,
                    id,
                    json!({"action": "reply", "note": "已核实答复。", "finding": finding}),
                )
                .await
                .expect(200);
            }
        };
        handle(ids[0], "substantiated").await;
        mv(
            &app,
            &bureau,
            ids[0],
            json!({"action": "rate", "rating": "满意"}),
        )
        .await
        .expect(200);
        handle(ids[1], "unfounded").await;
        mv(
            &app,
            &bureau,
            ids[1],
            json!({"action": "reopen", "rating": "不满意"}),
        )
        .await
        .expect(200);
        handle(ids[2], "partly").await;
        mv(
            &app,
            &bureau,
            ids[3],
            json!({"action": "reject", "note": "非行政执法事项"}),
        )
        .await
        .expect(200);
        let mut late: pingjia_api::store::ticket::ActiveModel =
            pingjia_api::store::ticket::Entity::find_by_id(ids[4])
                .one(&app.db)
                .await
                .expect("query")
                .expect("ticket")
                .into();
        late.reply_due = Set(Utc::now() - Duration::hours(1));
        late.update(&app.db).await.expect("backdate");

        let period = format!(
            "from={}&to={}",
            today - Duration::days(30),
            today + Duration::days(1)
        );
        app.get(&format!("/api/v1/ticket-metrics?{period}"), &channel)
            .await
            .expect(403);
        app.get(
            &format!("/api/v1/ticket-metrics?from={today}&to=2020-01-01"),
            &bureau,
        )
        .await
        .expect(422);
        let metrics = app
            .get(&format!("/api/v1/ticket-metrics?{period}"), &bureau)
            .await
            .expect(200);
        let row = metrics.body["agencies"]
            .as_array()
            .expect("agencies")
            .iter()
            .find(|a| a["agency_id"] == agency)
            .expect("the agency")
            .clone();
        let counts = [
            "cases",
            "complaints",
            "verified",
            "substantiated",
            "reply_settled",
            "on_time",
            "rated",
            "satisfied",
        ]
        .map(|k| row[k].as_u64().expect(k));
        assert_eq!(counts, [40, 3, 3, 2, 4, 3, 2, 1]);
        let close = |got: &Value, want: pingjia_scoring::proportion::Interval| {
            for (k, w) in [
                ("estimate", want.estimate),
                ("lo", want.lo),
                ("hi", want.hi),
            ] {
                let g = got[k].as_f64().expect(k);
                assert!((g - w).abs() < 1e-12, "{k}: {g} vs {w}");
            }
        };
        close(
            &row["complaints_per_100_cases"],
            rate_per_100(3, 40, 0.95).expect("rate").expect("cases"),
        );
        close(
            &row["substantiated_share"],
            wilson_ci(2, 3, 0.95).expect("ci").expect("n"),
        );
        close(
            &row["on_time_rate"],
            wilson_ci(3, 4, 0.95).expect("ci").expect("n"),
        );
        close(
            &row["satisfaction_rate"],
            wilson_ci(1, 2, 0.95).expect("ci").expect("n"),
        );
        // An agency key sees itself only; others' rows have no data but are listed.
        let own = app
            .get(&format!("/api/v1/ticket-metrics?{period}"), &agency_key)
            .await
            .expect(200);
        assert_eq!(own.body["agencies"].as_array().expect("rows").len(), 1);
        let other = metrics.body["agencies"]
            .as_array()
            .expect("agencies")
            .iter()
            .find(|a| a["agency_id"] != agency)
            .expect("another agency")
            .clone();
        assert!(other["complaints_per_100_cases"].is_null());
        assert!(other["satisfaction_rate"].is_null());
    })
    .await;
}
