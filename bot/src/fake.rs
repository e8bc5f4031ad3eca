//! A fake Telegram Bot API server, for the bot's tests and benchmark: it queues the
//! updates a test "types" (long polling hands them out), records every call the bot
//! makes and answers it as Telegram would. It can also answer `sendMessage` with 429
//! and `retry_after`, as Telegram does under load. Loopback only.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::web::{Data, Json, Path};
use poem::{EndpointExt, Route, handler, post};
use serde_json::{Value, json};

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: String,
    pub chat_id: Option<i64>,
    /// The id the message got (messages sent), for pressing its buttons later.
    pub message_id: Option<i32>,
    pub text: Option<String>,
    pub body: Value,
    pub at: Instant,
}

impl Sent {
    /// The callback data of the inline buttons sent with the message.
    pub fn buttons(&self) -> Vec<String> {
        self.body["reply_markup"]["inline_keyboard"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    updates: Vec<Value>,
    next_update: i64,
    next_message: i32,
    sent: Vec<Sent>,
    /// `sendMessage` calls by chat.
    by_chat: std::collections::HashMap<i64, Vec<Sent>>,
    /// Who waits for messages to a chat.
    waiters: std::collections::HashMap<i64, Arc<tokio::sync::Notify>>,
    /// Messages the bot sent, by chat: (message id, body), for callbacks to refer to.
    last_message: std::collections::HashMap<i64, (i32, Value)>,
    /// `sendMessage` calls still to refuse with 429, and the `retry_after` to give.
    throttle: (u32, u32),
    /// `sendMessage` calls still to fail as a Telegram outage would.
    failing: u32,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    arrived: tokio::sync::Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The running fake server.
pub struct FakeTelegram {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn person(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "测试", "last_name": "用户", "language_code": "zh-hans"})
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "测试"})
}

#[handler]
async fn api(
    Path(path): Path<String>,
    shared: Data<&Arc<Shared>>,
    body: Option<Json<Value>>,
) -> Json<Value> {
    // `/bot<token>/<method>`: the method is the last segment, its case free (teloxide
    // sends `GetMe`, Telegram documents `getMe`).
    let given = path.rsplit('/').next().unwrap_or_default();
    let method = [
        "getMe",
        "getWebhookInfo",
        "getUpdates",
        "sendMessage",
        "editMessageReplyMarkup",
        "editMessageText",
        "answerCallbackQuery",
        "deleteWebhook",
    ]
    .into_iter()
    .find(|m| m.eq_ignore_ascii_case(given))
    .map_or_else(|| given.to_owned(), str::to_owned);
    let body = body.map(|b| b.0).unwrap_or(Value::Null);
    Json(answer(&shared, &method, body).await)
}

async fn answer(shared: &Arc<Shared>, method: &str, body: Value) -> Value {
    match method {
        "getMe" => json!({"ok": true, "result": {
            "id": 4242, "is_bot": true, "first_name": "评价", "username": "pingjia_test_bot",
            "can_join_groups": false, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false}}),
        "getWebhookInfo" => json!({"ok": true, "result": {
            "url": "", "has_custom_certificate": false, "pending_update_count": 0}}),
        "getUpdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            let wait = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0).min(2));
            let deadline = Instant::now() + wait;
            loop {
                let arrived = shared.arrived.notified();
                let ready: Vec<Value> = shared
                    .lock()
                    .updates
                    .iter()
                    .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                    .take(100)
                    .cloned()
                    .collect();
                let left = deadline.saturating_duration_since(Instant::now());
                if !ready.is_empty() || left.is_zero() {
                    // What the bot has seen (below its offset) is gone.
                    shared
                        .lock()
                        .updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    return json!({"ok": true, "result": ready});
                }
                let _ = tokio::time::timeout(left, arrived).await;
            }
        }
        "sendMessage" | "editMessageReplyMarkup" | "editMessageText" => {
            let chat = body["chat_id"].as_i64();
            let mut inner = shared.lock();
            if method == "sendMessage" && inner.throttle.0 > 0 {
                inner.throttle.0 -= 1;
                let secs = inner.throttle.1;
                inner.sent.push(Sent {
                    method: "throttled".into(),
                    chat_id: chat,
                    message_id: None,
                    text: None,
                    body,
                    at: Instant::now(),
                });
                return json!({"ok": false, "error_code": 429,
                              "description": format!("Too Many Requests: retry after {secs}"),
                              "parameters": {"retry_after": secs}});
            }
            if method == "sendMessage" && inner.failing > 0 {
                inner.failing -= 1;
                inner.sent.push(Sent {
                    method: "failed".into(),
                    chat_id: chat,
                    message_id: None,
                    text: None,
                    body,
                    at: Instant::now(),
                });
                return json!({"ok": false, "error_code": 502, "description": "Bad Gateway"});
            }
            inner.next_message += 1;
            let id = body["message_id"]
                .as_i64()
                .map_or(inner.next_message, |m| m as i32);
            let message = json!({
                "message_id": id, "date": now(),
                "chat": private_chat(chat.unwrap_or_default()),
                "from": {"id": 4242, "is_bot": true, "first_name": "评价"},
                "text": body["text"].as_str().unwrap_or("…"),
            });
            if method == "sendMessage"
                && let Some(c) = chat
            {
                inner.last_message.insert(c, (id, message.clone()));
            }
            let sent = Sent {
                method: method.to_owned(),
                chat_id: chat,
                message_id: Some(id),
                text: body["text"].as_str().map(str::to_owned),
                body,
                at: Instant::now(),
            };
            if method == "sendMessage"
                && let Some(c) = chat
            {
                inner.by_chat.entry(c).or_default().push(sent.clone());
            }
            inner.sent.push(sent);
            let waiter = chat.and_then(|c| inner.waiters.get(&c).cloned());
            drop(inner);
            if let Some(w) = waiter {
                w.notify_waiters();
            }
            json!({"ok": true, "result": message})
        }
        _ => {
            shared.lock().sent.push(Sent {
                method: method.to_owned(),
                chat_id: body["chat_id"].as_i64(),
                message_id: None,
                text: None,
                body,
                at: Instant::now(),
            });
            json!({"ok": true, "result": true})
        }
    }
}

impl FakeTelegram {
    /// Starts on a loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Route::new().at("/*path", post(api)).data(shared.clone());
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)?;
        let task = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
        });
        Ok(Self { shared, addr, task })
    }

    /// The Bot API URL to give the bot (`TELOXIDE_API_URL`).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn push(&self, mut update: Value) {
        let mut inner = self.shared.lock();
        inner.next_update += 1;
        update["update_id"] = json!(inner.next_update);
        inner.updates.push(update);
        drop(inner);
        self.shared.arrived.notify_waiters();
    }

    fn message(&self, from: i64, chat: Value, extra: Value) -> Value {
        let mut inner = self.shared.lock();
        inner.next_message += 1;
        let mut m = json!({"message_id": inner.next_message, "date": now(),
                           "chat": chat, "from": person(from)});
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        m
    }

    /// A user types `text` in their private chat.
    pub fn text(&self, user: i64, text: &str) {
        let update = self.text_update(user, text);
        self.push(update);
    }

    /// The update of a user typing `text`, without queueing it (for webhooks).
    pub fn text_update(&self, user: i64, text: &str) -> Value {
        let m = self.message(user, private_chat(user), json!({"text": text}));
        let id = {
            let mut inner = self.shared.lock();
            inner.next_update += 1;
            inner.next_update
        };
        json!({"update_id": id, "message": m})
    }

    /// Someone writes in a group chat.
    pub fn group_text(&self, user: i64, group: i64, text: &str) {
        let chat = json!({"id": group, "type": "group", "title": "某群"});
        let m = self.message(user, chat, json!({"text": text}));
        self.push(json!({"message": m}));
    }

    pub fn photo(&self, user: i64, file_id: &str) {
        let sizes = json!([
            {"file_id": format!("{file_id}-small"), "file_unique_id": "s", "width": 90, "height": 90},
            {"file_id": file_id, "file_unique_id": "l", "width": 800, "height": 600},
        ]);
        let m = self.message(user, private_chat(user), json!({"photo": sizes}));
        self.push(json!({"message": m}));
    }

    pub fn location(&self, user: i64, latitude: f64, longitude: f64) {
        let m = self.message(
            user,
            private_chat(user),
            json!({"location": {"latitude": latitude, "longitude": longitude}}),
        );
        self.push(json!({"message": m}));
    }

    /// A contact shared by `user`, of `owner` (the contact button shares one's own).
    pub fn contact(&self, user: i64, owner: i64, phone: &str) {
        let contact =
            json!({"phone_number": phone, "first_name": "三", "last_name": "张", "user_id": owner});
        let m = self.message(user, private_chat(user), json!({"contact": contact}));
        self.push(json!({"message": m}));
    }

    /// A user presses a button with `data` under the last message sent to them.
    pub fn press(&self, user: i64, data: &str) {
        let message = self
            .shared
            .lock()
            .last_message
            .get(&user)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(
                || json!({"message_id": 1, "date": now(), "chat": private_chat(user), "text": "…"}),
            );
        let id = format!("cq{}", self.shared.lock().next_update + 1);
        self.push(json!({"callback_query": {
            "id": id, "from": person(user), "chat_instance": format!("ci{user}"),
            "message": message, "data": data}}));
    }

    /// A user presses a button with `data` under an earlier message (`message_id`).
    pub fn press_on(&self, user: i64, message_id: i32, data: &str) {
        let message = json!({"message_id": message_id, "date": now(), "chat": private_chat(user),
                             "from": {"id": 4242, "is_bot": true, "first_name": "评价"}, "text": "…"});
        let id = format!("cq{}", self.shared.lock().next_update + 1);
        self.push(json!({"callback_query": {
            "id": id, "from": person(user), "chat_instance": format!("ci{user}"),
            "message": message, "data": data}}));
    }

    /// A user presses a button with `data` under a message of the group `group` (a
    /// negative chat id, as Telegram gives groups).
    pub fn press_in_group(&self, user: i64, group: i64, data: &str) {
        let message = json!({"message_id": 1, "date": now(),
                             "chat": {"id": group, "type": "group", "title": "执法监督群"},
                             "from": {"id": 4242, "is_bot": true, "first_name": "评价"}, "text": "…"});
        let id = format!("cq{}", self.shared.lock().next_update + 1);
        self.push(json!({"callback_query": {
            "id": id, "from": person(user), "chat_instance": format!("ci{group}"),
            "message": message, "data": data}}));
    }

    /// An update teloxide cannot parse (a message whose id is text), from a user
    /// named `name`: what a newer Bot API may send.
    pub fn garbled(&self, user: i64, name: &str) {
        self.push(json!({"message": {
            "message_id": "not-a-number", "date": now(), "chat": private_chat(user),
            "from": {"id": user, "is_bot": false, "first_name": name, "username": "garbled_user"},
            "text": "你好"}}));
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Sent> {
        self.shared.lock().sent.clone()
    }

    /// Messages sent to a chat so far.
    pub fn messages_to(&self, chat: i64) -> Vec<Sent> {
        self.shared
            .lock()
            .by_chat
            .get(&chat)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until a message to `chat` after the first `seen` satisfies `wanted`;
    /// returns its position among the chat's messages and it, or fails after `within`.
    pub async fn expect_message(
        &self,
        chat: i64,
        seen: usize,
        within: Duration,
        wanted: impl Fn(&Sent) -> bool,
    ) -> anyhow::Result<(usize, Sent)> {
        let deadline = Instant::now() + within;
        let waiter = self.shared.lock().waiters.entry(chat).or_default().clone();
        loop {
            let sent = waiter.notified();
            let found = self.shared.lock().by_chat.get(&chat).and_then(|all| {
                all.iter()
                    .enumerate()
                    .skip(seen)
                    .find(|(_, s)| wanted(s))
                    .map(|(i, s)| (i, s.clone()))
            });
            if let Some(found) = found {
                return Ok(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let got: Vec<String> = self
                    .messages_to(chat)
                    .into_iter()
                    .skip(seen)
                    .filter_map(|s| s.text)
                    .collect();
                anyhow::bail!("no such message to {chat}; got {got:?}");
            }
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), sent).await;
        }
    }

    /// The next `count` `sendMessage` calls are refused with 429 `retry_after`.
    pub fn throttle(&self, count: u32, retry_after_secs: u32) {
        self.shared.lock().throttle = (count, retry_after_secs);
    }

    /// The next `count` `sendMessage` calls fail (502), as in a Telegram outage.
    pub fn fail(&self, count: u32) {
        self.shared.lock().failing = count;
    }
}
