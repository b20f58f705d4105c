//! What the transport layers (http, realtime) are given: the services, and
//! the few handles a route uses directly. Cheap to clone (one `Arc`).
//!
//! Owns: `AppState`, and the operations that span services (deleting a
//! room with its photos, expiring idle rooms).
//! May use: every service, and what they are built from.
//! Must not import: realtime, http, app (they sit above it).

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::accounts::Accounts;
use crate::activities::Activities;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::error::Result;
use crate::limits::{RateLimiter, RoomLookupQuota};
use crate::media::BlobStore;
use crate::photos::Photos;
use crate::player::Player;
use crate::presence::Presence;
use crate::providers::Providers;
use crate::rooms::Rooms;
use crate::search::SearchEngine;
use crate::store::Store;
use crate::token::TokenKey;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub settings: Settings,
    /// The base of join links, e.g. `http://192.168.1.20:8080`.
    pub public_url: String,
    pub clock: SharedClock,
    pub tokens: TokenKey,
    pub rooms: Rooms,
    pub photos: Photos,
    pub accounts: Accounts,
    pub activities: Activities,
    /// Music services (Spotify): links, jobs, catalogue, playback.
    pub providers: Providers,
    pub venues: crate::venues::Venues,
    pub analytics: crate::analytics::Analytics,
    /// Fills silent rooms (it listens to commits; tests call `fill`).
    pub autopilot: crate::autopilot::Autopilot,
    pub player: Player,
    /// The library's tracks and health checks read the store directly.
    pub store: Arc<dyn Store>,
    pub search: Arc<dyn SearchEngine>,
    /// Wakes the indexer after a library upload.
    pub index_changed: Arc<Notify>,
    /// Photo and avatar files, served as stored.
    pub blobs: Arc<dyn BlobStore>,
    pub presence: Arc<dyn Presence>,
    /// Join and code-lookup attempts per client address.
    pub join_limiter: Arc<dyn RateLimiter>,
    /// Room look-ups by code: new codes per address, then per room.
    pub room_lookups: RoomLookupQuota,
    /// Socket.IO events per member.
    pub event_limiter: Arc<dyn RateLimiter>,
    /// Photo uploads per member.
    pub photo_limiter: Arc<dyn RateLimiter>,
    /// Login attempts per client address and per username.
    pub login_limiter: Arc<dyn RateLimiter>,
    /// Every write holds a token of this tracker, so shutdown can wait for
    /// accepted writes to finish.
    pub writes: TaskTracker,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }

    /// The link a guest opens (and QR codes encode) to join the room.
    pub fn join_url(&self, code: &str) -> String {
        format!("{}/join/{code}", self.public_url)
    }

    /// Deletes a room and everything in it: its photos first, so a failure
    /// leaves the room there for the next try.
    pub async fn delete_room(&self, room_id: &str) -> Result<()> {
        self.photos.delete_room_photos(room_id).await?;
        self.rooms.delete(room_id).await?;
        self.providers.forget_room(room_id);
        Ok(())
    }

    /// Deletes party rooms idle for longer than the configured time.
    pub async fn expire_idle_rooms(&self) -> anyhow::Result<usize> {
        let ttl = self.settings.room_idle_hours * 3_600_000;
        let now = self.clock.now();
        let mut expired = 0;
        for id in self.store.room_ids().await? {
            let idle = self.store.load_room(&id).await?.is_some_and(|r| r.is_expired(now, ttl));
            if idle && self.presence.online_count(&id).await == 0 {
                self.delete_room(&id).await?;
                expired += 1;
            }
        }
        Ok(expired)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
