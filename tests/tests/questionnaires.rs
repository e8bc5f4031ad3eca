//! Questionnaires: built-ins at first start, immutable published versions.

use pingjia_api::domain::Role;
use pingjia_tests::for_each_backend;
use serde_json::{Value, json};

fn questions() -> Value {
    json!([
        {"key": "attitude", "text": "执法人员态度如何？", "type": "likert5", "dimension": "attitude", "required": true},
        {"key": "showed_id", "text": "是否出示执法证件？", "type": "yes_no", "dimension": "credentials", "required": true},
        {"key": "why", "text": "请说明原因", "type": "text", "max_length": 200,
         "show_if": {"question": "attitude", "values": ["1", "2"]}}
    ])
}

#[tokio::test]
async fn built_in_questionnaires_exist_after_first_start() {
    for_each_backend(|app| async move {
        let key = app.key(Role::Channel, None, None).await;
        let reply = app.get("/api/v1/questionnaires", &key).await.expect(200);
        let list = reply.body.as_array().expect("list").clone();
        let keys: Vec<&str> = list.iter().filter_map(|q| q["key"].as_str()).collect();
        assert_eq!(keys, ["citizen_satisfaction", "enterprise_return_visit"]);
        assert!(
            list.iter()
                .all(|q| q["builtin"] == true && q["latest_published"] == 1)
        );
        let id = list[1]["id"].as_i64().expect("id");
        let v = app
            .get(&format!("/api/v1/questionnaires/{id}/versions/1"), &key)
            .await
            .expect(200);
        let dims: Vec<&str> = v.body["questions"]
            .as_array()
            .expect("questions")
            .iter()
            .filter_map(|q| q["dimension"].as_str())
            .collect();
        assert!(
            dims.contains(&"burden") && dims.contains(&"integrity"),
            "{dims:?}"
        );
        assert!(
            v.body["questions"][0]["text"]
                .as_str()
                .unwrap_or_default()
                .contains("执法")
        );
    })
    .await;
}

#[tokio::test]
async fn published_versions_are_immutable_and_changes_make_new_versions() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let created = app
            .post(
                "/api/v1/questionnaires",
                &key,
                json!({"key": "market_survey", "title": "市场监管专项调查", "audience": "citizen", "questions": questions()}),
            )
            .await
            .expect(201);
        let id = created.body["id"].as_i64().expect("id");
        assert_eq!(created.body["versions"][0]["status"], "draft");
        assert_eq!(created.body["latest_published"], Value::Null);
        let v1 = format!("/api/v1/questionnaires/{id}/versions/1");

        // A draft may change.
        let mut edited = questions();
        edited[0]["text"] = json!("执法人员是否文明执法？");
        app.call(poem::http::Method::PUT, &v1, Some(&key), Some(json!({"questions": edited})))
            .await
            .expect(200);
        app.post(&format!("{v1}/publish"), &key, json!({})).await.expect(200);
        // Published: frozen.
        app.call(poem::http::Method::PUT, &v1, Some(&key), Some(json!({"questions": questions()})))
            .await
            .expect_error(409, "version_published");
        app.post(&format!("{v1}/publish"), &key, json!({}))
            .await
            .expect_error(409, "version_published");
        let reply = app.get(&v1, &key).await.expect(200);
        assert_eq!(reply.body["questions"][0]["text"], "执法人员是否文明执法？");
        assert_eq!(reply.body["status"], "published");

        // A change is a new version; only one draft at a time.
        let v2 = app
            .post(&format!("/api/v1/questionnaires/{id}/versions"), &key, json!({"questions": questions()}))
            .await
            .expect(201);
        assert_eq!(v2.body["version"], 2);
        app.post(&format!("/api/v1/questionnaires/{id}/versions"), &key, json!({"questions": questions()}))
            .await
            .expect_error(409, "draft_exists");
        let reply = app.get(&format!("/api/v1/questionnaires/{id}"), &key).await.expect(200);
        assert_eq!(reply.body["latest_published"], 1);
        assert_eq!(reply.body["versions"].as_array().map(Vec::len), Some(2));
    })
    .await;
}

#[tokio::test]
async fn invalid_questions_are_422_naming_the_path() {
    for_each_backend(|app| async move {
        let key = app.admin().await;
        let bad = json!([
            {"key": "a", "text": "评价", "type": "likert5"},
            {"key": "b", "text": "选择", "type": "single_choice", "options": [{"value": "x", "label": "甲"}]},
            {"key": "c", "text": "说明", "type": "text", "show_if": {"question": "a", "values": ["9"]}}
        ]);
        let reply = app
            .post(
                "/api/v1/questionnaires",
                &key,
                json!({"key": "bad", "title": "错误问卷", "audience": "citizen", "questions": bad}),
            )
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(
            reply.fields(),
            ["questions[0].dimension", "questions[1].options", "questions[2].show_if.values"]
        );
        let channel = app.key(Role::Channel, None, None).await;
        app.post(
            "/api/v1/questionnaires",
            &channel,
            json!({"key": "x", "title": "x", "audience": "citizen", "questions": questions()}),
        )
        .await
        .expect_error(403, "forbidden");
    })
    .await;
}
