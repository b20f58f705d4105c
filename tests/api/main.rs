//! Integration tests: real servers on 127.0.0.1:0, driven over HTTP and
//! Socket.IO (websocket transport) like a phone would.

mod accounts;
mod bad_input;
mod blob_conformance;
mod deploy;
mod helpers;
mod meili_double;
mod multinode;
mod photos;
mod player;
mod realtime;
mod restart;
mod rooms;
mod search;
mod search_conformance;
mod services;
mod store_conformance;
mod web;
