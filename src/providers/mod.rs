//! Music services (Spotify first) behind the `MusicProvider` trait: linking
//! an account (OAuth authorization code with PKCE), importing its playlists
//! and liked songs, searching the catalogue, exporting a room's history as
//! a playlist and starting the room's tracks on the host's device.
//!
//! - `seal`: stored grants are encrypted, bound to their owner.
//! - `spotify`: the rspotify implementation.
//! - `guard`: the circuit breaker and `Retry-After` shared by all calls.
//! - `links`: linking, fresh grants (refresh by compare-and-swap), broken links.
//! - `jobs`: imports and exports running in the background with progress.
//! - `playback`: the hand-off of decided tracks to the host's device.
//! - `catalogue`: the search fallback with its cache.
//!
//! Owns: `Providers` (links, jobs, catalogue, playback hand-off as a
//! `CommitListener`) and the `MusicProvider` trait. May use: rooms, music,
//! store, locks, redis, clock, broadcast, domain. Must not import: accounts,
//! photos, player, state, realtime, http.

pub mod catalogue;
pub mod guard;
pub mod jobs;
pub mod links;
pub mod playback;
pub mod seal;
pub mod spotify;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::broadcast::Broadcaster;
use crate::clock::SharedClock;
use crate::codes::Code;
use crate::domain::{Millis, Track};
use crate::error::AppError;
use crate::locks::RoomLocks;
use crate::rooms::Rooms;
use crate::store::Store;
use tokio::sync::Notify;

pub use guard::Guard;
pub use seal::Sealer;

/// How a call to a music service failed, in terms the rest of the server
/// acts on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The access token is no longer accepted (401): refresh and retry once.
    #[error("the access token has expired")]
    Expired,
    /// The user (or the service) withdrew the grant: the link is broken until
    /// the user links again.
    #[error("{0}")]
    Revoked(String),
    /// The account cannot do this (playback needs Spotify Premium).
    #[error("this needs a Spotify Premium account")]
    PremiumRequired,
    /// The device, playlist or track is gone.
    #[error("{0} was not found on the music service")]
    NotFound(&'static str),
    /// The service asks us to wait this many seconds (429 `Retry-After`).
    #[error("the music service asks to wait {0} s")]
    RateLimited(u64),
    /// 5xx, timeout, unreachable, or the breaker is open.
    #[error("the music service is unavailable: {0}")]
    Unavailable(String),
    /// A response without the documented fields.
    #[error("the music service sent an unexpected response: {0}")]
    BadResponse(String),
}

impl From<ProviderError> for AppError {
    fn from(e: ProviderError) -> Self {
        let retry_after = match e {
            ProviderError::RateLimited(seconds) => Some(seconds),
            _ => None,
        };
        AppError::Coded { code: e.code(), message: e.to_string(), retry_after }
    }
}

impl ProviderError {
    /// Its code in the one table (`crate::codes`).
    pub fn code(&self) -> Code {
        match self {
            Self::RateLimited(_) => Code::ProviderRateLimited,
            Self::Unavailable(_) => Code::ProviderUnavailable,
            Self::BadResponse(_) => Code::ProviderBadResponse,
            Self::PremiumRequired => Code::PremiumRequired,
            Self::NotFound(_) => Code::ProviderNotFound,
            Self::Expired | Self::Revoked(_) => Code::ProviderLinkBroken,
        }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// Access and refresh token of a linked account (stored sealed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// On the server's clock.
    pub expires_at: Millis,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// Tokens as the service hands them out.
#[derive(Clone, Debug, PartialEq)]
pub struct Tokens {
    pub access_token: String,
    /// `None` when the service keeps the previous refresh token.
    pub refresh_token: Option<String>,
    pub expires_in_ms: u64,
    pub scopes: Vec<String>,
}

impl Grant {
    /// The grant `tokens` make at `now`; keeps `previous`'s refresh token
    /// when the service sent none.
    pub fn from_tokens(tokens: Tokens, now: Millis, previous: Option<&Grant>) -> Self {
        Self {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token.or_else(|| previous.and_then(|p| p.refresh_token.clone())),
            expires_at: now + tokens.expires_in_ms,
            scopes: tokens.scopes,
        }
    }
}

/// Where to send the user to authorize us, and the PKCE verifier to keep.
#[derive(Clone, Debug)]
pub struct Authorization {
    pub url: String,
    pub verifier: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub id: String,
    pub name: Option<String>,
}

/// One page of a paged listing.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Items on this page we cannot use (local files, podcasts, invalid).
    pub skipped: u64,
    /// Items in the whole listing.
    pub total: u64,
    /// The offset of the next page, if any.
    pub next_offset: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Playlist {
    pub id: String,
    pub name: String,
    pub tracks: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Device {
    pub id: String,
    pub name: String,
    /// `computer`, `smartphone`, `speaker`, …
    pub kind: String,
    pub active: bool,
}

/// A music service as the server uses it. Every method makes one request;
/// paging, retries and token refresh are the callers' business.
#[async_trait]
pub trait MusicProvider: Send + Sync + 'static {
    /// `spotify`: the name in routes and stored records.
    fn name(&self) -> &'static str;
    /// The authorization URL for `state`, with a fresh PKCE verifier.
    fn authorize(&self, state: &str) -> ProviderResult<Authorization>;
    async fn exchange_code(&self, code: &str, verifier: &str) -> ProviderResult<Tokens>;
    async fn refresh(&self, grant: &Grant) -> ProviderResult<Tokens>;
    async fn profile(&self, grant: &Grant) -> ProviderResult<Profile>;
    async fn playlists(&self, grant: &Grant, offset: u32) -> ProviderResult<Page<Playlist>>;
    async fn playlist_tracks(&self, grant: &Grant, playlist_id: &str, offset: u32) -> ProviderResult<Page<Track>>;
    async fn liked_tracks(&self, grant: &Grant, offset: u32) -> ProviderResult<Page<Track>>;
    /// True when the catalogue can be searched without a user (the app's
    /// own credentials are configured).
    fn can_search(&self) -> bool;
    async fn search(&self, q: &str, limit: u32) -> ProviderResult<Vec<Track>>;
    async fn create_playlist(&self, grant: &Grant, name: &str, description: &str) -> ProviderResult<Playlist>;
    /// Appends tracks (at most `MAX_ADD` URIs per call).
    async fn add_to_playlist(&self, grant: &Grant, playlist_id: &str, uris: &[String]) -> ProviderResult<()>;
    async fn devices(&self, grant: &Grant) -> ProviderResult<Vec<Device>>;
    /// Plays one track on the device from `position_ms`, replacing what plays.
    async fn play(&self, grant: &Grant, device_id: &str, uri: &str, position_ms: u64) -> ProviderResult<()>;
    async fn pause(&self, grant: &Grant, device_id: &str) -> ProviderResult<()>;
}

/// Most URIs added to a playlist in one request (Spotify's limit).
pub const MAX_ADD: usize = 100;

/// What the music services work with.
pub struct ProvidersParts {
    /// Spotify, when it has a client id.
    pub spotify: Option<Arc<dyn MusicProvider>>,
    /// Seals stored grants.
    pub sealer: Sealer,
    pub catalogue_cache: Arc<dyn catalogue::CatalogueCache>,
    /// How long a search waits for the catalogue before answering without.
    pub search_budget: std::time::Duration,
    pub store: Arc<dyn Store>,
    pub rooms: Rooms,
    /// Refreshes of one link take turns across nodes.
    pub locks: Arc<dyn RoomLocks>,
    pub clock: SharedClock,
    pub broadcaster: Arc<dyn Broadcaster>,
    /// Wakes the search indexer after an import.
    pub index_changed: Arc<Notify>,
}

/// The music services this server is configured for, with what they share.
#[derive(Clone)]
pub struct Providers(Arc<Inner>);

struct Inner {
    parts: ProvidersParts,
    guard: Guard,
    /// Per room: the last state handed to its playback device.
    handoffs: Slots<Option<String>>,
    /// Per link: refreshes take turns.
    refreshes: Slots<()>,
}

impl std::ops::Deref for Providers {
    type Target = ProvidersParts;

    fn deref(&self) -> &ProvidersParts {
        &self.0.parts
    }
}

/// A mutex per key (a room, a link), made on first use.
pub struct Slots<T>(std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<T>>>>);

impl<T: Default> Default for Slots<T> {
    fn default() -> Self {
        Self(Default::default())
    }
}

impl<T: Default> Slots<T> {
    pub fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<T>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(key.to_string()).or_default().clone()
    }

    pub fn forget(&self, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

impl Providers {
    pub fn new(parts: ProvidersParts) -> Self {
        Self(Arc::new(Inner {
            parts,
            guard: Guard::default(),
            handoffs: Default::default(),
            refreshes: Default::default(),
        }))
    }

    /// Forgets what was handed to a deleted room's device.
    pub fn forget_room(&self, room_id: &str) {
        self.0.handoffs.forget(room_id);
    }

    /// The service named in a route; `provider_not_configured` otherwise.
    pub fn get(&self, name: &str) -> Result<Arc<dyn MusicProvider>, crate::error::AppError> {
        match name {
            "spotify" => self.spotify.clone().ok_or(crate::error::AppError::ProviderNotConfigured),
            _ => Err(crate::error::AppError::NotFound),
        }
    }

    pub fn spotify(&self) -> Option<&Arc<dyn MusicProvider>> {
        self.spotify.as_ref()
    }
}
