//! Liveness and readiness probes.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::error::Result;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/health", get(health)).route("/api/ready", get(ready))
}

/// Alive: the process answers.
async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready: the store answers too (503 `unavailable` otherwise).
async fn ready(State(app): State<AppState>) -> Result<Json<Value>> {
    app.store.ping().await?;
    Ok(Json(json!({ "status": "ready", "tracks": app.store.track_count().await? })))
}
