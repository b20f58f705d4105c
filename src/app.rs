//! Builds the server from settings and serves it on a bound listener until a
//! shutdown future resolves. Tests and benchmarks use `Server::build` +
//! `Server::serve` on `127.0.0.1:0`; the binary goes through `crate::run`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use socketioxide::SocketIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::CorsLayer;
use tower_http::trace::TraceLayer;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::limits::JoinLimiter;
use crate::music::Library;
use crate::state::{AppState, Shared};
use crate::store::{EmbeddedStore, Store};
use crate::token::TokenKey;
use crate::{http, realtime};

/// Longest a Socket.IO frame may be before the connection is closed (the
/// event handler refuses anything over `max_event_bytes` with an ack first).
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// How long shutdown waits for accepted writes to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Server {
    pub state: AppState,
    router: Router,
}

impl Server {
    /// Opens the data directory, loads the library and wires the routes.
    pub async fn build(settings: Settings, clock: SharedClock, public_url: String) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create data directory {}", settings.data_dir.display()))?;
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&settings.data_dir).context("cannot open the store")?);
        let library = Library::load(&store).await.context("cannot load the library")?;
        let tokens = TokenKey::new(load_or_create_secret(&settings.data_dir)?);
        let state = AppState::new(Shared {
            join_limiter: JoinLimiter::per_minute(settings.join_attempts_per_minute),
            settings,
            store,
            library,
            clock,
            tokens,
            io: RwLock::new(None),
            rooms: Default::default(),
            presence: Default::default(),
            schedule: Default::default(),
            writes: TaskTracker::new(),
            public_url,
        });
        let (layer, io) = SocketIo::builder()
            .max_payload(MAX_FRAME_BYTES as u64)
            .ws_max_message_size(MAX_FRAME_BYTES)
            .ws_max_frame_size(MAX_FRAME_BYTES)
            .with_state(state.clone())
            .build_layer();
        *state.io.write().unwrap_or_else(|e| e.into_inner()) = Some(io.clone());
        realtime::register(&io);
        let router = http::router()
            .with_state(state.clone())
            .layer(layer)
            .layer(CorsLayer::permissive())
            .layer(TraceLayer::new_for_http());
        state.plan_all_rooms().await?;
        Ok(Self { state, router })
    }

    /// Serves until `shutdown` resolves, then closes every socket, waits for
    /// accepted writes and stops the player.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop_player = CancellationToken::new();
        let player = tokio::spawn(self.state.clone().run_player(stop_player.clone()));
        let io = self.state.io();
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
        player.await.ok();
        self.state.writes.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.state.writes.wait()).await.is_err() {
            tracing::warn!("shutdown timed out waiting for writes");
        }
        self.state.io.write().unwrap_or_else(|e| e.into_inner()).take();
        self.state.store.close().await;
        Ok(())
    }
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
