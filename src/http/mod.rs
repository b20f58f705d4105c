//! REST routes, one module per resource, merged here. Every error is a JSON
//! body `{error: {code, message}}` with the status the code documents.
//!
//! Owns: the REST router and its handlers. May use: state (and through it
//! every service), the services' types, domain, error, store, media, qr,
//! realtime (its delivery counters for `/metrics`). Must not import: app.
//! No service imports this module.

mod accounts;
mod analytics;
mod audio;
mod auth;
mod client_ip;
mod health;
mod json;
mod photos;
mod providers;
mod rooms;
mod search;
mod tracks;
mod venues;
mod web;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderValue;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::middleware::Next;
use axum::response::Response;

pub use json::ApiJson;
pub use photos::{Upload, read_upload};

use crate::error::AppError;
use crate::state::AppState;

/// Largest request body accepted by the JSON routes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .merge(web::router(state))
        .merge(health::router())
        .merge(rooms::router())
        .merge(tracks::router())
        .merge(audio::router())
        .merge(search::router())
        .merge(photos::router())
        .merge(accounts::router())
        .merge(providers::router())
        .merge(venues::router())
        .merge(analytics::router())
        .fallback(async || AppError::NotFound)
        .method_not_allowed_fallback(async || AppError::MethodNotAllowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(close_after_refusal))
}

/// A request refused with a body (a wrong multipart part, a bad token, too
/// large, rate limited) may leave that body unread, and hyper then closes
/// the connection. Saying so (`Connection: close`) makes a client with a
/// kept-alive connection open a new one for its next request, instead of
/// writing into a closed socket (EPIPE). Refusals are rare; the cost is one
/// new connection.
async fn close_after_refusal(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let has_body =
        headers.get(CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0") || headers.contains_key(TRANSFER_ENCODING);
    let mut response = next.run(request).await;
    let refused = response.status().is_client_error() || response.status().is_server_error();
    if has_body && refused {
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
