//! The connect handshake: `auth: {token}` must name a current member (or
//! screen) of an existing room, else the client gets `connect_error` with a message of
//! `unauthorized`, `banned` or `room_not_found`.

use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use std::sync::Arc;

use super::{Hub, Session, events, member_room, presence_outbox};
use crate::domain::is_screen_id;
use crate::domain::view::Snapshot;
use crate::error::AppError;
use crate::photos::WALL_PAGE;
use crate::rooms::COMMAND_DEADLINE;
use crate::state::AppState;

#[derive(Debug)]
pub struct Refused(pub &'static str);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

pub async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    State(app): State<AppState>,
    TryData(auth): TryData<Value>,
) -> Result<(), Refused> {
    let token = auth.ok().and_then(|a| a.get("token").and_then(Value::as_str).map(str::to_string));
    let claims = token.and_then(|t| app.tokens.verify_watcher(&t)).ok_or(Refused("unauthorized"))?;
    let room = match tokio::time::timeout(COMMAND_DEADLINE, app.rooms.room(&claims.r)).await {
        Ok(Ok(room)) => room,
        Ok(Err(AppError::RoomNotFound)) => return Err(Refused("room_not_found")),
        Ok(Err(_)) | Err(_) => return Err(Refused("unavailable")),
    };
    if is_screen_id(&claims.m) {
        // A screen staff removed is told so, like a kicked member.
        if !room.screens.contains_key(&claims.m) {
            return Err(Refused("unauthorized"));
        }
        accept(&s, &app, Session { room_id: claims.r, member_id: claims.m }, None).await;
        return Ok(());
    }
    match room.member(&claims.m) {
        None => Err(Refused("unauthorized")),
        Some(m) if m.banned => Err(Refused("banned")),
        Some(_) => {
            let session = Session { room_id: claims.r, member_id: claims.m };
            accept(&s, &app, session, room.venue_id.clone()).await;
            Ok(())
        }
    }
}

/// Everything that must be in place before the client learns it is
/// connected. socketioxide sends the CONNECT packet first and then spawns
/// `on_connect`: an event the client sends at once could arrive before
/// that task runs, and an event without a handler is dropped without an
/// ack (a write that "never answered", issue 18). Here, in the auth
/// middleware, nothing has been sent yet. Presence is counted here too,
/// just before the disconnect handler that uncounts it exists, so the two
/// always pair up: socketioxide calls no disconnect handler of a socket
/// before the middleware has returned.
/// A socket counted in `telemetry::SOCKETS` while it lives: uncounted when
/// socketioxide drops the socket, also one whose transport closed before
/// its disconnect handler could run.
struct Counted;

impl Counted {
    fn new() -> Self {
        metrics::gauge!(crate::telemetry::SOCKETS).increment(1);
        Self
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        metrics::gauge!(crate::telemetry::SOCKETS).decrement(1);
    }
}

async fn accept<A: Adapter>(s: &SocketRef<A>, app: &AppState, session: Session, venue_id: Option<String>) {
    let (room_id, member_id) = (session.room_id.clone(), session.member_id.clone());
    s.extensions.insert(session);
    if let Some(venue_id) = venue_id {
        // A guest in a zone: their visit counts on the venue's dashboard.
        app.analytics.seen(&venue_id, &room_id, &member_id);
        s.extensions.insert(InZone(venue_id));
    }
    if app.presence.connect(&room_id, &member_id).await {
        s.extensions.insert(CameOnline);
    }
    s.on_fallback(events::on_event::<A>);
    s.extensions.insert(Arc::new(Counted::new()));
    s.on_disconnect(on_disconnect::<A>);
    s.join([room_id, member_room(&member_id)]);
}

/// Marks a socket whose member had no other socket open when it connected.
#[derive(Clone)]
struct CameOnline;

/// Marks a socket in a venue's zone (the venue's id).
#[derive(Clone)]
struct InZone(String);

/// Runs once the client knows it is connected (see `accept`): the
/// snapshot, and the presence announcement.
pub async fn on_connect<A: Adapter>(s: SocketRef<A>, State(app): State<AppState>, State(hub): State<Arc<Hub>>) {
    let Some(session) = s.extensions.get::<Session>() else {
        s.disconnect().ok();
        return;
    };
    match tokio::time::timeout(COMMAND_DEADLINE, snapshot(&app, &session)).await {
        Ok(Ok(snapshot)) => {
            s.emit("room:snapshot", &snapshot).ok();
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "snapshot failed on connect"),
        Err(_) => tracing::warn!("snapshot not ready by its deadline on connect"),
    }
    if s.extensions.get::<CameOnline>().is_some() {
        presence_outbox::announce(&hub, &app.presence, &session.room_id, &session.member_id, true);
        app.player.speaker_back(&session.room_id, &session.member_id).await;
    }
}

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    State(app): State<AppState>,
    State(hub): State<Arc<Hub>>,
    _reason: DisconnectReason,
) {
    let Some(session) = s.extensions.get::<Session>() else {
        return;
    };
    if let Some(InZone(venue_id)) = s.extensions.get::<InZone>() {
        app.analytics.seen(&venue_id, &session.room_id, &session.member_id);
    }
    if app.presence.disconnect(&session.room_id, &session.member_id).await {
        presence_outbox::announce(&hub, &app.presence, &session.room_id, &session.member_id, false);
    }
}

/// How long a snapshot waits for its photo wall before it goes without:
/// well inside the two seconds a `room:sync` has.
const WALL_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The room as `session`'s member sees it right now.
pub async fn snapshot(app: &AppState, session: &Session) -> Result<Value, AppError> {
    let room = app.rooms.room(&session.room_id).await?;
    let online = app.presence.online(&session.room_id).await;
    let view = Snapshot::new(&room, Some(&session.member_id), &online, app.clock.now());
    let mut snapshot = serde_json::to_value(view).map_err(|e| AppError::Internal(e.into()))?;
    snapshot["room"]["join_url"] = json!(app.join_url(&room.code));
    // The party goes on without its wall while the store is down or slow
    // (the room itself may come from the cache): the fields are then absent.
    let wall = app.photos.wall(&room, None, WALL_PAGE, Some(&session.member_id));
    match tokio::time::timeout(WALL_WAIT, wall).await {
        Ok(Ok((photos, next))) => {
            snapshot["photos"] = json!(photos);
            snapshot["photos_next"] = json!(next);
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "snapshot without photos"),
        Err(_) => tracing::warn!("snapshot without photos: the store did not answer in time"),
    }
    Ok(snapshot)
}
