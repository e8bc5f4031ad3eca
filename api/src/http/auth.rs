//! Bearer API keys.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::error::{ApiError, current_request_id};
use crate::service::{Actor, keys};
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
    match keys::authenticate(&state.db, &bearer.token).await {
        Ok(keys::Authentication::Valid(mut actor)) => {
            actor.request_id = Some(current_request_id());
            Ok(actor)
        }
        Ok(keys::Authentication::Revoked) => {
            Err(ApiError::unauthorized("api_key_revoked", "this API key has been revoked").into())
        }
        Ok(keys::Authentication::Unknown) => {
            Err(ApiError::unauthorized("unauthorized", "unknown API key").into())
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
}
