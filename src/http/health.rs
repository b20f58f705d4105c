//! Liveness and readiness probes, and the operator's counter.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::{AppError, Result};
use crate::rooms::COMMAND_DEADLINE;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/health", get(health)).route("/api/ready", get(ready)).route("/metrics", get(metrics))
}

/// Alive: the process answers.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready: the store answers too, within a command's deadline (503
/// `unavailable` otherwise, also when it hangs).
async fn ready(State(app): State<AppState>) -> Result<Json<Value>> {
    let answered = async {
        app.store.ping().await?;
        app.store.track_count().await
    };
    let tracks = tokio::time::timeout(COMMAND_DEADLINE, answered).await.map_err(|_| AppError::Unavailable)??;
    Ok(Json(json!({ "status": "ready", "tracks": tracks })))
}

/// Counters in the Prometheus text format (one counter: no exporter crate).
async fn metrics() -> impl IntoResponse {
    let dropped = crate::realtime::DROPPED_DELIVERIES.load(std::sync::atomic::Ordering::Relaxed);
    let body = format!(
        "# HELP crowdjuke_dropped_deliveries_total Socket.IO events not queued because a socket's send buffer was full.\n\
         # TYPE crowdjuke_dropped_deliveries_total counter\n\
         crowdjuke_dropped_deliveries_total {dropped}\n"
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
