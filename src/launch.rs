//! What `crowdjuke serve` does beyond serving: logging, signals, the join
//! URL for phones on the same network, and the laptop party room.
//!
//! Owns: `crowdjuke serve`'s start-up around `Server`. May use: app, state
//! and what they are built from. Nothing imports it but `main`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpSocket;
use tracing_subscriber::filter::LevelFilter;

use crate::app::Server;
use crate::clock::SystemClock;
use crate::config::{LogFormat, Settings};
use crate::domain::{Member, Role, Room, Rules, code};
use crate::ids::random_id;
use crate::state::AppState;
use crate::token::Claims;

/// Connections a listening socket queues before they are accepted (as
/// `TcpListener::bind`).
const BACKLOG: u32 = 1024;

/// Runs the server until SIGTERM or Ctrl-C.
///
/// The port is taken (bound) first, so the join link knows it (and a port
/// another server listens on fails at once), but it listens only once the
/// server is built: its
/// database, Redis and search engine connected. Until then connections
/// are refused, so a load balancer moves on at once instead of waiting
/// out a timeout on a node that is still starting.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    init_tracing(settings.log_format, settings.log_unredacted);
    raise_open_file_limit();
    let socket = reserve(settings.listen).with_context(|| format!("cannot listen on {}", settings.listen))?;
    let local = socket.local_addr()?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| guess_public_url(local));
    let default_room = settings.default_room;
    let server = Server::build(settings, Arc::new(SystemClock), public_url.clone()).await?;
    let listener = socket.listen(BACKLOG).with_context(|| format!("cannot listen on {local}"))?;
    // The first line on stdout is machine-readable: test harnesses read the port from it.
    println!("crowdjuke listening on http://{local}");
    if default_room {
        announce_party(&server.state, &public_url).await?;
    }
    server.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Open files a node should be allowed: each phone or screen holds one
/// socket (a node held 19,984 clients at a limit of 20,000; README,
/// Capacity). 65,536 is what the compose file and the systemd unit set.
const WANTED_OPEN_FILES: u64 = 65_536;
/// Files a node holds besides its clients: the store, logs, Redis,
/// MongoDB and search connections, music files being served.
const FILES_BESIDES_CLIENTS: u64 = 256;

/// Raises the soft open-file limit to the hard one (the process may, and
/// the default soft limit of 1,024 is four parties' worth), and warns when
/// even the hard limit is below `WANTED_OPEN_FILES`: past it, new
/// connections fail with `Too many open files`.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < WANTED_OPEN_FILES => tracing::warn!(
            limit,
            clients = limit.saturating_sub(FILES_BESIDES_CLIENTS),
            "the open-file limit holds about {} connected phones and screens; raise it to {WANTED_OPEN_FILES} \
             (ulimit -n, LimitNOFILE= in a systemd unit, ulimits.nofile in compose)",
            limit.saturating_sub(FILES_BESIDES_CLIENTS)
        ),
        Ok(limit) => tracing::info!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the open-file limit"),
    }
}

/// A socket bound to `addr`, not listening yet.
fn reserve(addr: SocketAddr) -> std::io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // As `TcpListener::bind` on Unix: a restarted node takes its port back
    // at once (not on Windows, where it would share a port in use).
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket)
}

/// Libraries whose logs print secrets, and the most they may log: at debug
/// socketioxide (the connect payload with the member token, every packet),
/// engineioxide (packets), the MongoDB driver's command events (stored
/// documents, the token secret among them), fred (commands), rspotify and
/// the Meilisearch SDK (requests and answers); rspotify's HTTP client even
/// at info (every request with its `Authorization` header). Whatever
/// `RUST_LOG` asks, unless `log_unredacted` is set.
const PRINTS_SECRETS: &[(&str, LevelFilter)] = &[
    ("socketioxide", LevelFilter::INFO),
    ("engineioxide", LevelFilter::INFO),
    ("mongodb::command", LevelFilter::INFO),
    ("fred", LevelFilter::INFO),
    ("rspotify", LevelFilter::INFO),
    ("rspotify_http", LevelFilter::WARN),
    ("meilisearch_sdk", LevelFilter::INFO),
];

fn init_tracing(format: LogFormat, unredacted: bool) {
    use tracing_subscriber::filter::{FilterExt, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let asked = EnvFilter::try_from_default_env().unwrap_or_else(|_| "crowdjuke=info,warn".into());
    let mut redacted = Targets::new().with_default(LevelFilter::TRACE);
    if !unredacted {
        for (target, most) in PRINTS_SECRETS {
            redacted = redacted.with_target(*target, *most);
        }
    }
    let filter = asked.and(redacted);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let layer = match format {
        LogFormat::Json => layer.json().with_filter(filter).boxed(),
        LogFormat::Pretty => layer.with_filter(filter).boxed(),
    };
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// `http://<LAN address>:<port>` when listening on all interfaces, so the
/// printed link works from a phone on the same Wi-Fi.
fn guess_public_url(local: SocketAddr) -> String {
    let host = if local.ip().is_unspecified() {
        local_ip_address::local_ip().map_or_else(|_| "127.0.0.1".to_string(), |ip| ip.to_string())
    } else {
        local.ip().to_string()
    };
    format!("http://{host}:{}", local.port())
}

/// Reuses the room recorded in `party-room` in the data directory, or creates
/// one, and prints its join link, QR code and host token.
async fn announce_party(state: &AppState, public_url: &str) -> anyhow::Result<()> {
    let path = state.settings.data_dir.join("party-room");
    let known = std::fs::read_to_string(&path).ok().map(|s| s.trim().to_string());
    let room = match known {
        Some(id) if state.store.load_room(&id).await?.is_some() => state.rooms.room(&id).await?,
        _ => {
            let now = state.clock.now();
            let host = Member::new(random_id(&mut rand::rng()), "Host".into(), Role::Host, now);
            let room_code = code::from_random(|n| rand::random_range(0..n));
            let room = Room::new(random_id(&mut rand::rng()), room_code, "Party".into(), host, Rules::default(), now);
            state.rooms.create_room(&room).await?;
            std::fs::write(&path, &room.id)?;
            room
        }
    };
    let url = format!("{public_url}/join/{}", room.code);
    let host_token = room.host().map(|h| state.tokens.sign(&Claims { r: room.id.clone(), m: h.id.clone() }));
    println!("\nParty room \"{}\" — join code {}\n  Guests join at: {url}\n", room.name, room.code);
    if let Ok(qr) = crate::qr::terminal(&url) {
        println!("{qr}");
    }
    if let Some(token) = host_token {
        println!("  Host token (keep it private): {token}\n");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
