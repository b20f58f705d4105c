//! The photo wall over REST: share a photo (multipart upload), page the
//! wall, and serve the rendered files. Likes, reports and removal are
//! Socket.IO events (`realtime::events`).

use super::openapi::Accepted;
use aide::axum::ApiRouter;
use aide::axum::routing::get_with;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::openapi::Describe;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Bearer;
use super::client_ip::ClientIp;
use crate::domain::code;
use crate::domain::photo::{self, Variant};
use crate::domain::view::PhotoView;
use crate::error::{AppError, Result};
use crate::media::pipeline::MAX_PHOTO_BYTES;
use crate::photos::{self, MAX_COMMENT_CHARS, MAX_WALL_PAGE, WALL_PAGE};
use crate::state::AppState;

/// The photo plus the comment and the multipart framing.
const MAX_UPLOAD_BYTES: usize = MAX_PHOTO_BYTES + 64 * 1024;
/// Rendered files never change (a new photo gets a new id), but a photo can
/// be removed: phones may keep a copy, shared caches (CDNs) may not.
const CACHE_FILE: &str = "private, max-age=31536000, immutable";

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route(
            "/api/rooms/{code}/photos",
            get_with(wall, |op| op.token_optional())
                .post_with(share, |op| op.parts(&[("photo", true, true), ("comment", false, false)]))
                .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .api_route(
            "/api/photos/{id}/{file}",
            get_with(file, |op| {
                op.file(200, "image/jpeg", "the rendered file").empty(304, "the copy the client has is current")
            }),
        )
}

fn room_code(raw: &str) -> Result<String> {
    code::normalize(raw).ok_or(AppError::RoomNotFound)
}

pub(super) fn multipart_error(e: MultipartError) -> AppError {
    match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => crate::media::pipeline::PhotoError::TooLarge.into(),
        _ => AppError::InvalidPayload(e.body_text()),
    }
}

/// The parts of an upload: `photo` (the file) and an optional `comment`.
pub struct Upload {
    pub photo: Vec<u8>,
    pub comment: Option<String>,
}

/// Reads a photo upload's parts: exactly one `photo`, at most one `comment`
/// (trimmed, printable), nothing else.
pub async fn read_upload(mut form: Multipart) -> Result<Upload> {
    let (mut photo, mut comment) = (None, None);
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "photo" if photo.is_none() => photo = Some(field.bytes().await.map_err(multipart_error)?.to_vec()),
            "comment" if comment.is_none() => comment = Some(field.text().await.map_err(multipart_error)?),
            "photo" | "comment" => return Err(AppError::InvalidPayload(format!("more than one '{name}' part"))),
            other => {
                let other: String = other.chars().take(40).collect();
                return Err(AppError::InvalidPayload(format!("unknown part '{other}': send 'photo' and 'comment'")));
            }
        }
    }
    let photo = photo.ok_or_else(|| AppError::InvalidPayload("the 'photo' part is missing".into()))?;
    Ok(Upload { photo, comment: clean_comment(comment)? })
}

fn clean_comment(comment: Option<String>) -> Result<Option<String>> {
    let Some(comment) = comment.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()) else { return Ok(None) };
    if comment.chars().count() > MAX_COMMENT_CHARS || comment.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::InvalidPayload(format!(
            "comment must be at most {MAX_COMMENT_CHARS} printable characters"
        )));
    }
    Ok(Some(comment))
}

/// `POST /api/rooms/{code}/photos`: a member shares a photo. Answered `202`
/// with the photo `processing`; the room gets `photo:new` once it is ready.
async fn share(
    State(app): State<AppState>,
    bearer: Bearer,
    Path(raw_code): Path<String>,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Accepted<Value>> {
    // Limited by the token's member before the code is looked up, so a
    // token cannot be used to probe room codes.
    app.photo_limiter.check(&bearer.0.m).await?;
    let room = app.rooms.room_by_code(&room_code(&raw_code)?).await?;
    let member = bearer.member_of(&room)?.clone();
    let form = form.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let upload = read_upload(form).await?;
    let photo = app.photos.share_photo(&room, &member, upload.photo, upload.comment).await?;
    let view = PhotoView::new(&photo, &room, Some(&member.id));
    Ok(Accepted(json!({ "photo": view })))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WallPage {
    before: Option<String>,
    #[schemars(range(min = 1, max = MAX_WALL_PAGE))]
    limit: Option<usize>,
}

/// `GET /api/rooms/{code}/photos?before=&limit=`: the wall, newest first.
/// Rate limited as a room look-up per client address, or per member with a
/// member token; with the token `liked` is filled in.
async fn wall(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    bearer: Option<Bearer>,
    Path(raw_code): Path<String>,
    page: std::result::Result<Query<WallPage>, QueryRejection>,
) -> Result<Json<Value>> {
    let code = room_code(&raw_code)?;
    match &bearer {
        Some(b) => app.join_limiter.check(&format!("member:{}", b.0.m)).await?,
        None => app.room_lookups.check(&ip.to_string(), &code).await?,
    }
    let Query(page) = page.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let limit = page.limit.unwrap_or(WALL_PAGE);
    if !(1..=MAX_WALL_PAGE).contains(&limit) {
        return Err(AppError::InvalidPayload(format!("limit must be between 1 and {MAX_WALL_PAGE}")));
    }
    let before = match page.before.as_deref() {
        Some(raw) => Some(photo::parse_cursor(raw).ok_or_else(|| AppError::InvalidPayload("bad cursor".into()))?),
        None => None,
    };
    let room = app.rooms.room_by_code(&code).await?;
    let viewer = match &bearer {
        Some(bearer) => Some(bearer.member_of(&room)?.id.clone()),
        None => None,
    };
    let (photos, next) = app.photos.wall(&room, before, limit, viewer.as_deref()).await?;
    Ok(Json(json!({ "photos": photos, "next": next })))
}

/// `GET /api/photos/{id}/{full|preview|thumb}.jpg`: a rendered file, cached
/// forever; `photo_not_found` once the photo is removed or hidden.
async fn file(
    State(app): State<AppState>,
    Path((id, file_name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match serve_file(&app, &id, &file_name, &headers).await {
        Ok(response) => response,
        Err(e) => {
            // Never cache a refusal: a photo can be missing only for a moment.
            let mut response = e.into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

/// Whether `If-None-Match` lists `etag` (weak or strong, or `*`).
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    let listed = headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok());
    listed.flat_map(|v| v.split(',')).map(|t| t.trim().trim_start_matches("W/")).any(|t| t == etag || t == "*")
}

async fn serve_file(app: &AppState, id: &str, file_name: &str, headers: &HeaderMap) -> Result<Response> {
    let variant = Variant::served(file_name).ok_or(AppError::NotFound)?;
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::PhotoNotFound);
    }
    let photo = app.store.photo(id).await?.ok_or(AppError::PhotoNotFound)?;
    let room = match app.rooms.room(&photo.room_id).await {
        Err(AppError::RoomNotFound) => return Err(AppError::PhotoNotFound),
        other => other?,
    };
    if !photo.visible_in(&room) {
        return Err(AppError::PhotoNotFound);
    }
    let etag = format!("\"{id}-{}\"", variant.file_name());
    let cached = matches_etag(headers, &etag);
    let etag = HeaderValue::from_str(&etag).map_err(|e| AppError::Internal(e.into()))?;
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static(CACHE_FILE)),
        (header::ETAG, etag),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if cached {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let blob = photos::served_file(app.blobs.as_ref(), id, variant).await?;
    let content_type = HeaderValue::from_str(&blob.content_type).map_err(|e| AppError::Internal(e.into()))?;
    Ok((common, [(header::CONTENT_TYPE, content_type)], blob.bytes).into_response())
}
