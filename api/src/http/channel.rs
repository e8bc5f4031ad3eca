//! `/api/v1/channel`: what a channel adapter (the Telegram bot, a web form, the 12345
//! bridge) does for its users with its `channel` key — file tickets, list a user's
//! own, pass on ratings, redeem binding codes — and its outbox of notifications.

use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::ApiKey;
use super::error::{ReadError, WriteError};
use super::tickets::{FiledTicket, ReporterBody};
use super::{ApiTags, Created, page_type};
use crate::domain::ticket::State;
use crate::service::{PageRequest, channels, tickets};
use crate::startup::AppState;
use crate::store::ticket as ticket_row;

/// A ticket a channel user files.
#[derive(Object, Debug)]
pub struct ChannelTicket {
    /// The channel's own id of the user (e.g. the Telegram user id). Stored only as a
    /// keyed hash (and sealed, to address notifications).
    pub user_id: String,
    /// complaint, report, suggestion or praise.
    pub kind: String,
    /// An active category by name or code (`GET /ticket-categories`).
    pub category: String,
    pub agency_id: Option<i64>,
    pub region_code: String,
    /// 10–4000 characters.
    pub description: String,
    /// Channel file references (e.g. Telegram file ids), at most 20.
    #[oai(default)]
    pub attachments: Vec<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    /// Absent for an anonymous ticket.
    pub reporter: Option<ReporterBody>,
}

/// A user's own ticket as their channel shows it (no contact data, no internal notes).
#[derive(Object, Debug)]
pub struct OwnTicket {
    pub number: String,
    pub kind: String,
    pub category: String,
    pub state: State,
    /// e.g. 已答复.
    pub state_label: String,
    pub reply_due: DateTime<Utc>,
    pub rating: Option<String>,
    /// Whether the user is asked to rate it now (满意 / 基本满意 / 不满意).
    pub awaiting_rating: bool,
    pub contact_point_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ticket_row::Model> for OwnTicket {
    fn from(t: ticket_row::Model) -> Self {
        let state = State::parse(&t.state).unwrap_or(State::Received);
        Self {
            number: t.number,
            kind: t.kind,
            category: t.category,
            state,
            state_label: state.label_for_reporter(t.rating.as_deref()),
            reply_due: t.reply_due,
            rating: t.rating,
            awaiting_rating: state == State::Replied,
            contact_point_id: t.contact_point_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

page_type!(OwnTicketPage, OwnTicket);

/// The reporter's rating of the handling.
#[derive(Object, Debug)]
pub struct RatingBody {
    pub user_id: String,
    /// 满意, 基本满意 or 不满意 (不满意 reopens the ticket one level up).
    pub rating: String,
    /// What the reporter adds, up to 4000 characters.
    pub note: Option<String>,
}

/// A binding code to redeem.
#[derive(Object, Debug)]
pub struct RedeemBody {
    pub user_id: String,
    /// The code the bureau issued (case and spaces do not matter).
    pub code: String,
}

/// The contact point a user now serves as liaison (联络员).
#[derive(Object, Debug)]
pub struct Binding {
    pub contact_point_id: i64,
    pub name: String,
    pub kind: String,
    pub region_code: String,
}

/// A notification to deliver.
#[derive(Object, Debug)]
pub struct Notification {
    /// Its cursor position; acknowledge it by this id once delivered.
    pub id: i64,
    /// status_change, rating_request, escalation or survey_invitation.
    pub kind: String,
    /// The channel's own id of the recipient.
    pub user_id: String,
    /// `number`, `text` (the message in Chinese) and: `state`, `state_label` for
    /// ticket changes; `ratings` for rating requests; `token`, `link`, `bot_link`
    /// (when a bot is configured), `campaign`, `agency`, `expires_at` for survey
    /// invitations.
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Pending notifications and the cursor to read on from.
#[derive(Object, Debug)]
pub struct OutboxBatch {
    pub items: Vec<Notification>,
    /// Pass as `after` to read the next batch. Unacknowledged items before it come
    /// back when reading from an earlier cursor (e.g. 0 after a restart).
    pub cursor: i64,
}

/// Delivered notifications.
#[derive(Object, Debug)]
pub struct AckBody {
    /// Ids of delivered notifications, 1–500.
    #[oai(validator(max_items = 500))]
    pub ids: Vec<i64>,
}

/// How many notifications were newly acknowledged.
#[derive(Object, Debug)]
pub struct Acknowledged {
    pub acknowledged: u64,
}

/// Channel operations.
pub struct ChannelApi;

#[OpenApi(prefix_path = "/api/v1/channel", tag = "ApiTags::Channel")]
impl ChannelApi {
    /// File a ticket for a channel user
    ///
    /// Roles: channel (keys created with `--channel`). The ticket's source channel is
    /// the key's; a liaison's ticket carries their contact point. Answers the number
    /// and the secret for the public status lookup.
    #[oai(path = "/tickets", method = "post", operation_id = "channelFileTicket")]
    async fn file(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<ChannelTicket>,
    ) -> Result<Created<FiledTicket>, WriteError> {
        let b = body.0;
        let new = tickets::NewTicket {
            kind: b.kind,
            category: b.category,
            agency_id: b.agency_id,
            region_code: b.region_code,
            description: b.description,
            attachments: b.attachments,
            latitude: b.latitude,
            longitude: b.longitude,
            address: b.address,
            channel: String::new(),
            reporter: b.reporter.map(|r| tickets::Reporter {
                name: r.name,
                phone: r.phone,
            }),
        };
        let filed = channels::file_ticket(
            &state.db,
            &state.contacts,
            &state.calendar.current(),
            &auth.0,
            &b.user_id,
            new,
        )
        .await?;
        Ok(Created::Created(Json(FiledTicket {
            ticket: filed.view.into(),
            secret: filed.secret,
        })))
    }

    /// A channel user's own tickets
    ///
    /// Roles: channel. Newest first; a user who never filed one gets an empty page.
    #[oai(path = "/tickets", method = "get", operation_id = "channelOwnTickets")]
    async fn own(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        user_id: Query<String>,
        page: Query<Option<i64>>,
        page_size: Query<Option<i64>>,
    ) -> Result<Json<OwnTicketPage>, ReadError> {
        let req = PageRequest::parse(page.0, page_size.0)?;
        Ok(Json(
            channels::own_tickets(&state.db, &state.contacts, &auth.0, &user_id.0, req)
                .await?
                .into(),
        ))
    }

    /// One of a channel user's own tickets, with its timeline
    ///
    /// Roles: channel. What the public status page shows (state and each step, no
    /// personal data), for the user's own ticket; anyone else's is 404.
    #[oai(
        path = "/tickets/:number",
        method = "get",
        operation_id = "channelOwnTicket"
    )]
    async fn own_one(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        number: Path<String>,
        user_id: Query<String>,
    ) -> Result<Json<super::tickets::PublicTicket>, ReadError> {
        Ok(Json(
            channels::own_status(&state.db, &state.contacts, &auth.0, &user_id.0, &number.0)
                .await?
                .into(),
        ))
    }

    /// Pass on the reporter's rating
    ///
    /// Roles: channel, for the user's own replied ticket (others are 404). 满意 and
    /// 基本满意 complete the return visit; 不满意 reopens the ticket one level up.
    #[oai(
        path = "/tickets/:number/rating",
        method = "post",
        operation_id = "channelRateTicket"
    )]
    async fn rate(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        number: Path<String>,
        body: Json<RatingBody>,
    ) -> Result<Json<OwnTicket>, WriteError> {
        let b = body.0;
        Ok(Json(
            channels::rate(
                &state.db,
                &state.contacts,
                &state.calendar.current(),
                &auth.0,
                &b.user_id,
                channels::Rating {
                    number: number.0,
                    rating: b.rating,
                    note: b.note,
                },
            )
            .await?
            .into(),
        ))
    }

    /// Redeem a binding code (绑定联系点)
    ///
    /// Roles: channel. The user becomes a liaison of the code's contact point (leaving
    /// any earlier one). A code binds once (409 `code_used`) and until it expires
    /// (409 `code_expired`); an unknown code is 404.
    #[oai(
        path = "/bindings",
        method = "post",
        operation_id = "channelRedeemCode"
    )]
    async fn redeem(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<RedeemBody>,
    ) -> Result<Json<Binding>, WriteError> {
        let b = body.0;
        let point =
            channels::redeem(&state.db, &state.contacts, &auth.0, &b.user_id, &b.code).await?;
        Ok(Json(Binding {
            contact_point_id: point.id,
            name: point.name,
            kind: point.kind,
            region_code: point.region_code,
        }))
    }

    /// Read pending notifications
    ///
    /// Roles: channel (its own channel's). Oldest first after `after` (default 0),
    /// at most `limit` (default 100, up to 500). Items stay pending until
    /// acknowledged: at-least-once delivery, nothing dropped.
    #[oai(path = "/outbox", method = "get", operation_id = "channelOutbox")]
    async fn outbox(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        after: Query<Option<i64>>,
        limit: Query<Option<u64>>,
    ) -> Result<Json<OutboxBatch>, ReadError> {
        let (items, cursor) = channels::pending(
            &state.db,
            &state.contacts,
            &auth.0,
            after.0.unwrap_or(0),
            limit.0.unwrap_or(100),
        )
        .await?;
        Ok(Json(OutboxBatch {
            items: items
                .into_iter()
                .map(|n| {
                    let mut payload = n.payload;
                    let token = payload["token"].as_str().map(str::to_owned);
                    if let Some(token) = token {
                        payload["link"] = state.invitation_link(&token).into();
                        if let Some(bot) = state.bot_link(&token) {
                            payload["bot_link"] = bot.into();
                        }
                    }
                    Notification {
                        id: n.id,
                        kind: n.kind,
                        user_id: n.user_id,
                        payload,
                        created_at: n.created_at,
                    }
                })
                .collect(),
            cursor,
        }))
    }

    /// Acknowledge delivered notifications
    ///
    /// Roles: channel. Acknowledging twice, or another channel's items, counts nothing.
    #[oai(
        path = "/outbox/ack",
        method = "post",
        operation_id = "channelOutboxAck"
    )]
    async fn ack(
        &self,
        state: Data<&AppState>,
        auth: ApiKey,
        body: Json<AckBody>,
    ) -> Result<Json<Acknowledged>, WriteError> {
        Ok(Json(Acknowledged {
            acknowledged: channels::acknowledge(&state.db, &auth.0, &body.0.ids).await?,
        }))
    }
}
