//! Where rooms, history and the track library are kept. `Store` is the seam
//! between the party logic and a database: the embedded redb store and the
//! MongoDB store implement it, and one conformance suite (tests/api/
//! store_conformance.rs) runs against both. Room writes are
//! compare-and-swap on the room's `version`, so any number of writers can
//! race and exactly one wins each version.
//!
//! Owns: `Store` (and `AccountStore`, `ProviderStore`, `VenueStore`,
//! `AnalyticsStore`, `CoLikeStore`) with the redb and
//! MongoDB implementations. May use: domain. Must not import: anything
//! above it.

mod accounts;
mod analytics;
mod co_likes;
mod embedded;
mod mongo;
mod music_files;
pub mod providers;
mod timed;
mod venues;

use async_trait::async_trait;

pub use accounts::{AccountStore, Before, FollowSide};
pub use analytics::AnalyticsStore;
pub use co_likes::CoLikeStore;
pub use embedded::EmbeddedStore;
pub use mongo::MongoStore;
pub use music_files::MusicFileStore;
pub use providers::ProviderStore;
pub use timed::Timed;
pub use venues::VenueStore;

use crate::domain::room::Members;
use crate::domain::{Millis, Photo, PhotoMark, PhotoStatus, Play, Room, Track};

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

/// A document whose search index entry is stale: the search outbox. The
/// indexer reads the document's current state from the store, so an item
/// says only *which* document changed, never what it became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxItem {
    pub index: String,
    pub id: String,
    /// Random, new each time a document is queued: tells a later queuing
    /// of the same document from the one an indexer took.
    pub stamp: u64,
}

/// What a room write does to the room's member list. Most changes (votes,
/// adds, track ends) leave it alone, and a room of a thousand guests should
/// not rewrite a thousand members for every vote: the stores keep the
/// member list apart from the rest of the room (embedded) or leave its
/// field out of the update (MongoDB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberList {
    /// The stored members stay as they are; `room.members` is not read.
    Unchanged,
    /// The stored members become `room.members`.
    Changed,
}

impl MemberList {
    /// `Changed` unless `after` is still the very copy `before` was
    /// (`Shared::make_mut` copies the list on its first change).
    pub fn between(before: &Members, after: &Members) -> Self {
        if after.is_same(before) { Self::Unchanged } else { Self::Changed }
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new room; `Duplicate` if its id or code is taken.
    async fn insert_room(&self, room: &Room) -> StoreResult<()>;
    async fn load_room(&self, id: &str) -> StoreResult<Option<Room>>;
    async fn room_id_by_code(&self, code: &str) -> StoreResult<Option<String>>;
    /// Replaces the room if the stored version is still `expected_version`
    /// (`Conflict` otherwise) and appends `plays` to its history, atomically.
    /// With `MemberList::Unchanged` the stored members stay as they are.
    async fn save_room(
        &self,
        room: &Room,
        expected_version: u64,
        plays: &[Play],
        members: MemberList,
    ) -> StoreResult<()>;
    async fn delete_room(&self, id: &str) -> StoreResult<()>;
    async fn room_ids(&self) -> StoreResult<Vec<String>>;
    /// Plays of a room, newest first.
    async fn history(&self, room_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<Play>>;
    /// Inserts or replaces tracks by id and queues them for the search
    /// index (in the same transaction where the database has one).
    async fn put_tracks(&self, tracks: &[Track]) -> StoreResult<()>;
    async fn track(&self, id: &str) -> StoreResult<Option<Track>>;
    /// The tracks of `ids` that exist, in no particular order.
    async fn tracks_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Track>>;
    /// Up to `limit` tracks in id order, after the id `after`.
    async fn tracks_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<Track>>;
    async fn track_count(&self) -> StoreResult<u64>;
    /// Queues documents of a search index for (re)indexing.
    async fn outbox_push(&self, index: &str, ids: &[String]) -> StoreResult<()>;
    /// Up to `limit` queued documents.
    async fn outbox(&self, limit: usize) -> StoreResult<Vec<OutboxItem>>;
    /// Removes items once indexed; an item queued again since it was read
    /// (another stamp) stays queued.
    async fn outbox_done(&self, items: &[OutboxItem]) -> StoreResult<()>;
    /// Removes every queued item of an index (a full reindex follows).
    async fn outbox_clear(&self, index: &str) -> StoreResult<()>;
    /// Stores a new photo; `Duplicate` if its id is taken.
    async fn insert_photo(&self, photo: &Photo) -> StoreResult<()>;
    async fn photo(&self, id: &str) -> StoreResult<Option<Photo>>;
    /// A room's photos, newest first (ties by id, descending), strictly
    /// older than the `before` cursor (`created_at`, `id`) of the last one seen.
    async fn room_photos(&self, room_id: &str, before: Option<(Millis, &str)>, limit: usize)
    -> StoreResult<Vec<Photo>>;
    /// Records the end of rendering (ready with its size, or failed) if the
    /// photo is still `processing`; `false` when it was not (already
    /// finished by another worker, or gone), so one worker announces it.
    async fn finish_photo(&self, id: &str, status: PhotoStatus, width: u32, height: u32) -> StoreResult<bool>;
    /// Up to `limit` photos still `processing` whose render lease ended
    /// before `now` (a job lost to a crash), oldest first.
    async fn processing_photos(&self, now: Millis, limit: usize) -> StoreResult<Vec<Photo>>;
    /// Takes the render job of a `processing` photo whose lease ended
    /// before `now`, until `until`; `false` if another worker holds it (or
    /// the photo is finished or gone), so each job runs on one worker.
    async fn claim_render(&self, id: &str, now: Millis, until: Millis) -> StoreResult<bool>;
    /// Adds (`on`) or removes a member's like or report, atomically; the
    /// photo after the change, `None` if there is no such photo.
    async fn mark_photo(&self, id: &str, mark: PhotoMark, member_id: &str, on: bool) -> StoreResult<Option<Photo>>;
    /// Removes a photo (a missing one is fine).
    async fn delete_photo(&self, id: &str) -> StoreResult<()>;
    /// The same database's account records.
    fn accounts(&self) -> &dyn AccountStore;
    /// The same database's music service links and jobs.
    fn providers(&self) -> &dyn ProviderStore;
    /// The same database's music folder files.
    fn music_files(&self) -> &dyn MusicFileStore;
    /// The same database's venues and staff invitations.
    fn venues(&self) -> &dyn VenueStore;
    /// The same database's venue analytics events.
    fn analytics(&self) -> &dyn AnalyticsStore;
    /// The same database's liked plays and co-like counts.
    fn co_likes(&self) -> &dyn CoLikeStore;
    /// Releases the database; later calls answer `Unavailable`.
    async fn close(&self);
    /// Cheap round trip for the readiness probe.
    async fn ping(&self) -> StoreResult<()>;
}
