//! The music library: the tracks a room can queue. Ships with a generated
//! demo catalogue so a fresh install is usable at once.

pub mod demo;
mod library;

pub use library::Library;
