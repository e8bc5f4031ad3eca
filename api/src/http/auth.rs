//! Bearer API keys.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::error::{ApiError, current_request_id};
use crate::service::{Actor, keys, rate_limit};
use crate::startup::AppState;

/// `Authorization: Bearer <key>`. Keys are issued with `pingjia keys create`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "pj_<64 hex digits>",
    checker = "check_key"
)]
pub struct ApiKey(pub Actor);

async fn check_key(req: &Request, bearer: Bearer) -> poem::Result<Actor> {
    let state = req
        .data::<AppState>()
        .ok_or_else(|| ApiError::internal(&"application state missing"))?;
    Ok(authenticate(req, state, &bearer.token).await?)
}

/// Checks a presented key (from the `Authorization` header or, for Open311, the
/// `api_key` parameter). Guessing keys is throttled per client address, and only
/// guessing: a valid key always works (behind one proxy, one client's wrong keys must
/// not lock out everyone), and each failure is counted with one atomic upsert whose
/// count decides, so concurrent failures can never pass the limit.
pub async fn authenticate(
    req: &Request,
    state: &AppState,
    secret: &str,
) -> Result<Actor, ApiError> {
    let failure = match keys::authenticate(&state.db, secret).await? {
        keys::Authentication::Valid(mut actor) => {
            actor.request_id = Some(current_request_id());
            return Ok(actor);
        }
        keys::Authentication::Revoked => {
            ApiError::unauthorized("api_key_revoked", "this API key has been revoked")
        }
        keys::Authentication::Unknown => ApiError::unauthorized("unauthorized", "unknown API key"),
    };
    let bucket = format!(
        "auth-failure:{}",
        super::client::address(req, state.trust_forwarded_for)
    );
    if let rate_limit::Verdict::Limited { retry_after_secs } =
        rate_limit::hit(&state.db, &bucket, state.auth_failure_limit).await?
    {
        return Err(ApiError::too_many_requests(
            "too many failed authentication attempts from this address",
            retry_after_secs,
        ));
    }
    Err(failure)
}
