//! Music services over REST (`/api/providers/{provider}/…`): link an
//! account (login → the service → callback), see or remove the link, list
//! playlists and devices, start imports and exports (background jobs) and
//! choose the device a room plays on. Account routes take the account
//! token; room routes (`exports`, `playback`) take a staff member's token
//! and use the link of that member's account.

use super::openapi::Accepted;
use aide::axum::ApiRouter;
use aide::axum::routing::{get, get_with, post, put};

use super::openapi::Describe;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::NoContent;
use axum::response::Redirect;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiJson;
use super::accounts::SignedIn;
use super::auth::Bearer;
use crate::domain::{Actor, Command, DomainError, Member, Playback, Room};
use crate::error::{AppError, Result};
use crate::providers::jobs::{ExportSource, FallbackTarget, ImportSource, MAX_PLAYLIST_NAME};
use crate::providers::links::LinkView;
use crate::state::AppState;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/api/providers", get(available))
        .api_route("/api/providers/{provider}", get(link).delete(unlink))
        .api_route("/api/providers/{provider}/login", post(login))
        .api_route(
            "/api/providers/{provider}/callback",
            get_with(callback, |op| op.empty(303, "back to the app, with the outcome in the query")),
        )
        .api_route("/api/providers/{provider}/playlists", get(playlists))
        .api_route("/api/providers/{provider}/devices", get(devices))
        .api_route("/api/providers/{provider}/imports", post(import))
        .api_route("/api/providers/{provider}/exports", post(export))
        .api_route("/api/providers/{provider}/jobs/{id}", get(job))
        .api_route("/api/providers/{provider}/playback", put(playback))
}

/// Longest OAuth `state` and `code` accepted from a callback.
const MAX_STATE_CHARS: usize = 128;
const MAX_CODE_CHARS: usize = 2_048;

/// Which music services this server is set up for (public: an app shows
/// "Link Spotify" only where it can work).
async fn available(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "providers": [{ "name": "spotify", "configured": app.providers.spotify().is_some() }] }))
}

async fn login(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    SignedIn(account): SignedIn,
) -> Result<Json<Value>> {
    let provider = app.providers.get(&provider)?;
    let url = app.providers.start_link(provider.as_ref(), &account.user.id).await?;
    Ok(Json(json!({ "url": url })))
}

#[derive(Deserialize, JsonSchema)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    /// Set by the service when the user declined (`access_denied`).
    error: Option<String>,
}

/// The browser comes back here from the service; it is sent on to the app
/// with the outcome: `/?provider=spotify&linked=1`, or
/// `/?provider=spotify&error=<code>`.
async fn callback(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    query: std::result::Result<Query<Callback>, QueryRejection>,
) -> Result<Redirect> {
    let provider = app.providers.get(&provider)?;
    let outcome = async {
        let Query(callback) = query.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
        let state =
            callback.state.filter(|s| !s.is_empty() && s.len() <= MAX_STATE_CHARS).ok_or(AppError::InvalidState)?;
        let code = match (callback.code, callback.error) {
            (Some(code), None) if !code.is_empty() && code.len() <= MAX_CODE_CHARS => Some(code),
            (Some(_), None) => return Err(AppError::InvalidPayload("the code is empty or too long".into())),
            _ => None,
        };
        app.providers.finish_link(provider.as_ref(), &state, code.as_deref()).await
    }
    .await;
    let name = provider.name();
    Ok(match outcome {
        Ok(_) => Redirect::to(&format!("/?provider={name}&linked=1")),
        Err(e) => {
            tracing::info!(code = e.code().as_str(), "music service link failed");
            Redirect::to(&format!("/?provider={name}&error={}", e.code().as_str()))
        }
    })
}

async fn link(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    SignedIn(account): SignedIn,
) -> Result<Json<Value>> {
    let provider = app.providers.get(&provider)?;
    let link = app.store.providers().link(&account.user.id, provider.name()).await?;
    Ok(Json(json!({ "link": LinkView::of(provider.name(), link) })))
}

async fn unlink(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    SignedIn(account): SignedIn,
) -> Result<NoContent> {
    let provider = app.providers.get(&provider)?;
    app.providers.unlink(provider.name(), &account.user.id).await?;
    Ok(NoContent)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default)]
    offset: u32,
}

/// One page (50) of the account's playlists on the service.
async fn playlists(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    SignedIn(account): SignedIn,
    query: std::result::Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Value>> {
    let Query(query) = query.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let provider = app.providers.get(&provider)?;
    let p = provider.as_ref();
    let page = app
        .providers
        .with_grant(p, &account.user.id, |grant| async move { p.playlists(&grant, query.offset).await })
        .await?;
    Ok(Json(json!({ "playlists": page.items, "total": page.total, "next_offset": page.next_offset })))
}

async fn devices(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    SignedIn(account): SignedIn,
) -> Result<Json<Value>> {
    let provider = app.providers.get(&provider)?;
    let p = provider.as_ref();
    let devices = app.providers.with_grant(p, &account.user.id, |grant| async move { p.devices(&grant).await }).await?;
    Ok(Json(json!({ "devices": devices })))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    /// `liked` or `playlist`.
    source: String,
    playlist_id: Option<String>,
    /// A staff member's token: the import also becomes that room's fallback.
    fallback_room_token: Option<String>,
}

async fn import(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    SignedIn(account): SignedIn,
    ApiJson(body): ApiJson<ImportBody>,
) -> Result<Accepted<Value>> {
    let provider = app.providers.get(&provider)?;
    let source = match (body.source.as_str(), body.playlist_id) {
        ("liked", None) => ImportSource::Liked,
        ("playlist", Some(id)) if valid_id(&id) => ImportSource::Playlist(id),
        ("playlist", Some(_)) => return Err(AppError::InvalidPayload("playlist_id is not a playlist id".into())),
        ("playlist", None) => return Err(AppError::InvalidPayload("playlist_id is missing".into())),
        ("liked", Some(_)) => return Err(AppError::InvalidPayload("liked takes no playlist_id".into())),
        _ => return Err(AppError::InvalidPayload("source must be liked or playlist".into())),
    };
    let fallback = match body.fallback_room_token {
        Some(token) => {
            let claims = app.tokens.verify(&token).ok_or(AppError::Unauthorized)?;
            let room = app.rooms.room(&claims.r).await?;
            let member = staff_of(&Bearer(claims), &room)?;
            Some(FallbackTarget { room_id: room.id.clone(), member_id: member.id.clone() })
        }
        None => None,
    };
    let job = app.providers.start_import(provider, &account.user.id, source, fallback).await?;
    Ok(Accepted(json!({ "job": job.view() })))
}

/// Ids of the service (base62 for Spotify): letters and digits.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    /// `history` (what was played, oldest first) or `queue` (now playing and
    /// the queue, in order).
    source: String,
    name: Option<String>,
}

async fn export(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<ExportBody>,
) -> Result<Accepted<Value>> {
    let provider = app.providers.get(&provider)?;
    let source = match body.source.as_str() {
        "history" => ExportSource::History,
        "queue" => ExportSource::Queue,
        _ => return Err(AppError::InvalidPayload("source must be history or queue".into())),
    };
    let name = body.name.map(|n| n.trim().to_string());
    if name
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.chars().count() > MAX_PLAYLIST_NAME || n.chars().any(char::is_control))
    {
        return Err(AppError::InvalidPayload(format!("name must be 1 to {MAX_PLAYLIST_NAME} characters")));
    }
    let room = app.rooms.room(&bearer.0.r).await?;
    let member = staff_of(&bearer, &room)?;
    let user_id = member.user_id.clone().ok_or(AppError::ProviderNotLinked)?;
    let name = name.unwrap_or_else(|| format!("{} (crowdjuke)", room.name));
    let job = app.providers.start_export(provider, &user_id, &room.id, source, name).await?;
    Ok(Accepted(json!({ "job": job.view() })))
}

async fn job(
    State(app): State<AppState>,
    Path((provider, id)): Path<(String, String)>,
    SignedIn(account): SignedIn,
) -> Result<Json<Value>> {
    app.providers.get(&provider)?;
    let job = app.providers.job(&account.user.id, &id).await?;
    Ok(Json(json!({ "job": job.view() })))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PlaybackBody {
    /// A device of the member's linked account; `null` stops handing tracks over.
    device_id: Option<String>,
}

/// Chooses the device the room's tracks play on (staff only).
async fn playback(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    bearer: Bearer,
    ApiJson(body): ApiJson<PlaybackBody>,
) -> Result<Json<Value>> {
    let provider = app.providers.get(&provider)?;
    let room = app.rooms.room(&bearer.0.r).await?;
    let member = staff_of(&bearer, &room)?.clone();
    let playback = match body.device_id {
        None => None,
        Some(device_id) => {
            let user_id = member.user_id.clone().ok_or(AppError::ProviderNotLinked)?;
            let p = provider.as_ref();
            let devices = app.providers.with_grant(p, &user_id, |grant| async move { p.devices(&grant).await }).await?;
            let device = devices
                .into_iter()
                .find(|d| d.id == device_id)
                .ok_or_else(|| AppError::from(crate::providers::ProviderError::NotFound("the device")))?;
            Some(Playback {
                provider: provider.name().to_string(),
                user_id,
                device_id: device.id,
                device_name: device.name,
            })
        }
    };
    let (room, _) = app.rooms.execute(&room.id, Actor::Member(member.id), Command::SetPlayback { playback }).await?;
    let view = room.playback.as_ref().map(|p| json!({ "provider": p.provider, "device_name": p.device_name }));
    Ok(Json(json!({ "playback": view })))
}

fn staff_of<'r>(bearer: &Bearer, room: &'r Room) -> Result<&'r Member> {
    let member = bearer.member_of(room)?;
    if !member.is_staff() {
        return Err(DomainError::Forbidden.into());
    }
    Ok(member)
}
