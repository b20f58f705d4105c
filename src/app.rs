//! Builds the server from settings and serves it on a bound listener until a
//! shutdown future resolves. Tests and benchmarks use `Server::build` +
//! `Server::serve` on `127.0.0.1:0`; the binary goes through `crate::run`.
//!
//! Owns: `Server` (building the services in order, serving, draining at
//! shutdown). May use: everything below it. Nothing imports it but `launch`,
//! `commands` and the tests.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use socketioxide::SocketIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

use crate::accounts::Accounts;
use crate::activities::Activities;
use crate::broadcast::Broadcaster;
use crate::cache::{LocalRoomCache, RedisRoomCache, RoomCache};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::limits::{LocalAdmissions, LocalLimiter, RateLimiter, RedisAdmissions, RedisLimiter, RoomLookupQuota};
use crate::locks::{NoLocks, RedisLocks, RoomLocks};
use crate::media::{BlobStore, FileBlobStore, GridFsBlobStore};
use crate::photos::{Photos, PhotosParts};
use crate::player::Player;
use crate::presence::{LocalPresence, Presence, RedisPresence};
use crate::providers::catalogue::{CatalogueCache, LocalCatalogueCache, RedisCatalogueCache};
use crate::providers::spotify::{Spotify, SpotifyConfig};
use crate::providers::{MusicProvider, Providers, ProvidersParts, Sealer};
use crate::realtime::{Hub, Realtime};
use crate::rooms::{Rooms, RoomsParts};
use crate::search::{IndexName, MeiliEngine, SearchEngine, TantivyEngine, indexer};
use crate::state::{AppState, Shared};
use crate::store::{EmbeddedStore, MongoStore, Store, Timed};
use crate::timetable::Timetable;
use crate::token::TokenKey;
use crate::venues::Venues;
use crate::{cluster_clock, housekeeping, http, realtime, redis};

/// Longest a Socket.IO frame may be before the connection is closed (the
/// event handler refuses anything over `max_event_bytes` with an ack first).
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Per-connection websocket read buffer (engineioxide's default is 4 KiB;
/// client events are small).
const WS_READ_BUFFER: usize = 1024;
/// Bytes of packets the websocket writer gathers before writing them out
/// (tungstenite's default is 128 KiB). With the patched tungstenite
/// (vendor/README.md) a buffer that grew past it, for a join snapshot or a
/// burst, is released once written, so an idle connection keeps at most this.
const WS_WRITE_BUFFER: usize = 4 * 1024;
/// Packets queued per connection before socketioxide refuses more (default
/// 128). A socket that falls this far behind is told to resync.
const SEND_BUFFER_PACKETS: usize = 64;
/// How long shutdown waits for accepted writes to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Server {
    pub state: AppState,
    /// The Socket.IO layer, as services announce through it.
    hub: Arc<Hub>,
    router: Router,
}

impl Server {
    /// Connects the configured services (or opens the embedded ones), loads
    /// the library and wires the routes: the steps below, in order.
    pub async fn build(settings: Settings, clock: SharedClock, public_url: String) -> anyhow::Result<Self> {
        check_topology(&settings)?;
        crate::telemetry::install();
        let node_id = settings.node_id.clone().unwrap_or_else(|| format!("{:08x}", rand::random::<u32>()));
        let storage = Storage::open(&settings).await?;
        let search = open_search(&settings).await?;
        let backends = Backends::connect(&settings, &node_id, clock).await?;
        let music_services = music_services(&settings, &public_url, &storage.secret)?;
        tracing::info!(
            node_id,
            store = if settings.mongodb_uri.is_some() { "mongodb" } else { "embedded" },
            redis = backends.redis.is_some(),
            "services ready"
        );
        let hub = Arc::new(Hub::default());
        let (state, redis) = app_state(settings, public_url, storage, search, backends, music_services, &hub);
        let router = router(&state, &hub, redis).await?;
        state.rooms.plan_all().await?;
        Self::reindex_if_empty(&state).await;
        Ok(Self { state, hub, router })
    }

    /// Rebuilds the search indexes that are empty while the store is not
    /// (first start with an existing store, a lost index, changed settings).
    async fn reindex_if_empty(state: &AppState) {
        for index in IndexName::ALL {
            let stored = match index {
                IndexName::Tracks => state.store.track_count().await.ok(),
                IndexName::Rooms => state.store.room_ids().await.ok().map(|ids| ids.len() as u64),
                IndexName::Users => state.store.accounts().users_after(None, 1).await.ok().map(|u| u.len() as u64),
            };
            let indexed = state.search.count(index).await.ok();
            if indexed != Some(0) || stored.unwrap_or(0) == 0 {
                continue;
            }
            tracing::info!(%index, "the index is empty: rebuilding it from the store");
            match indexer::reindex(state.store.as_ref(), state.search.as_ref(), index).await {
                Ok(count) => tracing::info!(%index, count, "index rebuilt"),
                Err(e) => {
                    tracing::warn!(%index, error = %e, "rebuilding the index failed; `crowdjuke reindex` retries")
                }
            }
        }
    }

    /// Serves until `shutdown` resolves, then closes every socket, waits for
    /// accepted writes and stops the player.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop_player = CancellationToken::new();
        let player = tokio::spawn(self.state.player.clone().run(stop_player.clone()));
        let housekeeping = tokio::spawn(housekeeping::run(self.state.clone(), self.hub.clone(), stop_player.clone()));
        let indexer = tokio::spawn(indexer::run(
            self.state.store.clone(),
            self.state.search.clone(),
            self.state.rooms.locks.clone(),
            self.state.index_changed.clone(),
            stop_player.clone(),
        ));
        let music = tokio::spawn(scan_music_folders(self.state.clone(), stop_player.clone()));
        let io = self.hub.io();
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                shutdown.await;
                if let Some(io) = io {
                    io.close().await;
                }
            })
            .await?;
        stop_player.cancel();
        music.await.ok();
        player.await.ok();
        housekeeping.await.ok();
        indexer.await.ok();
        self.state.writes.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.state.writes.wait()).await.is_err() {
            tracing::warn!("shutdown timed out waiting for writes");
        }
        self.hub.detach();
        self.state.rooms.close();
        self.state.store.close().await;
        self.state.search.close().await;
        Ok(())
    }
}

/// Scans the configured music folders into the library in the background
/// (the party can start while a big folder is read), then after every
/// change in them, until `stop`.
async fn scan_music_folders(state: AppState, stop: CancellationToken) {
    let dirs = state.settings.music_dirs.clone();
    if dirs.is_empty() {
        return;
    }
    tracing::info!(folders = ?dirs, "scanning and watching music folders");
    let index_changed = state.index_changed.clone();
    let scanned = move |report: &crate::music::folders::ScanReport| {
        index_changed.notify_one();
        for (path, why) in &report.skipped {
            tracing::warn!(path = %path.display(), %why, "music file skipped");
        }
        tracing::info!(
            imported = report.imported,
            updated = report.updated,
            unchanged = report.unchanged,
            removed = report.removed,
            skipped = report.skipped.len(),
            "music folders scanned"
        );
    };
    // Scaled out, a node without the folders serves the copies in GridFS.
    let copies = state.settings.mongodb_uri.is_some().then(|| state.blobs.clone());
    crate::music::folders::watch::scan_and_watch(state.store.clone(), copies, dirs, scanned, stop).await;
}

/// Refuses settings that cannot work, and makes the data directory.
fn check_topology(settings: &Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
    let shared_store = settings.mongodb_uri.is_some() && settings.redis_url.is_some();
    anyhow::ensure!(
        !shared_store || settings.meilisearch_url.is_some(),
        "nodes sharing MongoDB and Redis need a shared search index too: set CROWDJUKE_MEILISEARCH_URL \
         (an embedded index per node would only see the changes its own indexer takes from the shared outbox)"
    );
    Ok(())
}

/// Where documents, photo files and the token secret live: MongoDB (with
/// GridFS and a secret shared by every node), or the data directory.
struct Storage {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    secret: Vec<u8>,
}

impl Storage {
    /// Opens it and seeds the demo library into an empty store.
    async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let storage = match &settings.mongodb_uri {
            Some(uri) => {
                let store = MongoStore::connect(uri, &settings.mongodb_db).await.context("cannot reach MongoDB")?;
                let secret = store.shared_secret(&rand::random::<[u8; 32]>()).await.context("token secret")?;
                let blobs = Arc::new(GridFsBlobStore::new(store.database()));
                Self { store: Arc::new(Timed(Arc::new(store))), blobs, secret }
            }
            None => {
                let store = EmbeddedStore::open(&settings.data_dir).context("cannot open the store")?;
                let blobs = FileBlobStore::open(&settings.data_dir.join("media")).context("cannot open media")?;
                Self {
                    store: Arc::new(Timed(Arc::new(store))),
                    blobs: Arc::new(blobs),
                    secret: load_or_create_secret(&settings.data_dir)?,
                }
            }
        };
        crate::music::seed_demo_if_empty(&storage.store).await.context("cannot seed the demo library")?;
        Ok(storage)
    }
}

/// What nodes must agree on: in Redis when one is configured, else in this
/// process. One constructor picks all of them, so the two modes are
/// chosen in one place.
struct Backends {
    redis: Option<redis::Redis>,
    /// The node's clock: Redis's when scaled out (`cluster_clock`).
    clock: SharedClock,
    room_cache: Arc<dyn RoomCache>,
    presence: Arc<dyn Presence>,
    join_limiter: Arc<dyn RateLimiter>,
    room_lookups: RoomLookupQuota,
    event_limiter: Arc<dyn RateLimiter>,
    photo_limiter: Arc<dyn RateLimiter>,
    login_limiter: Arc<dyn RateLimiter>,
    room_locks: Arc<dyn RoomLocks>,
    catalogue_cache: Arc<dyn CatalogueCache>,
}

impl Backends {
    async fn connect(settings: &Settings, node_id: &str, clock: SharedClock) -> anyhow::Result<Self> {
        let Some(url) = &settings.redis_url else { return Ok(Self::in_process(settings, clock)) };
        let redis = redis::Redis::connect(url).await.context("cannot reach Redis")?;
        let clock = cluster_clock::follow(clock, &redis.client).await;
        let client = || redis.client.clone();
        let limiter = |name, per_minute| -> Arc<dyn RateLimiter> {
            Arc::new(RedisLimiter::per_minute(client(), name, per_minute))
        };
        Ok(Self {
            room_cache: Arc::new(RedisRoomCache::new(client())),
            presence: Arc::new(RedisPresence::new(client(), node_id.to_string(), clock.clone())),
            join_limiter: limiter("join", settings.join_attempts_per_minute),
            room_lookups: RoomLookupQuota {
                codes: limiter("room-codes", settings.join_attempts_per_minute),
                per_room: limiter("room-lookups", settings.room_requests_per_minute),
                admissions: Arc::new(RedisAdmissions::new(client())),
            },
            event_limiter: limiter("event", settings.events_per_minute),
            photo_limiter: limiter("photo", settings.photos_per_minute),
            login_limiter: limiter("login", settings.login_attempts_per_minute),
            room_locks: Arc::new(RedisLocks::new(client())),
            catalogue_cache: Arc::new(RedisCatalogueCache(client())),
            redis: Some(redis),
            clock,
        })
    }

    fn in_process(settings: &Settings, clock: SharedClock) -> Self {
        let limiter = |per_minute| -> Arc<dyn RateLimiter> { Arc::new(LocalLimiter::per_minute(per_minute)) };
        Self {
            redis: None,
            clock,
            room_cache: Arc::new(LocalRoomCache::default()),
            presence: Arc::new(LocalPresence::default()),
            join_limiter: limiter(settings.join_attempts_per_minute),
            room_lookups: RoomLookupQuota {
                codes: limiter(settings.join_attempts_per_minute),
                per_room: limiter(settings.room_requests_per_minute),
                admissions: Arc::new(LocalAdmissions::default()),
            },
            event_limiter: limiter(settings.events_per_minute),
            photo_limiter: limiter(settings.photos_per_minute),
            login_limiter: limiter(settings.login_attempts_per_minute),
            room_locks: Arc::new(NoLocks),
            catalogue_cache: Arc::new(LocalCatalogueCache::default()),
        }
    }
}

/// The services, each given the handles it uses, and the Redis
/// connections the Socket.IO layer still needs.
#[allow(clippy::too_many_arguments)]
fn app_state(
    settings: Settings,
    public_url: String,
    storage: Storage,
    search: Arc<dyn SearchEngine>,
    backends: Backends,
    music: MusicServices,
    hub: &Arc<Hub>,
) -> (AppState, Option<redis::Redis>) {
    let broadcaster: Arc<dyn Broadcaster> = hub.clone();
    let clock = backends.clock.clone();
    let writes = TaskTracker::new();
    let index_changed = Arc::new(Notify::new());
    let timetable = Arc::new(Timetable::default());
    let rooms = Rooms::new(RoomsParts {
        store: storage.store.clone(),
        cache: backends.room_cache,
        locks: backends.room_locks.clone(),
        presence: backends.presence.clone(),
        clock: clock.clone(),
        broadcaster: broadcaster.clone(),
        timetable: timetable.clone(),
        index_changed: index_changed.clone(),
        writes: writes.clone(),
    });
    let activities = Activities {
        store: storage.store.clone(),
        rooms: rooms.clone(),
        clock: clock.clone(),
        broadcaster: broadcaster.clone(),
        writes: writes.clone(),
    };
    let photos = Photos::new(PhotosParts {
        store: storage.store.clone(),
        blobs: storage.blobs.clone(),
        rooms: rooms.clone(),
        activities: activities.clone(),
        clock: clock.clone(),
        broadcaster: broadcaster.clone(),
    });
    let accounts = Accounts {
        store: storage.store.clone(),
        blobs: storage.blobs.clone(),
        rooms: rooms.clone(),
        activities: activities.clone(),
        photos: photos.clone(),
        clock: clock.clone(),
        tokens: TokenKey::new(storage.secret.clone()),
        login_limiter: backends.login_limiter.clone(),
        max_following: settings.max_following.clamp(1, crate::accounts::MAX_FOLLOWING),
        broadcaster: broadcaster.clone(),
        index_changed: index_changed.clone(),
    };
    let providers = Providers::new(ProvidersParts {
        spotify: music.spotify,
        sealer: music.sealer,
        catalogue_cache: backends.catalogue_cache,
        search_budget: Duration::from_millis(settings.spotify_search_budget_ms),
        store: storage.store.clone(),
        rooms: rooms.clone(),
        locks: backends.room_locks,
        clock: clock.clone(),
        broadcaster,
        index_changed: index_changed.clone(),
    });
    rooms.listen(Arc::new(activities.clone()));
    rooms.listen(Arc::new(providers.clone()));
    let autopilot = crate::autopilot::Autopilot::new(
        storage.store.clone(),
        search.clone(),
        rooms.clone(),
        backends.presence.clone(),
        clock.clone(),
        writes.clone(),
    );
    rooms.listen(Arc::new(autopilot.clone()));
    let player = Player::new(rooms.clone(), timetable, backends.presence.clone(), clock.clone());
    let venues = Venues { store: storage.store.clone(), rooms: rooms.clone(), clock: clock.clone() };
    let analytics = crate::analytics::Analytics::new(
        storage.store.clone(),
        rooms.clone(),
        venues.clone(),
        clock.clone(),
        writes.clone(),
    );
    rooms.listen(Arc::new(analytics.clone()));
    let state = AppState::new(Shared {
        settings,
        public_url,
        clock,
        tokens: TokenKey::new(storage.secret),
        rooms,
        photos,
        accounts,
        activities,
        providers,
        venues,
        analytics,
        autopilot,
        player,
        store: storage.store,
        search,
        index_changed,
        blobs: storage.blobs,
        presence: backends.presence,
        join_limiter: backends.join_limiter,
        room_lookups: backends.room_lookups,
        event_limiter: backends.event_limiter,
        photo_limiter: backends.photo_limiter,
        login_limiter: backends.login_limiter,
        writes,
    });
    (state, backends.redis)
}

/// The REST routes and the Socket.IO layer (its adapter in Redis or in
/// process), with the layers every request goes through.
async fn router(state: &AppState, hub: &Arc<Hub>, redis: Option<redis::Redis>) -> anyhow::Result<Router> {
    let builder = SocketIo::builder()
        .max_payload(MAX_FRAME_BYTES as u64)
        .ws_max_message_size(MAX_FRAME_BYTES)
        .ws_max_frame_size(MAX_FRAME_BYTES)
        .ws_read_buffer_size(WS_READ_BUFFER)
        .ws_write_buffer_size(WS_WRITE_BUFFER)
        .max_buffer_size(SEND_BUFFER_PACKETS)
        .with_state(state.clone())
        .with_state(hub.clone());
    let routes = http::router(state).with_state(state.clone());
    let (routes, io) = match redis {
        Some(r) => {
            let (layer, io) = builder.with_adapter::<socketioxide_redis::FredAdapter<_>>(r.adapter).build_layer();
            realtime::register_redis(&io).await?;
            (routes.layer(layer), Realtime::Redis(io, r.subscriber))
        }
        None => {
            let (layer, io) = builder.build_layer();
            realtime::register_local(&io);
            (routes.layer(layer), Realtime::Local(io))
        }
    };
    hub.attach(io);
    let routes = routes.layer(axum::middleware::map_request(realtime::detach_head));
    Ok(routes.layer(cross_origin()).layer(TraceLayer::new_for_http()))
}

/// Any origin may call the API, never with credentials. Every route
/// authenticates with a bearer token in `Authorization` (no cookie), which
/// a page from another origin only has if the user handed it over: there is
/// no ambient session for another site to ride on. Venue websites, kiosks
/// and web views served from other origins need the API.
fn cross_origin() -> CorsLayer {
    use axum::http::{Method, header};
    CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::RANGE, header::IF_RANGE])
        .expose_headers([header::RETRY_AFTER, header::CONTENT_RANGE, header::ACCEPT_RANGES, header::ETAG])
        .max_age(Duration::from_secs(3600))
}

/// Meilisearch when configured, else the embedded index in the data directory.
pub async fn open_search(settings: &Settings) -> anyhow::Result<Arc<dyn SearchEngine>> {
    let engine: Arc<dyn SearchEngine> = match &settings.meilisearch_url {
        Some(url) => {
            let key = settings.meilisearch_api_key.as_ref().map(|k| k.0.as_str());
            Arc::new(MeiliEngine::connect(url, key).context("invalid Meilisearch settings")?)
        }
        None => {
            let dir = settings.data_dir.join("search");
            Arc::new(TantivyEngine::open(&dir).with_context(|| format!("cannot open the index in {}", dir.display()))?)
        }
    };
    let engine: Arc<dyn SearchEngine> = Arc::new(crate::search::Timed(engine));
    engine.prepare().await.context("cannot prepare the search indexes")?;
    Ok(engine)
}

/// The music services configured, and the key sealing their stored grants.
struct MusicServices {
    spotify: Option<Arc<dyn MusicProvider>>,
    sealer: Sealer,
}

/// The music services configured: Spotify when it has a client id. The key
/// sealing stored grants is configured, or derived from the token secret.
fn music_services(settings: &Settings, public_url: &str, secret: &[u8]) -> anyhow::Result<MusicServices> {
    let sealer = match &settings.provider_token_key {
        Some(key) => {
            let bytes: [u8; 32] = decode_hex(key.0.trim())
                .and_then(|b| b.try_into().ok())
                .context("provider_token_key must be 64 hexadecimal characters")?;
            Sealer::new(&bytes)
        }
        None => Sealer::derived_from(secret),
    };
    let spotify = settings.spotify_client_id.as_ref().map(|client_id| {
        let redirect_url = settings
            .spotify_redirect_url
            .clone()
            .unwrap_or_else(|| format!("{}/api/providers/spotify/callback", public_url.trim_end_matches('/')));
        let config = SpotifyConfig {
            client_id: client_id.clone(),
            client_secret: settings.spotify_client_secret.as_ref().map(|s| s.0.clone()),
            redirect_url,
            api_url: settings.spotify_api_url.clone(),
            accounts_url: settings.spotify_accounts_url.clone(),
        };
        Arc::new(Spotify::new(config)) as Arc<dyn MusicProvider>
    });
    if spotify.is_some() && settings.provider_token_key.is_none() {
        tracing::warn!(
            "provider_token_key is unset: stored Spotify grants are sealed with a key derived from the token secret"
        );
    }
    Ok(MusicServices { spotify, sealer })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// The token signing secret: 32 random bytes in `secret.key`, created on
/// first start and kept so tokens survive restarts.
fn load_or_create_secret(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = dir.join("secret.key");
    if let Ok(secret) = std::fs::read(&path) {
        anyhow::ensure!(secret.len() >= 32, "{} is too short to be a secret", path.display());
        return Ok(secret);
    }
    let secret: [u8; 32] = rand::random();
    std::fs::write(&path, secret).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(secret.to_vec())
}
