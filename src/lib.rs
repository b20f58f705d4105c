//! crowdjuke: a collaborative playlist party server.
//!
//! The layers (docs/ARCHITECTURE.md draws them), top to bottom; a module
//! imports only from layers below it (`scripts/check-cycles` keeps it so):
//!
//! - composition — `app` builds everything and serves it; `launch` and
//!   `commands` are the binary's entry points; `housekeeping` runs the slow
//!   background loop.
//! - transport — `http` (REST routes, one module per resource) and
//!   `realtime` (Socket.IO handshakes and events; its `Hub` is the
//!   broadcaster services announce through).
//! - `state` — `AppState`: the services, handed to the transports.
//! - services, each a struct holding only the handles it uses:
//!   `rooms` (read and write rooms: lock, apply, compare-and-swap, announce),
//!   `player` (advances rooms when tracks end), `activities` (what account
//!   holders did, `feed:new`), `photos` (the wall and render jobs),
//!   `accounts` (sessions, profiles, follows, timelines), `providers`
//!   (Spotify: links, imports, catalogue, playback hand-off), `music` (the
//!   library and its import).
//! - foundations — `domain` (pure party rules and views, no I/O), `store`
//!   (embedded redb or MongoDB), `search` (query language, tantivy or
//!   Meilisearch, the indexer), `media` (photo bytes and pipeline),
//!   `broadcast` (the trait services announce through), `timetable`,
//!   `presence`, `limits`, `cache`, `locks` (in process, or in Redis through
//!   `redis`), `token`, `clock`, `qr`, `ids`, `config`, `error`, `codes`
//!   (every error code with its HTTP status).

pub mod accounts;
pub mod activities;
pub mod analytics;
pub mod app;
pub mod autopilot;
pub mod broadcast;
pub mod cache;
pub mod clock;
pub mod cluster_clock;
pub mod codes;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod fuzzing;
pub mod housekeeping;
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
pub mod telemetry;
pub mod timetable;
pub mod token;
pub mod venues;

mod launch;

pub use app::Server;
pub use launch::run;
