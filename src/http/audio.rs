//! Audio and artwork of music-folder tracks.
//!
//! - `GET /api/rooms/{code}/audio/{track_id}` (member token): a ticket URL
//!   for a track playing or waiting in the member's room, valid for
//!   `TICKET_MINUTES`. An `<audio>` element cannot send a header, so the
//!   ticket rides in the URL instead.
//! - `GET /api/tracks/{id}/audio?ticket=…`: the file, streamed in chunks
//!   (constant memory) with HTTP Range (`206`, `416`, `Accept-Ranges`),
//!   `ETag` and `If-Range` (ranges parsed by `http-range-header`, as
//!   tower-http does), from this node's disk or, scaled out on a node
//!   without the folder, from its copy in GridFS. The client never names a
//!   path: the track id leads to the scanned file.
//! - `GET /api/tracks/{id}/artwork`: the cover embedded in the file (or
//!   its copy).

use std::ops::Range;
use std::time::UNIX_EPOCH;

use aide::axum::ApiRouter;
use aide::axum::routing::{get, get_with};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header::{
    ACCEPT_RANGES, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::openapi::Describe;
use axum::Json;
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::auth::Bearer;
use crate::domain::{MusicFile, Room};
use crate::error::{AppError, Result};
use crate::media::ByteStream;
use crate::music::folders;
use crate::state::AppState;
use crate::token::AudioClaims;

/// How long an audio ticket lets its holder fetch the file.
pub const TICKET_MINUTES: u64 = 30;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/api/rooms/{code}/audio/{track_id}", get(ticket))
        .api_route(
            "/api/tracks/{id}/audio",
            get_with(audio, |op| {
                op.file(200, "audio/*", "the track's audio file")
                    .file(206, "audio/*", "the range asked for")
                    .empty(416, "the range is past the end of the file")
            }),
        )
        .api_route("/api/tracks/{id}/artwork", get_with(artwork, |op| op.file(200, "image/*", "the cover picture")))
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
    bearer.watcher_of(&room)?;
    if !in_room(&room, &track_id) {
        return Err(AppError::TrackNotFound);
    }
    playable_file(&app, &track_id).await?;
    let expires_at = app.clock.now() + TICKET_MINUTES * 60_000;
    let ticket = app.tokens.sign_audio(&AudioClaims { t: track_id.clone(), r: room.id, e: expires_at });
    let url = format!("/api/tracks/{track_id}/audio?ticket={ticket}");
    Ok(Json(json!({ "url": url, "expires_at": expires_at })))
}

/// Where a track's audio is served from.
enum Source {
    /// The scanned file, on this node's disk as it was scanned.
    File(MusicFile),
    /// Its copy in the BlobStore (scaled out: a node without the folder).
    Copy(MusicFile),
}

impl Source {
    fn record(&self) -> &MusicFile {
        match self {
            Self::File(file) | Self::Copy(file) => file,
        }
    }

    /// The bytes `range` of the audio, read as they are sent.
    async fn read(&self, app: &AppState, range: Range<u64>) -> Result<ByteStream> {
        match self {
            Self::File(file) => {
                let mut opened = tokio::fs::File::open(&file.path).await.map_err(|_| AppError::NoAudio)?;
                opened.seek(std::io::SeekFrom::Start(range.start)).await.map_err(|e| AppError::Internal(e.into()))?;
                let part = opened.take(range.end - range.start);
                Ok(ReaderStream::with_capacity(part, 64 * 1024).boxed())
            }
            Self::Copy(file) => {
                let copy = app.blobs.read_range(&folders::audio_key(&file.track_id), range).await;
                copy.map_err(|e| AppError::Internal(e.into()))?.ok_or(AppError::NoAudio)
            }
        }
    }
}

/// The first scanned file of the track that is still on this node's disk
/// as scanned, else its copy in the BlobStore when it matches.
async fn playable_file(app: &AppState, track_id: &str) -> Result<Source> {
    let files = app.store.music_files().music_files_of(track_id).await?;
    let files: Vec<MusicFile> = files.into_iter().filter(|f| f.skipped.is_none()).collect();
    for file in &files {
        let unchanged = tokio::fs::metadata(&file.path).await.is_ok_and(|meta| {
            let modified = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
            meta.len() == file.size && modified.is_some_and(|m| m.as_millis() as u64 == file.modified_ms)
        });
        if unchanged {
            return Ok(Source::File(file.clone()));
        }
    }
    if let Some(file) = files.into_iter().next() {
        let copy = app.blobs.stat(&folders::audio_key(track_id)).await.map_err(|e| AppError::Internal(e.into()))?;
        if copy.is_some_and(|copy| copy.len == file.size) {
            return Ok(Source::Copy(file));
        }
    }
    Err(AppError::NoAudio)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TicketQuery {
    ticket: Option<String>,
}

async fn audio(
    State(app): State<AppState>,
    Path(track_id): Path<String>,
    query: std::result::Result<Query<TicketQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response> {
    let Query(query) = query.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let claims = query.ticket.as_deref().and_then(|t| app.tokens.verify_audio(t)).ok_or(AppError::Unauthorized)?;
    if claims.t != track_id || claims.e <= app.clock.now() {
        return Err(AppError::Unauthorized);
    }
    let source = playable_file(&app, &track_id).await?;
    let file = source.record();
    let len = file.size;
    // Same size and modification time, same bytes: a strong enough
    // validator for a file that a re-scan reads again when either changes.
    let etag = format!("\"{:x}-{:x}\"", file.size, file.modified_ms);
    // RFC 9110 §13.1.5: when the client's copy changed, the whole file.
    let stale = headers.get(IF_RANGE).is_some_and(|v| v.as_bytes() != etag.as_bytes());
    let wanted = headers.get(RANGE).filter(|_| !stale).map(|range| {
        let parsed = range.to_str().ok().and_then(|r| http_range_header::parse_range_header(r).ok());
        parsed.and_then(|r| r.validate(len).ok()).filter(|ranges| ranges.len() == 1).map(|ranges| ranges[0].clone())
    });
    let mut response = Response::builder()
        .header(ACCEPT_RANGES, "bytes")
        .header(CONTENT_TYPE, HeaderValue::from_str(&file.mime).unwrap_or(HeaderValue::from_static("audio/mpeg")))
        .header(ETAG, HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.into()))?)
        .header(CACHE_CONTROL, "private, max-age=600");
    if let Some(modified) = chrono::DateTime::from_timestamp_millis(file.modified_ms as i64) {
        response = response.header(LAST_MODIFIED, modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    }
    let (range, status) = match wanted {
        None => (0..len, StatusCode::OK),
        Some(Some(range)) => {
            response = response.header(CONTENT_RANGE, format!("bytes {}-{}/{len}", range.start(), range.end()));
            (*range.start()..range.end() + 1, StatusCode::PARTIAL_CONTENT)
        }
        // Malformed, past the end, reversed or several ranges (multipart
        // answers are not supported; players ask for one range).
        Some(None) => {
            let response =
                response.status(StatusCode::RANGE_NOT_SATISFIABLE).header(CONTENT_RANGE, format!("bytes */{len}"));
            return response.body(Body::empty()).map_err(|e| AppError::Internal(e.into()));
        }
    };
    let body = source.read(&app, range.clone()).await?;
    response
        .status(status)
        .header(CONTENT_LENGTH, range.end - range.start)
        .body(Body::from_stream(body))
        .map_err(|e| AppError::Internal(e.into()))
}

async fn artwork(State(app): State<AppState>, Path(track_id): Path<String>) -> Result<Response> {
    let cover = match playable_file(&app, &track_id).await.map_err(|_| AppError::NotFound)? {
        Source::File(file) => {
            let path = std::path::PathBuf::from(&file.path);
            let tags = tokio::task::spawn_blocking(move || folders::tags::read(&path))
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
            tags.ok().and_then(|t| t.cover)
        }
        Source::Copy(_) => {
            let copy = app.blobs.get(&folders::cover_key(&track_id)).await.map_err(|e| AppError::Internal(e.into()))?;
            copy.map(|blob| (blob.bytes, blob.content_type))
        }
    };
    let (bytes, mime) = cover.ok_or(AppError::NotFound)?;
    let headers = [(CONTENT_TYPE, mime), (CACHE_CONTROL, "public, max-age=86400".to_string())];
    Ok((headers, bytes).into_response())
}
