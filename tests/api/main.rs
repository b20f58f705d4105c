//! Integration tests: real servers on 127.0.0.1:0, driven over HTTP and
//! Socket.IO (websocket transport) like a phone would.

mod accounts;
mod authorization;
mod bad_input;
mod blob_conformance;
mod cache_conformance;
mod deploy;
mod disk;
mod faults;
mod freezer;
mod helpers;
mod limits;
mod meili_double;
mod multinode;
mod music_folders;
mod photos;
mod player;
mod providers;
mod realtime;
mod restart;
mod rooms;
mod search;
mod search_conformance;
mod secrets;
mod services;
mod spotify_fake;
mod store_conformance;
mod venues;
mod web;
