//! The handler tree: private chats only, a flood guard, commands, then the dialogue
//! state decides what a message or a button press means. Every step stores the next
//! state and shows its prompt (`goto`), so what a user sees always matches where the
//! dialogue is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use teloxide::dispatching::UpdateHandler;
use teloxide::dispatching::dialogue;
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup,
    KeyboardRemove, MaybeInaccessibleMessage, ReplyMarkup, UserId,
};
use teloxide::utils::command::BotCommands;

use crate::api::{Api, ApiError, NewTicket, Reporter};
use crate::config::Limits;
use crate::state::{Draft, State, SurveyRun};
use crate::storage::{self, DialogueStore};
use crate::survey;
use crate::text;

pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
type HandlerResult = Result<(), HandlerError>;
type Dialog = dialogue::Dialogue<State, DialogueStore>;

/// What every handler shares.
pub struct Ctx {
    pub api: Api,
    pub db: DatabaseConnection,
    pub limits: Limits,
    /// Region of tickets whose agency the user does not know.
    pub region: String,
    flood: Mutex<HashMap<UserId, Window>>,
    /// The API's categories, kept for a minute (they change rarely).
    categories: Mutex<Option<(Instant, Vec<crate::api::Category>)>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("api", &self.api)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Messages of one user in the current minute.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
    warned: bool,
}

impl Ctx {
    pub fn new(api: Api, db: DatabaseConnection, limits: Limits, region: String) -> Arc<Self> {
        Arc::new(Self {
            api,
            db,
            limits,
            region,
            flood: Mutex::new(HashMap::new()),
            categories: Mutex::new(None),
        })
    }

    /// The active ticket categories, from the API at most once a minute.
    async fn categories(&self) -> Result<Vec<crate::api::Category>, ApiError> {
        let cached = self
            .categories
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(60))
            .map(|(_, c)| c.clone());
        if let Some(c) = cached {
            return Ok(c);
        }
        let fresh = self.api.categories().await?;
        *self.categories.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Counts an update of `user`; `Some(warn)` when over the per-minute cap (warn:
    /// the first time in this window, so the user is told once).
    fn over_limit(&self, user: UserId) -> Option<bool> {
        let mut all = self.flood.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if all.len() > 100_000 {
            all.retain(|_, w| now.duration_since(w.start) < Duration::from_secs(60));
        }
        let w = all.entry(user).or_insert(Window {
            start: now,
            count: 0,
            warned: false,
        });
        if now.duration_since(w.start) >= Duration::from_secs(60) {
            *w = Window {
                start: now,
                count: 0,
                warned: false,
            };
        }
        w.count += 1;
        if w.count <= self.limits.messages_per_minute {
            return None;
        }
        let first = !w.warned;
        w.warned = true;
        Some(first)
    }
}

/// The bot's commands.
#[derive(BotCommands, Clone, Debug)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// 菜单（或打开邀请链接）
    Start(String),
    /// 查询进度
    Status,
    /// 绑定联系点
    Bind(String),
    /// 取消当前操作
    Cancel,
    /// 使用说明
    Help,
}

/// The whole tree, as the dispatcher runs it.
pub fn schema() -> UpdateHandler<HandlerError> {
    // Only private chats reach a dialogue: a group's messages and button presses are
    // refused before any state is read or written for the group.
    let groups = dptree::entry()
        .branch(
            Update::filter_message()
                .filter(|m: Message| !m.chat.is_private())
                .endpoint(not_private),
        )
        .branch(
            Update::filter_callback_query()
                .filter(|q: CallbackQuery| !pressed_in_private(&q))
                .endpoint(not_private_callback),
        );
    let messages = Update::filter_message()
        .branch(dptree::filter_async(flooded).endpoint(|| async { Ok(()) }))
        .branch(teloxide::filter_command::<Command, _>().endpoint(on_command))
        .branch(dptree::endpoint(on_message));
    let callbacks = Update::filter_callback_query()
        .branch(dptree::filter_async(flooded_callback).endpoint(|| async { Ok(()) }))
        .branch(dptree::endpoint(on_callback));
    dptree::entry().branch(groups).branch(
        dialogue::enter::<Update, DialogueStore, State, _>()
            .branch(messages)
            .branch(callbacks),
    )
}

/// Whether a button was pressed under a message of a private chat (not a group's,
/// not an inline message).
fn pressed_in_private(q: &CallbackQuery) -> bool {
    q.message.as_ref().is_some_and(|m| m.chat().is_private())
}

async fn not_private_callback(bot: Bot, q: CallbackQuery) -> HandlerResult {
    bot.answer_callback_query(q.id.clone())
        .text(text::PRIVATE_ONLY)
        .await?;
    Ok(())
}

async fn not_private(bot: Bot, msg: Message) -> HandlerResult {
    // Only a direct mention or command gets an answer, so groups are not spammed.
    let addressed = msg.text().is_some_and(|t| t.starts_with('/'));
    if addressed {
        bot.send_message(msg.chat.id, text::PRIVATE_ONLY).await?;
    }
    Ok(())
}

async fn flooded(bot: Bot, msg: Message, ctx: Arc<Ctx>) -> bool {
    let Some(user) = msg.from.as_ref().map(|u| u.id) else {
        return false;
    };
    match ctx.over_limit(user) {
        None => false,
        Some(warn) => {
            if warn {
                let _ = bot.send_message(msg.chat.id, text::FLOOD).await;
            }
            true
        }
    }
}

async fn flooded_callback(bot: Bot, q: CallbackQuery, ctx: Arc<Ctx>) -> bool {
    match ctx.over_limit(q.from.id) {
        None => false,
        Some(_) => {
            let _ = bot
                .answer_callback_query(q.id.clone())
                .text(text::FLOOD)
                .await;
            true
        }
    }
}

fn button(label: &str, data: impl Into<String>) -> InlineKeyboardButton {
    InlineKeyboardButton::callback(label.to_owned(), data.into())
}

fn keyboard(rows: Vec<Vec<InlineKeyboardButton>>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(rows)
}

fn cancel_row() -> Vec<InlineKeyboardButton> {
    vec![button(text::CANCEL_BUTTON, "cancel")]
}

/// One row of (label, callback data) choices, then 取消.
fn choices(row: &[(&str, &str)]) -> InlineKeyboardMarkup {
    let first: Vec<InlineKeyboardButton> = row.iter().map(|(l, d)| button(l, *d)).collect();
    if first.is_empty() {
        keyboard(vec![cancel_row()])
    } else {
        keyboard(vec![first, cancel_row()])
    }
}

fn menu() -> InlineKeyboardMarkup {
    keyboard(vec![
        vec![
            button(text::MENU_COMPLAINT, "menu:complaint"),
            button(text::MENU_SUGGESTION, "menu:suggestion"),
            button(text::MENU_PRAISE, "menu:praise"),
        ],
        vec![
            button(text::MENU_STATUS, "menu:status"),
            button(text::MENU_SURVEY, "menu:survey"),
        ],
        vec![
            button(text::MENU_BIND, "menu:bind"),
            button(text::MENU_HELP, "menu:help"),
        ],
    ])
}

async fn say(bot: &Bot, chat: ChatId, body: impl Into<String>) -> HandlerResult {
    bot.send_message(chat, body.into()).await?;
    Ok(())
}

async fn say_with(
    bot: &Bot,
    chat: ChatId,
    body: impl Into<String>,
    markup: impl Into<ReplyMarkup>,
) -> HandlerResult {
    bot.send_message(chat, body.into())
        .reply_markup(markup)
        .await?;
    Ok(())
}

/// The API's user id of a Telegram user (their id; private chats share it).
fn user_id(chat: ChatId) -> String {
    chat.0.to_string()
}

/// Stores `state` and shows its prompt.
/// Moves to `state`: saved first (a restart resumes there), then its prompt shown.
/// When the prompt cannot be shown (Telegram or the API down), the step before is
/// put back, with everything entered so far, and the user's next input is taken
/// there: nobody is left at a step whose buttons they never got.
async fn goto(bot: &Bot, dialogue: &Dialog, ctx: &Ctx, state: State) -> HandlerResult {
    let before = dialogue.get().await?;
    dialogue.update(state.clone()).await?;
    if let Err(e) = prompt(bot, dialogue.chat_id(), ctx, &state).await {
        dialogue.update(before.unwrap_or_default()).await?;
        return Err(e);
    }
    Ok(())
}

/// Shows what a state asks for.
async fn prompt(bot: &Bot, chat: ChatId, ctx: &Ctx, state: &State) -> HandlerResult {
    match state {
        State::Idle => say_with(bot, chat, text::MENU, menu()).await,
        State::ChoosingKind => {
            let kinds = [
                (text::KIND_COMPLAINT, "kind:complaint"),
                (text::KIND_REPORT, "kind:report"),
            ];
            say_with(bot, chat, text::ASK_COMPLAINT_KIND, choices(&kinds)).await
        }
        State::Agency(_) => {
            let unknown = [(text::AGENCY_UNKNOWN, "agency:unknown")];
            say_with(bot, chat, text::ASK_AGENCY, choices(&unknown)).await
        }
        State::Category(_) => {
            let categories = ctx.categories().await?;
            let mut rows: Vec<Vec<InlineKeyboardButton>> = categories
                .chunks(2)
                .map(|pair| {
                    pair.iter()
                        .map(|c| button(&c.name, format!("cat:{}", c.code)))
                        .collect()
                })
                .collect();
            rows.push(cancel_row());
            say_with(bot, chat, text::ASK_CATEGORY, keyboard(rows)).await
        }
        State::Description(d) => {
            say_with(bot, chat, text::ask_description(&d.kind), choices(&[])).await
        }
        State::Photos(_) => {
            let done = [
                (text::DONE_BUTTON, "photos:done"),
                (text::SKIP_BUTTON, "photos:done"),
            ];
            say_with(bot, chat, text::ASK_PHOTOS, choices(&done)).await
        }
        State::Location(_) => {
            let skip = [(text::SKIP_BUTTON, "loc:skip")];
            say_with(bot, chat, text::ASK_LOCATION, choices(&skip)).await
        }
        State::Identity(_) => {
            let ways = [(text::ANONYMOUS, "id:anon"), (text::REAL_NAME, "id:real")];
            say_with(bot, chat, text::ASK_IDENTITY, choices(&ways)).await
        }
        State::Phone(_) => {
            let share = KeyboardMarkup::new(vec![vec![
                KeyboardButton::new(text::SEND_CONTACT).request(ButtonRequest::Contact),
            ]])
            .one_time_keyboard()
            .resize_keyboard();
            say_with(bot, chat, text::ASK_CONTACT, share).await
        }
        State::Confirm(d) => {
            let place = match (&d.address, d.latitude) {
                (Some(a), _) => Some(a.clone()),
                (None, Some(lat)) => {
                    Some(format!("{lat:.5}, {:.5}", d.longitude.unwrap_or_default()))
                }
                _ => None,
            };
            let reporter = d.reporter.as_ref().map(|r| mask_phone(&r.phone));
            let summary = text::summary(
                &d.kind,
                d.agency_name.as_deref(),
                d.category.as_deref().unwrap_or("其他"),
                d.description.as_deref().unwrap_or_default(),
                d.photos.len(),
                place.as_deref(),
                reporter.as_deref(),
            );
            let rows = vec![
                vec![
                    button(text::CONFIRM, "confirm:yes"),
                    button(text::EDIT, "confirm:edit"),
                ],
                cancel_row(),
            ];
            // After the phone step its contact keyboard goes away first.
            if d.reporter.is_some() {
                bot.send_message(chat, text::CONTACT_RECEIVED)
                    .reply_markup(KeyboardRemove::new())
                    .await?;
            }
            say_with(bot, chat, summary, keyboard(rows)).await
        }
        State::Editing(d) => {
            let mut first = vec![button(text::FIELD_AGENCY, "edit:agency")];
            if d.needs_category() {
                first.push(button(text::FIELD_CATEGORY, "edit:category"));
            }
            first.push(button(text::FIELD_DESCRIPTION, "edit:description"));
            let rows = vec![
                first,
                vec![
                    button(text::FIELD_PHOTOS, "edit:photos"),
                    button(text::FIELD_LOCATION, "edit:location"),
                    button(text::FIELD_IDENTITY, "edit:identity"),
                ],
                cancel_row(),
            ];
            say_with(bot, chat, text::ASK_EDIT, keyboard(rows)).await
        }
        State::SurveyToken => say_with(bot, chat, text::ASK_TOKEN, choices(&[])).await,
        State::Survey(run) => {
            let (body, rows) = survey::render(run);
            say_with(bot, chat, body, keyboard(rows)).await
        }
        State::BindCode => say_with(bot, chat, text::ASK_CODE, choices(&[])).await,
    }
}

fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().collect();
    if digits.len() < 7 {
        return "****".into();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// The steps of filing, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Agency,
    Category,
    Description,
    Photos,
    Location,
    Identity,
}

/// The state after `done` was completed: the next step, or back to the summary when
/// the user came from "edit".
fn after(done: Step, mut d: Draft) -> State {
    if !d.needs_category() && d.category.is_none() {
        d.category = Some("其他".into());
    }
    if d.reviewing {
        return State::Confirm(d);
    }
    match done {
        Step::Agency if d.needs_category() => State::Category(d),
        Step::Agency | Step::Category => State::Description(d),
        Step::Description => State::Photos(d),
        Step::Photos => State::Location(d),
        Step::Location => State::Identity(d),
        Step::Identity => State::Confirm(d),
    }
}

/// A failed step still gets an answer: the user is told to try again later (what
/// they entered stays in the dialogue), and the cause is logged.
async fn answered(bot: &Bot, chat: ChatId, outcome: HandlerResult) -> HandlerResult {
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "a dialogue step failed");
        bot.send_message(chat, text::SERVICE_DOWN).await?;
    }
    Ok(())
}

async fn on_command(
    bot: Bot,
    dialogue: Dialog,
    ctx: Arc<Ctx>,
    cmd: Command,
    state: State,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    let outcome = command(bot.clone(), dialogue, ctx, cmd, state).await;
    answered(&bot, chat, outcome).await
}

async fn on_message(
    bot: Bot,
    dialogue: Dialog,
    ctx: Arc<Ctx>,
    msg: Message,
    state: State,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    let outcome = message(bot.clone(), dialogue, ctx, msg, state).await;
    answered(&bot, chat, outcome).await
}

async fn on_callback(
    bot: Bot,
    dialogue: Dialog,
    ctx: Arc<Ctx>,
    q: CallbackQuery,
    state: State,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    let outcome = callback(bot.clone(), dialogue, ctx, q, state).await;
    answered(&bot, chat, outcome).await
}

/// Whether the state holds a ticket being filled in.
fn filing(state: &State) -> bool {
    matches!(
        state,
        State::Agency(_)
            | State::Category(_)
            | State::Description(_)
            | State::Photos(_)
            | State::Location(_)
            | State::Identity(_)
            | State::Phone(_)
            | State::Confirm(_)
            | State::Editing(_)
    )
}

async fn command(
    bot: Bot,
    dialogue: Dialog,
    ctx: Arc<Ctx>,
    cmd: Command,
    state: State,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    match cmd {
        // A filing in progress is never dropped without asking.
        Command::Start(_) if filing(&state) => {
            let choices_ = [
                (text::RESUME_BUTTON, "resume:"),
                (text::DISCARD_BUTTON, "discard:"),
            ];
            say_with(&bot, chat, text::ASK_KEEP_DRAFT, choices(&choices_)).await
        }
        Command::Start(payload) => {
            let payload = payload.trim();
            if payload.is_empty() {
                goto(&bot, &dialogue, &ctx, State::Idle).await
            } else {
                start_survey(&bot, &dialogue, &ctx, payload, true).await
            }
        }
        Command::Cancel => cancel(&bot, &dialogue).await,
        Command::Help => say(&bot, chat, text::HELP).await,
        Command::Status if filing(&state) => {
            // The tickets, then the step the user was at: the draft stays.
            show_tickets(&bot, chat, &ctx).await?;
            say(&bot, chat, text::DRAFT_KEPT).await?;
            prompt(&bot, chat, &ctx, &state).await
        }
        Command::Status => {
            dialogue.update(State::Idle).await?;
            show_tickets(&bot, chat, &ctx).await
        }
        Command::Bind(code) => {
            let code = code.trim();
            if code.is_empty() {
                goto(&bot, &dialogue, &ctx, State::BindCode).await
            } else {
                bind(&bot, &dialogue, &ctx, code).await
            }
        }
    }
}

async fn cancel(bot: &Bot, dialogue: &Dialog) -> HandlerResult {
    dialogue.update(State::Idle).await?;
    bot.send_message(dialogue.chat_id(), text::CANCELLED)
        .reply_markup(KeyboardRemove::new())
        .await?;
    Ok(())
}

async fn message(
    bot: Bot,
    dialogue: Dialog,
    ctx: Arc<Ctx>,
    msg: Message,
    state: State,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    let typed = msg.text().map(str::trim).filter(|t| !t.is_empty());
    let current = state.clone();
    match (state, typed) {
        (State::Agency(_), Some(q)) => {
            let found = ctx.api.agencies(q, 8).await?;
            if found.is_empty() {
                let unknown = [(text::AGENCY_UNKNOWN, "agency:unknown")];
                return say_with(&bot, chat, text::AGENCY_NONE_FOUND, choices(&unknown)).await;
            }
            let mut rows: Vec<Vec<InlineKeyboardButton>> = found
                .iter()
                .map(|a| vec![button(&a.name, format!("agency:{}", a.id))])
                .collect();
            rows.push(vec![button(text::AGENCY_UNKNOWN, "agency:unknown")]);
            rows.push(cancel_row());
            say_with(&bot, chat, text::AGENCY_PICK, keyboard(rows)).await
        }
        (State::Description(mut d), Some(t)) => {
            let n = t.chars().count();
            if !(10..=4000).contains(&n) {
                return say(&bot, chat, text::description_length(n)).await;
            }
            d.description = Some(t.to_owned());
            goto(&bot, &dialogue, &ctx, after(Step::Description, d)).await
        }
        (State::Photos(mut d), _) if msg.photo().is_some() => {
            if let Some(largest) = msg.photo().and_then(|p| p.last()) {
                d.photos.push(format!("tg:{}", largest.file.id));
            }
            let n = d.photos.len();
            dialogue.update(State::Photos(d)).await?;
            let rows = vec![vec![button(text::DONE_BUTTON, "photos:done")]];
            say_with(&bot, chat, text::photo_received(n), keyboard(rows)).await
        }
        (State::Location(mut d), _) if msg.location().is_some() => {
            if let Some(l) = msg.location() {
                d.latitude = Some(l.latitude);
                d.longitude = Some(l.longitude);
            }
            goto(&bot, &dialogue, &ctx, after(Step::Location, d)).await
        }
        (State::Location(mut d), Some(address)) => {
            if address.chars().count() > 200 {
                return say(&bot, chat, text::ADDRESS_TOO_LONG).await;
            }
            d.address = Some(address.to_owned());
            goto(&bot, &dialogue, &ctx, after(Step::Location, d)).await
        }
        (State::Phone(mut d), _) => {
            let Some(contact) = msg.contact() else {
                return say(&bot, chat, text::ASK_CONTACT).await;
            };
            let own = msg.from.as_ref().map(|u| u.id);
            if contact.user_id.is_none() || contact.user_id != own {
                return say(&bot, chat, text::CONTACT_NOT_OWN).await;
            }
            let name = format!(
                "{}{}",
                contact.last_name.as_deref().unwrap_or_default(),
                contact.first_name
            );
            d.reporter = Some(Reporter {
                name: name.trim().to_owned(),
                phone: mainland_number(&contact.phone_number),
            });
            goto(&bot, &dialogue, &ctx, State::Confirm(d)).await
        }
        (State::SurveyToken, Some(t)) => start_survey(&bot, &dialogue, &ctx, t, false).await,
        (State::Survey(run), Some(t)) if survey::takes_text(&run) => {
            match survey::answer_text(run, t) {
                Ok(run) => survey_next(&bot, &dialogue, &ctx, run).await,
                Err(why) => say(&bot, chat, why).await,
            }
        }
        (State::BindCode, Some(code)) => bind(&bot, &dialogue, &ctx, code).await,
        (State::Idle, _) => say_with(&bot, chat, text::UNKNOWN_INPUT, menu()).await,
        // Input the step does not take: its prompt again, buttons and all, below.
        _ => {
            say(&bot, chat, text::USE_BUTTONS_BELOW).await?;
            prompt(&bot, chat, &ctx, &current).await
        }
    }
}

/// Telegram gives numbers as `8613812341234` or `+86 138…`: the 11 mainland digits.
fn mainland_number(raw: &str) -> String {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 => rest.to_owned(),
        _ => digits,
    }
}

async fn callback(
    bot: Bot,
    dialogue: Dialog,
    ctx: Arc<Ctx>,
    q: CallbackQuery,
    state: State,
) -> HandlerResult {
    bot.answer_callback_query(q.id.clone()).await?;
    let chat = dialogue.chat_id();
    let data = q.data.clone().unwrap_or_default();
    let (verb, arg) = data.split_once(':').unwrap_or((data.as_str(), ""));
    match (verb, state) {
        ("cancel", _) => cancel(&bot, &dialogue).await,
        ("menu", _) => menu_choice(&bot, &dialogue, &ctx, arg).await,
        ("rate", _) => rate(&bot, &dialogue, &ctx, &q, arg).await,
        ("tk", _) => show_ticket(&bot, chat, &ctx, arg).await,
        ("sv", _) => start_survey(&bot, &dialogue, &ctx, arg, false).await,
        ("resume", current) => prompt(&bot, chat, &ctx, &current).await,
        ("discard", _) => goto(&bot, &dialogue, &ctx, State::Idle).await,
        ("kind", State::ChoosingKind) if matches!(arg, "complaint" | "report") => {
            goto(&bot, &dialogue, &ctx, State::Agency(Draft::new(arg))).await
        }
        ("agency", State::Agency(mut d)) => {
            if arg == "unknown" {
                d.agency_id = None;
                d.agency_name = None;
                d.region_code = Some(ctx.region.clone());
            } else {
                let id: i64 = arg.parse()?;
                let a = ctx.api.agency(id).await?;
                d.agency_id = Some(a.id);
                d.agency_name = Some(a.name);
                d.region_code = Some(a.region_code);
            }
            goto(&bot, &dialogue, &ctx, after(Step::Agency, d)).await
        }
        ("cat", State::Category(mut d)) => {
            let categories = ctx.categories().await?;
            let Some(c) = categories.into_iter().find(|c| c.code == arg) else {
                return say(&bot, chat, text::USE_BUTTONS).await;
            };
            d.category = Some(c.name);
            goto(&bot, &dialogue, &ctx, after(Step::Category, d)).await
        }
        ("photos", State::Photos(d)) => goto(&bot, &dialogue, &ctx, after(Step::Photos, d)).await,
        ("loc", State::Location(mut d)) => {
            d.latitude = None;
            d.longitude = None;
            d.address = None;
            goto(&bot, &dialogue, &ctx, after(Step::Location, d)).await
        }
        ("id", State::Identity(mut d)) if arg == "anon" => {
            d.reporter = None;
            goto(&bot, &dialogue, &ctx, after(Step::Identity, d)).await
        }
        ("id", State::Identity(d)) if arg == "real" => {
            goto(&bot, &dialogue, &ctx, State::Phone(d)).await
        }
        ("confirm", State::Confirm(d)) if arg == "yes" => submit(&bot, &dialogue, &ctx, d).await,
        ("confirm", State::Confirm(mut d)) if arg == "edit" => {
            d.reviewing = true;
            goto(&bot, &dialogue, &ctx, State::Editing(d)).await
        }
        ("edit", State::Editing(mut d)) => {
            let next = match arg {
                "agency" => State::Agency(d),
                "category" if d.needs_category() => State::Category(d),
                "description" => State::Description(d),
                "photos" => {
                    d.photos.clear();
                    State::Photos(d)
                }
                "location" => State::Location(d),
                "identity" => State::Identity(d),
                _ => State::Editing(d),
            };
            goto(&bot, &dialogue, &ctx, next).await
        }
        ("ans" | "tick" | "done" | "back" | "skip", State::Survey(run)) => {
            // An answered question's buttons go, so an old message cannot be pressed.
            let clear_buttons = || async {
                if let Some(MaybeInaccessibleMessage::Regular(m)) = &q.message
                    && let Err(e) = bot.edit_message_reply_markup(chat, m.id).await
                {
                    tracing::debug!(error = %e, "could not remove an answered question's buttons");
                }
            };
            match survey::press(run, verb, arg) {
                survey::Press::Next(run) => {
                    clear_buttons().await;
                    survey_next(&bot, &dialogue, &ctx, run).await
                }
                survey::Press::Show(run) => {
                    clear_buttons().await;
                    goto(&bot, &dialogue, &ctx, State::Survey(run)).await
                }
                survey::Press::Stale(run) => {
                    say(&bot, chat, text::STALE_BUTTON).await?;
                    goto(&bot, &dialogue, &ctx, State::Survey(run)).await
                }
                survey::Press::Redraw(run) => {
                    let (_, rows) = survey::render(&run);
                    dialogue.update(State::Survey(run)).await?;
                    if let Some(MaybeInaccessibleMessage::Regular(m)) = &q.message {
                        bot.edit_message_reply_markup(chat, m.id)
                            .reply_markup(keyboard(rows))
                            .await?;
                    }
                    Ok(())
                }
                survey::Press::Stay(run, why) => {
                    dialogue.update(State::Survey(run)).await?;
                    say(&bot, chat, why).await
                }
            }
        }
        ("ans" | "tick" | "done" | "back" | "skip", _) => {
            say(&bot, chat, text::STALE_SURVEY_BUTTON).await
        }
        _ => say(&bot, chat, text::USE_BUTTONS).await,
    }
}

/// Whether the user has filed today's tickets already (checked when a filing
/// starts, and again when it is submitted).
async fn over_daily_cap(ctx: &Ctx, chat: ChatId) -> Result<bool, HandlerError> {
    let day = crate::shanghai_today();
    Ok(storage::filings(&ctx.db, chat.0, &day).await? >= ctx.limits.tickets_per_day as i32)
}

async fn menu_choice(bot: &Bot, dialogue: &Dialog, ctx: &Ctx, item: &str) -> HandlerResult {
    let chat = dialogue.chat_id();
    if matches!(item, "complaint" | "suggestion" | "praise") && over_daily_cap(ctx, chat).await? {
        dialogue.update(State::Idle).await?;
        return say(bot, chat, text::DAILY_CAP).await;
    }
    match item {
        "complaint" => goto(bot, dialogue, ctx, State::ChoosingKind).await,
        "suggestion" | "praise" => goto(bot, dialogue, ctx, State::Agency(Draft::new(item))).await,
        "status" => {
            dialogue.update(State::Idle).await?;
            show_tickets(bot, chat, ctx).await
        }
        "survey" => goto(bot, dialogue, ctx, State::SurveyToken).await,
        "bind" => goto(bot, dialogue, ctx, State::BindCode).await,
        _ => say(bot, chat, text::HELP).await,
    }
}

async fn submit(bot: &Bot, dialogue: &Dialog, ctx: &Ctx, d: Draft) -> HandlerResult {
    let chat = dialogue.chat_id();
    let day = crate::shanghai_today();
    if storage::filings(&ctx.db, chat.0, &day).await? >= ctx.limits.tickets_per_day as i32 {
        dialogue.update(State::Idle).await?;
        return say(bot, chat, text::DAILY_CAP).await;
    }
    let ticket = NewTicket {
        user_id: user_id(chat),
        kind: d.kind.clone(),
        category: d.category.clone().unwrap_or_else(|| "其他".into()),
        agency_id: d.agency_id,
        region_code: d.region_code.clone().unwrap_or_else(|| ctx.region.clone()),
        description: d.description.clone().unwrap_or_default(),
        attachments: d.photos.clone(),
        latitude: d.latitude,
        longitude: d.longitude,
        address: d.address.clone(),
        reporter: d.reporter.clone(),
    };
    match ctx.api.file_ticket(&ticket).await {
        Ok(filed) => {
            storage::record_filing(&ctx.db, chat.0, &day).await?;
            dialogue.update(State::Idle).await?;
            tracing::info!(ticket = filed.ticket.id, "ticket filed");
            say(bot, chat, text::filed(&filed.ticket.number, &filed.secret)).await
        }
        Err(ApiError::Refused {
            status, message, ..
        }) if status < 500 => {
            // The summary stays, so the user can edit and try again.
            say(bot, chat, text::refused(&message)).await?;
            goto(bot, dialogue, ctx, State::Confirm(d)).await
        }
        Err(e) => {
            tracing::warn!(error = %e, "filing a ticket failed");
            say(bot, chat, text::SERVICE_DOWN).await
        }
    }
}

async fn show_tickets(bot: &Bot, chat: ChatId, ctx: &Ctx) -> HandlerResult {
    let tickets = ctx.api.own_tickets(&user_id(chat)).await?;
    if tickets.is_empty() {
        return say(bot, chat, text::NO_TICKETS).await;
    }
    let lines: Vec<String> = tickets
        .iter()
        .map(|t| text::ticket_line(&t.number, &t.kind, &t.category, &t.state_label))
        .collect();
    let rows = tickets
        .iter()
        .map(|t| vec![button(&t.number, format!("tk:{}", t.number))])
        .collect();
    say_with(
        bot,
        chat,
        format!("{}\n{}", text::YOUR_TICKETS, lines.join("\n")),
        keyboard(rows),
    )
    .await
}

fn rating_buttons(number: &str) -> InlineKeyboardMarkup {
    keyboard(vec![
        text::RATINGS
            .iter()
            .enumerate()
            .map(|(i, r)| button(r, format!("rate:{number}:{i}")))
            .collect(),
    ])
}

async fn show_ticket(bot: &Bot, chat: ChatId, ctx: &Ctx, number: &str) -> HandlerResult {
    let status = match ctx.api.own_status(&user_id(chat), number).await {
        Ok(s) => s,
        Err(e) if e.status() == Some(404) => return say(bot, chat, text::TICKET_NOT_FOUND).await,
        Err(e) => return Err(e.into()),
    };
    let mut lines = vec![text::ticket_line(
        &status.number,
        &status.kind,
        &status.category,
        &status.state_label,
    )];
    for s in &status.timeline {
        let at = crate::shanghai_time(s.at);
        lines.push(text::timeline_step(&at, &s.step, s.note.as_deref()));
    }
    let body = lines.join("\n");
    if status.state == "replied" {
        say_with(
            bot,
            chat,
            format!("{body}\n{}", text::ASK_RATING),
            rating_buttons(number),
        )
        .await
    } else {
        say(bot, chat, body).await
    }
}

async fn rate(
    bot: &Bot,
    dialogue: &Dialog,
    ctx: &Ctx,
    q: &CallbackQuery,
    arg: &str,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    let Some((number, choice)) = arg.rsplit_once(':') else {
        return say(bot, chat, text::USE_BUTTONS).await;
    };
    let Some(rating) = choice
        .parse::<usize>()
        .ok()
        .and_then(|i| text::RATINGS.get(i))
    else {
        return say(bot, chat, text::USE_BUTTONS).await;
    };
    let outcome = ctx.api.rate(&user_id(chat), number, rating).await;
    // The buttons have done their work either way.
    if let Some(MaybeInaccessibleMessage::Regular(m)) = &q.message {
        let _ = bot
            .edit_message_reply_markup(chat, m.id)
            .reply_markup(keyboard(Vec::new()))
            .await;
    }
    match outcome {
        Ok(_) if *rating == text::RATINGS[2] => say(bot, chat, text::RATED_REOPENED).await,
        Ok(_) => say(bot, chat, text::RATED).await,
        Err(e) if e.status().is_some_and(|s| s < 500) => say(bot, chat, text::RATING_CLOSED).await,
        Err(e) => Err(e.into()),
    }
}

async fn bind(bot: &Bot, dialogue: &Dialog, ctx: &Ctx, code: &str) -> HandlerResult {
    let chat = dialogue.chat_id();
    match ctx.api.redeem(&user_id(chat), code).await {
        Ok(b) => {
            dialogue.update(State::Idle).await?;
            say(bot, chat, text::bound(&b.name)).await
        }
        Err(e) if e.status() == Some(404) || e.status() == Some(422) => {
            dialogue.update(State::BindCode).await?;
            say(bot, chat, text::CODE_UNKNOWN).await
        }
        Err(e) if e.code() == Some("code_used") => {
            dialogue.update(State::Idle).await?;
            say(bot, chat, text::CODE_USED).await
        }
        Err(e) if e.code() == Some("code_expired") => {
            dialogue.update(State::Idle).await?;
            say(bot, chat, text::CODE_EXPIRED).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens the questionnaire of an invitation token (from a deep link, a button or
/// typed); used, expired and unknown tokens are explained.
/// Starts the survey of an invitation token (typed, or from a `/start` link when
/// `from_link`: an unknown one then goes back to the menu, so the next text is not
/// taken for a code).
async fn start_survey(
    bot: &Bot,
    dialogue: &Dialog,
    ctx: &Ctx,
    given: &str,
    from_link: bool,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    let token = survey::token_in(given);
    let found = ctx.api.survey(&token).await;
    let s = match found {
        Ok(s) => s,
        Err(e) => {
            let (reply, next) = match (e.status(), e.code()) {
                (Some(404), _) | (Some(422), _) | (Some(400), _) if from_link => {
                    (text::LINK_UNKNOWN, State::Idle)
                }
                (Some(404), _) | (Some(422), _) | (Some(400), _) => {
                    (text::TOKEN_UNKNOWN, State::SurveyToken)
                }
                (_, Some("invitation_used")) => (text::TOKEN_USED, State::Idle),
                (_, Some("invitation_expired")) => (text::TOKEN_EXPIRED, State::Idle),
                (Some(409), _) => (text::SURVEY_CLOSED, State::Idle),
                _ => return Err(e.into()),
            };
            dialogue.update(next).await?;
            return say(bot, chat, reply).await;
        }
    };
    say(
        bot,
        chat,
        text::survey_intro(&s.campaign, &s.agency, s.questions.len()),
    )
    .await?;
    match SurveyRun::start(token, s.questions, chrono::Utc::now().timestamp()) {
        Some(run) => goto(bot, dialogue, ctx, State::Survey(run)).await,
        None => cancel(bot, dialogue).await,
    }
}

/// After an answer: the next visible question, or the submission.
async fn survey_next(bot: &Bot, dialogue: &Dialog, ctx: &Ctx, run: SurveyRun) -> HandlerResult {
    let chat = dialogue.chat_id();
    match run.advance() {
        Some(run) => goto(bot, dialogue, ctx, State::Survey(run)).await,
        None => {
            let finished = survey::finished(&run);
            let took = (chrono::Utc::now().timestamp() - run.started).clamp(0, i32::MAX as i64);
            match ctx.api.answer(&run.token, &finished, took as i32).await {
                Ok(()) => {
                    dialogue.update(State::Idle).await?;
                    say(bot, chat, text::SURVEY_THANKS).await
                }
                Err(e) if e.code() == Some("invitation_used") => {
                    dialogue.update(State::Idle).await?;
                    say(bot, chat, text::TOKEN_USED).await
                }
                Err(ApiError::Refused { message, .. }) => {
                    dialogue.update(State::Idle).await?;
                    say(bot, chat, text::survey_refused(&message)).await
                }
                Err(e) => {
                    // The answers stay in the dialogue; the last answer can be given again.
                    tracing::warn!(error = %e, "submitting survey answers failed");
                    dialogue.update(State::Survey(run)).await?;
                    say(bot, chat, text::SERVICE_DOWN).await
                }
            }
        }
    }
}
