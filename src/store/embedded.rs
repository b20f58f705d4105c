//! The embedded store: one redb file in the data directory. Values are JSON
//! so a record can be read with any tool; every write is one ACID
//! transaction, which is what makes the room CAS atomic.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

mod accounts;
mod analytics;
mod co_likes;
mod handle;
mod music_files;
mod providers;
mod room_saves;
mod venues;

use super::{MemberList, OutboxItem, Store, StoreError, StoreResult};
use crate::domain::{Millis, Photo, PhotoMark, PhotoStatus, Play, Room, Track};

/// A room without its members (stored as `{}`): most writes leave them alone.
const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");
/// A room's members, written only by the changes that change them.
const ROOM_MEMBERS: TableDefinition<&str, &[u8]> = TableDefinition::new("room_members");
const ROOM_CODES: TableDefinition<&str, &str> = TableDefinition::new("room_codes");
/// Key: `{room_id}/{ended_at:020}/{entry_id}` so a prefix range is one room's
/// history in time order.
const HISTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("history");
const TRACKS: TableDefinition<&str, &[u8]> = TableDefinition::new("tracks");
const PHOTOS: TableDefinition<&str, &[u8]> = TableDefinition::new("photos");
/// Key `{room_id}/{created_at:020}/{photo_id}`: a room's wall in time order.
const ROOM_PHOTOS: TableDefinition<&str, ()> = TableDefinition::new("room_photos");
/// Ids of photos still `processing`.
const PROCESSING: TableDefinition<&str, ()> = TableDefinition::new("processing_photos");
/// Key `{user_id}/{created_at:020}/{photo_id}`: an account's photos.
const USER_PHOTOS: TableDefinition<&str, ()> = TableDefinition::new("user_photos");
/// Key `{created_at:020}/{photo_id}`: photos shared in public rooms.
const PUBLIC_PHOTOS: TableDefinition<&str, ()> = TableDefinition::new("public_photos");
/// Key `{index}/{id}`, value the stamp: documents waiting for the indexer.
const OUTBOX: TableDefinition<&str, u64> = TableDefinition::new("search_outbox");

/// The database is behind a `Handle`: closed for good by `close` (the
/// file lock is released even if other handles to the store live on, as in
/// tests that restart a server in one process), opened again after an I/O
/// error latched it.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<handle::Handle>,
    /// Room writes waiting for the next shared commit (`room_saves`).
    saves: Arc<room_saves::RoomSaves>,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The room as the `rooms` table keeps it: everything but the members.
fn room_record(room: &Room) -> StoreResult<Vec<u8>> {
    encode(&room.without_members())
}

/// Reads a room and its members, which are kept apart.
fn read_room(txn: &redb::ReadTransaction, id: &str) -> StoreResult<Option<Room>> {
    let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
    let Some(record) = rooms.get(id).map_err(unavailable)? else { return Ok(None) };
    let mut room: Room = decode(record.value())?;
    let members = txn.open_table(ROOM_MEMBERS).map_err(unavailable)?;
    let stored = members.get(id).map_err(unavailable)?;
    let stored = stored.ok_or_else(|| StoreError::Corrupt(format!("room {id} has no member list")))?;
    room.members = decode(stored.value())?;
    Ok(Some(room))
}

/// Rooms written before members were kept apart hold them inside: moves
/// them to their own table, once, when the store opens.
fn move_members_out(txn: &redb::WriteTransaction) -> anyhow::Result<()> {
    let mut rooms = txn.open_table(ROOMS)?;
    let mut members = txn.open_table(ROOM_MEMBERS)?;
    let mut moved = Vec::new();
    for row in rooms.iter()? {
        let (id, record) = row?;
        if members.get(id.value())?.is_none() {
            let room: Room = decode(record.value())?;
            moved.push((id.value().to_string(), room_record(&room)?, encode(&room.members)?));
        }
    }
    for (id, record, list) in &moved {
        rooms.insert(id.as_str(), record.as_slice())?;
        members.insert(id.as_str(), list.as_slice())?;
    }
    Ok(())
}

/// The part of a stored room the compare-and-swap reads.
#[derive(serde::Deserialize)]
struct StoredVersion {
    version: u64,
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl EmbeddedStore {
    /// Opens (or creates) `crowdjuke.redb` in `dir` and its tables.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("crowdjuke.redb");
        let db = Database::create(&path)?;
        let txn = db.begin_write()?;
        txn.open_table(ROOMS)?;
        txn.open_table(ROOM_MEMBERS)?;
        move_members_out(&txn)?;
        txn.open_table(ROOM_CODES)?;
        txn.open_table(HISTORY)?;
        txn.open_table(TRACKS)?;
        txn.open_table(OUTBOX)?;
        txn.open_table(PHOTOS)?;
        txn.open_table(ROOM_PHOTOS)?;
        txn.open_table(USER_PHOTOS)?;
        txn.open_table(PUBLIC_PHOTOS)?;
        txn.open_table(PROCESSING)?;
        accounts::open_tables(&txn)?;
        providers::open_tables(&txn)?;
        venues::open_tables(&txn)?;
        analytics::open_tables(&txn)?;
        co_likes::open_tables(&txn)?;
        music_files::open_tables(&txn)?;
        txn.commit()?;
        Ok(Self { db: Arc::new(handle::Handle::new(path, db)), saves: Arc::default() })
    }

    /// Runs blocking redb work off the async runtime.
    async fn blocking<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> StoreResult<T> + Send + 'static,
    {
        let handle = self.db.clone();
        let call = move || {
            let db = handle.get()?;
            let result = work(&db);
            if let Err(StoreError::Unavailable(_)) = &result {
                handle.recover(&db);
            }
            result
        };
        tokio::task::spawn_blocking(call).await.map_err(unavailable)?
    }
}

fn wall_key(room_id: &str, created_at: Millis, photo_id: &str) -> String {
    format!("{room_id}/{created_at:020}/{photo_id}")
}

/// Adds (`listed`) or removes a photo's entries in the wall, account and
/// public-feed tables.
fn list_photo(txn: &redb::WriteTransaction, photo: &Photo, listed: bool) -> StoreResult<()> {
    let mut keys = vec![(ROOM_PHOTOS, wall_key(&photo.room_id, photo.created_at, &photo.id))];
    if let Some(user_id) = &photo.user_id {
        keys.push((USER_PHOTOS, wall_key(user_id, photo.created_at, &photo.id)));
    }
    if photo.public {
        keys.push((PUBLIC_PHOTOS, format!("{:020}/{}", photo.created_at, photo.id)));
    }
    if photo.status == PhotoStatus::Processing {
        keys.push((PROCESSING, photo.id.clone()));
    }
    for (table, key) in keys {
        let mut table = txn.open_table(table).map_err(unavailable)?;
        if listed {
            table.insert(key.as_str(), ()).map_err(unavailable)?;
        } else {
            table.remove(key.as_str()).map_err(unavailable)?;
        }
    }
    Ok(())
}

/// Up to `limit` photos from a time-ordered key table, newest first, in the
/// key range `from..to`.
fn photos_in(
    db: &Database,
    table: TableDefinition<&str, ()>,
    from: &str,
    to: &str,
    limit: usize,
) -> StoreResult<Vec<Photo>> {
    let txn = db.begin_read().map_err(unavailable)?;
    let keys = txn.open_table(table).map_err(unavailable)?;
    let photos = txn.open_table(PHOTOS).map_err(unavailable)?;
    let mut out = Vec::new();
    for row in keys.range(from..to).map_err(unavailable)?.rev().take(limit) {
        let (key, _) = row.map_err(unavailable)?;
        let id = key.value().rsplit('/').next().unwrap_or_default().to_string();
        if let Some(v) = photos.get(id.as_str()).map_err(unavailable)? {
            out.push(decode(v.value())?);
        }
    }
    Ok(out)
}

/// Reads, changes and writes back one photo in a write transaction.
fn change_photo(
    db: &Database,
    id: &str,
    change: impl FnOnce(&redb::WriteTransaction, &mut Photo) -> StoreResult<()>,
) -> StoreResult<Option<Photo>> {
    let txn = db.begin_write().map_err(unavailable)?;
    let photo = {
        let mut photos = txn.open_table(PHOTOS).map_err(unavailable)?;
        let mut photo: Photo = match photos.get(id).map_err(unavailable)? {
            Some(v) => decode(v.value())?,
            None => return Ok(None),
        };
        change(&txn, &mut photo)?;
        photos.insert(id, encode(&photo)?.as_slice()).map_err(unavailable)?;
        photo
    };
    txn.commit().map_err(unavailable)?;
    Ok(Some(photo))
}

fn history_key(room_id: &str, play: &Play) -> String {
    format!("{room_id}/{:020}/{}", play.ended_at, play.entry_id)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn insert_room(&self, room: &Room) -> StoreResult<()> {
        let (bytes, list, room) = (room_record(room)?, encode(&room.members)?, room.clone());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut codes = txn.open_table(ROOM_CODES).map_err(unavailable)?;
                let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                let taken = codes.get(room.code.as_str()).map_err(unavailable)?.is_some()
                    || rooms.get(room.id.as_str()).map_err(unavailable)?.is_some();
                if taken {
                    return Err(StoreError::Duplicate);
                }
                codes.insert(room.code.as_str(), room.id.as_str()).map_err(unavailable)?;
                rooms.insert(room.id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                let mut members = txn.open_table(ROOM_MEMBERS).map_err(unavailable)?;
                members.insert(room.id.as_str(), list.as_slice()).map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn load_room(&self, id: &str) -> StoreResult<Option<Room>> {
        let id = id.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            read_room(&txn, &id)
        })
        .await
    }

    async fn room_id_by_code(&self, code: &str) -> StoreResult<Option<String>> {
        let code = code.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let codes = txn.open_table(ROOM_CODES).map_err(unavailable)?;
            let found = codes.get(code.as_str()).map_err(unavailable)?;
            Ok(found.map(|v| v.value().to_string()))
        })
        .await
    }

    async fn save_room(
        &self,
        room: &Room,
        expected_version: u64,
        plays: &[Play],
        members: MemberList,
    ) -> StoreResult<()> {
        let bytes = room_record(room)?;
        let list = match members {
            MemberList::Changed => Some(encode(&room.members)?),
            MemberList::Unchanged => None,
        };
        let id = room.id.clone();
        let plays: Vec<(String, Vec<u8>)> =
            plays.iter().map(|p| Ok((history_key(&id, p), encode(p)?))).collect::<StoreResult<_>>()?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let save = room_saves::RoomSave { id, expected_version, record: bytes, members: list, plays, answer };
        if self.saves.push(save) {
            let writer = room_saves::Writer::new(self.saves.clone(), self.db.clone());
            tokio::task::spawn_blocking(move || writer.run());
        }
        answered.await.map_err(unavailable)?
    }

    async fn delete_room(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                let code = match rooms.remove(id.as_str()).map_err(unavailable)? {
                    Some(v) => decode::<Room>(v.value())?.code,
                    None => return Ok(()),
                };
                txn.open_table(ROOM_CODES).map_err(unavailable)?.remove(code.as_str()).map_err(unavailable)?;
                txn.open_table(ROOM_MEMBERS).map_err(unavailable)?.remove(id.as_str()).map_err(unavailable)?;
                let (from, to) = (format!("{id}/"), format!("{id}0"));
                let mut history = txn.open_table(HISTORY).map_err(unavailable)?;
                history.retain_in(from.as_str()..to.as_str(), |_, _| false).map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn room_ids(&self) -> StoreResult<Vec<String>> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
            let ids = rooms.iter().map_err(unavailable)?;
            ids.map(|row| row.map(|(k, _)| k.value().to_string()).map_err(unavailable)).collect()
        })
        .await
    }

    async fn history(&self, room_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<Play>> {
        let (from, to) = (format!("{room_id}/"), format!("{room_id}0"));
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let history = txn.open_table(HISTORY).map_err(unavailable)?;
            let rows = history.range(from.as_str()..to.as_str()).map_err(unavailable)?;
            rows.rev().skip(offset).take(limit).map(|row| decode(row.map_err(unavailable)?.1.value())).collect()
        })
        .await
    }

    async fn put_tracks(&self, tracks: &[Track]) -> StoreResult<()> {
        let rows: Vec<(String, Vec<u8>)> =
            tracks.iter().map(|t| Ok((t.id.clone(), encode(t)?))).collect::<StoreResult<_>>()?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(TRACKS).map_err(unavailable)?;
                let mut outbox = txn.open_table(OUTBOX).map_err(unavailable)?;
                for (id, bytes) in &rows {
                    table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
                    outbox.insert(format!("tracks/{id}").as_str(), rand::random::<u64>()).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn track(&self, id: &str) -> StoreResult<Option<Track>> {
        Ok(self.tracks_by_ids(&[id.to_string()]).await?.pop())
    }

    async fn tracks_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Track>> {
        let ids = ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TRACKS).map_err(unavailable)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(v) = table.get(id.as_str()).map_err(unavailable)? {
                    out.push(decode(v.value())?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn tracks_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<Track>> {
        let after = after.map(str::to_string);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(TRACKS).map_err(unavailable)?;
            let rows = match &after {
                Some(a) => table.range::<&str>((std::ops::Bound::Excluded(a.as_str()), std::ops::Bound::Unbounded)),
                None => table.range::<&str>(..),
            }
            .map_err(unavailable)?;
            rows.take(limit).map(|row| decode(row.map_err(unavailable)?.1.value())).collect()
        })
        .await
    }

    async fn track_count(&self) -> StoreResult<u64> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            txn.open_table(TRACKS).map_err(unavailable)?.len().map_err(unavailable)
        })
        .await
    }

    async fn outbox_push(&self, index: &str, ids: &[String]) -> StoreResult<()> {
        let keys: Vec<String> = ids.iter().map(|id| format!("{index}/{id}")).collect();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut outbox = txn.open_table(OUTBOX).map_err(unavailable)?;
                for key in &keys {
                    outbox.insert(key.as_str(), rand::random::<u64>()).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn outbox(&self, limit: usize) -> StoreResult<Vec<OutboxItem>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let outbox = txn.open_table(OUTBOX).map_err(unavailable)?;
            let mut items = Vec::new();
            for row in outbox.iter().map_err(unavailable)?.take(limit) {
                let (key, stamp) = row.map_err(unavailable)?;
                let (index, id) = key.value().split_once('/').unwrap_or(("", key.value()));
                items.push(OutboxItem { index: index.to_string(), id: id.to_string(), stamp: stamp.value() });
            }
            Ok(items)
        })
        .await
    }

    async fn outbox_done(&self, items: &[OutboxItem]) -> StoreResult<()> {
        let items = items.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut outbox = txn.open_table(OUTBOX).map_err(unavailable)?;
                for item in &items {
                    let key = format!("{}/{}", item.index, item.id);
                    let current = outbox.get(key.as_str()).map_err(unavailable)?.map(|v| v.value());
                    if current == Some(item.stamp) {
                        outbox.remove(key.as_str()).map_err(unavailable)?;
                    }
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn outbox_clear(&self, index: &str) -> StoreResult<()> {
        let (from, to) = (format!("{index}/"), format!("{index}0"));
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            txn.open_table(OUTBOX)
                .map_err(unavailable)?
                .retain_in(from.as_str()..to.as_str(), |_, _| false)
                .map_err(unavailable)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn insert_photo(&self, photo: &Photo) -> StoreResult<()> {
        let (bytes, photo) = (encode(photo)?, photo.clone());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut photos = txn.open_table(PHOTOS).map_err(unavailable)?;
                if photos.get(photo.id.as_str()).map_err(unavailable)?.is_some() {
                    return Err(StoreError::Duplicate);
                }
                photos.insert(photo.id.as_str(), bytes.as_slice()).map_err(unavailable)?;
            }
            list_photo(&txn, &photo, true)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn photo(&self, id: &str) -> StoreResult<Option<Photo>> {
        let id = id.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let photos = txn.open_table(PHOTOS).map_err(unavailable)?;
            let found = photos.get(id.as_str()).map_err(unavailable)?;
            found.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn room_photos(
        &self,
        room_id: &str,
        before: Option<(Millis, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<Photo>> {
        let from = format!("{room_id}/");
        let to = match before {
            Some((at, id)) => wall_key(room_id, at, id),
            None => format!("{room_id}0"),
        };
        self.blocking(move |db| photos_in(db, ROOM_PHOTOS, &from, &to, limit)).await
    }

    async fn finish_photo(&self, id: &str, status: PhotoStatus, width: u32, height: u32) -> StoreResult<bool> {
        let id = id.to_string();
        self.blocking(move |db| {
            let mut finished = false;
            change_photo(db, &id, |txn, p| {
                if p.status == PhotoStatus::Processing {
                    (p.status, p.width, p.height, finished) = (status, width, height, true);
                    txn.open_table(PROCESSING).map_err(unavailable)?.remove(id.as_str()).map_err(unavailable)?;
                }
                Ok(())
            })?;
            Ok(finished)
        })
        .await
    }

    async fn processing_photos(&self, now: Millis, limit: usize) -> StoreResult<Vec<Photo>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let waiting = txn.open_table(PROCESSING).map_err(unavailable)?;
            let photos = txn.open_table(PHOTOS).map_err(unavailable)?;
            let mut found = Vec::new();
            for row in waiting.iter().map_err(unavailable)? {
                let (id, _) = row.map_err(unavailable)?;
                if let Some(v) = photos.get(id.value()).map_err(unavailable)? {
                    let photo: Photo = decode(v.value())?;
                    if photo.render_lease_until < now {
                        found.push(photo);
                    }
                }
            }
            found.sort_by_key(|p| p.created_at);
            found.truncate(limit);
            Ok(found)
        })
        .await
    }

    async fn claim_render(&self, id: &str, now: Millis, until: Millis) -> StoreResult<bool> {
        let id = id.to_string();
        self.blocking(move |db| {
            let mut claimed = false;
            change_photo(db, &id, |_, p| {
                if p.status == PhotoStatus::Processing && p.render_lease_until < now {
                    (p.render_lease_until, claimed) = (until, true);
                }
                Ok(())
            })?;
            Ok(claimed)
        })
        .await
    }

    async fn mark_photo(&self, id: &str, mark: PhotoMark, member_id: &str, on: bool) -> StoreResult<Option<Photo>> {
        let (id, member_id) = (id.to_string(), member_id.to_string());
        self.blocking(move |db| {
            change_photo(db, &id, |_, p| {
                let members = mark.members(p);
                let has = members.contains(&member_id);
                if on && !has {
                    members.push(member_id);
                } else if !on && has {
                    members.retain(|m| m != &member_id);
                }
                Ok(())
            })
        })
        .await
    }

    async fn delete_photo(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut photos = txn.open_table(PHOTOS).map_err(unavailable)?;
                let removed: Option<Photo> =
                    photos.remove(id.as_str()).map_err(unavailable)?.map(|v| decode(v.value())).transpose()?;
                if let Some(photo) = removed {
                    list_photo(&txn, &photo, false)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    fn accounts(&self) -> &dyn crate::store::AccountStore {
        self
    }

    fn providers(&self) -> &dyn crate::store::ProviderStore {
        self
    }

    fn music_files(&self) -> &dyn crate::store::MusicFileStore {
        self
    }

    fn venues(&self) -> &dyn crate::store::VenueStore {
        self
    }

    fn analytics(&self) -> &dyn crate::store::AnalyticsStore {
        self
    }

    fn co_likes(&self) -> &dyn crate::store::CoLikeStore {
        self
    }

    async fn close(&self) {
        self.db.close();
    }

    async fn ping(&self) -> StoreResult<()> {
        self.blocking(|db| db.begin_read().map(|_| ()).map_err(unavailable)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Member, Role, Rules};

    fn guest(id: &str) -> Member {
        Member::new(id.into(), id.into(), Role::Guest, 1)
    }

    #[tokio::test]
    async fn rooms_stored_with_their_members_inside_are_moved_apart_on_open() {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let mut room = Room::new("r1".into(), "ABCDEF".into(), "Old".into(), guest("h"), Rules::default(), 1);
        room.members.make_mut().insert("g".into(), guest("g"));
        // As an older version wrote it: the whole room, members inside.
        {
            let db = Database::create(dir.path().join("crowdjuke.redb")).expect("db");
            let txn = db.begin_write().expect("txn");
            let bytes = encode(&room).expect("encode");
            txn.open_table(ROOMS).expect("rooms").insert("r1", bytes.as_slice()).expect("insert");
            txn.open_table(ROOM_CODES).expect("codes").insert("ABCDEF", "r1").expect("insert");
            txn.commit().expect("commit");
        }
        let store = EmbeddedStore::open(dir.path()).expect("opens");
        assert_eq!(store.load_room("r1").await.expect("load"), Some(room.clone()));
        // A write that leaves the members alone keeps them.
        room.version += 1;
        room.name = "New".into();
        store.save_room(&room, 1, &[], MemberList::Unchanged).await.expect("save");
        assert_eq!(store.load_room("r1").await.expect("load"), Some(room));
    }
}
