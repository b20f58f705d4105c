//! The music library over REST: search-as-you-type (the `tracks` index,
//! answered with whole tracks) and lookup by id.

use aide::axum::ApiRouter;
use aide::axum::routing::{get, post_with};
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;

use aide::transform::TransformOperation;

use super::openapi::Describe;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Bearer;
use crate::error::{AppError, Result};
use crate::music::import::{self, Format, MAX_IMPORT_BYTES};
use crate::search::plan::words;
use crate::search::request::{DEFAULT_LIMIT, SearchParams};
use crate::search::{IndexConfig, IndexName, SearchRequest};
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    let upload = post_with(upload, catalogue_body).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES));
    ApiRouter::new()
        .api_route("/api/tracks", get(search))
        .api_route("/api/tracks/{id}", get(track))
        .api_route("/api/library/tracks", upload)
}

fn catalogue_body(op: TransformOperation) -> TransformOperation {
    op.body(
        "a catalogue: CSV with a header line, or a JSON array of tracks",
        vec![
            ("text/csv", schemars::json_schema!({ "type": "string" })),
            ("application/json", schemars::json_schema!({ "type": "array", "items": { "type": "object" } })),
        ],
    )
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TrackSearch {
    #[serde(default)]
    #[schemars(length(max = MAX_QUERY_CHARS))]
    q: String,
    #[schemars(range(min = 1, max = MAX_LIMIT))]
    limit: Option<usize>,
    /// Results to skip ("show more"), at most the index's `maxTotalHits`.
    #[serde(default)]
    offset: usize,
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
    let search = SearchParams { q, limit: params.limit, offset: Some(params.offset), sort, ..SearchParams::default() };
    let request = SearchRequest::build(&IndexConfig::shipped(IndexName::Tracks), &search)?;
    let results = app.search.search(IndexName::Tracks, &request).await?;
    let ids: Vec<String> = results.hits.iter().filter_map(|h| h["id"].as_str().map(str::to_string)).collect();
    let found = app.store.tracks_by_ids(&ids).await?;
    let mut tracks: Vec<_> = ids.iter().filter_map(|id| found.iter().find(|t| &t.id == id).cloned()).collect();
    // Few hits in the library: the music service's catalogue fills in the
    // first page (and counts in the total).
    let mut total = results.total;
    if params.offset == 0 {
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        let extra = app.providers.catalogue_hits(&params.q, limit, &tracks).await;
        total += extra.len();
        tracks.extend(extra);
    }
    Ok(Json(json!({ "tracks": tracks, "total": total, "offset": params.offset })))
}

async fn track(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>> {
    let track = app.store.track(&id).await?.ok_or(AppError::TrackNotFound)?;
    Ok(Json(json!({ "track": track })))
}

/// A host's catalogue upload (`text/csv` or `application/json` body,
/// `Authorization: Bearer <host token>`): validated whole, then written and
/// queued for the search index; a file with any error imports nothing.
async fn upload(
    State(app): State<AppState>,
    bearer: Bearer,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<Value>> {
    let body = body.map_err(|e| match e.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(MAX_IMPORT_BYTES),
        _ => AppError::InvalidPayload(e.body_text()),
    })?;
    let room = app.rooms.room(&bearer.0.r).await?;
    let member = bearer.member_of(&room)?;
    if !member.is_staff() {
        return Err(crate::domain::DomainError::Forbidden.into());
    }
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let format = match content_type.split(';').next().map(str::trim) {
        Some("text/csv") => Format::Csv,
        Some("application/json") => Format::Json,
        _ => return Err(AppError::InvalidPayload("send text/csv or application/json".into())),
    };
    // Parsing 50 MB takes a while: off the async workers.
    let parsed = tokio::task::spawn_blocking(move || import::parse(&body, format))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::InvalidImport(e.problems.join("; ")))?;
    let report = import::save(app.store.as_ref(), parsed).await?;
    app.index_changed.notify_one();
    tracing::info!(room_id = %room.id, imported = report.imported, "library upload");
    Ok(Json(json!(report)))
}
