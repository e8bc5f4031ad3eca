//! The harness of the bot's suites: the real Pingjia API served in-process on a
//! loopback port, a fake Bot API server, and the bot between them, run as
//! `pingjia-bot` runs (dispatcher over long polling, outbox delivery).

#![allow(dead_code)] // each suite uses part of it

use std::sync::Arc;
use std::time::Duration;

use pingjia_api::domain::Role;
use pingjia_bot::App;
use pingjia_bot::api::Api;
use pingjia_bot::config::Limits;
use pingjia_bot::fake::{FakeTelegram, Sent};
use pingjia_bot::handlers::Ctx;
use pingjia_bot::state::State;
use pingjia_bot::storage::{self, DialogueStore};
use pingjia_tests::{Backend, RunningServer, TestApp};
use serde_json::{Value, json};
use teloxide::types::ChatId;

pub const WAIT: Duration = Duration::from_secs(15);

/// A bot process: its dispatcher and outbox delivery, until stopped.
/// The key the suites seal dialogue states with: one for every bot of a test, so a
/// restarted bot opens what the one before stored.
pub const STATE_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

pub fn state_sealer() -> pingjia_seal::Sealer {
    pingjia_seal::Sealer::from_hex(STATE_KEY).expect("a key")
}

pub struct RunningBot {
    pub store: Arc<DialogueStore>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningBot {
    pub async fn start(
        tg: &FakeTelegram,
        api: &str,
        key: &str,
        db_url: &str,
        limits: Limits,
    ) -> Self {
        let db = storage::open(db_url).await.expect("bot database");
        let store = DialogueStore::new(db.clone(), state_sealer(), 7);
        let app = App {
            bot: pingjia_bot::telegram("123:TEST", Some(&tg.url())).expect("bot"),
            ctx: Ctx::new(
                Api::new(api, key).expect("api client"),
                db,
                limits,
                "320700".into(),
            ),
            store: store.clone(),
            outbox_idle: Duration::from_millis(100),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run(None, Duration::from_secs(1), async move {
            let _ = stopped.await;
        }));
        Self {
            store,
            stop: Some(stop),
            task,
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the bot stops")
            .expect("joined")
            .expect("ran");
    }

    pub async fn state(&self, user: i64) -> State {
        self.store
            .state_of(ChatId(user))
            .await
            .expect("state")
            .unwrap_or_default()
    }
}

/// The API, a fake Telegram, and the bot between them.
pub struct World {
    pub app: TestApp,
    pub server: RunningServer,
    pub tg: Arc<FakeTelegram>,
    pub bot: Option<RunningBot>,
    pub telegram_key: String,
    pub bureau: String,
    pub admin: String,
    pub bot_db: String,
    _dir: tempfile::TempDir,
}

impl World {
    pub async fn new(app: TestApp, limits: Limits) -> Self {
        app.with_demo().await;
        let server = app.serve().await;
        let tg = Arc::new(FakeTelegram::start().await.expect("fake telegram"));
        let telegram_key = app.channel_key("telegram").await;
        let bureau = app.key(Role::Bureau, Some("320700"), None).await;
        let admin = app.admin().await;
        let dir = tempfile::tempdir().expect("tempdir");
        // The dialogue store on the suite's backend: a SQLite file of its own, or on
        // PostgreSQL the test's fresh database (the bot's tables beside the API's —
        // in production they are separate databases).
        let bot_db = match app.backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("bot.db").display()),
            Backend::Postgres => app.database_url(),
        };
        let bot = RunningBot::start(
            &tg,
            &format!("http://{}", server.addr),
            &telegram_key,
            &bot_db,
            limits,
        )
        .await;
        Self {
            app,
            server,
            tg,
            bot: Some(bot),
            telegram_key,
            bureau,
            admin,
            bot_db,
            _dir: dir,
        }
    }

    pub async fn first_agency(&self, region: &str) -> i64 {
        self.app
            .get(
                &format!("/api/v1/agencies?region={region}&page_size=1"),
                &self.bureau,
            )
            .await
            .expect(200)
            .body["items"][0]["id"]
            .as_i64()
            .expect("agency")
    }

    /// Files a complaint for a chat user straight through the channel API.
    pub async fn file_for(&self, user: i64, agency: Option<i64>, description: &str) -> i64 {
        let filed = self
            .app
            .post(
                "/api/v1/channel/tickets",
                &self.telegram_key,
                json!({"user_id": user.to_string(), "kind": "complaint", "category": "其他",
                       "agency_id": agency, "region_code": "320706", "description": description}),
            )
            .await
            .expect(201);
        filed.body["ticket"]["id"].as_i64().expect("id")
    }

    pub async fn invite(&self, ticket: i64, campaign: i64) {
        self.app
            .post(
                &format!("/api/v1/tickets/{ticket}/survey-invitation"),
                &self.bureau,
                json!({"campaign_id": campaign}),
            )
            .await
            .expect(201);
    }

    /// Waits until every notification of the channel was acknowledged.
    pub async fn outbox_drained(&self) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let outbox = self
                .app
                .get("/api/v1/channel/outbox", &self.telegram_key)
                .await
                .expect(200);
            if outbox.body["items"] == json!([]) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "outbox not drained: {}",
                outbox.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The bureau moves a ticket (`{"action": …}` bodies, in order).
    pub async fn moves(&self, ticket: i64, bodies: &[Value]) {
        for body in bodies {
            self.app
                .post(
                    &format!("/api/v1/tickets/{ticket}/moves"),
                    &self.bureau,
                    body.clone(),
                )
                .await
                .expect(200);
        }
    }

    /// The bureau assigns, starts and replies to a ticket with `note`.
    pub async fn handle(&self, ticket: i64, note: &str) {
        self.moves(
            ticket,
            &[
                json!({"action": "assign"}),
                json!({"action": "start"}),
                json!({"action": "reply", "note": note, "finding": "substantiated"}),
            ],
        )
        .await;
    }

    pub fn bot(&self) -> &RunningBot {
        self.bot.as_ref().expect("bot running")
    }

    pub async fn restart_bot(&mut self, limits: Limits) {
        if let Some(b) = self.bot.take() {
            b.stop().await;
        }
        self.bot = Some(
            RunningBot::start(
                &self.tg,
                &format!("http://{}", self.server.addr),
                &self.telegram_key,
                &self.bot_db,
                limits,
            )
            .await,
        );
    }

    pub async fn finish(mut self) {
        if let Some(b) = self.bot.take() {
            b.stop().await;
        }
        self.server.signal_shutdown();
    }
}

pub fn limits() -> Limits {
    Limits {
        tickets_per_day: 5,
        messages_per_minute: 120,
    }
}

/// One user's chat: what they send and the replies they get.
pub struct Chat {
    pub tg: Arc<FakeTelegram>,
    pub user: i64,
    pub seen: usize,
}

impl Chat {
    pub fn new(tg: &Arc<FakeTelegram>, user: i64) -> Self {
        Self {
            tg: tg.clone(),
            user,
            seen: 0,
        }
    }

    /// Waits for the next reply containing `needle` and moves past it.
    pub async fn reply(&mut self, needle: &str) -> Sent {
        let (at, sent) = self
            .tg
            .expect_message(self.user, self.seen, WAIT, |s| {
                s.text.as_deref().is_some_and(|t| t.contains(needle))
            })
            .await
            .unwrap_or_else(|e| panic!("waiting for {needle:?}: {e}"));
        self.seen = at + 1;
        sent
    }

    pub async fn text(&mut self, text: &str, expect: &str) -> Sent {
        self.tg.text(self.user, text);
        self.reply(expect).await
    }

    pub async fn press(&mut self, data: &str, expect: &str) -> Sent {
        self.tg.press(self.user, data);
        self.reply(expect).await
    }
}

/// The ticket number in the bot's "filed" reply.
pub fn filed_number(reply: &Sent) -> String {
    reply
        .text
        .as_deref()
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("已受理！工单号："))
        .map(str::to_owned)
        .expect("a ticket number in the reply")
}

pub fn button_with(sent: &Sent, prefix: &str) -> String {
    sent.buttons()
        .into_iter()
        .find(|b| b.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} button in {:?}", sent.buttons()))
}

pub async fn ticket_of(app: &TestApp, admin: &str, number: &str) -> Value {
    let list = app
        .get("/api/v1/tickets?page_size=200", admin)
        .await
        .expect(200);
    list.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["number"] == number)
        .cloned()
        .unwrap_or_else(|| panic!("ticket {number} in the API"))
}
