//! The bot's conversations through its real handler tree and dispatcher: updates go
//! in through a fake Bot API server (long polling), the bot talks to the real Pingjia
//! API served in-process on a loopback port, and each test asserts the replies, the
//! buttons offered, the stored dialogue state and what reached the API.

mod support;

use std::sync::Arc;
use std::time::Duration;

use pingjia_bot::api::Api;
use pingjia_bot::config::Limits;
use pingjia_bot::fake::FakeTelegram;
use pingjia_bot::handlers::Ctx;
use pingjia_bot::state::State;
use pingjia_bot::storage::{self, DialogueStore};
use pingjia_bot::{App, text};
use pingjia_tests::for_each_backend;
use serde_json::json;
use support::{Chat, WAIT, World, button_with, filed_number, limits, ticket_of};

#[tokio::test]
async fn a_complaint_filed_in_chat_is_handled_notified_and_rated() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let user = 700_001;
        let mut chat = Chat::new(&w.tg, user);

        let menu = chat.text("/start", text::MENU).await;
        assert!(menu.buttons().contains(&"menu:complaint".to_owned()));
        chat.press("menu:complaint", text::ASK_COMPLAINT_KIND).await;
        chat.press("kind:complaint", text::ASK_AGENCY).await;
        let found = chat.text("海州区市场", text::AGENCY_PICK).await;
        let agency = button_with(&found, "agency:");
        let categories = chat.press(&agency, text::ASK_CATEGORY).await;
        let rude = categories
            .buttons()
            .into_iter()
            .find(|b| b == "cat:rudeness")
            .expect("态度粗暴 offered");
        chat.press(&rude, text::ASK_DESCRIPTION).await;
        chat.text("太短了", "您输入了 3 字").await;
        assert!(matches!(w.bot().state(user).await, State::Description(_)));
        chat.text(
            "执法人员检查时态度粗暴，未出示执法证件，还威胁要罚款。",
            text::ASK_PHOTOS,
        )
        .await;
        w.tg.photo(user, "AgACAgUAAx0");
        chat.reply("已收到第 1 张照片").await;
        chat.press("photos:done", text::ASK_LOCATION).await;
        w.tg.location(user, 34.6, 119.2);
        chat.reply(text::ASK_IDENTITY).await;
        chat.press("id:real", text::ASK_CONTACT).await;
        // Someone else's contact is not accepted; one's own is.
        w.tg.contact(user, 42, "13900001111");
        chat.reply(text::CONTACT_NOT_OWN).await;
        w.tg.contact(user, user, "8613812341234");
        let summary = chat.reply("请核对以下内容").await;
        let body = summary.text.clone().unwrap_or_default();
        assert!(
            body.contains("海州区市场监督管理局") && body.contains("态度粗暴"),
            "{body}"
        );
        assert!(
            body.contains("138****1234") && !body.contains("13812341234"),
            "{body}"
        );
        let filed = chat.press("confirm:yes", "已受理！工单号").await;
        let number = filed_number(&filed);
        assert_eq!(w.bot().state(user).await, State::Idle);

        // In the API: the ticket as filed, with the photo, the place and the reporter.
        let t = ticket_of(&w.app, &w.admin, &number).await;
        assert_eq!(t["channel"], "telegram");
        assert_eq!(t["category"], "态度粗暴");
        assert_eq!(t["attachments"], json!(["tg:AgACAgUAAx0"]));
        assert_eq!(t["latitude"], 34.6);
        // Admins see the contact data masked until they reveal it (on the record).
        assert_eq!(t["reporter_phone"], "138****1234");
        let id = t["id"].as_i64().expect("id");
        let revealed = w
            .app
            .get(&format!("/api/v1/tickets/{id}?reveal=true"), &w.admin)
            .await
            .expect(200);
        assert_eq!(revealed.body["ticket"]["reporter_phone"], "13812341234");

        // The bureau handles it; the bot tells the user and asks for a rating.
        w.handle(id, "经核实，已批评教育当事执法人员。").await;
        chat.reply("已转办").await;
        let ask = chat.reply("请对办理情况作出评价").await;
        let good = format!("rate:{number}:0");
        assert!(ask.buttons().contains(&good), "{:?}", ask.buttons());
        chat.press(&good, text::RATED).await;
        let t = ticket_of(&w.app, &w.admin, &number).await;
        assert_eq!(t["state"], "return_visited");
        assert_eq!(t["rating"], "满意");
        // The outbox is empty: every notification was acknowledged.
        w.outbox_drained().await;

        // The status shows the ticket and, opened, its timeline.
        let list = chat.text("/status", text::YOUR_TICKETS).await;
        let open = format!("tk:{number}");
        assert!(list.buttons().contains(&open));
        let timeline = chat.press(&open, "答复").await;
        assert!(timeline.text.unwrap_or_default().contains("已批评教育"));
        // A second press of a rating button is explained, not ignored.
        chat.press(&good, text::RATING_CLOSED).await;
        w.finish().await;
    })
    .await;
}

#[tokio::test]
async fn cancel_edit_and_unexpected_input_always_get_an_answer() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let user = 700_002;
        let mut chat = Chat::new(&w.tg, user);

        chat.text("你好", text::UNKNOWN_INPUT).await;
        chat.press("confirm:yes", text::USE_BUTTONS).await;
        chat.text("/help", "使用说明").await;
        chat.text("/start", text::MENU).await;
        chat.press("menu:help", "使用说明").await;
        chat.press("menu:bind", text::ASK_CODE).await;
        assert_eq!(w.bot().state(user).await, State::BindCode);
        chat.press("cancel", text::CANCELLED).await;
        chat.press("menu:status", text::NO_TICKETS).await;
        // A suggestion skips the category; the agency may be unknown.
        chat.text("/start", text::MENU).await;
        chat.press("menu:suggestion", text::ASK_AGENCY).await;
        chat.text("不存在的机关名称", text::AGENCY_NONE_FOUND).await;
        chat.press("agency:unknown", text::ASK_SUGGESTION).await;
        chat.text(
            "建议在政务大厅公示执法人员名单和投诉电话。",
            text::ASK_PHOTOS,
        )
        .await;
        // Text where photos or a button are wanted: the step's prompt again, with
        // its buttons, below (finding 22: never a pointer to buttons far above).
        chat.text("这不是照片", text::USE_BUTTONS_BELOW).await;
        let again = chat.reply(text::ASK_PHOTOS).await;
        assert!(again.buttons().contains(&"photos:done".to_owned()));
        chat.press("photos:done", text::ASK_LOCATION).await;
        chat.press("loc:skip", text::ASK_IDENTITY).await;
        chat.press("id:anon", "请核对以下内容").await;
        // Edit the description: back to the summary with the new text.
        chat.press("confirm:edit", text::ASK_EDIT).await;
        chat.press("edit:description", text::ASK_SUGGESTION).await;
        let summary = chat
            .text(
                "建议在政务大厅公示执法人员名单、照片和投诉电话。",
                "请核对以下内容",
            )
            .await;
        assert!(summary.text.unwrap_or_default().contains("照片和投诉电话"));
        let State::Confirm(draft) = w.bot().state(user).await else {
            panic!("at the summary");
        };
        assert_eq!(draft.kind, "suggestion");
        assert_eq!(draft.category.as_deref(), Some("其他"));
        assert_eq!(draft.region_code.as_deref(), Some("320700"));
        // Cancel anywhere: back to idle, nothing filed.
        chat.text("/cancel", text::CANCELLED).await;
        assert_eq!(w.bot().state(user).await, State::Idle);
        let list = w.app.get("/api/v1/tickets", &w.admin).await.expect(200);
        assert_eq!(list.body["total"], 0);
        // A stale button after cancel is explained.
        chat.press("confirm:yes", text::USE_BUTTONS).await;
        // Groups are refused politely.
        w.tg.group_text(user, -100_123, "/start");
        w.tg.expect_message(-100_123, 0, WAIT, |s| {
            s.text.as_deref() == Some(text::PRIVATE_ONLY)
        })
        .await
        .expect("refused in the group");
        w.finish().await;
    })
    .await;
}

async fn open_citizen_campaign(w: &World, open_for: chrono::Duration) -> i64 {
    let list = w
        .app
        .get("/api/v1/questionnaires", &w.bureau)
        .await
        .expect(200);
    let citizen = list
        .body
        .as_array()
        .and_then(|l| l.iter().find(|q| q["key"] == "citizen_satisfaction"))
        .and_then(|q| q["id"].as_i64())
        .expect("citizen questionnaire");
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let created = w
        .app
        .post(
            "/api/v1/campaigns",
            &w.bureau,
            json!({"name": "投诉人满意度回访", "questionnaire_id": citizen, "version": 1,
                   "region_code": "320700", "mode": "invitation",
                   "period_start": (today - chrono::Duration::days(30)).to_string(),
                   "period_end": today.to_string(),
                   "opens_at": (now - chrono::Duration::hours(1)).to_rfc3339(),
                   "closes_at": (now + open_for).to_rfc3339()}),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_i64().expect("id");
    w.app
        .post(
            &format!("/api/v1/campaigns/{id}/status"),
            &w.bureau,
            json!({"status": "open"}),
        )
        .await
        .expect(200);
    id
}

#[tokio::test]
async fn a_survey_invitation_is_answered_in_chat_once() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let user = 700_003;
        let mut chat = Chat::new(&w.tg, user);
        let campaign = open_citizen_campaign(&w, chrono::Duration::days(30)).await;
        let agency = w.first_agency("320706").await;
        let id = w
            .file_for(
                user,
                Some(agency),
                "城管执法人员对流动摊贩当场罚款且未开具票据。",
            )
            .await;
        w.invite(id, campaign).await;
        let invitation = chat.reply("诚邀您").await;
        let start = button_with(&invitation, "sv:");
        let token = start.trim_start_matches("sv:").to_owned();

        let mut q = chat.press(&start, "第 1 题").await;
        let first = q.clone();
        // Back from the second question shows the first again.
        let second = chat.press(&button_with(&q, "ans:"), "第 2 题").await;
        let back = button_with(&second, "back:");
        chat.press(&back, "第 1 题").await;
        // Question 2's message lost its buttons once pressed.
        assert!(
            w.tg.calls()
                .iter()
                .any(|c| c.method == "editMessageReplyMarkup"
                    && c.body
                        .get("reply_markup")
                        .is_none_or(|m| m["inline_keyboard"].as_array().is_none_or(Vec::is_empty))),
            "an answered question's buttons are removed"
        );
        // Question 2's old button, pressed while question 1 is asked again: refused
        // with a clear message, and it answers nothing.
        let stale = button_with(&second, "ans:");
        w.tg.press_on(user, second.message_id.expect("sent"), &stale);
        chat.reply(text::STALE_BUTTON).await;
        q = chat.reply("第 1 题").await;
        assert_eq!(q.buttons(), first.buttons(), "question 1, asked again");
        let mut answered = 0;
        loop {
            answered += 1;
            assert!(answered < 30, "the questionnaire ends");
            let body = q.text.clone().unwrap_or_default();
            let next = format!("第 {} 题", answered + 1);
            let buttons = q.buttons();
            let press = if let Some(b) = buttons
                .iter()
                .find(|b| b.starts_with("ans:") && b.ends_with(".1"))
            {
                // 满意 / 否 — never the answer that opens the dissatisfaction reason.
                b.clone()
            } else if let Some(b) = buttons.iter().find(|b| b.starts_with("skip:")) {
                b.clone()
            } else {
                panic!("unexpected question: {body} {:?}", q.buttons());
            };
            w.tg.press(user, &press);
            let (at, got) =
                w.tg.expect_message(user, chat.seen, WAIT, |s| {
                    s.text.as_deref().is_some_and(|t| {
                        t.contains(&next)
                            || t.contains(text::SURVEY_THANKS)
                            || t.contains("提交未成功")
                    })
                })
                .await
                .expect("the next question or the end");
            chat.seen = at + 1;
            let t = got.text.clone().unwrap_or_default();
            assert!(!t.contains("提交未成功"), "{t}");
            if t.contains(text::SURVEY_THANKS) {
                break;
            }
            q = got;
        }
        assert_eq!(w.bot().state(user).await, State::Idle);
        let results = w
            .app
            .get(
                &format!("/api/v1/campaigns/{campaign}/results?by=dimension&min_n=1"),
                &w.bureau,
            )
            .await
            .expect(200);
        assert!(
            results.body.as_array().is_some_and(|r| !r.is_empty()),
            "{}",
            results.body
        );
        // Used, unknown: explained.
        chat.text(&format!("/start {token}"), text::TOKEN_USED)
            .await;
        chat.press("menu:survey", text::ASK_TOKEN).await;
        chat.text("0123456789abcdef0123456789abcdef", text::TOKEN_UNKNOWN)
            .await;
        assert_eq!(w.bot().state(user).await, State::SurveyToken);
        // An invitation past its expiry is explained too.
        let short = open_citizen_campaign(&w, chrono::Duration::seconds(2)).await;
        let second = w
            .file_for(user, Some(agency), "执法人员在检查中没有出示执法证件。")
            .await;
        w.invite(second, short).await;
        let late = chat.reply("诚邀您").await;
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        chat.press(&button_with(&late, "sv:"), text::TOKEN_EXPIRED)
            .await;
        assert_eq!(w.bot().state(user).await, State::Idle);
        w.finish().await;
    })
    .await;
}

#[tokio::test]
async fn liaisons_bind_with_a_code_and_their_tickets_carry_the_contact_point() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let user = 700_004;
        let mut chat = Chat::new(&w.tg, user);
        let point = w
            .app
            .post(
                "/api/v1/contact-points",
                &w.bureau,
                json!({"name": "海州区个体劳动者协会", "kind": "association", "region_code": "320706"}),
            )
            .await
            .expect(201);
        let point_id = point.body["id"].as_i64().expect("id");
        let code = w
            .app
            .post(
                &format!("/api/v1/contact-points/{point_id}/binding-codes"),
                &w.bureau,
                json!({"valid_hours": 24}),
            )
            .await
            .expect(201)
            .body["code"]
            .as_str()
            .expect("code")
            .to_owned();
        chat.text("/bind NOPE-NOPE", text::CODE_UNKNOWN).await;
        assert_eq!(w.bot().state(user).await, State::BindCode);
        chat.text(&code, "海州区个体劳动者协会").await;
        assert_eq!(w.bot().state(user).await, State::Idle);
        let mut other = Chat::new(&w.tg, 700_005);
        other.text(&format!("/bind {code}"), text::CODE_USED).await;

        // The liaison's suggestion carries the contact point.
        chat.text("/start", text::MENU).await;
        chat.press("menu:praise", text::ASK_AGENCY).await;
        chat.press("agency:unknown", text::ASK_PRAISE).await;
        chat.text("感谢执法人员耐心细致地指导我们规范经营。", text::ASK_PHOTOS)
            .await;
        chat.press("photos:done", text::ASK_LOCATION).await;
        chat.text("海州区解放路8号", text::ASK_IDENTITY).await;
        chat.press("id:anon", "请核对以下内容").await;
        let filed = chat.press("confirm:yes", "已受理！工单号").await;
        let number = filed_number(&filed);
        let t = ticket_of(&w.app, &w.admin, &number).await;
        assert_eq!(t["contact_point_id"], point_id);
        assert_eq!(t["kind"], "praise");
        assert_eq!(t["address"], "海州区解放路8号");
        w.finish().await;
    })
    .await;
}

#[tokio::test]
async fn a_restart_in_mid_dialogue_resumes_where_the_user_was() {
    for_each_backend(|app| async move {
        let mut w = World::new(app, limits()).await;
        let user = 700_006;
        let mut chat = Chat::new(&w.tg, user);
        chat.text("/start", text::MENU).await;
        chat.press("menu:complaint", text::ASK_COMPLAINT_KIND).await;
        chat.press("kind:report", text::ASK_AGENCY).await;
        chat.press("agency:unknown", text::ASK_CATEGORY).await;
        chat.press("cat:arbitrary_fines", text::ASK_DESCRIPTION)
            .await;
        w.restart_bot(limits()).await;
        // The new process takes the description where the old one asked for it.
        chat.text(
            "执法人员在检查中随意罚款，没有出具任何文书。",
            text::ASK_PHOTOS,
        )
        .await;
        let State::Photos(draft) = w.bot().state(user).await else {
            panic!("resumed at the photos step");
        };
        assert_eq!(draft.kind, "report");
        assert_eq!(draft.category.as_deref(), Some("乱罚款"));
        w.finish().await;
    })
    .await;
}

#[tokio::test]
async fn notifications_honour_retry_after_and_caps_are_explained() {
    for_each_backend(|app| async move {
        let strict = Limits {
            tickets_per_day: 1,
            messages_per_minute: 30,
        };
        let w = World::new(app, strict).await;
        let user = 700_007;
        let mut chat = Chat::new(&w.tg, user);
        let id = w
            .file_for(user, None, "第一次反映：执法人员检查时未出示证件。")
            .await;
        let agency = w.first_agency("320706").await;
        // Telegram refuses the first delivery with retry_after 1: delivered after it.
        w.tg.throttle(1, 1);
        w.moves(id, &[json!({"action": "assign", "agency_id": agency})])
            .await;
        let delivered = chat.reply("已转办").await;
        let calls = w.tg.calls();
        let refused = calls
            .iter()
            .find(|c| c.method == "throttled" && c.chat_id == Some(user))
            .expect("a refused attempt");
        assert!(delivered.at.duration_since(refused.at) >= Duration::from_millis(900));

        // An outage: deliveries fail, back off, and the notification still arrives
        // once; the outbox ends empty.
        w.tg.fail(3);
        w.moves(id, &[json!({"action": "start"})]).await;
        chat.reply("核实中").await;
        let failed: Vec<_> =
            w.tg.calls()
                .into_iter()
                .filter(|c| c.method == "failed" && c.chat_id == Some(user))
                .collect();
        assert_eq!(failed.len(), 3);
        // Each retry waits longer than the one before.
        let gaps: Vec<Duration> = failed.windows(2).map(|p| p[1].at - p[0].at).collect();
        assert!(gaps[1] > gaps[0], "{gaps:?}");
        let delivered =
            w.tg.messages_to(user)
                .iter()
                .filter(|m| m.text.as_deref().is_some_and(|t| t.contains("核实中")))
                .count();
        assert_eq!(delivered, 1);
        w.outbox_drained().await;

        // The daily cap: one ticket a day through the bot, told when a second filing
        // starts (finding 24), not after the whole dialogue.
        chat.text("/start", text::MENU).await;
        chat.press("menu:suggestion", text::ASK_AGENCY).await;
        chat.press("agency:unknown", text::ASK_SUGGESTION).await;
        chat.text("建议公开执法检查计划，减少重复检查。", text::ASK_PHOTOS)
            .await;
        chat.press("photos:done", text::ASK_LOCATION).await;
        chat.press("loc:skip", text::ASK_IDENTITY).await;
        chat.press("id:anon", "请核对以下内容").await;
        chat.press("confirm:yes", "已受理").await;
        chat.text("/start", text::MENU).await;
        for item in ["menu:suggestion", "menu:complaint", "menu:praise"] {
            chat.press(item, text::DAILY_CAP).await;
            assert_eq!(w.bot().state(user).await, State::Idle);
        }
        // Flooding: past the per-minute cap the user is told once, then ignored.
        for i in 0..20 {
            w.tg.text(user, &format!("刷屏{i}"));
        }
        chat.reply(text::FLOOD).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let floods =
            w.tg.messages_to(user)
                .iter()
                .filter(|s| s.text.as_deref() == Some(text::FLOOD))
                .count();
        assert_eq!(floods, 1);
        w.finish().await;
    })
    .await;
}

#[tokio::test]
async fn webhook_mode_takes_updates_only_with_the_secret_token() {
    for_each_backend(|app| async move {
        app.with_demo().await;
        let server = app.serve().await;
        let tg = Arc::new(FakeTelegram::start().await.expect("fake telegram"));
        let key = app.channel_key("telegram").await;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = storage::open(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bot.db").display()
        ))
        .await
        .expect("bot database");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/telegram")).expect("url");
        let bot = App {
            bot: pingjia_bot::telegram("123:TEST", Some(&tg.url())).expect("bot"),
            ctx: Ctx::new(
                Api::new(&format!("http://{}", server.addr), &key).expect("api"),
                db.clone(),
                limits(),
                "320700".into(),
            ),
            store: DialogueStore::new(db, support::state_sealer(), 7),
            outbox_idle: Duration::from_millis(100),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(bot.run(
            Some((address, url.clone(), Some("s3cret-token".into()))),
            Duration::from_secs(1),
            async move {
                let _ = stopped.await;
            },
        ));
        let http = reqwest::Client::new();
        let user = 700_010;
        // Wait for the webhook to listen; a request without the secret is refused.
        let mut refused = None;
        for _ in 0..100 {
            match http
                .post(url.clone())
                .json(&tg.text_update(user, "/start"))
                .send()
                .await
            {
                Ok(r) => {
                    refused = Some(r.status().as_u16());
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        assert_eq!(refused, Some(401));
        let wrong = http
            .post(url.clone())
            .header("X-Telegram-Bot-Api-Secret-Token", "guess")
            .json(&tg.text_update(user, "/start"))
            .send()
            .await
            .expect("sent");
        assert_eq!(wrong.status().as_u16(), 401);
        let ok = http
            .post(url.clone())
            .header("X-Telegram-Bot-Api-Secret-Token", "s3cret-token")
            .json(&tg.text_update(user, "/help"))
            .send()
            .await
            .expect("sent");
        assert_eq!(ok.status().as_u16(), 200);
        tg.expect_message(user, 0, WAIT, |s| s.text.as_deref() == Some(text::HELP))
            .await
            .expect("the bot answered the update");
        // Only the accepted update was answered, and the webhook was registered.
        assert_eq!(tg.messages_to(user).len(), 1);
        assert!(
            tg.calls()
                .iter()
                .any(|c| c.method.eq_ignore_ascii_case("setWebhook"))
        );
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("stops")
            .expect("joined")
            .expect("ran");
    })
    .await;
}

/// Findings 22 and 21: a prompt that cannot be shown leaves the user at the step
/// before (what they entered kept, their next input taken there); input a step does
/// not take shows its prompt again with its buttons; a summary of the longest
/// description and address still fits one Telegram message.
#[tokio::test]
async fn a_failed_prompt_never_strands_the_user() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let user = 700_050;
        let mut chat = Chat::new(&w.tg, user);
        chat.text("/start", text::MENU).await;
        chat.press("menu:suggestion", text::ASK_AGENCY).await;
        chat.press("agency:unknown", text::ASK_SUGGESTION).await;
        // Telegram refuses the next message: the photos prompt.
        w.tg.fail(1);
        let description = "建议公开执法检查计划，减少重复检查。";
        chat.text(description, text::SERVICE_DOWN).await;
        assert!(
            matches!(w.bot().state(user).await, State::Description(_)),
            "still at the step whose prompt the user has"
        );
        chat.text(description, text::ASK_PHOTOS).await;
        // Text where a button is wanted: the prompt again, with its buttons.
        let again = chat.text("好的", text::ASK_PHOTOS).await;
        assert!(
            again.buttons().contains(&"photos:done".to_owned()),
            "{:?}",
            again.buttons()
        );
        chat.press("photos:done", text::ASK_LOCATION).await;

        // The longest description (4,000) and address (200): the summary fits.
        let long = Chat::new(&w.tg, 700_051);
        let mut long = long;
        long.text("/start", text::MENU).await;
        long.press("menu:suggestion", text::ASK_AGENCY).await;
        long.press("agency:unknown", text::ASK_SUGGESTION).await;
        let text4000 = "执".repeat(4000);
        long.text(&text4000, text::ASK_PHOTOS).await;
        long.press("photos:done", text::ASK_LOCATION).await;
        long.text(&"址".repeat(200), text::ASK_IDENTITY).await;
        let summary = long.press("id:anon", "请核对以下内容").await;
        let shown = summary.text.clone().unwrap_or_default();
        assert!(
            shown.chars().count() <= 4096,
            "{} characters",
            shown.chars().count()
        );
        assert!(shown.contains("共 4000 字"), "{shown}");
        assert!(summary.buttons().contains(&"confirm:yes".to_owned()));
        let filed = long.press("confirm:yes", "已受理！工单号").await;
        let t = ticket_of(&w.app, &w.admin, &filed_number(&filed)).await;
        assert_eq!(
            t["description"].as_str().map(|d| d.chars().count()),
            Some(4000)
        );
    })
    .await;
}

/// Finding 25: a button pressed in a group chat is refused (the press is answered
/// with the private-only notice) and no dialogue starts for the group.
#[tokio::test]
async fn button_presses_in_groups_start_nothing() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let (user, group) = (700_060, -100_123);
        w.tg.press_in_group(user, group, "menu:complaint");
        let refused = tokio::time::timeout(WAIT, async {
            loop {
                if let Some(c) =
                    w.tg.calls()
                        .into_iter()
                        .find(|c| c.method == "answerCallbackQuery")
                {
                    return c;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the press is answered");
        assert_eq!(refused.body["text"], text::PRIVATE_ONLY);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            w.tg.messages_to(group).is_empty(),
            "nothing is said in the group"
        );
        assert_eq!(
            w.bot().state(group).await,
            State::Idle,
            "no dialogue for the group"
        );
        w.finish().await;
    })
    .await;
}

/// Finding 26: `/start` or `/status` in the middle of a filing never drops the
/// draft without asking; an unknown `/start` payload goes back to the menu, so the
/// next text is not taken for an invitation code.
#[tokio::test]
async fn commands_mid_filing_keep_the_draft() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let user = 700_061;
        let mut chat = Chat::new(&w.tg, user);
        chat.text("/start", text::MENU).await;
        chat.press("menu:suggestion", text::ASK_AGENCY).await;
        chat.press("agency:unknown", text::ASK_SUGGESTION).await;
        chat.text("建议公开执法检查计划，减少重复检查。", text::ASK_PHOTOS)
            .await;
        // /status: the tickets, then the step again; the draft stays.
        chat.text("/status", text::NO_TICKETS).await;
        chat.reply(text::DRAFT_KEPT).await;
        chat.reply(text::ASK_PHOTOS).await;
        assert!(matches!(w.bot().state(user).await, State::Photos(_)));
        // /start asks; 继续填写 goes on where the user was.
        let asked = chat.text("/start", text::ASK_KEEP_DRAFT).await;
        assert_eq!(asked.buttons(), ["resume:", "discard:", "cancel"]);
        chat.press("resume:", text::ASK_PHOTOS).await;
        let State::Photos(draft) = w.bot().state(user).await else {
            panic!("still at the photos step");
        };
        assert_eq!(
            draft.description.as_deref(),
            Some("建议公开执法检查计划，减少重复检查。")
        );
        // 放弃 returns to the menu.
        chat.text("/start", text::ASK_KEEP_DRAFT).await;
        chat.press("discard:", text::MENU).await;
        assert_eq!(w.bot().state(user).await, State::Idle);
        // /start with a payload that is no invitation: the menu, not a code prompt.
        chat.text("/start garbage", text::LINK_UNKNOWN).await;
        assert_eq!(w.bot().state(user).await, State::Idle);
        chat.text("你好", text::UNKNOWN_INPUT).await;
        w.finish().await;
    })
    .await;
}

/// Finding 27: the bot's own database holds a real-name draft sealed — no name, no
/// phone, no description in it — and forgets a dialogue left for longer than its
/// keeping time.
#[tokio::test]
async fn drafts_are_sealed_at_rest_and_forgotten_when_abandoned() {
    for_each_backend(|app| async move {
        use sea_orm::{ConnectionTrait, Statement};
        let w = World::new(app, limits()).await;
        let user = 700_070;
        let mut chat = Chat::new(&w.tg, user);
        chat.text("/start", text::MENU).await;
        chat.press("menu:suggestion", text::ASK_AGENCY).await;
        chat.press("agency:unknown", text::ASK_SUGGESTION).await;
        let description = "建议在政务大厅公示执法人员名单和投诉电话。";
        chat.text(description, text::ASK_PHOTOS).await;
        chat.press("photos:done", text::ASK_LOCATION).await;
        chat.press("loc:skip", text::ASK_IDENTITY).await;
        chat.press("id:real", text::ASK_CONTACT).await;
        w.tg.contact(user, user, "8613812341234");
        chat.reply("请核对以下内容").await;
        let State::Confirm(draft) = w.bot().state(user).await else {
            panic!("at the summary");
        };
        assert_eq!(
            draft.reporter.as_ref().map(|r| r.phone.as_str()),
            Some("13812341234")
        );

        let db = storage::open(&w.bot_db).await.expect("bot database");
        let backend = db.get_database_backend();
        let raw = db
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT state FROM bot_dialogues WHERE chat_id = {user}"),
            ))
            .await
            .expect("query")
            .expect("a stored dialogue")
            .try_get_by_index::<String>(0)
            .expect("state");
        assert!(
            raw.starts_with("v1:"),
            "sealed: {}",
            &raw[..20.min(raw.len())]
        );
        for plain in ["13812341234", "张三", "公示执法人员", "Confirm"] {
            assert!(!raw.contains(plain), "{plain:?} is not stored in the clear");
        }

        // Eight days untouched: forgotten (the keeping time here is 7).
        db.execute_unprepared(&format!(
            "UPDATE bot_dialogues SET updated_at = updated_at - {} WHERE chat_id = {user}",
            8 * 86_400
        ))
        .await
        .expect("age the dialogue");
        assert_eq!(
            w.bot().state(user).await,
            State::Idle,
            "an abandoned draft is gone"
        );
        chat.text("你好", text::UNKNOWN_INPUT).await;
        w.finish().await;
    })
    .await;
}

/// Finding 23: the agency prompt's own example, 市场监管, finds the agencies named
/// …市场监督管理局.
#[tokio::test]
async fn the_agency_prompts_example_finds_agencies() {
    for_each_backend(|app| async move {
        let w = World::new(app, limits()).await;
        let mut chat = Chat::new(&w.tg, 700_080);
        chat.text("/start", text::MENU).await;
        chat.press("menu:complaint", text::ASK_COMPLAINT_KIND).await;
        let asked = chat.press("kind:complaint", text::ASK_AGENCY).await;
        assert!(
            asked
                .text
                .as_deref()
                .is_some_and(|t| t.contains("市场监管"))
        );
        let found = chat.text("市场监管", text::AGENCY_PICK).await;
        let picks: Vec<String> = found
            .buttons()
            .into_iter()
            .filter(|b| b.starts_with("agency:"))
            .collect();
        assert!(picks.len() >= 2, "{picks:?}");
        w.finish().await;
    })
    .await;
}
