//! Client events. Each arrives here as (name, JSON payload), is parsed into a
//! typed command (bad input → error ack, nothing else), executed through
//! `Rooms::execute`, and answered with an ack.
//!
//! Events: `room:sync`, `room:members`, `queue:add`, `queue:vote`, `queue:remove`,
//! `queue:pin`, `player:skip`, `player:vote_skip`, `player:pause`,
//! `player:resume`, `member:kick`, `member:ban`, `member:promote`,
//! `member:demote`, `room:update_rules`, `room:set_fallback`,
//! `room:set_listing`, `photo:like`, `photo:unlike`, `photo:report`,
//! `photo:remove`, `request:approve`, `request:decline`, `request:withdraw`,
//! `picks:options`, `picks:set`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};
use tokio::time::Instant;
use tracing::Instrument;

use super::Session;
use super::connect::snapshot;
use crate::domain::command::Change;
use crate::domain::view::{EntryView, RequestView, people_online};
use crate::domain::{Actor, Command, Role, Room, Rules, Track, is_screen_id};
use crate::error::{AppError, Result};
use crate::rooms::COMMAND_DEADLINE;
use crate::state::AppState;
use crate::telemetry;

pub async fn on_event<A: Adapter>(
    s: SocketRef<A>,
    State(app): State<AppState>,
    Event(name): Event,
    TryData(data): TryData<Value>,
    ack: AckSender<A>,
) {
    let Some(session) = s.extensions.get::<Session>() else {
        return;
    };
    let data = data.unwrap_or(Value::Null);
    let span = tracing::info_span!("event", %name, room_id = %session.room_id, member_id = %session.member_id);
    // One deadline for everything the event does: rate limit, look-ups, write.
    let deadline = Instant::now() + COMMAND_DEADLINE;
    let answered = async {
        app.event_limiter.check(&session.member_id).await?;
        handle(&app, &session, &name, data, deadline).await
    };
    let result = match tokio::time::timeout_at(deadline, answered).instrument(span).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(%name, room_id = %session.room_id, "event not answered by its deadline");
            Err(AppError::Unavailable)
        }
    };
    let (reply, outcome) = match result {
        Ok(data) => (json!({ "ok": true, "data": data }), "ok"),
        Err(e) => {
            tracing::debug!(%name, code = e.code().as_str(), "event refused");
            (json!({ "ok": false, "error": e.body() }), e.code().as_str())
        }
    };
    // Any other name is the client's words: one label for them all.
    let event = EVENT_NAMES.iter().find(|n| **n == name).copied().unwrap_or("unknown");
    metrics::histogram!(telemetry::EVENT_SECONDS, "event" => event)
        .record((deadline - COMMAND_DEADLINE).elapsed().as_secs_f64());
    metrics::counter!(telemetry::EVENTS, "event" => event, "result" => outcome).increment(1);
    ack.send(&reply).ok();
}

#[derive(Debug, Deserialize)]
pub struct TrackId {
    pub track_id: String,
}

#[derive(Deserialize)]
struct EntryId {
    entry_id: String,
}

#[derive(Debug, Deserialize)]
pub struct PicksPayload {
    pub genres: Vec<String>,
}

#[derive(Deserialize)]
struct VotePayload {
    entry_id: String,
    value: i64,
}

#[derive(Deserialize)]
struct PhotoId {
    photo_id: String,
}

#[derive(Deserialize)]
struct MemberId {
    member_id: String,
}

/// `member_id`: a member id, or `null` for nobody; it must be there.
#[derive(Deserialize)]
struct SpeakerPayload {
    #[serde(deserialize_with = "present_or_null")]
    member_id: Option<String>,
}

fn present_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

#[derive(Deserialize)]
struct ScreenId {
    screen_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestId {
    request_id: String,
}

#[derive(Debug, Deserialize)]
pub struct RulesPayload {
    pub rules: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub struct FallbackPayload {
    pub track_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct MembersPayload {
    #[serde(default)]
    pub offset: usize,
    #[serde(default = "default_members_limit")]
    pub limit: usize,
}

fn default_members_limit() -> usize {
    crate::domain::view::SNAPSHOT_MEMBERS
}

const MAX_MEMBERS_PAGE: usize = 200;

async fn members_page(app: &AppState, session: &Session, p: MembersPayload) -> Result<Value> {
    if !(1..=MAX_MEMBERS_PAGE).contains(&p.limit) {
        return Err(AppError::InvalidPayload(format!("limit must be 1 to {MAX_MEMBERS_PAGE}")));
    }
    let room = app.rooms.room(&session.room_id).await?;
    let online = app.presence.online(&session.room_id).await;
    let members = crate::domain::view::member_page(&room, &online, p.offset, p.limit);
    let total = room.members.values().filter(|m| !m.banned).count();
    Ok(json!({ "members": members, "total": total, "offset": p.offset }))
}

/// Events without a payload accept `{}`, `null` or nothing at all.
#[derive(Deserialize)]
struct Empty {}

fn parse<T: DeserializeOwned>(data: Value) -> Result<T> {
    let data = if data.is_null() { json!({}) } else { data };
    serde_json::from_value(data).map_err(|e| AppError::InvalidPayload(e.to_string()))
}

/// The events `handle` knows, as metric labels.
const EVENT_NAMES: &[&str] = &[
    "room:sync",
    "room:members",
    "photo:like",
    "photo:unlike",
    "photo:report",
    "photo:remove",
    "picks:options",
    "picks:set",
    "queue:add",
    "queue:vote",
    "queue:remove",
    "queue:pin",
    "queue:unpin",
    "player:skip",
    "player:vote_skip",
    "player:pause",
    "player:resume",
    "member:kick",
    "member:ban",
    "member:promote",
    "member:demote",
    "room:update_rules",
    "room:set_fallback",
    "room:set_listing",
    "room:set_speaker",
    "screen:remove",
    "request:approve",
    "request:decline",
    "request:withdraw",
];

/// An event as its name and payload say, before anything is looked up:
/// parsing is pure, so a bad payload is refused before the room is read (and
/// the parser can be fuzzed on its own, see `crate::fuzzing`).
#[derive(Debug)]
pub enum EventRequest {
    Sync,
    Members(MembersPayload),
    LikePhoto {
        photo_id: String,
        on: bool,
    },
    ReportPhoto {
        photo_id: String,
    },
    RemovePhoto {
        photo_id: String,
    },
    PickOptions,
    Picks(PicksPayload),
    Add(TrackId),
    Rules(RulesPayload),
    Fallback(FallbackPayload),
    VoteSkip,
    /// A command whose payload is all it needs (boxed: a command is large).
    Command(Box<Command>),
}

/// Parses an event's payload by its name: a typed error for a payload of the
/// wrong shape, a vote out of range or an unknown name.
pub fn parse_event(name: &str, data: Value) -> Result<EventRequest> {
    use EventRequest as R;
    let command = |c: Command| R::Command(Box::new(c));
    Ok(match name {
        "room:sync" => parse::<Empty>(data).map(|_| R::Sync)?,
        "room:members" => R::Members(parse(data)?),
        "photo:like" | "photo:unlike" => {
            R::LikePhoto { photo_id: parse::<PhotoId>(data)?.photo_id, on: name == "photo:like" }
        }
        "photo:report" => R::ReportPhoto { photo_id: parse::<PhotoId>(data)?.photo_id },
        "photo:remove" => R::RemovePhoto { photo_id: parse::<PhotoId>(data)?.photo_id },
        "picks:options" => parse::<Empty>(data).map(|_| R::PickOptions)?,
        "picks:set" => R::Picks(parse(data)?),
        "queue:add" => R::Add(parse(data)?),
        "queue:vote" => {
            let p: VotePayload = parse(data)?;
            let value = i8::try_from(p.value).ok().filter(|v| (-1..=1).contains(v));
            let value = value.ok_or(crate::domain::DomainError::InvalidVote)?;
            command(Command::Vote { entry_id: p.entry_id, value })
        }
        "queue:remove" => command(Command::Remove { entry_id: parse::<EntryId>(data)?.entry_id }),
        "queue:pin" => command(Command::Pin { entry_id: parse::<EntryId>(data)?.entry_id }),
        "queue:unpin" => command(Command::Unpin { entry_id: parse::<EntryId>(data)?.entry_id }),
        "player:skip" => parse::<Empty>(data).map(|_| command(Command::Skip))?,
        "player:vote_skip" => parse::<Empty>(data).map(|_| R::VoteSkip)?,
        "player:pause" => parse::<Empty>(data).map(|_| command(Command::Pause))?,
        "player:resume" => parse::<Empty>(data).map(|_| command(Command::Resume))?,
        "member:kick" => command(Command::Kick { member_id: parse::<MemberId>(data)?.member_id }),
        "member:ban" => command(Command::Ban { member_id: parse::<MemberId>(data)?.member_id }),
        "member:promote" => {
            command(Command::SetRole { member_id: parse::<MemberId>(data)?.member_id, role: Role::Cohost })
        }
        "member:demote" => {
            command(Command::SetRole { member_id: parse::<MemberId>(data)?.member_id, role: Role::Guest })
        }
        "room:update_rules" => R::Rules(parse(data)?),
        "room:set_fallback" => R::Fallback(parse(data)?),
        "room:set_listing" => command(Command::SetListing { listing: parse(data)? }),
        "room:set_speaker" => command(Command::SetSpeaker { member_id: parse::<SpeakerPayload>(data)?.member_id }),
        "screen:remove" => command(Command::RemoveScreen { screen_id: parse::<ScreenId>(data)?.screen_id }),
        "request:approve" => command(Command::ApproveRequest { request_id: parse::<RequestId>(data)?.request_id }),
        "request:decline" => command(Command::DeclineRequest { request_id: parse::<RequestId>(data)?.request_id }),
        "request:withdraw" => command(Command::WithdrawRequest { request_id: parse::<RequestId>(data)?.request_id }),
        other => return Err(AppError::UnknownEvent(other.chars().take(64).collect())),
    })
}

async fn handle(app: &AppState, session: &Session, name: &str, data: Value, deadline: Instant) -> Result<Value> {
    let size = serde_json::to_vec(&data).map_or(usize::MAX, |b| b.len());
    if size > app.settings.max_event_bytes {
        return Err(AppError::PayloadTooLarge(app.settings.max_event_bytes));
    }
    if is_screen_id(&session.member_id) && name != "room:sync" {
        // A screen watches: the one thing it may ask for is the room.
        return Err(crate::domain::DomainError::ScreenCannotAct.into());
    }
    let command = match parse_event(name, data)? {
        EventRequest::Sync => return snapshot(app, session).await,
        EventRequest::Members(p) => return members_page(app, session, p).await,
        EventRequest::LikePhoto { photo_id, on } => {
            let view = app.photos.like_photo(&session.room_id, &session.member_id, &photo_id, on).await?;
            return Ok(json!({ "photo_id": view.id, "likes": view.likes, "liked_by": view.liked_by, "liked": on }));
        }
        EventRequest::ReportPhoto { photo_id } => {
            let reports = app.photos.report_photo(&session.room_id, &session.member_id, &photo_id).await?;
            return Ok(json!({ "photo_id": photo_id, "reports": reports }));
        }
        EventRequest::RemovePhoto { photo_id } => {
            app.photos.remove_photo(&session.room_id, &session.member_id, &photo_id).await?;
            return Ok(json!({ "photo_id": photo_id }));
        }
        EventRequest::PickOptions => return picks_options(app, session).await,
        EventRequest::Picks(p) => picks_command(app, session, p).await?,
        EventRequest::Add(p) => add_command(app, session, p).await?,
        EventRequest::Rules(p) => {
            let room = app.rooms.room(&session.room_id).await?;
            Command::UpdateRules { rules: merge_rules(&room.rules, p)? }
        }
        EventRequest::Fallback(p) => fallback_command(app, session, p).await?,
        EventRequest::VoteSkip => {
            Command::VoteSkip { present: people_online(&app.presence.online(&session.room_id).await) }
        }
        EventRequest::Command(command) => *command,
    };
    // A vote taken back or turned down may remove the entry (the
    // `downvote_removal` rule): its track is read first, so the voter's
    // taste profile can still forget it.
    let unvoted = match &command {
        Command::Vote { entry_id, value } if *value <= 0 => {
            app.rooms.room(&session.room_id).await.ok().and_then(|r| r.entry(entry_id).map(|e| e.track.clone()))
        }
        _ => None,
    };
    let actor = Actor::Member(session.member_id.clone());
    let (room, outcome) = app.rooms.execute_by(&session.room_id, actor, command.clone(), deadline).await?;
    if let Command::Vote { entry_id, value } = &command
        && !outcome.changes.is_empty()
    {
        note_vote(app, &room, &session.member_id, entry_id, *value, unvoted);
    }
    let mut ack = ack_data(&room, &session.member_id, &command, &outcome.changes);
    for change in &outcome.changes {
        if let Change::RequestDeclined { request } = change {
            // Committed already: a venue that cannot count it now only
            // blocks the track later.
            match app.venues.note_decline(&room, &request.track).await {
                Ok(blocked) => ack["blocked"] = json!(blocked),
                Err(e) => tracing::warn!(error = %e, "could not count a declined request"),
            }
        }
    }
    Ok(ack)
}

/// A zone's quick picks: the genres a guest may pick, and theirs.
async fn picks_options(app: &AppState, session: &Session) -> Result<Value> {
    let room = app.rooms.room(&session.room_id).await?;
    let venue_id = room.venue_id.as_deref().ok_or(crate::domain::DomainError::NotAZone)?;
    let options = app.autopilot.quick_pick_options(venue_id).await?;
    let picks = room.member(&session.member_id).map(|m| m.picks.clone()).unwrap_or_default();
    Ok(json!({ "genres": options, "picks": picks, "max": crate::domain::command::MAX_PICKS }))
}

/// Picks are genres the zone's catalogue has (any spelling case).
async fn picks_command(app: &AppState, session: &Session, p: PicksPayload) -> Result<Command> {
    let room = app.rooms.room(&session.room_id).await?;
    let venue_id = room.venue_id.as_deref().ok_or(crate::domain::DomainError::NotAZone)?;
    if p.genres.len() <= crate::domain::command::MAX_PICKS {
        let options = app.autopilot.quick_pick_options(venue_id).await?;
        let offered = |g: &String| options.iter().any(|o| o.to_lowercase() == g.trim().to_lowercase());
        if let Some(other) = p.genres.iter().find(|g| !offered(g)) {
            let other: String = other.chars().take(40).collect();
            return Err(crate::domain::DomainError::InvalidPicks(format!(
                "'{other}' is not one of this zone's genres"
            ))
            .into());
        }
    }
    Ok(Command::SetPicks { genres: p.genres })
}

/// A member with an account who votes a track up marks it in their taste
/// profile (a vote taken back or turned down removes the mark), off the
/// ack's path: a profile that misses a vote is no reason to refuse it.
fn note_vote(app: &AppState, room: &Room, member_id: &str, entry_id: &str, value: i8, before: Option<Track>) {
    let Some(user_id) = room.member(member_id).and_then(|m| m.user_id.clone()) else { return };
    let Some(track) = room.entry(entry_id).map(|e| e.track.clone()).or(before) else { return };
    let (accounts, write) = (app.accounts.clone(), app.writes.token());
    tokio::spawn(async move {
        if let Err(e) = accounts.note_vote(&user_id, &track, value > 0).await {
            tracing::warn!(error = %e, "could not note a vote in a taste profile");
        }
        drop(write);
    });
}

async fn add_command(app: &AppState, session: &Session, p: TrackId) -> Result<Command> {
    let track = app.store.track(&p.track_id).await?.ok_or(AppError::TrackNotFound)?;
    // A venue's zone plays its catalogue only.
    let room = app.rooms.room(&session.room_id).await?;
    app.venues.check_playable_in(&room, &track.id).await?;
    let entry_id = crate::ids::random_id(&mut rand::rng());
    Ok(Command::Add { entry_id, track })
}

/// Rules are merged: fields the client leaves out keep their current value.
pub fn merge_rules(current: &Rules, p: RulesPayload) -> Result<Rules> {
    let mut merged = match serde_json::to_value(current) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(AppError::Internal(anyhow::anyhow!("rules do not serialize to an object")));
        }
    };
    merged.extend(p.rules);
    serde_json::from_value(Value::Object(merged)).map_err(|e| AppError::InvalidPayload(e.to_string()))
}

async fn fallback_command(app: &AppState, session: &Session, p: FallbackPayload) -> Result<Command> {
    let tracks = crate::music::tracks_in_order(app.store.as_ref(), &p.track_ids).await?;
    let room = app.rooms.room(&session.room_id).await?;
    for track in &tracks {
        app.venues.check_playable_in(&room, &track.id).await?;
    }
    Ok(Command::SetFallback { tracks })
}

/// `version` always; for an add, the entry (`duplicate` when the track was
/// already queued and the add counted as an up-vote); for a vote, the entry.
fn ack_data(room: &Room, member_id: &str, command: &Command, changes: &[Change]) -> Value {
    if let Some(request) = changes.iter().find_map(|c| match c {
        Change::RequestAdded { request_id } => room.requests.iter().find(|r| &r.id == request_id),
        _ => None,
    }) {
        return json!({ "version": room.version, "pending": true, "request": RequestView::from(request) });
    }
    if matches!(command, Command::SetPicks { .. }) {
        let picks = room.member(member_id).map(|m| m.picks.clone()).unwrap_or_default();
        return json!({ "version": room.version, "picks": picks });
    }
    let entry = match command {
        Command::Add { track, .. } => room.queue.iter().find(|e| e.track.id == track.id),
        Command::Vote { entry_id, .. } => room.entry(entry_id),
        _ => return json!({ "version": room.version }),
    };
    let duplicate = !changes.iter().any(|c| matches!(c, Change::EntryAdded { .. }));
    let playing = room.now_playing.as_ref().map(|np| np.entry_id.as_str());
    json!({
        "version": room.version,
        "entry": entry.map(|e| EntryView::new(e, Some(member_id))),
        "duplicate": matches!(command, Command::Add { .. }) && duplicate,
        "now_playing_entry_id": playing,
    })
}

#[cfg(test)]
mod tests {
    /// A name `parse_event` knows but the label list misses would be
    /// counted as `unknown` in the metrics.
    #[test]
    fn every_event_handle_dispatches_has_its_metric_label() {
        let source = include_str!("events.rs");
        let start = source.find("pub fn parse_event(").expect("parse_event");
        let body = &source[start..];
        let body = &body[..body.find("\n}\n").expect("end of parse_event")];
        let names: Vec<&str> = body
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| s.contains(':') && s.chars().all(|c| c.is_ascii_lowercase() || c == ':' || c == '_'))
            .collect();
        assert!(names.len() >= 25, "{names:?}");
        for name in names {
            assert!(super::EVENT_NAMES.contains(&name), "{name} has no metric label");
        }
    }
}
