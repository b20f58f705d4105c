//! Rooms over REST: create, join (or rejoin), public info, QR code, history.

use super::openapi::Created;
use aide::axum::ApiRouter;
use aide::axum::routing::{get, get_with, post, post_with};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::openapi::Describe;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiJson;
use super::client_ip::ClientIp;
use crate::domain::view::{MemberView, NowPlayingView, RoomInfo, ScreenView, people_online};
use crate::domain::{Actor, Command, Listing, Member, Role, Room, Rules, SCREEN_ID_PREFIX, Screen, User, code};
use crate::error::{AppError, Result};
use crate::ids::random_id;
use crate::state::AppState;
use crate::store::StoreError;
use crate::token::{Claims, ScreenClaims};

const MAX_ROOM_NAME: usize = 80;
const MAX_MEMBER_NAME: usize = 40;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/api/rooms", post(create))
        .api_route("/api/rooms/{code}", get(info))
        .api_route("/api/rooms/{code}/join", post(join))
        .api_route(
            "/api/rooms/{code}/screens",
            post_with(open_screen, |op| op.response::<200, Json<Value>>().response::<201, Json<Value>>()),
        )
        .api_route("/api/rooms/{code}/qr.svg", get_with(qr, |op| op.file(200, "image/svg+xml", "the join QR code")))
        .api_route("/api/rooms/{code}/history", get(history))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateRoom {
    #[schemars(length(min = 1, max = MAX_ROOM_NAME))]
    name: String,
    #[schemars(length(min = 1, max = MAX_MEMBER_NAME))]
    host_name: String,
    #[serde(default)]
    rules: Rules,
    #[serde(default)]
    fallback_track_ids: Vec<String>,
    /// Public rooms can be found in room search (by name, city, distance).
    #[serde(default)]
    listing: Listing,
    /// The host's account token: the host is this account.
    account_token: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct JoinRoom {
    #[schemars(length(min = 1, max = MAX_MEMBER_NAME))]
    name: String,
    /// A token from an earlier join on this device: rejoin as the same member.
    token: Option<String>,
    /// The account token of a logged-in person: the new member is them.
    account_token: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct OpenScreen {
    /// What staff see in their list of screens; default `Big screen`.
    name: Option<String>,
    /// A token from an earlier opening on this device: the same screen
    /// again, if staff have not removed it.
    token: Option<String>,
}

/// Trims a display name and checks its length.
fn clean_name(field: &str, value: &str, max: usize) -> Result<String> {
    let name = value.trim();
    let count = name.chars().count();
    if count == 0 || count > max || name.chars().any(char::is_control) {
        return Err(AppError::InvalidPayload(format!("{field} must be 1 to {max} printable characters")));
    }
    Ok(name.to_string())
}

fn parse_code(raw: &str) -> Result<String> {
    code::normalize(raw).ok_or(AppError::RoomNotFound)
}

fn new_member(name: String, role: Role, now: u64, account: Option<&User>) -> Member {
    let id = random_id(&mut rand::rng());
    let (user_id, username) = (account.map(|u| u.id.clone()), account.map(|u| u.username.clone()));
    Member { user_id, username, ..Member::new(id, name, role, now) }
}

/// The account of an optional account token (`unauthorized` if it is bad).
async fn account_of(app: &AppState, token: Option<&str>) -> Result<Option<User>> {
    match token {
        Some(token) => Ok(Some(app.accounts.account(token).await?.user)),
        None => Ok(None),
    }
}

async fn room_json(app: &AppState, room: &Room) -> Value {
    let mut info = serde_json::to_value(RoomInfo::new(room)).unwrap_or_default();
    info["join_url"] = json!(app.join_url(&room.code));
    info["online_count"] = json!(people_online(&app.presence.online(&room.id).await));
    info
}

async fn session_json(app: &AppState, room: &Room, member: &Member) -> Value {
    let token = app.tokens.sign(&Claims { r: room.id.clone(), m: member.id.clone() });
    let online = app.presence.online(&room.id).await.contains(&member.id);
    json!({ "room": room_json(app, room).await, "token": token, "member": MemberView::new(member, online) })
}

async fn create(State(app): State<AppState>, ApiJson(body): ApiJson<CreateRoom>) -> Result<Created<Value>> {
    let name = clean_name("name", &body.name, MAX_ROOM_NAME)?;
    let host_name = clean_name("host_name", &body.host_name, MAX_MEMBER_NAME)?;
    body.rules.validate()?;
    body.listing.validate()?;
    if body.fallback_track_ids.len() > crate::domain::command::MAX_FALLBACK {
        return Err(crate::domain::DomainError::FallbackTooLong(crate::domain::command::MAX_FALLBACK).into());
    }
    let fallback = crate::music::tracks_in_order(app.store.as_ref(), &body.fallback_track_ids).await?;
    let account = account_of(&app, body.account_token.as_deref()).await?;
    let now = app.clock.now();
    let host = new_member(host_name, Role::Host, now, account.as_ref());
    for _ in 0..16 {
        let room_code = code::from_random(|n| rand::random_range(0..n));
        let mut room =
            Room::new(random_id(&mut rand::rng()), room_code, name.clone(), host.clone(), body.rules.clone(), now);
        room.listing = body.listing.clone();
        match app.rooms.create_room(&room).await {
            Ok(()) => {
                let room = if fallback.is_empty() {
                    room
                } else {
                    let command = Command::SetFallback { tracks: fallback };
                    app.rooms.execute(&room.id, Actor::Member(host.id.clone()), command).await?.0
                };
                tracing::info!(room_id = %room.id, code = %room.code, "room created");
                if let Some(user_id) = &host.user_id {
                    app.activities.record(user_id, &room, crate::domain::ActivityKind::RoomJoined).await;
                }
                return Ok(Created(session_json(&app, &room, &host).await));
            }
            Err(StoreError::Duplicate) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::Unavailable)
}

/// `join_room`, counted for operators by result.
async fn join(
    state: State<AppState>,
    ip: ClientIp,
    code: Path<String>,
    body: ApiJson<JoinRoom>,
) -> Result<Json<Value>> {
    let joined = join_room(state, ip, code, body).await;
    let result = joined.as_ref().map_or_else(|e| e.code().as_str(), |_| "ok");
    metrics::counter!(crate::telemetry::JOINS, "result" => result).increment(1);
    joined
}

async fn join_room(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(raw_code): Path<String>,
    ApiJson(body): ApiJson<JoinRoom>,
) -> Result<Json<Value>> {
    let code = parse_code(&raw_code)?;
    app.room_lookups.check(&ip.to_string(), &code).await?;
    let name = clean_name("name", &body.name, MAX_MEMBER_NAME)?;
    let room = app.rooms.room_by_code(&code).await?;
    let returning = body.token.as_deref().and_then(|t| app.tokens.verify(t)).filter(|c| c.r == room.id);
    if let Some(member) = returning.as_ref().and_then(|c| room.member(&c.m).cloned()) {
        if member.banned {
            return Err(AppError::Banned);
        }
        return Ok(Json(session_json(&app, &room, &member).await));
    }
    let account = account_of(&app, body.account_token.as_deref()).await?;
    // A person with an account is one member per room: they get their
    // member back (and a banned one stays out).
    let existing = account.as_ref().and_then(|a| room.members.values().find(|m| m.user_id.as_ref() == Some(&a.id)));
    if let Some(member) = existing {
        if member.banned {
            return Err(AppError::Banned);
        }
        return Ok(Json(session_json(&app, &room, member).await));
    }
    // Staff of the venue a zone belongs to moderate it: they join as co-hosts.
    let role = match &account {
        Some(user) if app.venues.role_in_zone(&room, &user.id).await.is_some() => Role::Cohost,
        _ => Role::Guest,
    };
    let mut member = new_member(name, role, app.clock.now(), account.as_ref());
    // Someone who was kicked comes back as the same member (a guest again):
    // the tracks she added and her votes are hers again.
    if let Some(kicked) = returning.filter(|_| member.user_id.is_none()) {
        member.id = kicked.m;
    }
    let (room, _) = app.rooms.execute(&room.id, Actor::System, Command::Join { member: member.clone() }).await?;
    Ok(Json(session_json(&app, &room, &member).await))
}

/// A screen starts watching the room: the big screen on a TV, which is not
/// a person and must not become a member (protocol.md §3.5).
async fn open_screen(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(raw_code): Path<String>,
    ApiJson(body): ApiJson<OpenScreen>,
) -> Result<(StatusCode, Json<Value>)> {
    let code = parse_code(&raw_code)?;
    app.room_lookups.check(&ip.to_string(), &code).await?;
    let name = match &body.name {
        Some(name) => clean_name("name", name, MAX_MEMBER_NAME)?,
        None => "Big screen".to_string(),
    };
    let room = app.rooms.room_by_code(&code).await?;
    let returning = body.token.as_deref().and_then(|t| app.tokens.verify_watcher(t)).filter(|c| c.r == room.id);
    if let Some(screen) = returning.and_then(|c| room.screens.get(&c.m).cloned()) {
        return Ok((StatusCode::OK, Json(screen_json(&app, &room, &screen).await)));
    }
    let id = format!("{SCREEN_ID_PREFIX}{}", random_id(&mut rand::rng()));
    let screen = Screen { id, name, created_at: app.clock.now() };
    let (room, _) = app.rooms.execute(&room.id, Actor::System, Command::AddScreen { screen: screen.clone() }).await?;
    tracing::info!(room_id = %room.id, screen_id = %screen.id, "screen opened");
    Ok((StatusCode::CREATED, Json(screen_json(&app, &room, &screen).await)))
}

async fn screen_json(app: &AppState, room: &Room, screen: &Screen) -> Value {
    let token = app.tokens.sign_screen(&ScreenClaims { r: room.id.clone(), s: screen.id.clone() });
    let online = app.presence.online(&room.id).await.contains(&screen.id);
    json!({ "room": room_json(app, room).await, "token": token, "screen": ScreenView::new(screen, online) })
}

async fn info(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(raw_code): Path<String>,
) -> Result<Json<Value>> {
    let code = parse_code(&raw_code)?;
    app.room_lookups.check(&ip.to_string(), &code).await?;
    let room = app.rooms.room_by_code(&code).await?;
    let mut body = room_json(&app, &room).await;
    let now = app.clock.now();
    body["now_playing"] = json!(NowPlayingView::of(&room, now));
    Ok(Json(json!({ "room": body })))
}

async fn qr(State(app): State<AppState>, ClientIp(ip): ClientIp, Path(raw_code): Path<String>) -> Result<Response> {
    let code = parse_code(&raw_code)?;
    app.room_lookups.check(&ip.to_string(), &code).await?;
    let room = app.rooms.room_by_code(&code).await?;
    let svg = crate::qr::svg(&app.join_url(&room.code)).map_err(AppError::Internal)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=3600")], svg)
        .into_response())
}

#[derive(Deserialize, JsonSchema)]
struct Page {
    #[serde(default)]
    offset: usize,
    #[schemars(range(min = 1, max = 200))]
    limit: Option<usize>,
}

async fn history(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(raw_code): Path<String>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    let code = parse_code(&raw_code)?;
    app.room_lookups.check(&ip.to_string(), &code).await?;
    let Query(page) = page.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let limit = page.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::InvalidPayload("limit must be between 1 and 200".into()));
    }
    let room = app.rooms.room_by_code(&code).await?;
    let plays = app.store.history(&room.id, page.offset, limit).await?;
    Ok(Json(json!({ "plays": plays })))
}
