//! Venues over REST (protocol.md §3.18): a signed-in account creates a
//! venue and runs it with its staff; every route checks the caller's role
//! against the venue's table of powers.

use super::openapi::Created;
use aide::axum::ApiRouter;
use aide::axum::routing::{delete, get, get_with, post, put};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::NoContent;
use axum::response::{IntoResponse, Response};

use super::openapi::Describe;
use axum::Json;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiJson;
use super::accounts::SignedIn;
use crate::domain::{Venue, VenueAction, VenueDetails, VenueRole};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::token::Claims;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/api/venues", post(create).get(mine))
        .api_route("/api/venues/{id}", get(one).put(update).delete(remove))
        .api_route("/api/venues/{id}/invitations", post(invite))
        .api_route("/api/invitations/{id}/accept", post(accept))
        .api_route("/api/venues/{id}/staff/{user_id}", put(set_role).delete(remove_staff))
        .api_route("/api/venues/{id}/zones", post(create_zone))
        .api_route("/api/venues/{id}/zones/{room_id}", delete(remove_zone))
        .api_route(
            "/api/venues/{id}/zones/{room_id}/cards.svg",
            get_with(cards, |op| op.file(200, "image/svg+xml", "a sheet of table cards (A4)")),
        )
        .api_route("/api/venues/{id}/catalogue", get(catalogue).post(add_to_catalogue).delete(remove_from_catalogue))
        .api_route("/api/venues/{id}/zones/{room_id}/schedule", get(schedule).put(set_schedule).delete(clear_schedule))
        .api_route("/api/venues/{id}/blocked/{track_id}", delete(unblock))
}

/// The venue as its staff see it, with the caller's role.
fn venue_json(app: &AppState, venue: &Venue, role: VenueRole) -> Value {
    let staff: Vec<Value> = venue
        .staff
        .iter()
        .map(|(user_id, s)| json!({ "user_id": user_id, "role": s.role, "since": s.since }))
        .collect();
    json!({
        "venue": {
            "id": venue.id,
            "name": venue.details.name,
            "address": venue.details.address,
            "city": venue.details.city,
            "location": venue.details.location,
            "time_zone": venue.details.time_zone,
            "opening_hours": venue.details.opening_hours,
            "staff": staff,
            "zones": venue.zones.iter().map(|z| json!({
                "room_id": z.room_id, "code": z.code, "name": z.name, "join_url": app.join_url(&z.code),
            })).collect::<Vec<_>>(),
            "created_at": venue.created_at,
            "block_after_declines": venue.details.block_after_declines,
            "blocked": venue.blocked.iter().map(|(track_id, b)| json!({
                "track_id": track_id, "title": b.title, "artist": b.artist, "at": b.at,
            })).collect::<Vec<_>>(),
        },
        "role": role,
    })
}

fn role_of(venue: &Venue, user_id: &str) -> VenueRole {
    venue.role_of(user_id).unwrap_or(VenueRole::Staff)
}

async fn create(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    ApiJson(details): ApiJson<VenueDetails>,
) -> Result<Created<Value>> {
    let venue = app.venues.create(&account.user, details).await?;
    Ok(Created(venue_json(&app, &venue, VenueRole::Owner)))
}

async fn mine(State(app): State<AppState>, SignedIn(account): SignedIn) -> Result<Json<Value>> {
    let venues = app.venues.mine(&account.user).await?;
    let list: Vec<Value> = venues.iter().map(|v| venue_json(&app, v, role_of(v, &account.user.id))).collect();
    Ok(Json(json!({ "venues": list })))
}

async fn one(State(app): State<AppState>, SignedIn(account): SignedIn, Path(id): Path<String>) -> Result<Json<Value>> {
    let (venue, role) = app.venues.get(&account.user, &id, VenueAction::View).await?;
    let mut answer = venue_json(&app, &venue, role);
    // Names of the staff, for people to recognise each other.
    if let Some(staff) = answer["venue"]["staff"].as_array_mut() {
        for person in staff {
            let Some(user_id) = person["user_id"].as_str() else { continue };
            if let Some(user) = app.store.accounts().user(user_id).await? {
                person["username"] = json!(user.username);
                person["display_name"] = json!(user.display_name);
            }
        }
    }
    Ok(Json(answer))
}

async fn update(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    ApiJson(details): ApiJson<VenueDetails>,
) -> Result<Json<Value>> {
    let venue = app.venues.update(&account.user, &id, details).await?;
    Ok(Json(venue_json(&app, &venue, role_of(&venue, &account.user.id))))
}

/// Deletes the venue, then each of its zone rooms (photos and all).
async fn remove(State(app): State<AppState>, SignedIn(account): SignedIn, Path(id): Path<String>) -> Result<NoContent> {
    let venue = app.venues.delete(&account.user, &id).await?;
    for zone in &venue.zones {
        app.delete_room(&zone.room_id).await?;
    }
    app.store.venues().clear_catalogue(&venue.id).await?;
    app.store.analytics().forget_venue_events(&venue.id).await?;
    Ok(NoContent)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: VenueRole,
}

async fn invite(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Created<Value>> {
    let invitation = app.venues.invite(&account.user, &id, body.role).await?;
    let url = format!("{}/invitations/{}", app.public_url, invitation.id);
    let answer = json!({
        "invitation": { "id": invitation.id, "role": invitation.role, "expires_at": invitation.expires_at },
        "url": url,
    });
    Ok(Created(answer))
}

async fn accept(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let venue = app.venues.accept(&account.user, &id).await?;
    Ok(Json(venue_json(&app, &venue, role_of(&venue, &account.user.id))))
}

async fn set_role(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<Value>> {
    let venue = app.venues.set_role(&account.user, &id, &user_id, body.role).await?;
    Ok(Json(venue_json(&app, &venue, role_of(&venue, &account.user.id))))
}

async fn remove_staff(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<NoContent> {
    app.venues.remove_staff(&account.user, &id, &user_id).await?;
    Ok(NoContent)
}

/// Lifts a track's automatic block (any staff).
async fn unblock(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, track_id)): Path<(String, String)>,
) -> Result<NoContent> {
    app.venues.unblock(&account.user, &id, &track_id).await?;
    Ok(NoContent)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ZoneBody {
    name: String,
}

/// A new zone; the answer carries the caller's member token as its host.
async fn create_zone(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ZoneBody>,
) -> Result<Created<Value>> {
    let (venue, room, host) = app.venues.create_zone(&account.user, &id, &body.name).await?;
    let token = app.tokens.sign(&Claims { r: room.id.clone(), m: host.id.clone() });
    let zone = venue.zones.iter().find(|z| z.room_id == room.id);
    let answer = json!({ "zone": zone, "join_url": app.join_url(&room.code), "token": token });
    Ok(Created(answer))
}

async fn remove_zone(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, room_id)): Path<(String, String)>,
) -> Result<NoContent> {
    app.venues.remove_zone(&account.user, &id, &room_id).await?;
    app.delete_room(&room_id).await?;
    Ok(NoContent)
}

/// A sheet of table cards to print (SVG, A4).
async fn cards(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, room_id)): Path<(String, String)>,
) -> Result<Response> {
    let (venue, _) = app.venues.get(&account.user, &id, VenueAction::PrintCards).await?;
    let zone = venue.zones.iter().find(|z| z.room_id == room_id).ok_or(crate::domain::DomainError::ZoneNotFound)?;
    let url = app.join_url(&zone.code);
    let card = crate::qr::TableCard { venue: &venue.details.name, zone: &zone.name, code: &zone.code, url: &url };
    let svg = crate::qr::table_cards(&card).map_err(crate::error::AppError::Internal)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Most track ids in one catalogue change.
const MAX_CATALOGUE_CHANGE: usize = 10_000;
const MAX_CATALOGUE_PAGE: usize = 500;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TrackIds {
    track_ids: Vec<String>,
}

fn checked(body: &TrackIds) -> Result<()> {
    if body.track_ids.is_empty() || body.track_ids.len() > MAX_CATALOGUE_CHANGE {
        return Err(AppError::InvalidPayload(format!("track_ids must hold 1 to {MAX_CATALOGUE_CHANGE} ids")));
    }
    Ok(())
}

async fn add_to_catalogue(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TrackIds>,
) -> Result<Json<Value>> {
    checked(&body)?;
    app.venues.add_to_catalogue(&account.user, &id, &body.track_ids).await?;
    Ok(Json(json!({ "added": body.track_ids.len() })))
}

async fn remove_from_catalogue(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TrackIds>,
) -> Result<NoContent> {
    checked(&body)?;
    app.venues.remove_from_catalogue(&account.user, &id, &body.track_ids).await?;
    Ok(NoContent)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CataloguePage {
    after: Option<String>,
    #[schemars(range(min = 1, max = MAX_CATALOGUE_PAGE))]
    limit: Option<usize>,
}

/// A page of the catalogue's tracks in id order; `next` goes on.
async fn catalogue(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path(id): Path<String>,
    page: std::result::Result<axum::extract::Query<CataloguePage>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    let axum::extract::Query(page) = page.map_err(|e| AppError::InvalidPayload(e.body_text()))?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=MAX_CATALOGUE_PAGE).contains(&limit) {
        return Err(AppError::InvalidPayload(format!("limit must be between 1 and {MAX_CATALOGUE_PAGE}")));
    }
    app.venues.get(&account.user, &id, VenueAction::View).await?;
    let ids = app.store.venues().catalogue(&id, page.after.as_deref(), limit).await?;
    // A track gone from the library (a removed file) is left out.
    let found = app.store.tracks_by_ids(&ids).await?;
    let tracks: Vec<_> = ids.iter().filter_map(|id| found.iter().find(|t| &t.id == id)).collect();
    let next = (ids.len() == limit).then(|| ids.last().cloned()).flatten();
    Ok(Json(json!({ "tracks": tracks, "next": next })))
}

/// The schedule as stored and what is in force now.
fn schedule_json(room: &crate::domain::Room, now: u64) -> Value {
    json!({ "schedule": room.schedule, "day_part": crate::domain::view::DayPartView::of(room, now) })
}

async fn set_schedule(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, room_id)): Path<(String, String)>,
    ApiJson(plan): ApiJson<crate::venues::SchedulePlan>,
) -> Result<Json<Value>> {
    let room = app.venues.set_schedule(&account.user, &id, &room_id, Some(plan)).await?;
    Ok(Json(schedule_json(&room, app.clock.now())))
}

/// A zone's schedule as last set (`schedule` null without one): any staff.
async fn schedule(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, room_id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let (venue, _) = app.venues.get(&account.user, &id, VenueAction::View).await?;
    if !venue.zones.iter().any(|z| z.room_id == room_id) {
        return Err(crate::domain::DomainError::ZoneNotFound.into());
    }
    let room = app.rooms.room(&room_id).await?;
    Ok(Json(schedule_json(&room, app.clock.now())))
}

async fn clear_schedule(
    State(app): State<AppState>,
    SignedIn(account): SignedIn,
    Path((id, room_id)): Path<(String, String)>,
) -> Result<NoContent> {
    app.venues.set_schedule(&account.user, &id, &room_id, None).await?;
    Ok(NoContent)
}
