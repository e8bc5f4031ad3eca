//! Open311 GeoReport v2 (JSON) under `/open311/v2`: discovery, services (the ticket
//! categories), service definitions, posting and reading service requests (tickets)
//! and tokens. Field names, parameters and the error format (`[{code, description}]`)
//! follow the specification; `jurisdiction_id` is a region code; `api_key` is a
//! `channel` key (a parameter, or the usual `Authorization` header).

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Form, Json, Path, Query};
use poem::{IntoResponse, Request, Response, Route, get, handler};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::domain::ticket::State;
use crate::service::{Actor, ServiceError, open311};
use crate::startup::AppState;

/// The routes, to nest at `/open311/v2`.
pub fn routes() -> Route {
    Route::new()
        .at("/discovery.json", get(discovery))
        .at("/services.json", get(services))
        .at("/services/:code", get(service_definition))
        .at("/requests.json", get(list_requests).post(post_request))
        .at("/requests/:id", get(one_request))
        .at("/tokens/:token", get(token))
}

/// Route templates of these routes, for metrics labels.
pub const TEMPLATES: [&str; 6] = [
    "/open311/v2/discovery.json",
    "/open311/v2/services.json",
    "/open311/v2/services/{service_code}.json",
    "/open311/v2/requests.json",
    "/open311/v2/requests/{service_request_id}.json",
    "/open311/v2/tokens/{token}.json",
];

/// An Open311 error: the HTTP status and `[{code, description}]`.
struct Open311Error(StatusCode, String);

impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        // Open311 answers bad input with 400 and bad keys with 403.
        let status = match e.status.as_u16() {
            422 => StatusCode::BAD_REQUEST,
            401 => StatusCode::FORBIDDEN,
            _ => e.status,
        };
        Self(status, e.body.message)
    }
}

impl From<ServiceError> for Open311Error {
    fn from(e: ServiceError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let body = json!([{"code": self.0.as_u16(), "description": self.1}]);
        Json(body).with_status(self.0).into_response()
    }
}

impl From<Open311Error> for poem::Error {
    fn from(e: Open311Error) -> Self {
        // Carries the finished response, so the frame passes it on unchanged.
        poem::Error::from_response(e.into_response())
    }
}

type Answer = Result<Response, Open311Error>;

fn ok(status: StatusCode, body: Value) -> Answer {
    Ok(Json(body).with_status(status).into_response())
}

fn bad(message: impl Into<String>) -> Open311Error {
    Open311Error(StatusCode::BAD_REQUEST, message.into())
}

/// `name.json` → `name`; other formats are not served.
fn json_resource(segment: &str) -> Result<&str, Open311Error> {
    segment.strip_suffix(".json").ok_or_else(|| {
        Open311Error(
            StatusCode::NOT_FOUND,
            "only the JSON format (.json) is served".into(),
        )
    })
}

/// The caller's key: `api_key` or `Authorization: Bearer`.
async fn caller(
    req: &Request,
    state: &AppState,
    api_key: Option<&str>,
) -> Result<Actor, Open311Error> {
    let header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match api_key.or(header) {
        Some(key) => Ok(super::auth::authenticate(req, state, key).await?),
        None => Err(Open311Error(
            StatusCode::FORBIDDEN,
            "api_key was not provided".into(),
        )),
    }
}

/// Times in Asia/Shanghai with their offset.
fn shanghai(t: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    t.with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

#[handler]
fn discovery(state: Data<&AppState>) -> Answer {
    let url = format!("{}/open311/v2", state.public_url);
    ok(
        StatusCode::OK,
        json!({
            "changeset": "2026-11-24T00:00:00+08:00",
            "contact": "司法局行政执法监督机构",
            "key_service": "API keys (role channel) are issued by the bureau: pingjia keys create --role channel --channel web",
            "endpoints": [{
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": url,
                "changeset": "2026-11-24T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json"],
            }],
        }),
    )
}

#[handler]
async fn services(state: Data<&AppState>) -> Answer {
    let list: Vec<Value> = open311::services(&state.db)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "service_code": c.code,
                "service_name": c.name,
                "description": format!("行政执法投诉举报：{}", c.name),
                "metadata": true,
                "type": "realtime",
                "keywords": "行政执法,投诉,举报,建议",
                "group": "行政执法监督",
            })
        })
        .collect();
    ok(StatusCode::OK, Value::Array(list))
}

#[handler]
async fn service_definition(state: Data<&AppState>, code: Path<String>) -> Answer {
    let code = json_resource(&code.0)?;
    let service = open311::service(&state.db, code).await?;
    ok(
        StatusCode::OK,
        json!({
            "service_code": service.code,
            "attributes": [
                {
                    "variable": true,
                    "code": "kind",
                    "datatype": "singlevaluelist",
                    "required": false,
                    "datatype_description": "默认为投诉",
                    "order": 1,
                    "description": "类型",
                    "values": [
                        {"key": "complaint", "name": "投诉"},
                        {"key": "report", "name": "举报"},
                        {"key": "suggestion", "name": "建议"},
                        {"key": "praise", "name": "表扬"},
                    ],
                },
                {
                    "variable": true,
                    "code": "agency_id",
                    "datatype": "number",
                    "required": false,
                    "datatype_description": "被投诉的执法机关编号（不确定可不填）",
                    "order": 2,
                    "description": "执法机关",
                },
            ],
        }),
    )
}

fn float(form: &HashMap<String, String>, name: &str) -> Result<Option<f64>, Open311Error> {
    match form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("{name} must be a decimal number"))),
    }
}

#[handler]
async fn post_request(
    req: &Request,
    state: Data<&AppState>,
    form: Form<Vec<(String, String)>>,
) -> Answer {
    let form: HashMap<String, String> = form.0.into_iter().collect();
    let text = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let actor = caller(req, &state, text("api_key").as_deref()).await?;
    let agency_id = match text("attribute[agency_id]") {
        None => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| bad("attribute[agency_id] must be a number"))?,
        ),
    };
    let posted = open311::PostedRequest {
        jurisdiction_id: text("jurisdiction_id"),
        service_code: text("service_code"),
        lat: float(&form, "lat")?,
        long: float(&form, "long")?,
        address_string: text("address_string"),
        description: text("description"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        phone: text("phone"),
        media_url: text("media_url"),
        account_id: text("account_id"),
        kind: text("attribute[kind]"),
        agency_id,
    };
    let filed = open311::post_request(
        &state.db,
        &state.contacts,
        &state.calendar.current(),
        &actor,
        posted,
    )
    .await?;
    let t = &filed.view.ticket;
    ok(
        StatusCode::CREATED,
        json!([{
            "service_request_id": t.number,
            "token": filed.secret,
            "service_notice": format!(
                "已受理，工单号 {}，查询密码 {}。我们将在 {} 前答复。",
                t.number,
                filed.secret,
                shanghai(t.reply_due)
            ),
            "account_id": text("account_id"),
        }]),
    )
}

/// One request in Open311's field names.
fn request_json(r: open311::RequestView) -> Value {
    let t = r.ticket;
    let status_notes = match (&r.public_note, r.state) {
        (Some(note), State::Replied | State::ReturnVisited | State::Closed | State::Rejected) => {
            format!("{}：{note}", r.state.label())
        }
        _ => r.state.label().to_owned(),
    };
    let attachments: Vec<String> = serde_json::from_value(t.attachments).unwrap_or_default();
    json!({
        "service_request_id": t.number,
        "status": if open311::is_closed(r.state) { "closed" } else { "open" },
        "status_notes": status_notes,
        "service_name": t.category,
        "service_code": r.service_code,
        "description": t.description,
        "agency_responsible": r.agency_name,
        "service_notice": Value::Null,
        "requested_datetime": shanghai(t.created_at),
        "updated_datetime": shanghai(t.updated_at),
        "expected_datetime": shanghai(t.reply_due),
        "address": t.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": t.latitude,
        "long": t.longitude,
        "media_url": attachments.into_iter().find(|a| a.starts_with("http")),
    })
}

fn list_param(query: &HashMap<String, String>, name: &str) -> Vec<String> {
    query
        .get(name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn date_param(
    query: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, Open311Error> {
    match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|d| Some(d.with_timezone(&Utc)))
            .map_err(|_| bad(format!("{name} must be a W3C date-time with offset"))),
    }
}

#[handler]
async fn list_requests(
    req: &Request,
    state: Data<&AppState>,
    query: Query<HashMap<String, String>>,
) -> Answer {
    let q = query.0;
    let actor = caller(req, &state, q.get("api_key").map(String::as_str)).await?;
    let closed = match list_param(&q, "status").as_slice() {
        [] => None,
        [one] if one == "open" => Some(false),
        [one] if one == "closed" => Some(true),
        many if many.iter().all(|s| s == "open" || s == "closed") => None,
        _ => return Err(bad("status must be open, closed or both")),
    };
    let filter = open311::RequestFilter {
        service_request_ids: list_param(&q, "service_request_id"),
        service_codes: list_param(&q, "service_code"),
        start_date: date_param(&q, "start_date")?,
        end_date: date_param(&q, "end_date")?,
        closed,
        jurisdiction_id: q.get("jurisdiction_id").cloned(),
        account_id: q.get("account_id").cloned(),
    };
    let found = open311::requests(&state.db, &state.contacts, &actor, filter).await?;
    ok(
        StatusCode::OK,
        Value::Array(found.into_iter().map(request_json).collect()),
    )
}

#[handler]
async fn one_request(
    req: &Request,
    state: Data<&AppState>,
    id: Path<String>,
    query: Query<HashMap<String, String>>,
) -> Answer {
    let number = json_resource(&id.0)?.to_owned();
    let actor = caller(req, &state, query.0.get("api_key").map(String::as_str)).await?;
    let filter = open311::RequestFilter {
        service_request_ids: vec![number],
        account_id: query.get("account_id").cloned(),
        ..Default::default()
    };
    let found = open311::requests(&state.db, &state.contacts, &actor, filter).await?;
    if found.is_empty() {
        return Err(Open311Error(
            StatusCode::NOT_FOUND,
            "service request not found".into(),
        ));
    }
    ok(
        StatusCode::OK,
        Value::Array(found.into_iter().map(request_json).collect()),
    )
}

#[handler]
async fn token(req: &Request, state: Data<&AppState>, token: Path<String>) -> Answer {
    let token = json_resource(&token.0)?.to_owned();
    let client = super::client::address(req, state.trust_forwarded_for);
    let number = open311::by_token(&state.db, &token, &client, state.auth_failure_limit).await?;
    ok(
        StatusCode::OK,
        json!([{"service_request_id": number, "token": token}]),
    )
}
