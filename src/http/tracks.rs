//! The music library over REST: search-as-you-type and lookup by id.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{AppError, Result};
use crate::state::AppState;

const MAX_LIMIT: usize = 100;
const MAX_QUERY_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/tracks", get(search)).route("/api/tracks/{id}", get(track))
}

#[derive(Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

async fn search(
    State(app): State<AppState>,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    let Query(params) = params.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    if params.q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::InvalidPayload(format!("q is longer than {MAX_QUERY_CHARS} characters")));
    }
    let limit = params.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::InvalidPayload(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let tracks = app.library.search(&params.q, limit).map_err(AppError::Internal)?;
    Ok(Json(json!({ "tracks": tracks })))
}

async fn track(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>> {
    let track = app.library.get(&id).ok_or(AppError::TrackNotFound)?;
    Ok(Json(json!({ "track": track })))
}
