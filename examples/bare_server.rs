//! The baseline for the load benchmark: a bare axum + socketioxide broadcast
//! server with no product logic, speaking just enough of crowdjuke's public
//! contract for `examples/load.rs` (create and join a room over REST,
//! Socket.IO auth with the token, `queue:add`, `queue:vote`, `room:snapshot`
//! and a `room:changed` of the same size as crowdjuke's for a vote).
//! socketioxide runs on its defaults. Run it with `scripts/bench bare …`.
//!
//! ```sh
//! cargo run --release --example bare_server -- --listen 127.0.0.1:8080
//! ```

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State as AxumState};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, State, TryData};

/// Room code → version; a token is `{code}.{n}`.
#[derive(Clone, Default)]
struct Rooms(Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>);

impl Rooms {
    fn version(&self, code: &str) -> Option<Arc<AtomicU64>> {
        self.0.lock().expect("rooms").get(code).cloned()
    }
}

static NEXT: AtomicU64 = AtomicU64::new(1);

async fn create(AxumState(rooms): AxumState<Rooms>) -> Json<Value> {
    let code = format!("R{}", NEXT.fetch_add(1, Ordering::Relaxed));
    rooms.0.lock().expect("rooms").insert(code.clone(), Arc::default());
    Json(json!({ "token": format!("{code}.0"), "room": { "code": code } }))
}

async fn join(AxumState(rooms): AxumState<Rooms>, Path(code): Path<String>) -> Json<Value> {
    let known = rooms.version(&code).is_some();
    Json(json!({ "token": known.then(|| format!("{code}.{}", NEXT.fetch_add(1, Ordering::Relaxed))) }))
}

fn changed(version: u64) -> Value {
    json!({
        "version": version,
        "server_time": 1_796_301_616_581u64,
        "changes": [{ "type": "entry_updated", "entry": {
            "id": "Umf0b3QvHwwOIl9L",
            "track": { "id": "demo-0102", "title": "So Alive", "artists": ["Lena Valence"],
                       "album": "Fire of the Radio", "duration_ms": 346_103, "explicit": false },
            "score": version % 2, "added_by": "vny6nvM0U3gIYMNt", "added_by_name": "Host",
            "added_at": 1_796_301_616_581u64, "pinned": false } }],
        "order": ["CeTZEBQ6V9e9Fpda", "a0I0Kkvcxs9yQ3Eu", "e4PkOkIGqAaerPCJ", "Umf0b3QvHwwOIl9L"],
    })
}

async fn on_connect(s: SocketRef, State(rooms): State<Rooms>, TryData(auth): TryData<Value>) {
    let token = auth.ok().and_then(|a| a["token"].as_str().map(str::to_string)).unwrap_or_default();
    let code = token.split('.').next().unwrap_or_default().to_string();
    let Some(version) = rooms.version(&code) else {
        s.disconnect().ok();
        return;
    };
    s.join(code.clone());
    s.emit("room:snapshot", &json!({ "version": version.load(Ordering::SeqCst) })).ok();
    s.on("queue:add", {
        let (code, version) = (code.clone(), version.clone());
        move |s: SocketRef, ack: AckSender, Data(_): Data<Value>| async move {
            let v = version.fetch_add(1, Ordering::SeqCst) + 1;
            s.within(code).emit("room:changed", &changed(v)).await.ok();
            ack.send(&json!({ "ok": true, "data": { "version": v, "entry": { "id": "Umf0b3QvHwwOIl9L" } } })).ok();
        }
    });
    s.on("queue:vote", move |s: SocketRef, ack: AckSender, Data(_): Data<Value>| async move {
        let v = version.fetch_add(1, Ordering::SeqCst) + 1;
        s.within(code).emit("room:changed", &changed(v)).await.ok();
        ack.send(&json!({ "ok": true, "data": { "version": v } })).ok();
    });
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::args().skip_while(|a| a != "--listen").nth(1).unwrap_or("127.0.0.1:8080".into());
    let rooms = Rooms::default();
    let (layer, io) = SocketIo::builder().with_state(rooms.clone()).build_layer();
    io.ns("/", on_connect);
    let app = Router::new()
        .route("/api/rooms", post(create))
        .route("/api/rooms/{code}/join", post(join))
        .with_state(rooms)
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{listen}");
    axum::serve(listener, app).await?;
    Ok(())
}
