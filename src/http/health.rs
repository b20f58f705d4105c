//! Liveness and readiness probes, and the operator's metrics.

use std::collections::HashSet;
use std::net::SocketAddr;

use aide::axum::ApiRouter;
use aide::axum::routing::{get, get_with};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, header};

use super::openapi::Describe;
use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{AppError, Result};
use crate::rooms::COMMAND_DEADLINE;
use crate::state::AppState;
use crate::telemetry;
use subtle::ConstantTimeEq;

pub fn router() -> ApiRouter<AppState> {
    ApiRouter::new()
        .api_route("/api/health", get(health))
        .api_route("/api/ready", get(ready))
        .api_route("/metrics", get_with(metrics, |op| op.file(200, "text/plain", "the Prometheus text format")))
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

/// What an operator pages on (`telemetry`), in the Prometheus text
/// format. With `metrics_token` set, only for `Authorization: Bearer
/// <token>`; unset, only for clients on this machine, and for nobody
/// `behind_proxy`. Anyone else gets 404 `not_found`, as if there were no
/// such route.
async fn metrics(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response> {
    // An empty token (an unset variable in a compose file) is no token.
    let allowed = match app.settings.metrics_token.as_ref().filter(|t| !t.0.is_empty()) {
        Some(token) => {
            let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
            let given = given.and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
            bool::from(given.as_bytes().ct_eq(token.0.as_bytes()))
        }
        // Behind a proxy on this machine every request comes from
        // loopback: only a token opens it then.
        None => peer.ip().is_loopback() && !app.settings.behind_proxy,
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    let dropped = crate::realtime::DROPPED_DELIVERIES.load(std::sync::atomic::Ordering::Relaxed);
    metrics::counter!(telemetry::DROPPED).absolute(dropped);
    let rooms: HashSet<String> = app.presence.here().into_iter().map(|(room_id, _)| room_id).collect();
    metrics::gauge!(telemetry::ROOMS).set(rooms.len() as f64);
    if let Some(bytes) = telemetry::resident_bytes() {
        metrics::gauge!(telemetry::RESIDENT).set(bytes as f64);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], telemetry::render()).into_response())
}
