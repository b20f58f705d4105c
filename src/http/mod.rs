//! REST routes, one module per resource, merged here. Every error is a JSON
//! body `{error: {code, message}}` with the status the code documents.
//!
//! Owns: the REST router and its handlers. May use: state (and through it
//! every service), the services' types, domain, error, store, media, qr,
//! realtime (its delivery counters for `/metrics`). Must not import: app.
//! No service imports this module.

mod accounts;
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
mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use json::ApiJson;

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
        .fallback(async || AppError::NotFound)
        .method_not_allowed_fallback(async || AppError::MethodNotAllowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}
