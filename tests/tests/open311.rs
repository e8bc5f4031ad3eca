//! Open311 GeoReport v2: discovery, services (ticket categories), posting service
//! requests with a channel key as form data and reading them back with the
//! specification's field names, statuses and error format.

use pingjia_api::domain::Role;
use pingjia_tests::{Reply, TestApp, for_each_backend};
use poem::http::Method;
use serde_json::json;

async fn post_form(app: &TestApp, fields: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(fields).expect("form");
    app.raw(
        Method::POST,
        "/open311/v2/requests.json",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.into_bytes(),
    )
    .await
}

async fn get(app: &TestApp, path: &str) -> Reply {
    app.call(Method::GET, path, None, None).await
}

/// The Open311 error shape: `[{code, description}]` with the HTTP status as code.
fn assert_open311_error(reply: &Reply, status: u16, mentions: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    let errors = reply.body.as_array().expect("an array of errors");
    assert_eq!(errors[0]["code"], status);
    let description = errors[0]["description"].as_str().expect("description");
    assert!(
        description.contains(mentions),
        "{description} should mention {mentions}"
    );
}

#[tokio::test]
async fn open311_requests_are_filed_and_read_back_as_the_specification_names_them() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let web = app.channel_key("web").await;
        let telegram = app.channel_key("telegram").await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;

        // Discovery and services.
        let discovery = get(&app, "/open311/v2/discovery.json").await.expect(200);
        assert_eq!(
            discovery.body["endpoints"][0]["specification"],
            "http://wiki.open311.org/GeoReport_v2"
        );
        assert_eq!(
            discovery.body["endpoints"][0]["formats"],
            json!(["application/json"])
        );
        let services = get(&app, "/open311/v2/services.json").await.expect(200);
        let services = services.body.as_array().expect("services").clone();
        assert_eq!(services.len(), 11);
        let rudeness = services
            .iter()
            .find(|s| s["service_code"] == "rudeness")
            .expect("rudeness service");
        assert_eq!(rudeness["service_name"], "态度粗暴");
        assert_eq!(rudeness["type"], "realtime");
        for field in ["metadata", "description", "keywords", "group"] {
            assert!(rudeness.get(field).is_some(), "services carry {field}");
        }
        let definition = get(&app, "/open311/v2/services/rudeness.json")
            .await
            .expect(200);
        assert_eq!(definition.body["service_code"], "rudeness");
        assert_eq!(definition.body["attributes"][0]["code"], "kind");
        assert_eq!(
            definition.body["attributes"][0]["datatype"],
            "singlevaluelist"
        );
        let unknown = get(&app, "/open311/v2/services/potholes.json").await;
        assert_open311_error(&unknown, 404, "service");

        // Posting: key, service and location are checked, each with Open311's errors.
        let description = "执法人员检查时态度粗暴，拒绝说明检查依据。";
        let mut fields = vec![
            ("jurisdiction_id", "320706"),
            ("service_code", "rudeness"),
            ("lat", "34.60"),
            ("long", "119.21"),
            ("address_string", "海州区朝阳中路1号"),
            ("description", description),
            ("first_name", "五"),
            ("last_name", "王"),
            ("phone", "13700002222"),
            ("media_url", "https://example.org/photo.jpg"),
            ("account_id", "web-user-77"),
            ("attribute[kind]", "complaint"),
        ];
        assert_open311_error(&post_form(&app, &fields).await, 403, "api_key");
        fields.push(("api_key", &bureau));
        assert_open311_error(&post_form(&app, &fields).await, 403, "channel key");
        fields.pop();
        fields.push(("api_key", "pj_nonsense"));
        assert_open311_error(&post_form(&app, &fields).await, 403, "unknown API key");
        fields.pop();
        fields.push(("api_key", &web));
        let mut wrong = fields.clone();
        wrong[1] = ("service_code", "potholes");
        assert_open311_error(&post_form(&app, &wrong).await, 400, "service_code");
        let nowhere: Vec<_> = fields
            .iter()
            .copied()
            .filter(|(k, _)| !matches!(*k, "lat" | "long" | "address_string"))
            .collect();
        assert_open311_error(&post_form(&app, &nowhere).await, 400, "location");
        let mut bad_lat = fields.clone();
        bad_lat[2] = ("lat", "north");
        assert_open311_error(&post_form(&app, &bad_lat).await, 400, "lat");

        let created = post_form(&app, &fields).await.expect(201);
        let answer = &created.body[0];
        let id = answer["service_request_id"]
            .as_str()
            .expect("id")
            .to_owned();
        let token = answer["token"].as_str().expect("token").to_owned();
        assert!(id.starts_with("TS"));
        assert!(
            answer["service_notice"]
                .as_str()
                .expect("notice")
                .contains(&id)
        );
        assert_eq!(answer["account_id"], "web-user-77");

        // Read back with the specification's field names; no personal data.
        let path = format!("/open311/v2/requests/{id}.json?api_key={web}&account_id=web-user-77");
        let one = get(&app, &path).await.expect(200);
        let r = &one.body[0];
        for field in [
            "service_request_id",
            "status",
            "status_notes",
            "service_name",
            "service_code",
            "description",
            "agency_responsible",
            "service_notice",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "address",
            "address_id",
            "zipcode",
            "lat",
            "long",
            "media_url",
        ] {
            assert!(r.get(field).is_some(), "a request carries {field}");
        }
        assert_eq!(
            (
                r["status"].clone(),
                r["status_notes"].clone(),
                r["service_code"].clone()
            ),
            (json!("open"), json!("已受理"), json!("rudeness"))
        );
        assert_eq!(r["description"], description);
        assert_eq!(r["lat"], 34.6);
        assert_eq!(r["media_url"], "https://example.org/photo.jpg");
        assert!(
            r["requested_datetime"]
                .as_str()
                .expect("time")
                .ends_with("+08:00")
        );
        let text = one.body.to_string();
        assert!(!text.contains("13700002222") && !text.contains("王五"));
        // The token resolves to the request; another channel does not see it.
        let t = get(&app, &format!("/open311/v2/tokens/{token}.json"))
            .await
            .expect(200);
        assert_eq!(t.body[0]["service_request_id"], id.as_str());
        assert_open311_error(
            &get(&app, "/open311/v2/tokens/WRONGTOKEN.json").await,
            404,
            "token",
        );
        assert_open311_error(
            &get(
                &app,
                &format!("/open311/v2/requests/{id}.json?api_key={telegram}&account_id=web-user-77"),
            )
            .await,
            404,
            "not found",
        );
        // The handling bureau sees the real name; the ticket belongs to the account.
        let internal = app
            .get("/api/v1/tickets?page_size=1", &bureau)
            .await
            .expect(200);
        let ticket = &internal.body["items"][0];
        assert_eq!(ticket["number"], id.as_str());
        let revealed = app
            .get(&format!("/api/v1/tickets/{}?reveal=true", ticket["id"]), &bureau)
            .await
            .expect(200);
        assert_eq!(revealed.body["ticket"]["reporter_phone"], "13700002222");
        assert_eq!(ticket["channel"], "web");

        // Rejected: closed, with the reason as status notes; filters by status,
        // service and date.
        let ticket_id = ticket["id"].as_i64().expect("id");
        app.post(
            &format!("/api/v1/tickets/{ticket_id}/moves"),
            &bureau,
            json!({"action": "reject", "note": "不属于行政执法事项，已告知向12345反映。"}),
        )
        .await
        .expect(200);
        let mut other = fields.clone();
        other[1] = ("service_code", "inaction");
        post_form(&app, &other).await.expect(201);
        let list = |query: String| {
            let (app, web) = (&app, &web);
            async move {
                get(
                    app,
                    &format!("/open311/v2/requests.json?api_key={web}&account_id=web-user-77&{query}"),
                )
                .await
                .expect(200)
                .body
                .as_array()
                .expect("list")
                .clone()
            }
        };
        assert_eq!(list(String::new()).await.len(), 2);
        // A channel key lists one user's requests, never the whole channel's.
        assert_open311_error(
            &get(&app, &format!("/open311/v2/requests.json?api_key={web}")).await,
            400,
            "account_id",
        );
        assert_open311_error(
            &get(&app, &format!("/open311/v2/requests/{id}.json?api_key={web}")).await,
            400,
            "account_id",
        );
        assert_eq!(
            get(&app, &format!("/open311/v2/requests.json?api_key={web}&account_id=someone-else"))
                .await
                .expect(200)
                .body,
            json!([])
        );
        let closed = list("status=closed".into()).await;
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0]["status"], "closed");
        assert_eq!(
            closed[0]["status_notes"],
            "不予受理：不属于行政执法事项，已告知向12345反映。"
        );
        assert_eq!(
            list("status=open".into()).await[0]["service_code"],
            "inaction"
        );
        assert_eq!(list("service_code=rudeness,inaction".into()).await.len(), 2);
        assert_eq!(list("jurisdiction_id=320707".into()).await.len(), 0);
        assert_eq!(
            list("start_date=2030-01-01T00:00:00%2B08:00".into())
                .await
                .len(),
            0
        );
        assert_eq!(
            list("start_date=2020-01-01T00:00:00Z&end_date=2099-01-01T00:00:00Z".into())
                .await
                .len(),
            2
        );
        let bad = get(
            &app,
            &format!("/open311/v2/requests.json?api_key={web}&account_id=web-user-77&status=lost"),
        )
        .await;
        assert_open311_error(&bad, 400, "status");
        let bad = get(
            &app,
            &format!("/open311/v2/requests.json?api_key={web}&account_id=web-user-77&start_date=yesterday"),
        )
        .await;
        assert_open311_error(&bad, 400, "start_date");
    })
    .await;
}
