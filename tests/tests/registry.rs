//! Registry behaviour: the region tree, credit-code validation, pagination, audit.

use pingjia_api::domain::Role;
use pingjia_tests::for_each_backend;
use serde_json::json;

#[tokio::test]
async fn regions_form_a_tree_with_queryable_subtrees() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let key = app.admin().await;
        let reply = app
            .get("/api/v1/regions?within=320706", &key)
            .await
            .expect(200);
        let codes: Vec<&str> = reply.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|r| r["code"].as_str())
            .collect();
        assert_eq!(codes, ["320706", "320706001", "320706002", "320706003"]);
        let reply = app
            .get("/api/v1/regions?parent=320700", &key)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 3);
        let reply = app
            .get("/api/v1/regions?level=town", &key)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 8);
        let reply = app
            .get("/api/v1/agencies?region=320722", &key)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 3);
        app.get("/api/v1/regions?within=999900", &key)
            .await
            .expect_error(422, "validation_failed");
    })
    .await;
}

#[tokio::test]
async fn region_codes_must_fit_their_level_and_parent() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        app.post("/api/v1/regions", &key, json!({"code": "320700", "name": "连云港市", "level": "city"}))
            .await
            .expect(201);
        let reply = app
            .post(
                "/api/v1/regions",
                &key,
                json!({"code": "320806", "name": "错区", "level": "county", "parent_code": "320700"}),
            )
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["code"]);
        let reply = app
            .post(
                "/api/v1/regions",
                &key,
                json!({"code": "320706001", "name": "街道", "level": "town", "parent_code": "320700"}),
            )
            .await
            .expect_error(422, "validation_failed");
        assert!(reply.fields().contains(&"parent_code".to_owned()));
        let reply = app
            .patch("/api/v1/regions/320700", &key, json!({"name": "连云港"}))
            .await
            .expect(200);
        assert_eq!(reply.body["name"], "连云港");
    })
    .await;
}

#[tokio::test]
async fn enterprise_credit_codes_are_checked() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let key = app.admin().await;
        let good = app
            .post(
                "/api/v1/enterprises",
                &key,
                json!({"uscc": "91110000802100433B", "name": "测试科技有限公司", "region_code": "320706"}),
            )
            .await
            .expect(201);
        assert_eq!(good.body["uscc"], "91110000802100433B");

        let cases = [
            ("91110000802100433C", "check digit"),
            ("9111000080210043", "18 characters"),
            ("91110000802100433I", "not allowed"),
            ("9111000O802100433B", "not allowed"),
        ];
        for (code, reason) in cases {
            let reply = app
                .post(
                    "/api/v1/enterprises",
                    &key,
                    json!({"uscc": code, "name": "错误代码公司", "region_code": "320706"}),
                )
                .await
                .expect_error(422, "validation_failed");
            assert_eq!(reply.fields(), ["uscc"], "{code}");
            let why = reply.body["details"]["fields"][0]["reason"].as_str().unwrap_or_default();
            assert!(why.contains(reason), "{code}: {why}");
        }
        app.post(
            "/api/v1/enterprises",
            &key,
            json!({"uscc": "91110000802100433B", "name": "重复公司", "region_code": "320706"}),
        )
        .await
        .expect_error(409, "already_exists");
    })
    .await;
}

#[tokio::test]
async fn pagination_is_bounded_and_counts_all_pages() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let key = app.admin().await;
        let reply = app
            .get("/api/v1/officers?page=2&page_size=10", &key)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 36);
        assert_eq!(reply.body["page"], 2);
        assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(10));
        assert_eq!(reply.body["items"][0]["id"], 11);
        let reply = app
            .get("/api/v1/officers?page=4&page_size=10", &key)
            .await
            .expect(200);
        assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(6));
        let reply = app
            .get("/api/v1/officers?page=9&page_size=10", &key)
            .await
            .expect(200);
        assert_eq!(reply.body["items"].as_array().map(Vec::len), Some(0));
        app.get("/api/v1/officers?page_size=200", &key)
            .await
            .expect(200);
        let reply = app
            .get("/api/v1/officers?page_size=201", &key)
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["page_size"]);
        let reply = app
            .get("/api/v1/officers?page=0&page_size=0", &key)
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["page", "page_size"]);
        let reply = app.get("/api/v1/agencies", &key).await.expect(200);
        assert_eq!(reply.body["page_size"], 50);
    })
    .await;
}

#[tokio::test]
async fn writes_leave_audit_entries_with_actor_and_request_id() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let bureau = app.key(Role::Bureau, Some("320706"), None).await;
        let created = app
            .post(
                "/api/v1/agencies",
                &bureau,
                json!({"code": "HZ-AUDIT", "name": "海州区应急管理局", "domain": "emergency_management", "region_code": "320706"}),
            )
            .await
            .expect(201);
        let id = created.body["id"].as_i64().expect("id").to_string();
        let request_id = created.headers["x-request-id"].to_str().expect("header").to_owned();
        app.patch(&format!("/api/v1/agencies/{id}"), &bureau, json!({"active": false}))
            .await
            .expect(200);

        let reply = app
            .get(&format!("/api/v1/audit?entity=agency&entity_id={id}"), &admin)
            .await
            .expect(200);
        let items = reply.body["items"].as_array().expect("items").clone();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["action"], "agency.update");
        assert_eq!(items[0]["details"]["fields"], json!(["active"]));
        assert_eq!(items[1]["action"], "agency.create");
        assert_eq!(items[1]["request_id"], request_id);
        assert!(items[1]["actor"].as_str().unwrap_or_default().starts_with("key:"));
        assert!(items[1]["occurred_at"].is_string());

        // The bureau sees its own subtree's entries, another county's bureau does not.
        let reply = app
            .get(&format!("/api/v1/audit?entity_id={id}&entity=agency"), &bureau)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 2);
        let ganyu = app.key(Role::Bureau, Some("320707"), None).await;
        let reply = app
            .get(&format!("/api/v1/audit?entity_id={id}&entity=agency"), &ganyu)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 0);

        // A rejected write leaves no entry.
        app.patch(&format!("/api/v1/agencies/{id}"), &ganyu, json!({"active": true}))
            .await
            .expect_error(403, "forbidden");
        let reply = app
            .get(&format!("/api/v1/audit?entity=agency&entity_id={id}"), &admin)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 2);
    })
    .await;
}

#[tokio::test]
async fn officers_and_enterprises_can_be_updated() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let key = app.admin().await;
        let reply = app
            .patch(
                "/api/v1/officers/1",
                &key,
                json!({"active": false, "badge_no": "32070099999"}),
            )
            .await
            .expect(200);
        assert_eq!(reply.body["active"], false);
        assert_eq!(reply.body["badge_no"], "32070099999");
        app.patch(
            "/api/v1/officers/1",
            &key,
            json!({"badge_no": "32070000002"}),
        )
        .await
        .expect_error(409, "already_exists");
        let reply = app
            .patch(
                "/api/v1/enterprises/1",
                &key,
                json!({"region_code": "320706001"}),
            )
            .await
            .expect(200);
        assert_eq!(reply.body["region_code"], "320706001");
        app.patch("/api/v1/enterprises/999", &key, json!({"name": "无此企业"}))
            .await
            .expect_error(404, "not_found");
        let reply = app
            .get(
                "/api/v1/agencies?domain=market_regulation&active=true",
                &key,
            )
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 3);
    })
    .await;
}
