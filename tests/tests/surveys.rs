//! Surveys end to end: cases → invitations per the rules → public answers → results
//! equal to pingjia-scoring on the same answers; one answer per token, even under
//! concurrency.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use pingjia_api::domain::Role;
use pingjia_tests::fixtures::{agency_ids, builtin_questionnaire};
use pingjia_tests::{TestApp, for_each_backend};
use poem::http::Method;
use serde_json::{Value, json};

async fn enterprise_questionnaire(app: &TestApp, key: &str) -> i64 {
    builtin_questionnaire(app, key, "enterprise_return_visit").await
}

/// 50 cases over 4 agencies: 30 general (3 hearings), 15 simple (2 complaint-sourced),
/// 5 licences.
fn cases(agencies: &[i64], uscc: &str) -> Value {
    let today = Utc::now().date_naive();
    let list: Vec<Value> = (0..50)
        .map(|i| {
            let kind = if i >= 45 {
                "license"
            } else if i % 2 == 0 {
                "inspection"
            } else {
                "penalty"
            };
            let procedure = if i < 30 { "general" } else { "simple" };
            json!({
                "agency_id": agencies[i % 4],
                "case_number": format!("连执罚〔2026〕{i:03}号"),
                "kind": kind,
                "procedure": procedure,
                "enterprise_uscc": uscc,
                "decision_date": (today - Duration::days(3)).to_string(),
                "hearing_held": i < 3,
                "complaint_sourced": i == 40 || i == 41,
            })
        })
        .collect();
    json!({ "cases": list })
}

async fn open_campaign(app: &TestApp, key: &str, questionnaire: i64, name: &str) -> i64 {
    let today = Utc::now().date_naive();
    let created = app
        .post(
            "/api/v1/campaigns",
            key,
            json!({
                "name": name,
                "questionnaire_id": questionnaire,
                "version": 1,
                "region_code": "320700",
                "mode": "invitation",
                "period_start": (today - Duration::days(30)).to_string(),
                "period_end": today.to_string(),
                "opens_at": (Utc::now() - Duration::hours(1)).to_rfc3339(),
                "closes_at": (Utc::now() + Duration::days(60)).to_rfc3339(),
            }),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_i64().expect("id");
    app.post(
        &format!("/api/v1/campaigns/{id}/status"),
        key,
        json!({"status": "open"}),
    )
    .await
    .expect(200);
    id
}

/// A respondent's weight and (attitude, procedure) answers.
type Answered = (f64, Vec<Option<u8>>);

/// A campaign with one invitation: a general-procedure penalty case of `agency` decided
/// today, an open invitation-mode campaign, and its generated invitation. Returns the
/// campaign id, the invitation as the API returned it, and the case code.
async fn single_invitation(
    app: &TestApp,
    bureau: &str,
    agency: i64,
    case_number: &str,
    name: &str,
) -> (i64, Value, String) {
    let today = Utc::now().date_naive();
    let cases = app
        .post(
            "/api/v1/cases",
            bureau,
            json!({"cases": [{"agency_id": agency, "case_number": case_number, "kind": "penalty",
                              "procedure": "general", "decision_date": today.to_string()}]}),
        )
        .await
        .expect(200);
    let code = cases.body[0]["case_code"]
        .as_str()
        .expect("code")
        .to_owned();
    let q = enterprise_questionnaire(app, bureau).await;
    let campaign = open_campaign(app, bureau, q, name).await;
    let generated = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/invitations"),
            bureau,
            json!({}),
        )
        .await
        .expect(201);
    (campaign, generated.body["invitations"][0].clone(), code)
}

/// The credit code of a demo enterprise.
async fn an_enterprise(app: &TestApp, key: &str) -> String {
    let ent = app
        .get("/api/v1/enterprises?page_size=1", key)
        .await
        .expect(200);
    ent.body["items"][0]["uscc"]
        .as_str()
        .expect("uscc")
        .to_owned()
}

/// The `n` of a campaign's overall dimension, as the results report it.
async fn overall_n(app: &TestApp, key: &str, campaign: i64) -> Value {
    let results = app
        .get(
            &format!("/api/v1/campaigns/{campaign}/results?by=dimension&min_n=1"),
            key,
        )
        .await
        .expect(200);
    results
        .body
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["dimension"] == "overall")
        .expect("overall row")["n"]
        .clone()
}

/// Deterministic answers for respondent `r`.
fn answers(r: usize) -> Value {
    let l = |offset: usize| 1 + ((r * 7 + offset * 3) % 5) as u64;
    let overall = l(8);
    let mut a = json!({
        "attitude": l(0), "credentials": !r.is_multiple_of(3), "rights": !r.is_multiple_of(4), "procedure": l(3),
        "fairness": l(4), "integrity": r.is_multiple_of(5), "burden": l(6), "guidance": l(7), "overall": overall,
    });
    if overall <= 2 {
        a["dissatisfied_reason"] = json!(["attitude"]);
    }
    a
}

#[tokio::test]
async fn cases_invitations_answers_and_results_agree_with_the_scoring_library() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies: Vec<i64> = agency_ids(&app, &bureau)
            .await
            .into_iter()
            .take(4)
            .collect();
        let uscc = an_enterprise(&app, &bureau).await;

        // Ingest, then retry: idempotent.
        let first = app
            .post("/api/v1/cases", &bureau, cases(&agencies, &uscc))
            .await
            .expect(200);
        let again = app
            .post("/api/v1/cases", &bureau, cases(&agencies, &uscc))
            .await
            .expect(200);
        let codes = |r: &Value| -> Vec<String> {
            r.as_array()
                .expect("cases")
                .iter()
                .filter_map(|c| c["case_code"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(codes(&first.body), codes(&again.body));
        assert!(
            first
                .body
                .as_array()
                .expect("cases")
                .iter()
                .all(|c| c["created"] == true)
        );
        assert!(
            again
                .body
                .as_array()
                .expect("cases")
                .iter()
                .all(|c| c["created"] == false)
        );
        let code = codes(&first.body)[0].clone();
        assert_eq!(code.len(), 12);
        let page = app
            .call(
                Method::GET,
                &format!("/api/v1/public/cases/{code}"),
                None,
                None,
            )
            .await
            .expect(200);
        assert_eq!(page.body["kind"], "inspection");

        // Invitations per the default rules: all 30 general; of 15 simple the 2 priority
        // ones and ceil(0.2 × 13) = 3 more; licences never.
        let q = enterprise_questionnaire(&app, &bureau).await;
        let campaign = open_campaign(&app, &bureau, q, "2026年第四季度企业回访").await;
        let generated = app
            .post(
                &format!("/api/v1/campaigns/{campaign}/invitations"),
                &bureau,
                json!({"seed": "42"}),
            )
            .await
            .expect(201);
        assert_eq!(generated.body["seed"], "42");
        assert_eq!(generated.body["eligible"], 45);
        let invitations = generated.body["invitations"]
            .as_array()
            .expect("invitations")
            .clone();
        assert_eq!(invitations.len(), 30 + 2 + 3);

        // The same seed selects the same cases in another campaign.
        let other = open_campaign(&app, &bureau, q, "复核批次").await;
        let regenerated = app
            .post(
                &format!("/api/v1/campaigns/{other}/invitations"),
                &bureau,
                json!({"seed": "42"}),
            )
            .await
            .expect(201);
        let picked = |v: &[Value]| -> Vec<String> {
            let mut c: Vec<String> = v
                .iter()
                .filter_map(|i| i["case_code"].as_str().map(str::to_owned))
                .collect();
            c.sort();
            c
        };
        assert_eq!(
            picked(&invitations),
            picked(regenerated.body["invitations"].as_array().expect("list"))
        );

        // A bad answer names the question and changes nothing.
        let token = invitations[0]["token"].as_str().expect("token").to_owned();
        let survey = app
            .call(
                Method::GET,
                &format!("/api/v1/public/invitations/{token}"),
                None,
                None,
            )
            .await
            .expect(200);
        assert!(
            survey.body["questions"]
                .as_array()
                .is_some_and(|q| q.len() >= 9)
        );
        let mut bad = answers(0);
        bad["attitude"] = json!(7);
        let reply = app
            .call(
                Method::POST,
                &format!("/api/v1/public/invitations/{token}/responses"),
                None,
                Some(json!({"answers": bad})),
            )
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["answers.attitude"]);

        // 30 respondents answer; a second submission is refused.
        let mut expected: BTreeMap<i64, Vec<Answered>> = BTreeMap::new();
        for (r, inv) in invitations.iter().take(30).enumerate() {
            let token = inv["token"].as_str().expect("token");
            let a = answers(r);
            app.call(
                Method::POST,
                &format!("/api/v1/public/invitations/{token}/responses"),
                None,
                Some(json!({"answers": a, "duration_secs": 90})),
            )
            .await
            .expect(201);
            let attitude = a["attitude"].as_u64().map(|v| v as u8);
            let procedure = a["procedure"].as_u64().map(|v| v as u8);
            let agency = inv["agency_id"].as_i64().expect("agency");
            expected
                .entry(agency)
                .or_default()
                .push((1.0, vec![attitude, procedure]));
        }
        let first_token = invitations[0]["token"].as_str().expect("token");
        app.call(
            Method::POST,
            &format!("/api/v1/public/invitations/{first_token}/responses"),
            None,
            Some(json!({"answers": answers(0)})),
        )
        .await
        .expect_error(409, "invitation_used");

        // Results per agency and dimension equal the library on the same answers.
        let results = app
            .get(
                &format!("/api/v1/campaigns/{campaign}/results?by=agency&min_n=5"),
                &bureau,
            )
            .await
            .expect(200);
        let rows = results.body.as_array().expect("rows").clone();
        for dimension in ["attitude", "procedure"] {
            let j = if dimension == "attitude" { 0 } else { 1 };
            let mut data = pingjia_scoring::Responses::new(1).expect("k");
            for (agency, list) in &expected {
                for (w, items) in list {
                    data.push(&agency.to_string(), *w, &[items[j]])
                        .expect("row");
                }
            }
            let options = pingjia_scoring::GroupOptions {
                min_n: 5,
                ..Default::default()
            };
            for s in pingjia_scoring::score_groups(&data, &options).expect("scores") {
                let row = rows
                    .iter()
                    .find(|r| r["group"] == s.group.as_str() && r["dimension"] == dimension)
                    .expect("result row");
                assert_eq!(row["n"], s.n);
                let close = |a: &Value, b: Option<f64>| match b {
                    Some(b) => (a.as_f64().expect("number") - b).abs() < 1e-9,
                    None => a.is_null(),
                };
                assert!(
                    close(&row["score"], s.mean),
                    "{dimension} {}: {row} vs {:?}",
                    s.group,
                    s.mean
                );
                assert!(close(&row["ci_lo"], s.ci_lo) && close(&row["ci_hi"], s.ci_hi));
            }
        }
        assert!(rows.iter().any(|r| r["dimension"] == "overall_index"));
        assert!(rows.iter().any(|r| r["dimension"] == "integrity"));

        // An agency key sees only its own aggregates.
        let own = agencies[0];
        let agency_key = app.key(Role::Agency, None, Some(own)).await;
        let mine = app
            .get(
                &format!("/api/v1/campaigns/{campaign}/results?min_n=1"),
                &agency_key,
            )
            .await
            .expect(200);
        assert!(
            mine.body
                .as_array()
                .expect("rows")
                .iter()
                .all(|r| r["group"] == own.to_string().as_str())
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_concurrent_submissions_exactly_one_succeeds() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let (campaign, invitation, _) =
            single_invitation(&app, &bureau, agencies[0], "并发-1", "并发测试").await;
        let token = invitation["token"].as_str().expect("token").to_owned();
        let server = app.serve().await;
        let url = format!("/api/v1/public/invitations/{token}/responses");
        let body = json!({"answers": answers(3)}).to_string();
        let attempts = (0..24).map(|_| {
            let (url, body) = (url.clone(), body.clone());
            let addr = server.addr;
            tokio::spawn(async move { post_raw(addr, &url, &body).await })
        });
        let statuses: Vec<u16> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.expect("task"))
            .collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 409),
            "{statuses:?}"
        );
        assert_eq!(
            overall_n(&app, &bureau, campaign).await,
            1,
            "exactly one stored response"
        );
    })
    .await;
}

/// One request of a comparison: what it tries, its method, a fixed path (else the
/// invitation's), its headers and its body.
type Probe<'a> = (
    &'a str,
    Method,
    Option<&'a str>,
    &'a [(&'a str, &'a str)],
    Vec<u8>,
);

/// The public answer route is served directly by the top-level router; the app as
/// documented serves it through the OpenAPI service. For every kind of request, good
/// and bad, the two give the same status, content type and body (request ids aside),
/// and both store what they acknowledge.
#[tokio::test]
async fn the_direct_answer_route_answers_exactly_as_the_documented_operation() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let (campaign, direct, _) =
            single_invitation(&app, &bureau, agencies[0], "直达-1", "直达路由").await;
        let (other, documented, _) =
            single_invitation(&app, &bureau, agencies[0], "文档-1", "文档路由").await;
        let path = |inv: &Value| {
            format!(
                "/api/v1/public/invitations/{}/responses",
                inv["token"].as_str().expect("token")
            )
        };
        let (direct, documented) = (path(&direct), path(&documented));
        let json_type = [("content-type", "application/json")];
        let mut bad_value = answers(1);
        bad_value["attitude"] = json!(9);
        let mut missing = answers(1);
        missing.as_object_mut().expect("object").remove("overall");
        // In this order, so that the refused sheets come before the accepted one and
        // the repeat after it.
        let sheet = |v: Value| v.to_string().into_bytes();
        let unknown = "/api/v1/public/invitations/no-such-token/responses".to_owned();
        let cases: Vec<Probe> = vec![
            (
                "malformed JSON",
                Method::POST,
                None,
                &json_type,
                b"{\"answers\":".to_vec(),
            ),
            ("empty body", Method::POST, None, &json_type, Vec::new()),
            (
                "text/plain",
                Method::POST,
                None,
                &[("content-type", "text/plain")],
                sheet(json!({"answers": answers(1)})),
            ),
            (
                "no content type",
                Method::POST,
                None,
                &[],
                sheet(json!({"answers": answers(1)})),
            ),
            (
                "answers not an object",
                Method::POST,
                None,
                &json_type,
                sheet(json!({"answers": 5})),
            ),
            (
                "duration of the wrong type",
                Method::POST,
                None,
                &json_type,
                sheet(json!({"answers": answers(1), "duration_secs": "x"})),
            ),
            (
                "unknown channel",
                Method::POST,
                None,
                &json_type,
                sheet(json!({"answers": answers(1), "via": "fax"})),
            ),
            (
                "value out of range",
                Method::POST,
                None,
                &json_type,
                sheet(json!({"answers": bad_value})),
            ),
            (
                "required question missing",
                Method::POST,
                None,
                &json_type,
                sheet(json!({"answers": missing})),
            ),
            (
                "unknown token",
                Method::POST,
                Some(unknown.as_str()),
                &json_type,
                sheet(json!({"answers": answers(1)})),
            ),
            ("GET", Method::GET, None, &[], Vec::new()),
            (
                "accepted",
                Method::POST,
                None,
                &json_type,
                sheet(json!({"answers": answers(1), "duration_secs": 95, "via": "qr"})),
            ),
            (
                "repeat",
                Method::POST,
                None,
                &json_type,
                sheet(json!({"answers": answers(1)})),
            ),
        ];
        let mut statuses = Vec::new();
        for (what, method, fixed, headers, body) in cases {
            let a = app
                .raw(
                    method.clone(),
                    fixed.unwrap_or(&direct),
                    headers,
                    body.clone(),
                )
                .await;
            let b = app
                .raw_documented(method, fixed.unwrap_or(&documented), headers, body)
                .await;
            assert_eq!(a.status, b.status, "{what}: {} / {}", a.text, b.text);
            assert_eq!(
                a.headers.get("content-type"),
                b.headers.get("content-type"),
                "{what}"
            );
            let (mut x, mut y) = (a.body.clone(), b.body.clone());
            if what == "accepted" {
                // Different responses: the same fields, each with its own values.
                let keys = |v: &Value| {
                    v.as_object()
                        .map(|o| o.keys().cloned().collect::<Vec<_>>())
                        .unwrap_or_default()
                };
                assert_eq!(keys(&x), vec!["response_id", "submitted_at"], "{}", a.text);
                assert_eq!(keys(&x), keys(&y), "{what}");
                assert_ne!(x["response_id"], y["response_id"]);
            } else {
                // Every other probe is refused: the same error body, request ids aside.
                a.headers.get("x-request-id").expect("request id");
                for v in [&mut x, &mut y] {
                    v.as_object_mut().expect("error body").remove("request_id");
                }
                assert_eq!(x, y, "{what}");
            }
            statuses.push((what, a.status.as_u16()));
        }
        let expected = [
            ("malformed JSON", 400),
            ("empty body", 400),
            ("text/plain", 415),
            ("no content type", 415),
            ("answers not an object", 422),
            ("duration of the wrong type", 400),
            ("unknown channel", 422),
            ("value out of range", 422),
            ("required question missing", 422),
            ("unknown token", 404),
            ("GET", 405),
            ("accepted", 201),
            ("repeat", 409),
        ];
        assert_eq!(statuses, expected);
        for c in [campaign, other] {
            assert_eq!(
                overall_n(&app, &bureau, c).await,
                1,
                "one stored response each"
            );
        }
    })
    .await;
}

/// The demo's first four agencies' [`cases`], an open invitation-mode campaign named
/// `name`, and the tokens of its invitations generated with `seed`.
async fn invited_tokens(app: &TestApp, bureau: &str, name: &str, seed: &str) -> (i64, Vec<String>) {
    let agencies: Vec<i64> = agency_ids(app, bureau).await.into_iter().take(4).collect();
    let uscc = an_enterprise(app, bureau).await;
    app.post("/api/v1/cases", bureau, cases(&agencies, &uscc))
        .await
        .expect(200);
    let q = enterprise_questionnaire(app, bureau).await;
    let campaign = open_campaign(app, bureau, q, name).await;
    let generated = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/invitations"),
            bureau,
            json!({"seed": seed}),
        )
        .await
        .expect(201);
    let tokens = generated.body["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| i["token"].as_str().expect("token").to_owned())
        .collect();
    (campaign, tokens)
}

/// A burst of answers to many invitations at once is committed in groups: every
/// invitation is answered exactly once, each winner gets its own response id, and a
/// duplicate anywhere in the burst (the same group or the next) gets 409.
#[tokio::test]
async fn a_burst_of_answers_stores_each_invitation_exactly_once() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let (campaign, tokens) = invited_tokens(&app, &bureau, "并发批量", "7").await;
        assert!(tokens.len() >= 30, "{} invitations", tokens.len());
        let server = app.serve().await;
        // Every token three times, interleaved so duplicates meet in one group and
        // across groups; among them invalid sheets and unknown tokens, which must fail
        // alone.
        let mut requests: Vec<(String, Value)> = (0..3)
            .flat_map(|round| {
                tokens
                    .iter()
                    .enumerate()
                    .map(move |(r, t)| (t.clone(), json!({"answers": answers(r + round)})))
            })
            .collect();
        for (i, t) in tokens.iter().take(5).enumerate() {
            requests.insert(7 * i + 3, (t.clone(), json!({"answers": {"attitude": 9}})));
            requests.insert(
                11 * i + 5,
                (format!("unknown-{i}"), json!({"answers": answers(i)})),
            );
        }
        let attempts: Vec<_> = requests
            .into_iter()
            .map(|(token, body)| {
                let url = format!("/api/v1/public/invitations/{token}/responses");
                let addr = server.addr;
                tokio::spawn(async move { (token, post_raw(addr, &url, &body.to_string()).await) })
            })
            .collect();
        let outcomes: Vec<(String, u16)> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.expect("task"))
            .collect();
        for (i, token) in tokens.iter().enumerate() {
            let statuses: Vec<u16> = outcomes
                .iter()
                .filter(|(t, _)| t == token)
                .map(|(_, s)| *s)
                .collect();
            let count = |code: u16| statuses.iter().filter(|s| **s == code).count();
            assert_eq!(count(201), 1, "{statuses:?}");
            // The invalid sheet is 422 before the invitation is claimed, 409 after.
            let refused = if i < 5 { 3 } else { 2 };
            assert_eq!(count(409) + count(422), refused, "{statuses:?}");
            assert!(count(422) <= 1, "{statuses:?}");
        }
        assert_eq!(
            outcomes
                .iter()
                .filter(|(t, _)| t.starts_with("unknown-"))
                .map(|(_, s)| *s)
                .collect::<Vec<_>>(),
            vec![404; 5]
        );
        assert_eq!(
            overall_n(&app, &bureau, campaign).await,
            tokens.len(),
            "one stored response per invitation"
        );
        // And every invitation now reads as used.
        for token in tokens.iter().take(5) {
            app.call(
                Method::GET,
                &format!("/api/v1/public/invitations/{token}"),
                None,
                None,
            )
            .await
            .expect_error(409, "invitation_used");
        }
    })
    .await;
}

async fn post_raw(addr: std::net::SocketAddr, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn closed_and_unopened_campaigns_refuse_answers() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let (campaign, invitation, _) =
            single_invitation(&app, &bureau, agencies[1], "关闭-1", "关闭测试").await;
        let token = invitation["token"].as_str().expect("token").to_owned();
        app.post(
            &format!("/api/v1/campaigns/{campaign}/status"),
            &bureau,
            json!({"status": "closed"}),
        )
        .await
        .expect(200);
        app.call(
            Method::GET,
            &format!("/api/v1/public/invitations/{token}"),
            None,
            None,
        )
        .await
        .expect_error(409, "campaign_closed");
        app.call(
            Method::POST,
            &format!("/api/v1/public/invitations/{token}/responses"),
            None,
            Some(json!({"answers": answers(1)})),
        )
        .await
        .expect_error(409, "campaign_closed");
        app.post(
            &format!("/api/v1/campaigns/{campaign}/status"),
            &bureau,
            json!({"status": "open"}),
        )
        .await
        .expect_error(409, "invalid_transition");
        app.call(
            Method::GET,
            "/api/v1/public/invitations/0123456789abcdef0123456789abcdef",
            None,
            None,
        )
        .await
        .expect_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn open_campaigns_take_public_answers_idempotently_and_rate_limited() {
    let configure = |c: &mut pingjia_api::config::Config| c.open_answers_per_hour = 3;
    pingjia_tests::for_each_backend_with(configure, |app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let q = {
            let list = app.get("/api/v1/questionnaires", &bureau).await.expect(200);
            list.body[0]["id"].as_i64().expect("citizen questionnaire")
        };
        let today = Utc::now().date_naive();
        let created = app
            .post(
                "/api/v1/campaigns",
                &bureau,
                json!({
                    "name": "市民满意度公开调查", "questionnaire_id": q, "version": 1, "region_code": "320700",
                    "agency_ids": [agencies[0], agencies[1]], "mode": "open",
                    "period_start": today.to_string(), "period_end": today.to_string(),
                    "opens_at": (Utc::now() - Duration::hours(1)).to_rfc3339(),
                    "closes_at": (Utc::now() + Duration::days(7)).to_rfc3339(),
                }),
            )
            .await
            .expect(201);
        let id = created.body["id"].as_i64().expect("id");
        let public = format!("/api/v1/public/campaigns/{id}");
        app.call(Method::GET, &public, None, None).await.expect_error(409, "campaign_not_open");
        app.post(&format!("/api/v1/campaigns/{id}/status"), &bureau, json!({"status": "open"}))
            .await
            .expect(200);
        let survey = app.call(Method::GET, &public, None, None).await.expect(200);
        assert_eq!(survey.body["agencies"].as_array().map(Vec::len), Some(2));

        let citizen = json!({"attitude": 4, "credentials": true, "rights": true, "procedure": 4,
                             "fairness": 5, "integrity": false, "guidance": 3, "overall": 4});
        let answer = |agency: i64, key: Option<&'static str>| {
            let headers: Vec<(&str, &str)> = key.map(|k| vec![("Idempotency-Key", k)]).unwrap_or_default();
            let body = json!({"agency_id": agency, "answers": citizen.clone()}).to_string().into_bytes();
            (headers, body)
        };
        let post = |headers: Vec<(&'static str, &'static str)>, body: Vec<u8>| {
            let app = &app;
            let path = format!("{public}/responses");
            async move {
                let mut h = headers;
                h.push(("Content-Type", "application/json"));
                app.raw(Method::POST, &path, &h, body).await
            }
        };
        // Not covered by the campaign: 422 naming agency_id.
        let (h, b) = answer(agencies[5], None);
        let reply = post(h, b).await.expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["agency_id"]);
        // The same Idempotency-Key twice stores one answer.
        let (h, b) = answer(agencies[0], Some("retry-7f3a"));
        let first = post(h, b).await.expect(201);
        let (h, b) = answer(agencies[0], Some("retry-7f3a"));
        let second = post(h, b).await.expect(201);
        assert_eq!(first.body["response_id"], second.body["response_id"]);
        assert!(first.headers.get("idempotent-replayed").is_none());
        assert_eq!(second.headers["idempotent-replayed"], "true");
        // The limit (3 an hour here) counts attempts from this address: 422, 201 → one left.
        let (h, b) = answer(agencies[1], None);
        post(h, b).await.expect(201);
        let (h, b) = answer(agencies[1], None);
        let limited = post(h, b).await.expect_error(429, "too_many_requests");
        assert!(limited.headers.contains_key("retry-after"));

        assert_eq!(overall_n(&app, &bureau, id).await, 2, "the replay stored nothing");

        // Invitation campaigns are not public.
        let invitation_campaign = open_campaign(&app, &bureau, q, "邀请制").await;
        app.call(Method::GET, &format!("/api/v1/public/campaigns/{invitation_campaign}"), None, None)
            .await
            .expect_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn case_codes_and_invitations_print_as_qr_codes_with_bot_links() {
    let configure = |c: &mut pingjia_api::config::Config| {
        c.bot_username = Some("pingjia_lyg_bot".into());
        c.public_url = Some("https://pingjia.example.gov.cn/".into());
    };
    pingjia_tests::for_each_backend_with(configure, |app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let (_, inv, code) =
            single_invitation(&app, &bureau, agencies[2], "码-1", "扫码回访").await;
        let token = inv["token"].as_str().expect("token").to_owned();
        assert_eq!(
            inv["bot_link"],
            format!("https://t.me/pingjia_lyg_bot?start={token}")
        );
        assert_eq!(
            inv["link"],
            format!("https://pingjia.example.gov.cn/api/v1/public/invitations/{token}")
        );
        assert_eq!(inv["case_code"], code.as_str());

        for (path, kind) in [
            (format!("/api/v1/public/cases/{code}/qr"), "image/png"),
            (
                format!("/api/v1/public/cases/{code}/qr?format=svg"),
                "image/svg+xml",
            ),
            (
                format!("/api/v1/public/invitations/{token}/qr?format=png"),
                "image/png",
            ),
        ] {
            let reply = app.call(Method::GET, &path, None, None).await.expect(200);
            let content_type = reply.headers["content-type"].to_str().expect("header");
            assert!(content_type.starts_with(kind), "{path}: {content_type}");
            if kind == "image/png" {
                assert_eq!(
                    reply.bytes.get(..8),
                    Some(&b"\x89PNG\r\n\x1a\n"[..]),
                    "{path}: PNG signature"
                );
            } else {
                assert!(reply.text.contains("<svg"), "{path}");
            }
        }
        app.call(
            Method::GET,
            "/api/v1/public/cases/NOSUCHCODE22/qr",
            None,
            None,
        )
        .await
        .expect_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn return_visit_rules_are_set_per_bureau_inherited_and_applied() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let county = app.key(Role::Bureau, Some("320706"), None).await;
        let reply = app.get("/api/v1/regions/320706/return-visit-rules", &county).await.expect(200);
        assert_eq!(reply.body["source_region"], Value::Null);
        assert_eq!(reply.body["general_rate"], 1.0);
        assert_eq!(reply.body["window_days"], 30);

        let rules = json!({"kinds": ["inspection", "penalty"], "general_rate": 1.0, "simple_rate": 0.0, "window_days": 15});
        app.call(Method::PUT, "/api/v1/regions/320700/return-visit-rules", Some(&county), Some(rules.clone()))
            .await
            .expect_error(403, "forbidden");
        let bad = json!({"kinds": ["parking"], "general_rate": 1.5, "simple_rate": 0.0, "window_days": 0});
        let reply = app
            .call(Method::PUT, "/api/v1/regions/320700/return-visit-rules", Some(&city), Some(bad))
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(reply.fields(), ["general_rate", "window_days", "kinds"]);
        app.call(Method::PUT, "/api/v1/regions/320700/return-visit-rules", Some(&city), Some(rules))
            .await
            .expect(200);
        let reply = app.get("/api/v1/regions/320706001/return-visit-rules", &county).await.expect(200);
        assert_eq!(reply.body["source_region"], "320700");
        assert_eq!(reply.body["simple_rate"], 0.0);

        // Applied: simple-procedure cases without priority are no longer visited.
        let agencies = agency_ids(&app, &city).await;
        let today = Utc::now().date_naive();
        let list: Vec<Value> = (0..5)
            .map(|i| {
                json!({"agency_id": agencies[0], "case_number": format!("规则-{i}"), "kind": "penalty",
                       "procedure": if i < 2 { "general" } else { "simple" }, "decision_date": today.to_string()})
            })
            .collect();
        app.post("/api/v1/cases", &city, json!({"cases": list})).await.expect(200);
        let q = enterprise_questionnaire(&app, &city).await;
        let campaign = open_campaign(&app, &city, q, "规则测试").await;
        let generated = app
            .post(&format!("/api/v1/campaigns/{campaign}/invitations"), &city, json!({"seed": "1"}))
            .await
            .expect(201);
        assert_eq!(generated.body["invitations"].as_array().map(Vec::len), Some(2));
        // The window is 15 days after the decision (end of day, Asia/Shanghai).
        let expires = generated.body["invitations"][0]["expires_at"].as_str().expect("time");
        let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("rfc3339");
        let expected = (today + Duration::days(16)).and_hms_opt(0, 0, 0).expect("time") - Duration::hours(8);
        assert_eq!(expires.naive_utc(), expected);
    })
    .await;
}

#[tokio::test]
async fn phone_visits_export_the_pending_list_and_take_answers_once() {
    use calamine::Reader;
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let uscc = an_enterprise(&app, &bureau).await;
        let today = Utc::now().date_naive();
        let list: Vec<Value> = (0..3)
            .map(|i| {
                json!({"agency_id": agencies[i], "case_number": format!("电访-{i}"), "kind": "inspection",
                       "procedure": "general", "enterprise_uscc": uscc, "decision_date": today.to_string()})
            })
            .collect();
        app.post("/api/v1/cases", &bureau, json!({"cases": list})).await.expect(200);
        let q = enterprise_questionnaire(&app, &bureau).await;
        let campaign = open_campaign(&app, &bureau, q, "电话回访").await;
        app.post(&format!("/api/v1/campaigns/{campaign}/invitations"), &bureau, json!({}))
            .await
            .expect(201);

        let visits = app.get(&format!("/api/v1/campaigns/{campaign}/visits"), &evaluator).await.expect(200);
        let visits = visits.body.as_array().expect("list").clone();
        assert_eq!(visits.len(), 3);
        assert_eq!(visits[0]["enterprise_uscc"], uscc.as_str());

        let csv = app.get(&format!("/api/v1/campaigns/{campaign}/visits?format=csv"), &bureau).await.expect(200);
        assert!(csv.text.starts_with("\u{feff}邀请编号,执法机关,案号"), "{}", csv.text);
        assert_eq!(csv.text.lines().count(), 4);

        let xlsx = app.get(&format!("/api/v1/campaigns/{campaign}/visits?format=xlsx"), &bureau).await.expect(200);
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.bytes.clone())).expect("xlsx");
        let sheet = book.worksheet_range("待回访").expect("sheet");
        let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        assert_eq!(rows[0][1], "执法机关");
        assert_eq!(rows.len(), 4);
        for (row, visit) in rows[1..].iter().zip(&visits) {
            assert_eq!(row[0], visit["invitation_id"].to_string());
            assert_eq!(row[1], visit["agency"].as_str().unwrap_or_default());
            assert_eq!(row[3], visit["case_code"].as_str().unwrap_or_default());
        }

        // The evaluator enters a phone answer; it is taken once.
        let id = visits[0]["invitation_id"].as_i64().expect("id");
        let path = format!("/api/v1/invitations/{id}/responses");
        app.post(&path, &evaluator, json!({"answers": answers(2)})).await.expect(201);
        app.post(&path, &evaluator, json!({"answers": answers(2)}))
            .await
            .expect_error(409, "invitation_used");
        let channel = app.key(Role::Channel, None, None).await;
        app.post(&path, &channel, json!({"answers": answers(2)}))
            .await
            .expect_error(403, "forbidden");
        let left = app.get(&format!("/api/v1/campaigns/{campaign}/visits"), &evaluator).await.expect(200);
        assert_eq!(left.body.as_array().map(Vec::len), Some(2));
    })
    .await;
}

#[tokio::test]
async fn exports_read_back_equal_the_stored_answers_within_scope() {
    use calamine::Reader;
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let haizhou = app.key(Role::Bureau, Some("320706"), None).await;
        let in_region = |region: &'static str| {
            let app = &app;
            let city = city.clone();
            async move {
                let r = app.get(&format!("/api/v1/agencies?region={region}"), &city).await.expect(200);
                r.body["items"][0]["id"].as_i64().expect("agency")
            }
        };
        let (hz, gy) = (in_region("320706").await, in_region("320707").await);
        let today = Utc::now().date_naive();
        let list: Vec<Value> = (0..5)
            .map(|i| {
                json!({"agency_id": if i < 3 { hz } else { gy }, "case_number": format!("导出-{i}"),
                       "kind": "inspection", "procedure": "general", "decision_date": today.to_string()})
            })
            .collect();
        app.post("/api/v1/cases", &city, json!({"cases": list})).await.expect(200);
        let q = enterprise_questionnaire(&app, &city).await;
        let campaign = open_campaign(&app, &city, q, "导出测试").await;
        let generated = app
            .post(&format!("/api/v1/campaigns/{campaign}/invitations"), &city, json!({}))
            .await
            .expect(201);
        let mut given = BTreeMap::new();
        for (r, inv) in generated.body["invitations"].as_array().expect("list").iter().enumerate() {
            let token = inv["token"].as_str().expect("token");
            let reply = app
                .call(
                    Method::POST,
                    &format!("/api/v1/public/invitations/{token}/responses"),
                    None,
                    Some(json!({"answers": answers(r), "duration_secs": 60})),
                )
                .await
                .expect(201);
            given.insert(reply.body["response_id"].to_string(), answers(r));
        }

        let csv = app.get(&format!("/api/v1/campaigns/{campaign}/responses?format=csv"), &city).await.expect(200);
        assert!(csv.text.starts_with("\u{feff}答卷编号,执法机关编号,执法机关"), "{}", &csv.text[..60]);
        assert_eq!(csv.text.lines().count(), 6);

        let xlsx = app.get(&format!("/api/v1/campaigns/{campaign}/responses?format=xlsx"), &city).await.expect(200);
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.bytes.clone())).expect("xlsx");
        let sheet = book.worksheet_range("答卷").expect("sheet");
        let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
        assert_eq!(rows.len(), 6);
        let col = |key: &str| rows[0].iter().position(|h| h.ends_with(&format!("【{key}】"))).expect("column");
        let (attitude, credentials, integrity) = (col("attitude"), col("credentials"), col("integrity"));
        assert!(rows[0][attitude].starts_with("执法人员"), "header is the question text");
        for row in &rows[1..] {
            let a = &given[&row[0]];
            assert_eq!(row[attitude], a["attitude"].to_string());
            assert_eq!(row[credentials], if a["credentials"] == true { "1" } else { "0" });
            assert_eq!(row[integrity], if a["integrity"] == true { "1" } else { "0" });
        }

        // A county bureau exports only its subtree; agencies never see individual answers.
        let county = app.get(&format!("/api/v1/campaigns/{campaign}/responses"), &haizhou).await.expect(200);
        assert_eq!(county.text.lines().count(), 4);
        let agency = app.key(Role::Agency, None, Some(hz)).await;
        app.get(&format!("/api/v1/campaigns/{campaign}/responses"), &agency)
            .await
            .expect_error(403, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn imports_report_every_bad_cell_and_honour_atomic() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let city = app.key(Role::Bureau, Some("320700"), None).await;
        let evaluator = app.key(Role::Evaluator, None, None).await;
        let agencies = agency_ids(&app, &city).await;
        let q = enterprise_questionnaire(&app, &city).await;
        let campaign = open_campaign(&app, &city, q, "第三方测评").await;
        let (a, b) = (agencies[0], agencies[1]);
        let csv = format!(
            "\u{feff}agency_id,attitude,credentials,rights,procedure,fairness,integrity,burden,guidance,overall,duration_secs\n\
             {a},5,1,1,4,4,0,5,4,5,120\n\
             {b},6,1,1,4,4,0,5,4,5,120\n\
             99999,4,是,否,4,4,0,5,4,4,\n\
             {a},4,maybe,1,4,4,0,5,4,2,30\n\
             {b},3,0,0,3,3,1,3,3,3,\n"
        );
        let path = format!("/api/v1/campaigns/{campaign}/imports");
        let auth = format!("Bearer {evaluator}");
        let post = |query: &str, content_type: &'static str, body: Vec<u8>| {
            let app = &app;
            let url = format!("{path}{query}");
            let auth = auth.clone();
            async move {
                app.raw(Method::POST, &url, &[("Authorization", &auth), ("Content-Type", content_type)], body)
                    .await
            }
        };
        let atomic = post("?atomic=true", "text/csv", csv.clone().into_bytes()).await.expect(200);
        let errors: Vec<(u64, String)> = atomic.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| (e["row"].as_u64().expect("row"), e["column"].as_str().expect("column").to_owned()))
            .collect();
        assert_eq!(
            errors,
            [
                (2, "attitude".to_owned()),
                (3, "agency_id".to_owned()),
                (4, "credentials".to_owned()),
            ],
            "{}",
            atomic.text
        );
        assert_eq!(atomic.body["stored"], 0);
        assert_eq!(atomic.body["rows"], 5);
        let none = app
            .get(&format!("/api/v1/campaigns/{campaign}/results?by=dimension&min_n=1"), &city)
            .await
            .expect(200);
        assert_eq!(none.body.as_array().map(Vec::len), Some(0), "atomic import stored nothing");

        let partial = post("", "text/csv", csv.into_bytes()).await.expect(200);
        assert_eq!(partial.body["stored"], 2);
        // Row 4's overall of 2 needs dissatisfied_reason: reported once the cells parse.
        let results = app
            .get(&format!("/api/v1/campaigns/{campaign}/results?by=dimension&min_n=1"), &city)
            .await
            .expect(200);
        let overall = results.body.as_array().expect("rows").iter().find(|r| r["dimension"] == "overall").cloned();
        assert_eq!(overall.expect("overall")["n"], 2);

        // XLSX with export-style headers.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let header = ["agency_id", "执法人员是否文明？【attitude】", "credentials", "rights", "procedure", "fairness", "integrity", "burden", "guidance", "overall"];
        for (c, h) in header.iter().enumerate() {
            sheet.write_string(0, c as u16, *h).expect("cell");
        }
        let row = [a.to_string(), "4".into(), "1".into(), "1".into(), "4".into(), "4".into(), "0".into(), "4".into(), "4".into(), "4".into()];
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(1, c as u16, v).expect("cell");
        }
        let bytes = book.save_to_buffer().expect("xlsx");
        let reply = post("", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes)
            .await
            .expect(200);
        assert_eq!(reply.body["stored"], 1, "{}", reply.text);
        assert_eq!(reply.body["errors"].as_array().map(Vec::len), Some(0));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_open_answers_never_overshoot_an_agency_quota() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let list = app.get("/api/v1/questionnaires", &bureau).await.expect(200);
        let q = list.body[0]["id"].as_i64().expect("citizen questionnaire");
        let today = Utc::now().date_naive();
        let bad = app
            .post(
                "/api/v1/campaigns",
                &bureau,
                json!({"name": "配额", "questionnaire_id": q, "version": 1, "region_code": "320706", "mode": "open",
                       "period_start": today.to_string(), "period_end": today.to_string(),
                       "opens_at": (Utc::now() - Duration::hours(1)).to_rfc3339(),
                       "closes_at": (Utc::now() + Duration::days(1)).to_rfc3339(),
                       "quotas": [{"agency_id": agencies[0], "quota": 2}]}),
            )
            .await
            .expect_error(422, "validation_failed");
        assert_eq!(bad.fields(), ["quotas"], "a city agency is outside a county campaign");
        let created = app
            .post(
                "/api/v1/campaigns",
                &bureau,
                json!({"name": "配额", "questionnaire_id": q, "version": 1, "region_code": "320700", "mode": "open",
                       "period_start": today.to_string(), "period_end": today.to_string(),
                       "opens_at": (Utc::now() - Duration::hours(1)).to_rfc3339(),
                       "closes_at": (Utc::now() + Duration::days(1)).to_rfc3339(),
                       "quotas": [{"agency_id": agencies[0], "quota": 2}]}),
            )
            .await
            .expect(201);
        let id = created.body["id"].as_i64().expect("id");
        app.post(&format!("/api/v1/campaigns/{id}/status"), &bureau, json!({"status": "open"}))
            .await
            .expect(200);
        let server = app.serve().await;
        let body = json!({"agency_id": agencies[0], "answers": {"attitude": 4, "credentials": true, "rights": true,
            "procedure": 4, "fairness": 4, "integrity": false, "guidance": 4, "overall": 4}})
        .to_string();
        let url = format!("/api/v1/public/campaigns/{id}/responses");
        let attempts = (0..10).map(|_| {
            let (url, body, addr) = (url.clone(), body.clone(), server.addr);
            tokio::spawn(async move { post_raw(addr, &url, &body).await })
        });
        let statuses: Vec<u16> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.expect("task"))
            .collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 2, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 8, "{statuses:?}");
        // Another agency has no quota.
        let other = json!({"agency_id": agencies[1], "answers": {"attitude": 3, "credentials": true, "rights": true,
            "procedure": 3, "fairness": 3, "integrity": false, "guidance": 3, "overall": 3}})
        .to_string();
        assert_eq!(post_raw(server.addr, &url, &other).await, 201);
    })
    .await;
}

#[tokio::test]
async fn overdue_invitations_are_marked_expired_and_refused() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let (campaign, invitation, _) =
            single_invitation(&app, &bureau, agencies[0], "过期-1", "过期测试").await;
        let token = invitation["token"].as_str().expect("token").to_owned();
        // Nothing is due now; 31 days on (window 30 days), the invitation is.
        assert_eq!(
            pingjia_api::service::surveys::expire_due(&app.db, Utc::now())
                .await
                .expect("run"),
            0
        );
        let later = Utc::now() + Duration::days(31);
        assert_eq!(
            pingjia_api::service::surveys::expire_due(&app.db, later)
                .await
                .expect("run"),
            1
        );
        app.call(
            Method::GET,
            &format!("/api/v1/public/invitations/{token}"),
            None,
            None,
        )
        .await
        .expect_error(409, "invitation_expired");
        let visits = app
            .get(&format!("/api/v1/campaigns/{campaign}/visits"), &bureau)
            .await
            .expect(200);
        assert_eq!(visits.body.as_array().map(Vec::len), Some(0));
    })
    .await;
}

/// Answering writes only the response; the invitation counts as answered because a
/// response names it. Past its time the expiry task leaves it alone, the public page
/// still says it was answered (not expired), and it never returns to the visit list.
#[tokio::test]
async fn an_answered_invitation_stays_answered_past_its_time() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let today = Utc::now().date_naive().to_string();
        app.post(
            "/api/v1/cases",
            &bureau,
            json!({"cases": [
                {"agency_id": agencies[0], "case_number": "答后-1", "kind": "penalty",
                 "procedure": "general", "decision_date": today},
                {"agency_id": agencies[1], "case_number": "答后-2", "kind": "penalty",
                 "procedure": "general", "decision_date": today},
            ]}),
        )
        .await
        .expect(200);
        let q = enterprise_questionnaire(&app, &bureau).await;
        let campaign = open_campaign(&app, &bureau, q, "答后过期测试").await;
        let generated = app
            .post(
                &format!("/api/v1/campaigns/{campaign}/invitations"),
                &bureau,
                json!({}),
            )
            .await
            .expect(201);
        let invitations = generated.body["invitations"].as_array().expect("list");
        assert_eq!(invitations.len(), 2);
        let (answered, unanswered) = (&invitations[0], &invitations[1]);
        let token = answered["token"].as_str().expect("token").to_owned();
        app.call(
            Method::POST,
            &format!("/api/v1/public/invitations/{token}/responses"),
            None,
            Some(json!({"answers": answers(1)})),
        )
        .await
        .expect(201);
        let visits = app
            .get(&format!("/api/v1/campaigns/{campaign}/visits"), &bureau)
            .await
            .expect(200);
        let listed: Vec<&Value> = visits.body.as_array().expect("list").iter().collect();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["invitation_id"], unanswered["id"]);

        // 31 days on, only the unanswered invitation expires.
        let later = Utc::now() + Duration::days(31);
        assert_eq!(
            pingjia_api::service::surveys::expire_due(&app.db, later)
                .await
                .expect("run"),
            1
        );
        app.call(
            Method::GET,
            &format!("/api/v1/public/invitations/{token}"),
            None,
            None,
        )
        .await
        .expect_error(409, "invitation_used");
        let other = unanswered["token"].as_str().expect("token");
        app.call(
            Method::GET,
            &format!("/api/v1/public/invitations/{other}"),
            None,
            None,
        )
        .await
        .expect_error(409, "invitation_expired");
        app.call(
            Method::POST,
            &format!("/api/v1/public/invitations/{token}/responses"),
            None,
            Some(json!({"answers": answers(2)})),
        )
        .await
        .expect_error(409, "invitation_used");
        // Neither is left to visit: one answered, one expired.
        let visits = app
            .get(&format!("/api/v1/campaigns/{campaign}/visits"), &bureau)
            .await
            .expect(200);
        assert_eq!(visits.body.as_array().map(Vec::len), Some(0));
        assert_eq!(overall_n(&app, &bureau, campaign).await, 1);
    })
    .await;
}

/// The migration that made a response what marks an invitation answered: undone, the
/// answered invitation gets its old status and `answered_at` (the response's time)
/// back; redone, it is `pending` again and still refuses a second answer.
#[tokio::test]
async fn the_answered_by_response_migration_goes_both_ways() {
    use pingjia_migrations::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Statement};
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let agencies = agency_ids(&app, &bureau).await;
        let (_, invitation, _) =
            single_invitation(&app, &bureau, agencies[0], "迁移-1", "迁移测试").await;
        let token = invitation["token"].as_str().expect("token").to_owned();
        app.call(
            Method::POST,
            &format!("/api/v1/public/invitations/{token}/responses"),
            None,
            Some(json!({"answers": answers(3)})),
        )
        .await
        .expect(201);
        let id = invitation["id"].as_i64().expect("id");
        let backend = app.db.get_database_backend();
        let status = |sql: &'static str| {
            let db = app.db.clone();
            async move {
                db.query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
                    .await
                    .expect("query")
                    .expect("row")
                    .try_get_by_index::<String>(0)
                    .expect("value")
            }
        };
        let (select_old, select_new) = match backend {
            sea_orm::DbBackend::Postgres => (
                "SELECT status || ' ' || CAST(answered_at IS NOT NULL AS TEXT) FROM invitations WHERE id = $1",
                "SELECT status FROM invitations WHERE id = $1",
            ),
            _ => (
                "SELECT status || ' ' || (answered_at IS NOT NULL) FROM invitations WHERE id = ?",
                "SELECT status FROM invitations WHERE id = ?",
            ),
        };
        assert_eq!(status(select_new).await, "pending");

        // Down to before migration 12, however many came after it.
        let steps = Migrator::migrations()
            .iter()
            .rev()
            .position(|m| m.name().contains("answered_by_response"))
            .expect("migration 12")
            + 1;
        Migrator::down(&app.db, Some(steps as u32)).await.expect("down");
        let expected_old = match backend {
            sea_orm::DbBackend::Postgres => "answered true",
            _ => "answered 1",
        };
        assert_eq!(status(select_old).await, expected_old);

        Migrator::up(&app.db, None).await.expect("up");
        assert_eq!(status(select_new).await, "pending");
        app.call(
            Method::POST,
            &format!("/api/v1/public/invitations/{token}/responses"),
            None,
            Some(json!({"answers": answers(4)})),
        )
        .await
        .expect_error(409, "invitation_used");
    })
    .await;
}

/// Two replicas (two servers, each with its own answer writer) on one database, every
/// token sent to both at once, several times: each invitation is answered exactly
/// once, and every other attempt is told it was used. Answering writes no invitation
/// row, so this rests on the unique response per invitation alone.
#[tokio::test]
async fn two_replicas_answer_each_invitation_exactly_once() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let (campaign, tokens) = invited_tokens(&app, &bureau, "双副本", "11").await;
        assert!(tokens.len() >= 20, "{} invitations", tokens.len());
        let (one, two) = (app.serve().await, app.serve().await);
        let attempts: Vec<_> = (0..3)
            .flat_map(|round| {
                tokens.iter().enumerate().flat_map(move |(r, t)| {
                    [one.addr, two.addr].map(|addr| {
                        let token = t.clone();
                        let body = json!({"answers": answers(r + round)}).to_string();
                        tokio::spawn(async move {
                            let url = format!("/api/v1/public/invitations/{token}/responses");
                            (token, post_raw(addr, &url, &body).await)
                        })
                    })
                })
            })
            .collect();
        let outcomes: Vec<(String, u16)> = futures::future::join_all(attempts)
            .await
            .into_iter()
            .map(|r| r.expect("task"))
            .collect();
        for token in &tokens {
            let statuses: Vec<u16> = outcomes
                .iter()
                .filter(|(t, _)| t == token)
                .map(|(_, s)| *s)
                .collect();
            assert_eq!(
                statuses.iter().filter(|s| **s == 201).count(),
                1,
                "{statuses:?}"
            );
            assert_eq!(
                statuses.iter().filter(|s| **s == 409).count(),
                5,
                "{statuses:?}"
            );
        }
        assert_eq!(overall_n(&app, &bureau, campaign).await, tokens.len());
    })
    .await;
}
