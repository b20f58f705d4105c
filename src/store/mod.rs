//! Where rooms, history and the track library are kept. `Store` is the seam
//! between the party logic and a database: the embedded redb store ships
//! today, a MongoDB store drops in behind the same trait. Room writes are
//! compare-and-swap on the room's `version`, so any number of writers can
//! race and exactly one wins each version.

mod embedded;
mod mongo;

use async_trait::async_trait;

pub use embedded::EmbeddedStore;
pub use mongo::MongoStore;

use crate::domain::{Play, Room, Track};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stored version is no longer the one the write was based on.
    #[error("version conflict")]
    Conflict,
    /// A unique key (room code) is taken.
    #[error("duplicate key")]
    Duplicate,
    /// The database cannot be reached or refused the operation for now.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored bytes do not decode: a bug or a damaged file.
    #[error("corrupt record: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new room; `Duplicate` if its id or code is taken.
    async fn insert_room(&self, room: &Room) -> StoreResult<()>;
    async fn load_room(&self, id: &str) -> StoreResult<Option<Room>>;
    async fn room_id_by_code(&self, code: &str) -> StoreResult<Option<String>>;
    /// Replaces the room if the stored version is still `expected_version`
    /// (`Conflict` otherwise) and appends `plays` to its history, atomically.
    async fn save_room(&self, room: &Room, expected_version: u64, plays: &[Play]) -> StoreResult<()>;
    async fn delete_room(&self, id: &str) -> StoreResult<()>;
    async fn room_ids(&self) -> StoreResult<Vec<String>>;
    /// Plays of a room, newest first.
    async fn history(&self, room_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<Play>>;
    /// Inserts or replaces tracks by id.
    async fn put_tracks(&self, tracks: &[Track]) -> StoreResult<()>;
    async fn all_tracks(&self) -> StoreResult<Vec<Track>>;
    /// Releases the database; later calls answer `Unavailable`.
    async fn close(&self);
    /// Cheap round trip for the readiness probe.
    async fn ping(&self) -> StoreResult<()>;
}
