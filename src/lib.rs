//! crowdjuke: a collaborative playlist party server.
//!
//! Module map:
//! - `domain` — pure party rules (rooms, queue, votes, fairness, player clock);
//!   no I/O, unit tested.
//! - `rooms` — the write path: lock, apply, compare-and-swap, broadcast.
//! - `player` — advances rooms when tracks end; expires idle rooms.
//! - `realtime` — Socket.IO handshake and client events.
//! - `http` — REST routes, one module per resource.
//! - `store` — the `Store` trait: embedded redb store, MongoDB store.
//! - `music` — the demo library and catalogue import.
//! - `search` — the query language and the `SearchEngine` trait: embedded
//!   tantivy, Meilisearch; the indexer that drains the store's outbox.
//! - `media` — photo bytes (`BlobStore`: files or GridFS) and the photo
//!   pipeline (validate, strip metadata, render variants).
//! - `accounts` — optional accounts: sessions, profiles, follows,
//!   timelines, the public photo feed, `feed:new`.
//! - `photos` — the room photo wall: share, render job, likes, reports,
//!   removal, orphan sweep.
//! - `commands` — `crowdjuke import` and `crowdjuke reindex`.
//! - `presence`, `limits`, `cache`, `locks` — state nodes must agree on: in-process
//!   on one node, in Redis when scaled out (`redis` holds the connections).
//! - `token`, `clock`, `qr`, `ids` — small services.
//! - `config`, `app`, `error`, `state` — settings, wiring, errors, context.
//! - `codes` — every error code with its HTTP status: the one table.

pub mod accounts;
pub mod app;
pub mod cache;
pub mod clock;
pub mod codes;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod ids;
pub mod limits;
pub mod locks;
pub mod media;
pub mod music;
pub mod photos;
pub mod player;
pub mod presence;
pub mod providers;
pub mod qr;
pub mod realtime;
pub mod redis;
pub mod rooms;
pub mod search;
pub mod state;
pub mod store;
pub mod token;

mod launch;

pub use app::Server;
pub use launch::run;
