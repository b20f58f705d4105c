//! The one context every handler gets: cheap to clone (one `Arc`), holding
//! the store, the library, the clock, the token key, presence, the player
//! schedule and the Socket.IO handle.

use std::sync::{Arc, RwLock};

use tokio_util::task::TaskTracker;

use crate::cache::RoomCache;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::domain::Track;
use crate::error::{AppError, Result};
use crate::limits::RateLimiter;
use crate::locks::RoomLocks;
use crate::media::BlobStore;
use crate::player::Schedule;
use crate::presence::Presence;
use crate::realtime::Realtime;
use crate::rooms::RoomSlots;
use crate::search::SearchEngine;
use crate::store::Store;
use crate::token::TokenKey;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    pub search: Arc<dyn SearchEngine>,
    /// Wakes the indexer when the store queued documents for the index.
    pub index_changed: Arc<tokio::sync::Notify>,
    /// Photo bytes: files under the data directory, or GridFS.
    pub blobs: Arc<dyn BlobStore>,
    /// Photo render jobs running at once (see `photos::render_slots`).
    pub render_slots: Arc<tokio::sync::Semaphore>,
    /// Photos whose render job waits or runs on this node.
    pub rendering: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Photo uploads per member.
    pub photo_limiter: Arc<dyn RateLimiter>,
    /// Login attempts per client address and per username.
    pub login_limiter: Arc<dyn RateLimiter>,
    pub clock: SharedClock,
    pub tokens: TokenKey,
    /// Set at start-up (the Socket.IO layer needs the state first) and
    /// cleared at shutdown, which breaks the state ↔ layer reference cycle.
    pub io: RwLock<Option<Realtime>>,
    pub rooms: RoomSlots,
    pub room_cache: Arc<dyn RoomCache>,
    pub room_locks: Arc<dyn RoomLocks>,
    pub presence: Arc<dyn Presence>,
    /// Presence changes waiting for their room's next `room:presence`.
    pub presence_outbox: crate::realtime::PresenceOutbox,
    pub schedule: Schedule,
    /// Join and code-lookup attempts per client address.
    pub join_limiter: Arc<dyn RateLimiter>,
    /// Socket.IO events per member.
    pub event_limiter: Arc<dyn RateLimiter>,
    /// Every room write holds a token of this tracker, so shutdown can wait
    /// for accepted writes to finish.
    pub writes: TaskTracker,
    /// Music services (Spotify): links, jobs, catalogue, playback.
    pub providers: crate::providers::Providers,
    /// The base of join links, e.g. `http://192.168.1.20:8080`.
    pub public_url: String,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The tracks of `ids` in that order; `track_not_found` if one is missing.
    pub async fn tracks_in_order(&self, ids: &[String]) -> Result<Vec<Track>> {
        let found = self.store.tracks_by_ids(ids).await?;
        ids.iter().map(|id| found.iter().find(|t| &t.id == id).cloned().ok_or(AppError::TrackNotFound)).collect()
    }

    /// Accounts, follows, activities (the same database as `store`).
    pub fn accounts(&self) -> &dyn crate::store::AccountStore {
        self.store.accounts()
    }

    /// The Socket.IO handle; `None` once the server has shut down.
    pub fn io(&self) -> Option<Realtime> {
        self.io.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
