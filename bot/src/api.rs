//! The Pingjia API as the bot uses it: a `channel` key, HTTP only (the bot never sees
//! the service's database).

use std::time::Duration;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Why a call failed: the API's own error (status, code, message, the fields named),
/// or no usable answer at all.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{status} {code}: {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
        fields: Vec<String>,
    },
    #[error("the API could not be reached: {0}")]
    Unreachable(reqwest::Error),
}

impl From<reqwest::Error> for ApiError {
    /// Without the URL: its query names the channel user, which stays out of logs.
    fn from(e: reqwest::Error) -> Self {
        ApiError::Unreachable(e.without_url())
    }
}

impl ApiError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused { status, .. } => Some(*status),
            ApiError::Unreachable(_) => None,
        }
    }

    /// The API's error code of a refusal (`invitation_used`, `code_expired`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Refused { code, .. } => Some(code),
            ApiError::Unreachable(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
    #[serde(default)]
    details: serde_json::Value,
}

/// A page of a list.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// An agency (执法机关) a user may name.
#[derive(Debug, Clone, Deserialize)]
pub struct Agency {
    pub id: i64,
    pub name: String,
    pub region_code: String,
}

/// A region (for the default region of tickets naming no agency).
#[derive(Debug, Clone, Deserialize)]
pub struct Region {
    pub code: String,
    pub parent_code: Option<String>,
}

/// A ticket category.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub code: String,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A real-name reporter.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reporter {
    pub name: String,
    pub phone: String,
}

/// A ticket filed for a user.
#[derive(Debug, Clone, Serialize)]
pub struct NewTicket {
    pub user_id: String,
    pub kind: String,
    pub category: String,
    pub agency_id: Option<i64>,
    pub region_code: String,
    pub description: String,
    pub attachments: Vec<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub address: Option<String>,
    pub reporter: Option<Reporter>,
}

/// What filing answers: the number and the lookup secret.
#[derive(Debug, Clone, Deserialize)]
pub struct Filed {
    pub ticket: FiledTicket,
    pub secret: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FiledTicket {
    pub id: i64,
    pub number: String,
}

/// One of a user's own tickets.
#[derive(Debug, Clone, Deserialize)]
pub struct OwnTicket {
    pub number: String,
    pub kind: String,
    pub category: String,
    pub state: String,
    pub state_label: String,
    #[serde(default)]
    pub awaiting_rating: bool,
}

/// A ticket's status and public timeline.
#[derive(Debug, Clone, Deserialize)]
pub struct Status {
    pub number: String,
    pub kind: String,
    pub category: String,
    pub state: String,
    pub state_label: String,
    pub timeline: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub at: chrono::DateTime<chrono::Utc>,
    pub step: String,
    pub note: Option<String>,
}

/// A contact point the user was bound to.
#[derive(Debug, Clone, Deserialize)]
pub struct Binding {
    pub contact_point_id: i64,
    pub name: String,
}

/// One pending notification of the channel's outbox.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub user_id: String,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Outbox {
    pub items: Vec<Notification>,
    pub cursor: i64,
}

/// A question of a questionnaire version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub key: String,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub reverse: bool,
    #[serde(default)]
    pub options: Vec<Choice>,
    #[serde(default)]
    pub max_length: Option<u32>,
    #[serde(default)]
    pub show_if: Option<ShowIf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowIf {
    pub question: String,
    pub values: Vec<String>,
}

/// The questionnaire behind an invitation.
#[derive(Debug, Clone, Deserialize)]
pub struct Survey {
    pub campaign: String,
    pub agency: String,
    pub questions: Vec<Question>,
}

/// The API client. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Api {
    pub fn new(base: &str, key: &str) -> Result<Self, ApiError> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ApiError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response.json().await?);
        }
        let body: Option<ErrorBody> = response.json().await.ok();
        let (code, message, fields) = match body {
            Some(b) => {
                let fields = b.details["fields"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter_map(|f| f["field"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                (b.code, b.message, fields)
            }
            None => ("unknown".to_owned(), status.to_string(), Vec::new()),
        };
        Err(ApiError::Refused {
            status: status.as_u16(),
            code,
            message,
            fields,
        })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.key)
            .query(query)
            .send()
            .await?;
        Self::read(r).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await?;
        Self::read(r).await
    }

    /// Active agencies whose name contains `q` (at most `limit`).
    pub async fn agencies(&self, q: &str, limit: u32) -> Result<Vec<Agency>, ApiError> {
        let limit = limit.to_string();
        let page: Page<Agency> = self
            .get(
                "/api/v1/agencies",
                &[("q", q), ("active", "true"), ("page_size", &limit)],
            )
            .await?;
        Ok(page.items)
    }

    /// One agency.
    pub async fn agency(&self, id: i64) -> Result<Agency, ApiError> {
        self.get(&format!("/api/v1/agencies/{id}"), &[]).await
    }

    /// The top of the region tree (tickets naming no agency are filed there).
    pub async fn root_region(&self) -> Result<Option<Region>, ApiError> {
        let page: Page<Region> = self
            .get(
                "/api/v1/regions",
                &[("level", "city"), ("page_size", "200")],
            )
            .await?;
        Ok(page.items.into_iter().find(|r| r.parent_code.is_none()))
    }

    /// The active ticket categories.
    pub async fn categories(&self) -> Result<Vec<Category>, ApiError> {
        let all: Vec<Category> = self.get("/api/v1/ticket-categories", &[]).await?;
        Ok(all.into_iter().filter(|c| c.active).collect())
    }

    pub async fn file_ticket(&self, ticket: &NewTicket) -> Result<Filed, ApiError> {
        self.post("/api/v1/channel/tickets", ticket).await
    }

    /// The user's own tickets, newest first.
    pub async fn own_tickets(&self, user_id: &str) -> Result<Vec<OwnTicket>, ApiError> {
        let page: Page<OwnTicket> = self
            .get(
                "/api/v1/channel/tickets",
                &[("user_id", user_id), ("page_size", "10")],
            )
            .await?;
        Ok(page.items)
    }

    pub async fn own_status(&self, user_id: &str, number: &str) -> Result<Status, ApiError> {
        self.get(
            &format!("/api/v1/channel/tickets/{number}"),
            &[("user_id", user_id)],
        )
        .await
    }

    pub async fn rate(
        &self,
        user_id: &str,
        number: &str,
        rating: &str,
    ) -> Result<OwnTicket, ApiError> {
        self.post(
            &format!("/api/v1/channel/tickets/{number}/rating"),
            &serde_json::json!({"user_id": user_id, "rating": rating}),
        )
        .await
    }

    pub async fn redeem(&self, user_id: &str, code: &str) -> Result<Binding, ApiError> {
        self.post(
            "/api/v1/channel/bindings",
            &serde_json::json!({"user_id": user_id, "code": code}),
        )
        .await
    }

    pub async fn outbox(&self, after: i64, limit: u32) -> Result<Outbox, ApiError> {
        self.get(
            "/api/v1/channel/outbox",
            &[("after", &after.to_string()), ("limit", &limit.to_string())],
        )
        .await
    }

    pub async fn ack(&self, ids: &[i64]) -> Result<(), ApiError> {
        let _: serde_json::Value = self
            .post(
                "/api/v1/channel/outbox/ack",
                &serde_json::json!({"ids": ids}),
            )
            .await?;
        Ok(())
    }

    /// The questionnaire of an invitation (public: the token is the credential).
    pub async fn survey(&self, token: &str) -> Result<Survey, ApiError> {
        let r = self
            .http
            .get(self.url(&format!("/api/v1/public/invitations/{token}")))
            .send()
            .await?;
        Self::read(r).await
    }

    pub async fn answer(
        &self,
        token: &str,
        answers: &serde_json::Map<String, serde_json::Value>,
        duration_secs: i32,
    ) -> Result<(), ApiError> {
        let r = self
            .http
            .post(self.url(&format!("/api/v1/public/invitations/{token}/responses")))
            .json(&serde_json::json!({"answers": answers, "duration_secs": duration_secs, "via": "bot"}))
            .send()
            .await?;
        let _: serde_json::Value = Self::read(r).await?;
        Ok(())
    }
}
