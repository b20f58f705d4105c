//! `MusicFileStore` on redb: files by path, and a `{track_id}/{path}` index.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, decode, encode, unavailable};
use crate::domain::MusicFile;
use crate::store::{MusicFileStore, StoreResult};

const FILES: TableDefinition<&str, &[u8]> = TableDefinition::new("music_files");
/// Key `{track_id}/{path}`.
const BY_TRACK: TableDefinition<&str, ()> = TableDefinition::new("music_files_by_track");

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(FILES)?;
    txn.open_table(BY_TRACK)?;
    Ok(())
}

fn track_key(track_id: &str, path: &str) -> String {
    format!("{track_id}/{path}")
}

#[async_trait]
impl MusicFileStore for EmbeddedStore {
    async fn music_files(&self) -> StoreResult<Vec<MusicFile>> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(FILES).map_err(unavailable)?;
            let entries = table.iter().map_err(unavailable)?;
            entries.map(|entry| decode(entry.map_err(unavailable)?.1.value())).collect()
        })
        .await
    }

    async fn music_files_of(&self, track_id: &str) -> StoreResult<Vec<MusicFile>> {
        let prefix = format!("{track_id}/");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let (index, files) =
                (txn.open_table(BY_TRACK).map_err(unavailable)?, txn.open_table(FILES).map_err(unavailable)?);
            let mut found = Vec::new();
            for entry in index.range(prefix.as_str()..).map_err(unavailable)? {
                let key = entry.map_err(unavailable)?.0;
                let Some(path) = key.value().strip_prefix(prefix.as_str()) else { break };
                if let Some(bytes) = files.get(path).map_err(unavailable)? {
                    found.push(decode(bytes.value())?);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn put_music_file(&self, file: &MusicFile) -> StoreResult<()> {
        let (file, bytes) = (file.clone(), encode(file)?);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let (mut files, mut index) =
                    (txn.open_table(FILES).map_err(unavailable)?, txn.open_table(BY_TRACK).map_err(unavailable)?);
                let before = files.insert(file.path.as_str(), bytes.as_slice()).map_err(unavailable)?;
                if let Some(before) = before {
                    let before: MusicFile = decode(before.value())?;
                    index.remove(track_key(&before.track_id, &before.path).as_str()).map_err(unavailable)?;
                }
                index.insert(track_key(&file.track_id, &file.path).as_str(), ()).map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn delete_music_file(&self, path: &str) -> StoreResult<()> {
        let path = path.to_string();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let (mut files, mut index) =
                    (txn.open_table(FILES).map_err(unavailable)?, txn.open_table(BY_TRACK).map_err(unavailable)?);
                if let Some(before) = files.remove(path.as_str()).map_err(unavailable)? {
                    let before: MusicFile = decode(before.value())?;
                    index.remove(track_key(&before.track_id, &before.path).as_str()).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}
