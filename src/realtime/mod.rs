//! Socket.IO: authenticate on connect, send the snapshot, route client
//! events, track presence. Event handlers live in `events`; every event is
//! answered with an ack `{ok: true, data}` or `{ok: false, error}`.
//!
//! The handlers are generic over the Socket.IO adapter: the in-process
//! `LocalAdapter` on one node, socketioxide-redis's `FredAdapter` when nodes
//! share Redis. `Realtime` is the running `SocketIo`, whichever adapter;
//! `Hub` holds it and is how services announce (`broadcast::Broadcaster`).
//!
//! Owns: the Socket.IO namespaces, handshakes and events, the names of
//! Socket.IO rooms, presence batching, version announcements.
//! May use: state (and through it every service), broadcast, cache, domain.
//! Must not import: http, app. No service imports this module.

mod connect;
mod events;
mod feed;
mod presence_outbox;

pub use events::{EventRequest, merge_rules, parse_event};
pub use presence_outbox::PresenceOutbox;

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use fred::clients::SubscriberClient;
use fred::prelude::ClientLike;
use serde::Serialize;
use serde_json::json;
use socketioxide::adapter::{Adapter, Emitter, LocalAdapter};
use socketioxide::handler::ConnectHandler;
use socketioxide::{BroadcastError, SendError, SocketError, SocketIo};
use socketioxide_redis::FredAdapter;

use crate::broadcast::{Audience, Broadcaster, Payload};
use crate::cache::RoomCache;

/// What a socket is, once its token verified: a member of one room.
#[derive(Clone, Debug)]
pub struct Session {
    pub room_id: String,
    pub member_id: String,
}

pub type RedisIo = SocketIo<FredAdapter<Emitter>>;

/// Deliveries socketioxide could not queue because a socket's send buffer
/// was full; each such socket is told to resync (see `announce_versions`).
/// Served on `GET /metrics`.
pub static DROPPED_DELIVERIES: AtomicU64 = AtomicU64::new(0);

/// Runs `$body` with `$io` bound to the running `SocketIo`, whichever its
/// adapter (the body is compiled once per adapter).
macro_rules! with_io {
    ($realtime:expr, $io:ident => $body:expr) => {
        match $realtime {
            Realtime::Local($io) => $body,
            Realtime::Redis($io, _) => $body,
        }
    };
}

#[derive(Clone)]
pub enum Realtime {
    Local(SocketIo),
    /// With the adapter's Redis connection: while it is down, events still
    /// reach this node's own sockets (the version announcements catch the
    /// others up once it is back).
    Redis(RedisIo, SubscriberClient),
}

/// The running Socket.IO layer as the rest of the server sees it: services
/// announce through it (`Broadcaster`), housekeeping asks it to announce
/// versions. Attached once the layer is built, detached at shutdown.
#[derive(Default)]
pub struct Hub {
    io: RwLock<Option<Realtime>>,
    /// Presence changes waiting for their room's next `room:presence`.
    presence_outbox: PresenceOutbox,
}

/// Per party room on this node: the version last seen by the announcement
/// round, and whether it was announced.
pub type Announced = HashMap<String, (u64, bool)>;

impl Hub {
    pub fn attach(&self, io: Realtime) {
        *self.io.write().unwrap_or_else(|e| e.into_inner()) = Some(io);
    }

    /// Takes the layer out (at shutdown), which ends the reference cycle
    /// between it and the state its handlers hold.
    pub fn detach(&self) -> Option<Realtime> {
        self.io.write().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The layer; `None` before start-up or after shutdown.
    pub fn io(&self) -> Option<Realtime> {
        self.io.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Tells this node's sockets the latest version of their room once the
    /// room has settled (no change for a whole round), so a client that
    /// missed the last events (a full send buffer) notices and resyncs; again
    /// each round while some socket's buffer is still full. A room that keeps
    /// changing needs no announcement: its next `room:changed` shows a missed
    /// one as a gap in the versions.
    pub async fn announce_versions(&self, cache: &dyn RoomCache, announced: &mut Announced) {
        let Some(io) = self.io() else { return };
        let rooms = io.local_rooms().await;
        announced.retain(|room_id, _| rooms.contains(room_id));
        for room_id in rooms {
            let Some(version) = cache.version(&room_id).await else { continue };
            match announced.get_mut(&room_id) {
                Some((seen, done)) if *seen == version => {
                    if !*done {
                        *done = io.announce_version(&room_id, version);
                    }
                }
                _ => {
                    announced.insert(room_id, (version, false));
                }
            }
        }
    }
}

#[async_trait]
impl Broadcaster for Hub {
    async fn emit(&self, to: Audience, event: &'static str, payload: Payload) {
        let Some(io) = self.io() else { return };
        match to {
            Audience::Room(room_id) => io.emit_to(room_id, event, &payload).await,
            Audience::Member(member_id) => io.emit_to(member_room(&member_id), event, &payload).await,
            Audience::Accounts(user_ids) => {
                io.emit_feed(user_ids.iter().map(|id| feed::account_room(id)).collect(), event, &payload).await
            }
            Audience::Session(session_id) => io.emit_feed(vec![feed::session_room(&session_id)], event, &payload).await,
        }
    }

    async fn disconnect(&self, to: Audience) {
        let Some(io) = self.io() else { return };
        match to {
            Audience::Room(room_id) => io.disconnect_room(room_id).await,
            Audience::Member(member_id) => io.disconnect_room(member_room(&member_id)).await,
            Audience::Accounts(user_ids) => {
                for id in user_ids {
                    io.disconnect_feed(feed::account_room(&id)).await;
                }
            }
            Audience::Session(session_id) => io.disconnect_feed(feed::session_room(&session_id)).await,
        }
    }
}

/// Registers the `/` namespace on a single node.
pub fn register_local(io: &SocketIo) {
    io.ns("/", connect::on_connect::<LocalAdapter>.with(connect::authenticate::<LocalAdapter>));
    io.ns("/feed", feed::on_connect::<LocalAdapter>.with(feed::authenticate::<LocalAdapter>));
}

/// Registers the `/` namespace on a node sharing Redis; returns once the
/// node is subscribed to the adapter's channels.
pub async fn register_redis(io: &RedisIo) -> anyhow::Result<()> {
    type A = FredAdapter<Emitter>;
    io.ns("/", connect::on_connect::<A>.with(connect::authenticate::<A>)).await?;
    io.ns("/feed", feed::on_connect::<A>.with(feed::authenticate::<A>)).await?;
    Ok(())
}

impl Realtime {
    /// Emits to every socket in `room` on every node.
    #[tracing::instrument(level = "debug", name = "realtime.emit_to", skip_all)]
    pub async fn emit_to(&self, room: String, event: &'static str, payload: &impl Serialize) {
        let (sent, reach) = match self {
            // No `/` namespace: the server is closing.
            Self::Local(io) => match io.of("/") {
                Some(root) => (root.to(room.clone()).emit(event, payload).await, "all"),
                None => return,
            },
            Self::Redis(io, redis) => match io.of("/") {
                Some(root) if redis.is_connected() => (root.to(room.clone()).emit(event, payload).await, "all"),
                Some(root) => (root.to(room.clone()).local().emit(event, payload).await, "this_node"),
                None => return,
            },
        };
        metrics::counter!(crate::telemetry::BROADCASTS, "event" => event, "reach" => reach).increment(1);
        match sent {
            Ok(()) => {}
            Err(BroadcastError::Socket(errors)) => {
                count_dropped(&errors);
                tracing::warn!(room, event, failed = errors.len(), "some sockets missed an event");
            }
            Err(e) => tracing::warn!(room, event, error = %e, "broadcast failed"),
        }
    }

    /// Emits on the `/feed` namespace to the sockets of these accounts
    /// (`user:{id}` rooms), on every node.
    pub async fn emit_feed(&self, rooms: Vec<String>, event: &'static str, payload: &impl Serialize) {
        let sent = with_io!(self, io => match io.of("/feed") {
            Some(feed) => feed.to(rooms).emit(event, payload).await,
            None => Ok(()),
        });
        if let Err(e) = sent {
            tracing::warn!(event, error = %e, "feed broadcast failed");
        }
    }

    /// Closes an account's `/feed` sockets on every node.
    pub async fn disconnect_feed(&self, room: String) {
        let closed = with_io!(self, io => match io.of("/feed") {
            Some(feed) => feed.to(room).disconnect().await,
            None => Ok(()),
        });
        if let Err(e) = closed {
            tracing::warn!(error = %e, "could not close every feed socket");
        }
    }

    /// Closes every socket in `room` on every node.
    pub async fn disconnect_room(&self, room: String) {
        let closed = with_io!(self, io => match io.of("/") {
            Some(root) => root.to(room.clone()).disconnect().await,
            None => Ok(()),
        });
        if let Err(e) = closed {
            tracing::warn!(room, error = %e, "could not close every socket");
        }
    }

    pub async fn close(&self) {
        with_io!(self, io => io.close().await)
    }

    /// Party rooms with at least one socket on this node.
    pub async fn local_rooms(&self) -> Vec<String> {
        let rooms = with_io!(self, io => match io.of("/") {
            Some(root) => root.local().rooms().await.map_err(|e| e.to_string()),
            None => Ok(Vec::new()),
        });
        let rooms = rooms.unwrap_or_default().into_iter().map(|r| r.to_string());
        rooms.filter(|r| !r.starts_with(MEMBER_ROOM_PREFIX)).collect()
    }

    /// Sends `room:version {version}` to this node's sockets in `room`, one
    /// by one; false if some socket's send buffer was still full (the caller
    /// tries again later). A client behind that version resyncs with
    /// `room:sync`. A socket that stays full is closed by the Engine.IO
    /// heartbeat (its ping cannot be queued either), and its client
    /// reconnects to a fresh snapshot. Either way no guest keeps a stale
    /// queue without knowing.
    pub fn announce_version(&self, room: &str, version: u64) -> bool {
        let payload = json!({ "version": version });
        with_io!(self, io => announce(io, room, &payload))
    }
}

fn announce<A: Adapter>(io: &SocketIo<A>, room: &str, payload: &serde_json::Value) -> bool {
    let Some(root) = io.of("/") else { return true };
    let mut queued = true;
    for socket in root.to(room.to_string()).local().sockets() {
        if let Err(SendError::Socket(SocketError::InternalChannelFull)) = socket.emit("room:version", payload) {
            DROPPED_DELIVERIES.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(room, socket = %socket.id, "send buffer full, will announce the version again");
            queued = false;
        }
    }
    queued
}

fn count_dropped(errors: &[SocketError]) {
    let full = errors.iter().filter(|e| matches!(e, SocketError::InternalChannelFull)).count();
    DROPPED_DELIVERIES.fetch_add(full as u64, Ordering::Relaxed);
}

const MEMBER_ROOM_PREFIX: &str = "member:";

/// The Socket.IO room holding every socket of one member.
fn member_room(member_id: &str) -> String {
    format!("{MEMBER_ROOM_PREFIX}{member_id}")
}

/// Socket.IO keeps each connection's request head for the connection's
/// whole life, and the headers and URI hyper parsed share the connection's
/// read buffer (8–16 KB). Copied out here, before Socket.IO sees them, that
/// buffer is freed once the connection is upgraded: about 16 KB less per
/// connected client (measured with heaptrack, see BENCHMARKS.md).
pub async fn detach_head(mut request: axum::extract::Request) -> axum::extract::Request {
    use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
    if !request.uri().path().starts_with("/socket.io") {
        return request;
    }
    let mut headers = HeaderMap::with_capacity(request.headers().len());
    for (name, value) in request.headers() {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_str().as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
        {
            headers.append(name, value);
        }
    }
    *request.headers_mut() = headers;
    if let Ok(uri) = request.uri().to_string().parse::<Uri>() {
        // axum's router keeps the URI as it arrived too.
        request.extensions_mut().insert(axum::extract::OriginalUri(uri.clone()));
        *request.uri_mut() = uri;
    }
    request
}
