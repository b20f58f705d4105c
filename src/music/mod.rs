//! The music library: the tracks a room can queue. Ships with a generated
//! demo catalogue so a fresh install is usable at once; venues import their
//! own catalogue (`import`).

pub mod demo;
pub mod import;
mod library;

pub use library::seed_demo_if_empty;
