//! The music library: the tracks a room can queue. Ships with a generated
//! demo catalogue so a fresh install is usable at once; venues import their
//! own catalogue (`import`).
//!
//! Owns: the library (seeding, `tracks_in_order`) and catalogue import.
//! May use: domain, error, store. Must not import: other services, state,
//! transport.

pub mod demo;
pub mod folders;
pub mod import;
mod library;

pub use library::{seed_demo_if_empty, tracks_in_order};
