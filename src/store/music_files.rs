//! What music folders need from the database: the files last scanned, by
//! path and by track. Its own trait beside `Store`, like `AccountStore`,
//! served by the same databases.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::MusicFile;

#[async_trait]
pub trait MusicFileStore: Send + Sync + 'static {
    /// Every file scanned so far (to find what changed or went away).
    async fn music_files(&self) -> StoreResult<Vec<MusicFile>>;
    /// The files holding a track's audio (several copies may exist).
    async fn music_files_of(&self, track_id: &str) -> StoreResult<Vec<MusicFile>>;
    /// Inserts or replaces the file at `file.path`.
    async fn put_music_file(&self, file: &MusicFile) -> StoreResult<()>;
    /// Forgets a file (a missing one is fine).
    async fn delete_music_file(&self, path: &str) -> StoreResult<()>;
}
