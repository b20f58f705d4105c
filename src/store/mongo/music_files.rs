//! `MusicFileStore` on MongoDB: `music_files` keyed by path, indexed by
//! track.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::doc;

use super::{MongoStore, classify, from_doc, to_doc};
use crate::domain::MusicFile;
use crate::store::{MusicFileStore, StoreResult};

pub(super) const COLLECTION: &str = "music_files";

#[async_trait]
impl MusicFileStore for MongoStore {
    async fn music_files(&self) -> StoreResult<Vec<MusicFile>> {
        let docs: Vec<_> = self
            .collection(COLLECTION)?
            .find(doc! {})
            .await
            .map_err(classify)?
            .try_collect()
            .await
            .map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn music_files_of(&self, track_id: &str) -> StoreResult<Vec<MusicFile>> {
        let found = self.collection(COLLECTION)?.find(doc! { "track_id": track_id }).await.map_err(classify)?;
        let docs: Vec<_> = found.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn put_music_file(&self, file: &MusicFile) -> StoreResult<()> {
        let doc = to_doc(&file.path, file)?;
        let files = self.collection(COLLECTION)?;
        files.replace_one(doc! { "_id": &file.path }, doc).upsert(true).await.map_err(classify)?;
        Ok(())
    }

    async fn delete_music_file(&self, path: &str) -> StoreResult<()> {
        self.collection(COLLECTION)?.delete_one(doc! { "_id": path }).await.map_err(classify)?;
        Ok(())
    }
}
