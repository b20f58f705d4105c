//! Audio and artwork of music-folder tracks.
//!
//! - `GET /api/rooms/{code}/audio/{track_id}` (member token): a ticket URL
//!   for a track playing or waiting in the member's room, valid for
//!   `TICKET_MINUTES`. An `<audio>` element cannot send a header, so the
//!   ticket rides in the URL instead.
//! - `GET /api/tracks/{id}/audio?ticket=…`: the file, streamed from disk in
//!   chunks (constant memory) with HTTP Range (`206`, `416`,
//!   `Accept-Ranges`), `ETag` and `If-Range`, by tower-http's `ServeFile`.
//!   The client never names a path: the track id leads to the scanned file.
//! - `GET /api/tracks/{id}/artwork`: the cover embedded in the file.

use std::time::UNIX_EPOCH;

use axum::extract::{Path, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_RANGE, RANGE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::auth::Bearer;
use crate::domain::{MusicFile, Room};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::token::AudioClaims;

/// How long an audio ticket lets its holder fetch the file.
pub const TICKET_MINUTES: u64 = 30;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{code}/audio/{track_id}", get(ticket))
        .route("/api/tracks/{id}/audio", get(audio))
        .route("/api/tracks/{id}/artwork", get(artwork))
}

/// Whether a track plays or waits in the room (a speaker also preloads
/// the next one).
fn in_room(room: &Room, track_id: &str) -> bool {
    room.now_playing.as_ref().is_some_and(|np| np.track.id == track_id)
        || room.queue.iter().any(|e| e.track.id == track_id)
}

async fn ticket(
    State(app): State<AppState>,
    Path((code, track_id)): Path<(String, String)>,
    bearer: Bearer,
) -> Result<Json<Value>> {
    let room = app.rooms.room_by_code(&code).await?;
    bearer.member_of(&room)?;
    if !in_room(&room, &track_id) {
        return Err(AppError::TrackNotFound);
    }
    playable_file(&app, &track_id).await?;
    let expires_at = app.clock.now() + TICKET_MINUTES * 60_000;
    let ticket = app.tokens.sign_audio(&AudioClaims { t: track_id.clone(), r: room.id, e: expires_at });
    let url = format!("/api/tracks/{track_id}/audio?ticket={ticket}");
    Ok(Json(json!({ "url": url, "expires_at": expires_at })))
}

/// The first scanned file of the track that is still on disk as scanned.
async fn playable_file(app: &AppState, track_id: &str) -> Result<MusicFile> {
    for file in app.store.music_files().music_files_of(track_id).await? {
        let unchanged = tokio::fs::metadata(&file.path).await.is_ok_and(|meta| {
            let modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
            meta.len() == file.size && modified.is_some_and(|m| m.as_millis() as u64 == file.modified_ms)
        });
        if unchanged {
            return Ok(file);
        }
    }
    Err(AppError::NoAudio)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TicketQuery {
    ticket: Option<String>,
}

async fn audio(
    State(app): State<AppState>,
    Path(track_id): Path<String>,
    query: std::result::Result<Query<TicketQuery>, axum::extract::rejection::QueryRejection>,
    mut request: Request,
) -> Result<Response> {
    let Query(query) = query.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let claims = query.ticket.as_deref().and_then(|t| app.tokens.verify_audio(t)).ok_or(AppError::Unauthorized)?;
    if claims.t != track_id || claims.e <= app.clock.now() {
        return Err(AppError::Unauthorized);
    }
    let file = playable_file(&app, &track_id).await?;
    // Same size and modification time, same bytes: a strong enough
    // validator for a file that a re-scan reads again when either changes.
    let etag = format!("\"{:x}-{:x}\"", file.size, file.modified_ms);
    let stale_range = request.headers().get(IF_RANGE).is_some_and(|v| v.as_bytes() != etag.as_bytes());
    if stale_range {
        // RFC 9110 §13.1.5: the client's copy changed, so the whole file.
        request.headers_mut().remove(RANGE);
    }
    let mut response = match ServeFile::new(&file.path).oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        // Removed between the check and the open.
        return Err(AppError::NoAudio);
    }
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&file.mime) {
        headers.insert(CONTENT_TYPE, mime);
    }
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, etag);
    }
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, max-age=600"));
    Ok(response)
}

async fn artwork(State(app): State<AppState>, Path(track_id): Path<String>) -> Result<Response> {
    let file = playable_file(&app, &track_id).await.map_err(|_| AppError::NotFound)?;
    let path = std::path::PathBuf::from(&file.path);
    let tags = tokio::task::spawn_blocking(move || crate::music::folders::tags::read(&path))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let (bytes, mime) = tags.ok().and_then(|t| t.cover).ok_or(AppError::NotFound)?;
    let headers = [(CONTENT_TYPE, mime), (CACHE_CONTROL, "public, max-age=86400".to_string())];
    Ok((headers, bytes).into_response())
}
