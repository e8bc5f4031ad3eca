//! Delivers the channel's outbox: status changes, rating requests (with 满意 / 基本满意
//! / 不满意 buttons), escalations and survey invitations. Each item is acknowledged
//! only after Telegram accepted the message; failures back off and the items come
//! again on the next read (at-least-once); `retry_after` from Telegram is honoured.

use std::time::Duration;

use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use crate::api::{Api, Notification};
use crate::text;

/// How one delivery went.
#[derive(Debug)]
enum Delivery {
    Sent,
    /// The user cannot be reached (blocked the bot, deleted the chat): there is no
    /// one to retry for.
    Unreachable,
    /// Telegram asks to wait this long.
    Wait(Duration),
    Failed(RequestError),
}

fn markup(n: &Notification) -> Option<InlineKeyboardMarkup> {
    let number = n.payload["number"].as_str().unwrap_or_default();
    match n.kind.as_str() {
        "rating_request" => Some(InlineKeyboardMarkup::new(vec![
            text::RATINGS
                .iter()
                .enumerate()
                .map(|(i, r)| InlineKeyboardButton::callback(*r, format!("rate:{number}:{i}")))
                .collect::<Vec<_>>(),
        ])),
        "survey_invitation" => n.payload["token"].as_str().map(|token| {
            InlineKeyboardMarkup::new(vec![vec![InlineKeyboardButton::callback(
                text::START_SURVEY,
                format!("sv:{token}"),
            )]])
        }),
        _ => None,
    }
}

async fn deliver(bot: &Bot, n: &Notification) -> Delivery {
    let Ok(chat) = n.user_id.parse::<i64>() else {
        return Delivery::Unreachable;
    };
    let body = n.payload["text"].as_str().unwrap_or_default().to_owned();
    let mut request = bot.send_message(ChatId(chat), body);
    if let Some(m) = markup(n) {
        request = request.reply_markup(m);
    }
    match request.await {
        Ok(_) => Delivery::Sent,
        Err(RequestError::RetryAfter(s)) => Delivery::Wait(s.duration()),
        Err(RequestError::Api(
            teloxide::ApiError::BotBlocked
            | teloxide::ApiError::ChatNotFound
            | teloxide::ApiError::UserDeactivated
            | teloxide::ApiError::CantInitiateConversation,
        )) => Delivery::Unreachable,
        Err(e) => Delivery::Failed(e),
    }
}

/// Reads and delivers the outbox until `stop` resolves. `idle` is the pause when the
/// outbox was empty.
pub async fn run(bot: Bot, api: Api, idle: Duration, stop: impl std::future::Future<Output = ()>) {
    tokio::pin!(stop);
    let mut backoff = Duration::from_millis(250);
    loop {
        let pause = match round(&bot, &api).await {
            Round::Empty => idle,
            Round::Done => {
                backoff = Duration::from_millis(250);
                Duration::ZERO
            }
            Round::Wait(d) => d,
            Round::Trouble => {
                backoff = (backoff * 2).min(Duration::from_secs(60));
                backoff
            }
        };
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

enum Round {
    Empty,
    Done,
    Wait(Duration),
    Trouble,
}

/// One read of the outbox, delivered in order and acknowledged.
async fn round(bot: &Bot, api: &Api) -> Round {
    let batch = match api.outbox(0, 100).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "reading the outbox failed");
            return Round::Trouble;
        }
    };
    if batch.items.is_empty() {
        return Round::Empty;
    }
    let mut done = Vec::with_capacity(batch.items.len());
    let mut outcome = Round::Done;
    for n in &batch.items {
        match deliver(bot, n).await {
            Delivery::Sent => done.push(n.id),
            Delivery::Unreachable => {
                tracing::info!(notification = n.id, kind = %n.kind, "recipient unreachable; dropped");
                done.push(n.id);
            }
            Delivery::Wait(d) => {
                tracing::info!(seconds = d.as_secs(), "Telegram asks to slow down");
                outcome = Round::Wait(d);
                break;
            }
            Delivery::Failed(e) => {
                tracing::warn!(error = %e, notification = n.id, "delivery failed; will retry");
                outcome = Round::Trouble;
                break;
            }
        }
    }
    if !done.is_empty()
        && let Err(e) = api.ack(&done).await
    {
        // Delivered but not acknowledged: they come again (at-least-once).
        tracing::warn!(error = %e, "acknowledging the outbox failed");
        return Round::Trouble;
    }
    outcome
}
