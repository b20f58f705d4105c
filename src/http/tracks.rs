//! The music library over REST: search-as-you-type (the `tracks` index,
//! answered with whole tracks) and lookup by id.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{AppError, Result};
use crate::search::plan::words;
use crate::search::request::SearchParams;
use crate::search::{IndexConfig, IndexName, SearchRequest};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/tracks", get(search)).route("/api/tracks/{id}", get(track))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrackSearch {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

const MAX_LIMIT: usize = 100;
const MAX_QUERY_CHARS: usize = 200;

/// The search box: the text is plain words (no query syntax), the last one
/// a prefix while being typed. An empty query lists the most popular tracks.
async fn search(
    State(app): State<AppState>,
    params: std::result::Result<Query<TrackSearch>, QueryRejection>,
) -> Result<Json<Value>> {
    let Query(params) = params.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    if params.q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::InvalidPayload(format!("q is longer than {MAX_QUERY_CHARS} characters")));
    }
    if params.limit.is_some_and(|l| !(1..=MAX_LIMIT).contains(&l)) {
        return Err(AppError::InvalidPayload(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let mut q = words(&params.q).join(" ");
    if params.q.ends_with(char::is_whitespace) {
        q.push(' ');
    }
    let sort = q.trim().is_empty().then(|| "popularity:desc".to_string());
    let search = SearchParams { q, limit: params.limit, sort, ..SearchParams::default() };
    let request = SearchRequest::build(&IndexConfig::shipped(IndexName::Tracks), &search)?;
    let results = app.search.search(IndexName::Tracks, &request).await?;
    let ids: Vec<String> = results.hits.iter().filter_map(|h| h["id"].as_str().map(str::to_string)).collect();
    let found = app.store.tracks_by_ids(&ids).await?;
    let tracks: Vec<_> = ids.iter().filter_map(|id| found.iter().find(|t| &t.id == id)).collect();
    Ok(Json(json!({ "tracks": tracks })))
}

async fn track(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>> {
    let track = app.store.track(&id).await?.ok_or(AppError::TrackNotFound)?;
    Ok(Json(json!({ "track": track })))
}
