//! The scale-out store: MongoDB, or any service that speaks its wire protocol
//! (Cosmos DB's MongoDB API, FerretDB). Only plain CRUD, filtered updates and
//! indexes are used: no change streams, no transactions.
//!
//! Collections:
//! - `rooms`: one document per room aggregate (`_id` = room id, members,
//!   queue, votes and player inside), unique index on `code`. The
//!   compare-and-swap is `replaceOne({_id, version: expected}, room)`, or
//!   `updateOne` with `$set` of every field but `members` for the writes
//!   that leave the members alone (votes, adds, track ends).
//! - `history`: one document per play, `_id` = `{room_id}/{entry_id}` so a
//!   retried write cannot duplicate a play; index `{room_id, ended_at}`.
//! - `tracks`: the library, `_id` = track id.
//! - `settings`: `token_secret`, shared by every node.

mod accounts;
mod analytics;
mod co_likes;
mod music_files;
mod providers;
mod venues;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{self, Document, doc};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{MemberList, OutboxItem, Store, StoreError, StoreResult};
use crate::domain::{Millis, Photo, PhotoMark, PhotoStatus, Play, Room, Track};

/// How long an operation waits for a reachable server before answering
/// `unavailable`: short, so a database outage is an error ack, not a hang.
const SERVER_WAIT: Duration = Duration::from_secs(2);
const DUPLICATE_KEY: i32 = 11000;

#[derive(Clone)]
pub struct MongoStore {
    client: Client,
    db: Database,
    closed: Arc<AtomicBool>,
}

fn classify(e: MongoError) -> StoreError {
    if is_duplicate(&e) { StoreError::Duplicate } else { StoreError::Unavailable(e.to_string()) }
}

fn is_duplicate(e: &MongoError) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(m) => m.write_errors.iter().flatten().any(|w| w.code == DUPLICATE_KEY),
        _ => false,
    }
}

/// The `_id` of an outbox event.
fn outbox_key(item: &OutboxItem) -> String {
    format!("{}/{}/{:016x}", item.index, item.id, item.stamp)
}

/// An `insertMany` that failed only on duplicate keys.
fn only_duplicates(e: &MongoError) -> bool {
    match e.kind.as_ref() {
        ErrorKind::InsertMany(m) => {
            m.write_concern_error.is_none() && m.write_errors.iter().flatten().all(|w| w.code == DUPLICATE_KEY)
        }
        _ => false,
    }
}

/// Positions of the documents an `insertMany` refused as duplicates.
fn duplicate_indexes(e: &MongoError) -> Vec<usize> {
    match e.kind.as_ref() {
        ErrorKind::InsertMany(m) => m.write_errors.iter().flatten().map(|w| w.index).collect(),
        _ => Vec::new(),
    }
}

/// The update of a room's document.
enum RoomWrite {
    /// The whole room, members included.
    Replace(Document),
    /// Every field but the members.
    Set(Document),
}

fn to_doc<T: Serialize>(id: &str, value: &T) -> StoreResult<Document> {
    let mut doc = bson::to_document(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    doc.insert("_id", id);
    Ok(doc)
}

fn from_doc<T: DeserializeOwned>(mut doc: Document) -> StoreResult<T> {
    doc.remove("_id");
    bson::from_document(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn play_doc(room_id: &str, play: &Play) -> StoreResult<Document> {
    let mut doc = to_doc(&format!("{room_id}/{}", play.entry_id), play)?;
    doc.insert("room_id", room_id);
    Ok(doc)
}

impl MongoStore {
    /// Connects to `uri`, uses database `db_name` and creates the indexes.
    pub async fn connect(uri: &str, db_name: &str) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(uri).await?;
        options.app_name.get_or_insert_with(|| "crowdjuke".into());
        options.server_selection_timeout.get_or_insert(SERVER_WAIT);
        options.connect_timeout.get_or_insert(SERVER_WAIT);
        let client = Client::with_options(options)?;
        let db = client.database(db_name);
        let store = Self { client, db, closed: Arc::default() };
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> anyhow::Result<()> {
        let unique = IndexOptions::builder().unique(true).name("code_unique".to_string()).build();
        self.rooms()?.create_index(IndexModel::builder().keys(doc! { "code": 1 }).options(unique).build()).await?;
        let by_room = IndexOptions::builder().name("room_time".to_string()).build();
        let keys = doc! { "room_id": 1, "ended_at": -1 };
        self.history()?.create_index(IndexModel::builder().keys(keys).options(by_room).build()).await?;
        let wall = IndexOptions::builder().name("room_wall".to_string()).build();
        let keys = doc! { "room_id": 1, "created_at": -1, "_id": -1 };
        self.photos()?.create_index(IndexModel::builder().keys(keys).options(wall).build()).await?;
        let status = IndexOptions::builder().name("status".to_string()).build();
        self.photos()?.create_index(IndexModel::builder().keys(doc! { "status": 1 }).options(status).build()).await?;
        self.create_account_indexes().await?;
        let by_track = IndexOptions::builder().name("track".to_string()).build();
        let files = self.collection(music_files::COLLECTION)?;
        files.create_index(IndexModel::builder().keys(doc! { "track_id": 1 }).options(by_track).build()).await?;
        let catalogue = IndexOptions::builder().name("venue_track".to_string()).build();
        let keys = doc! { "venue_id": 1, "track_id": 1 };
        self.collection("venue_catalogue")?
            .create_index(IndexModel::builder().keys(keys).options(catalogue).build())
            .await?;
        self.create_analytics_indexes().await?;
        self.create_co_like_indexes().await?;
        Ok(())
    }

    /// Inserts new tracks in one `insertMany`, then replaces the ones that
    /// already existed.
    async fn write_tracks(&self, tracks: &[Track]) -> StoreResult<()> {
        let docs = tracks.iter().map(|t| to_doc(&t.id, t)).collect::<StoreResult<Vec<_>>>()?;
        let existing: Vec<usize> = match self.tracks()?.insert_many(docs.clone()).ordered(false).await {
            Ok(_) => return Ok(()),
            Err(e) if only_duplicates(&e) => duplicate_indexes(&e),
            Err(e) => return Err(classify(e)),
        };
        for index in existing {
            let filter = doc! { "_id": tracks[index].id.as_str() };
            self.tracks()?.replace_one(filter, docs[index].clone()).upsert(true).await.map_err(classify)?;
        }
        Ok(())
    }

    /// The database, for what lives beside the store (GridFS media).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// A collection, or `Unavailable` once the store is closed.
    fn collection(&self, name: &str) -> StoreResult<Collection<Document>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        Ok(self.db.collection(name))
    }

    fn rooms(&self) -> StoreResult<Collection<Document>> {
        self.collection("rooms")
    }

    fn history(&self) -> StoreResult<Collection<Document>> {
        self.collection("history")
    }

    fn tracks(&self) -> StoreResult<Collection<Document>> {
        self.collection("tracks")
    }

    fn photos(&self) -> StoreResult<Collection<Document>> {
        self.collection("photos")
    }

    /// The token-signing secret every node must share: the first node to
    /// start stores `candidate`, every node returns the stored one.
    pub async fn shared_secret(&self, candidate: &[u8]) -> anyhow::Result<Vec<u8>> {
        let settings = self.collection("settings")?;
        let value = bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: candidate.to_vec() };
        if let Err(e) = settings.insert_one(doc! { "_id": "token_secret", "value": value }).await
            && !is_duplicate(&e)
        {
            return Err(e.into());
        }
        let stored = settings.find_one(doc! { "_id": "token_secret" }).await?;
        let stored = stored.ok_or_else(|| anyhow::anyhow!("the token secret vanished"))?;
        Ok(stored.get_binary_generic("value")?.clone())
    }

    #[tracing::instrument(level = "debug", name = "mongo.upsert_plays", skip_all)]
    async fn upsert_plays(&self, room_id: &str, plays: &[Play]) -> StoreResult<()> {
        for play in plays {
            let doc = play_doc(room_id, play)?;
            let id = doc.get_str("_id").map_err(|e| StoreError::Corrupt(e.to_string()))?.to_string();
            self.history()?.replace_one(doc! { "_id": id }, doc).upsert(true).await.map_err(classify)?;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for MongoStore {
    #[tracing::instrument(level = "debug", name = "mongo.insert_room", skip_all)]
    async fn insert_room(&self, room: &Room) -> StoreResult<()> {
        self.rooms()?.insert_one(to_doc(&room.id, room)?).await.map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", name = "mongo.load_room", skip_all)]
    async fn load_room(&self, id: &str) -> StoreResult<Option<Room>> {
        let found = self.rooms()?.find_one(doc! { "_id": id }).await.map_err(classify)?;
        found.map(from_doc).transpose()
    }

    #[tracing::instrument(level = "debug", name = "mongo.room_id_by_code", skip_all)]
    async fn room_id_by_code(&self, code: &str) -> StoreResult<Option<String>> {
        let found = self.rooms()?.find_one(doc! { "code": code }).projection(doc! { "_id": 1 }).await;
        let found = found.map_err(classify)?;
        Ok(found.and_then(|d| d.get_str("_id").ok().map(str::to_string)))
    }

    /// Plays are upserted before the room so a crash between the two writes
    /// can leave a play whose room write was lost, never a committed room
    /// whose plays are missing; their ids make a retry overwrite, not add.
    ///
    /// A write that leaves the members alone sets every other field and
    /// leaves `members` out (every field of a room is always serialized, so
    /// this is a replacement of all but the members).
    #[tracing::instrument(level = "debug", name = "mongo.save_room", skip_all)]
    async fn save_room(
        &self,
        room: &Room,
        expected_version: u64,
        plays: &[Play],
        members: MemberList,
    ) -> StoreResult<()> {
        let expected = i64::try_from(expected_version).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let write = match members {
            MemberList::Changed => RoomWrite::Replace(to_doc(&room.id, room)?),
            MemberList::Unchanged => {
                let mut fields = to_doc(&room.id, &room.without_members())?;
                fields.remove("_id");
                fields.remove("members");
                RoomWrite::Set(fields)
            }
        };
        self.upsert_plays(&room.id, plays).await?;
        let filter = doc! { "_id": room.id.as_str(), "version": expected };
        let result = match write {
            RoomWrite::Replace(doc) => self.rooms()?.replace_one(filter, doc).await,
            RoomWrite::Set(fields) => self.rooms()?.update_one(filter, doc! { "$set": fields }).await,
        };
        let result = result.map_err(classify)?;
        if result.matched_count == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    async fn delete_room(&self, id: &str) -> StoreResult<()> {
        self.rooms()?.delete_one(doc! { "_id": id }).await.map_err(classify)?;
        self.history()?.delete_many(doc! { "room_id": id }).await.map_err(classify)?;
        Ok(())
    }

    async fn room_ids(&self) -> StoreResult<Vec<String>> {
        let cursor = self.rooms()?.find(doc! {}).projection(doc! { "_id": 1 }).await.map_err(classify)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        Ok(docs.iter().filter_map(|d| d.get_str("_id").ok().map(str::to_string)).collect())
    }

    async fn history(&self, room_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<Play>> {
        let (skip, limit) = (offset as u64, i64::try_from(limit).unwrap_or(i64::MAX));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sort = doc! { "ended_at": -1, "_id": -1 };
        let cursor = self.history()?.find(doc! { "room_id": room_id }).sort(sort).skip(skip).limit(limit).await;
        let docs: Vec<Document> = cursor.map_err(classify)?.try_collect().await.map_err(classify)?;
        docs.into_iter()
            .map(|mut d| {
                d.remove("room_id");
                from_doc(d)
            })
            .collect()
    }

    /// One `insertMany` for new tracks; tracks that already exist are
    /// replaced one by one (re-imports are rare, first imports are big).
    /// Without a transaction, the tracks are queued for the search index
    /// before the write (so a crash cannot lose the change) and again after
    /// it (so an indexer that read the first stamp cannot mark the new state
    /// as indexed).
    async fn put_tracks(&self, tracks: &[Track]) -> StoreResult<()> {
        if tracks.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = tracks.iter().map(|t| t.id.clone()).collect();
        self.outbox_push("tracks", &ids).await?;
        self.write_tracks(tracks).await?;
        self.outbox_push("tracks", &ids).await
    }

    #[tracing::instrument(level = "debug", name = "mongo.track", skip_all)]
    async fn track(&self, id: &str) -> StoreResult<Option<Track>> {
        let found = self.tracks()?.find_one(doc! { "_id": id }).await.map_err(classify)?;
        found.map(from_doc).transpose()
    }

    async fn tracks_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Track>> {
        let cursor = self.tracks()?.find(doc! { "_id": { "$in": ids } }).await.map_err(classify)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn tracks_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<Track>> {
        let filter = match after {
            Some(after) => doc! { "_id": { "$gt": after } },
            None => doc! {},
        };
        let cursor = self.tracks()?.find(filter).sort(doc! { "_id": 1 }).limit(limit as i64).await.map_err(classify)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn track_count(&self) -> StoreResult<u64> {
        self.tracks()?.count_documents(doc! {}).await.map_err(classify)
    }

    /// Appends one event per document (`_id` = `{index}/{id}/{stamp}`):
    /// a document queued twice is two events, so one taken by an indexer
    /// never hides a later one, and removal is a plain `$in` on `_id`.
    #[tracing::instrument(level = "debug", name = "mongo.outbox_push", skip_all)]
    async fn outbox_push(&self, index: &str, ids: &[String]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let item = |id: &String| OutboxItem { index: index.into(), id: id.clone(), stamp: rand::random() };
        let docs = ids.iter().map(item).map(|i| doc! { "_id": outbox_key(&i), "index": i.index, "doc_id": i.id });
        self.collection("search_outbox")?.insert_many(docs).ordered(false).await.map_err(classify)?;
        Ok(())
    }

    async fn outbox(&self, limit: usize) -> StoreResult<Vec<OutboxItem>> {
        let cursor = self.collection("search_outbox")?.find(doc! {}).limit(limit as i64).await.map_err(classify)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        let item = |d: &Document| -> Option<OutboxItem> {
            let stamp = d.get_str("_id").ok()?.rsplit('/').next()?;
            Some(OutboxItem {
                index: d.get_str("index").ok()?.to_string(),
                id: d.get_str("doc_id").ok()?.to_string(),
                stamp: u64::from_str_radix(stamp, 16).ok()?,
            })
        };
        Ok(docs.iter().filter_map(item).collect())
    }

    async fn outbox_done(&self, items: &[OutboxItem]) -> StoreResult<()> {
        if items.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = items.iter().map(outbox_key).collect();
        self.collection("search_outbox")?.delete_many(doc! { "_id": { "$in": keys } }).await.map_err(classify)?;
        Ok(())
    }

    async fn outbox_clear(&self, index: &str) -> StoreResult<()> {
        self.collection("search_outbox")?.delete_many(doc! { "index": index }).await.map_err(classify)?;
        Ok(())
    }

    async fn insert_photo(&self, photo: &Photo) -> StoreResult<()> {
        match self.photos()?.insert_one(to_doc(&photo.id, photo)?).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Err(StoreError::Duplicate),
            Err(e) => Err(classify(e)),
        }
    }

    async fn photo(&self, id: &str) -> StoreResult<Option<Photo>> {
        let found = self.photos()?.find_one(doc! { "_id": id }).await.map_err(classify)?;
        found.map(from_doc).transpose()
    }

    async fn room_photos(
        &self,
        room_id: &str,
        before: Option<(Millis, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<Photo>> {
        let filter = match before {
            Some((at, id)) => doc! { "room_id": room_id, "$or": [
                { "created_at": { "$lt": at as i64 } },
                { "created_at": at as i64, "_id": { "$lt": id } },
            ] },
            None => doc! { "room_id": room_id },
        };
        let sort = doc! { "created_at": -1, "_id": -1 };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self.photos()?.find(filter).sort(sort).limit(limit).await.map_err(classify)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn finish_photo(&self, id: &str, status: PhotoStatus, width: u32, height: u32) -> StoreResult<bool> {
        let status = bson::to_bson(&status).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let update = doc! { "$set": { "status": status, "width": width as i64, "height": height as i64 } };
        let filter = doc! { "_id": id, "status": "processing" };
        let done = self.photos()?.update_one(filter, update).await.map_err(classify)?;
        Ok(done.modified_count == 1)
    }

    async fn processing_photos(&self, now: Millis, limit: usize) -> StoreResult<Vec<Photo>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let filter = doc! { "status": "processing", "render_lease_until": { "$lt": now as i64 } };
        let cursor = self.photos()?.find(filter).sort(doc! { "created_at": 1 }).limit(limit).await.map_err(classify)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn claim_render(&self, id: &str, now: Millis, until: Millis) -> StoreResult<bool> {
        let filter = doc! { "_id": id, "status": "processing", "render_lease_until": { "$lt": now as i64 } };
        let update = doc! { "$set": { "render_lease_until": until as i64 } };
        let done = self.photos()?.update_one(filter, update).await.map_err(classify)?;
        Ok(done.modified_count == 1)
    }

    /// `$addToSet` / `$pull`: two members liking at once both count.
    async fn mark_photo(&self, id: &str, mark: PhotoMark, member_id: &str, on: bool) -> StoreResult<Option<Photo>> {
        let update = if on {
            doc! { "$addToSet": { mark.field(): member_id } }
        } else {
            doc! { "$pull": { mark.field(): member_id } }
        };
        let after = self
            .photos()?
            .find_one_and_update(doc! { "_id": id }, update)
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(classify)?;
        after.map(from_doc).transpose()
    }

    async fn delete_photo(&self, id: &str) -> StoreResult<()> {
        self.photos()?.delete_one(doc! { "_id": id }).await.map_err(classify)?;
        Ok(())
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
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.client.clone().shutdown().await;
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        self.rooms()?;
        self.db.run_command(doc! { "ping": 1 }).await.map_err(classify)?;
        Ok(())
    }
}
