//! The scope matrix: who may read and write what. Out-of-scope reads are 404,
//! out-of-scope writes 403, missing or revoked keys 401.

use pingjia_api::domain::Role;
use pingjia_tests::{TestApp, for_each_backend};
use serde_json::json;

/// Id of the demo agency called `name`.
async fn agency_id(app: &TestApp, admin: &str, name: &str) -> i64 {
    let reply = app
        .get(&format!("/api/v1/agencies?q={}", urlencode(name)), admin)
        .await
        .expect(200);
    reply.body["items"][0]["id"].as_i64().expect("agency found")
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn a_county_bureau_cannot_read_or_write_another_countys_agency() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let own = agency_id(&app, &admin, "海州区市场监督管理局").await;
        let other = agency_id(&app, &admin, "赣榆区市场监督管理局").await;

        app.get(&format!("/api/v1/agencies/{own}"), &haizhou).await.expect(200);
        app.get(&format!("/api/v1/agencies/{other}"), &haizhou)
            .await
            .expect_error(404, "not_found");
        app.patch(&format!("/api/v1/agencies/{other}"), &haizhou, json!({"name": "改名"}))
            .await
            .expect_error(403, "forbidden");
        app.post(
            "/api/v1/agencies",
            &haizhou,
            json!({"code": "GY-NEW", "name": "赣榆区新局", "domain": "other", "region_code": "320707"}),
        )
        .await
        .expect_error(403, "forbidden");
        // Moving its own agency out of its subtree is a write outside the scope too.
        app.patch(&format!("/api/v1/agencies/{own}"), &haizhou, json!({"region_code": "320707"}))
            .await
            .expect_error(403, "forbidden");
        // Nothing changed.
        let reply = app.get(&format!("/api/v1/agencies/{other}"), &admin).await.expect(200);
        assert_eq!(reply.body["name"], "赣榆区市场监督管理局");
        // Inside its subtree the bureau can write, including towns below it.
        app.post(
            "/api/v1/agencies",
            &haizhou,
            json!({"code": "HZ-NEW", "name": "海州街道综合执法局", "domain": "urban_management", "region_code": "320706001"}),
        )
        .await
        .expect(201);
    })
    .await;
}

#[tokio::test]
async fn a_bureau_lists_only_its_subtree() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let reply = app.get("/api/v1/agencies", &haizhou).await.expect(200);
        assert_eq!(reply.body["total"], 2);
        for a in reply.body["items"].as_array().expect("items") {
            assert_eq!(a["region_code"], "320706");
        }
        let reply = app.get("/api/v1/agencies", &city).await.expect(200);
        assert_eq!(reply.body["total"], 12);
        let reply = app
            .get("/api/v1/enterprises?page_size=200", &haizhou)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 8);
        let reply = app
            .get("/api/v1/officers?page_size=200", &haizhou)
            .await
            .expect(200);
        assert_eq!(reply.body["total"], 6);
    })
    .await;
}

#[tokio::test]
async fn an_agency_key_sees_and_changes_only_its_own_agency() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let own = agency_id(&app, &admin, "东海县自然资源和规划局").await;
        let other = agency_id(&app, &admin, "东海县文化广电和旅游局").await;
        let key = app.key(Role::Agency, None, Some(own)).await;

        app.get(&format!("/api/v1/agencies/{own}"), &key)
            .await
            .expect(200);
        app.get(&format!("/api/v1/agencies/{other}"), &key)
            .await
            .expect_error(404, "not_found");
        let reply = app.get("/api/v1/agencies", &key).await.expect(200);
        assert_eq!(reply.body["total"], 1);

        // Officers: its own may be added; another agency's may not.
        app.post(
            "/api/v1/officers",
            &key,
            json!({"agency_id": own, "badge_no": "32072299001", "name": "测试员"}),
        )
        .await
        .expect(201);
        app.post(
            "/api/v1/officers",
            &key,
            json!({"agency_id": other, "badge_no": "32072299002", "name": "测试员"}),
        )
        .await
        .expect_error(403, "forbidden");
        let others = app
            .get(&format!("/api/v1/officers?agency_id={other}"), &admin)
            .await
            .expect(200);
        let other_officer = others.body["items"][0]["id"].as_i64().expect("officer");
        app.get(&format!("/api/v1/officers/{other_officer}"), &key)
            .await
            .expect_error(404, "not_found");
        app.patch(
            &format!("/api/v1/officers/{other_officer}"),
            &key,
            json!({"active": false}),
        )
        .await
        .expect_error(403, "forbidden");
        // It cannot edit the agency record itself (the bureau does).
        app.patch(
            &format!("/api/v1/agencies/{own}"),
            &key,
            json!({"name": "新名"}),
        )
        .await
        .expect_error(403, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_is_401_and_others_still_work() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let admin = app.admin().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        app.get("/api/v1/agencies", &bureau).await.expect(200);
        let keys = pingjia_api::service::keys::list(&app.db)
            .await
            .expect("keys");
        let id = keys
            .iter()
            .find(|k| k.role == Role::Bureau)
            .expect("bureau key")
            .id;
        pingjia_api::service::keys::revoke(&app.db, &pingjia_api::service::Actor::cli(), id)
            .await
            .expect("revoked");
        app.get("/api/v1/agencies", &bureau)
            .await
            .expect_error(401, "api_key_revoked");
        app.get("/api/v1/agencies", &admin).await.expect(200);
    })
    .await;
}

#[tokio::test]
async fn channel_and_evaluator_keys_read_agencies_but_write_nothing() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        for role in [Role::Channel, Role::Evaluator] {
            let key = app.key(role, None, None).await;
            let reply = app.get("/api/v1/agencies", &key).await.expect(200);
            assert_eq!(reply.body["total"], 12);
            app.post(
                "/api/v1/enterprises",
                &key,
                json!({"uscc": "91110000802100433B", "name": "某公司", "region_code": "320706"}),
            )
            .await
            .expect_error(403, "forbidden");
            app.get("/api/v1/audit", &key)
                .await
                .expect_error(403, "forbidden");
        }
    })
    .await;
}
