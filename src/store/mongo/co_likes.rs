//! `CoLikeStore` on MongoDB: liked plays in `liked_plays` by
//! `{room_id}/{entry_id}` (kept twice is a duplicate key: paired once), and
//! counts in `co_likes` by `{track, month, with}`, raised with `$inc`
//! upserts. `co_liked` is one small aggregation pipeline per track over
//! the `{track, month}` index, so the database sums the months.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use super::{MongoStore, classify, from_doc, to_doc};
use crate::domain::Millis;
use crate::domain::recommend::{CoLike, LikedPlay};
use crate::store::{CoLikeStore, StoreError, StoreResult};

const LIKED_PLAYS: &str = "liked_plays";
const CO_LIKES: &str = "co_likes";

impl MongoStore {
    fn liked_plays(&self) -> StoreResult<Collection<Document>> {
        self.collection(LIKED_PLAYS)
    }

    fn co_like_counts(&self) -> StoreResult<Collection<Document>> {
        self.collection(CO_LIKES)
    }

    pub(super) async fn create_co_like_indexes(&self) -> anyhow::Result<()> {
        let by_room = IndexOptions::builder().name("room_ended".to_string()).build();
        let keys = doc! { "room_id": 1, "ended_at": -1 };
        self.liked_plays()?.create_index(IndexModel::builder().keys(keys).options(by_room).build()).await?;
        let by_time = IndexOptions::builder().name("ended".to_string()).build();
        let keys = doc! { "ended_at": 1 };
        self.liked_plays()?.create_index(IndexModel::builder().keys(keys).options(by_time).build()).await?;
        let by_track = IndexOptions::builder().name("track_month".to_string()).build();
        let keys = doc! { "track": 1, "month": 1 };
        self.co_like_counts()?.create_index(IndexModel::builder().keys(keys).options(by_track).build()).await?;
        let by_month = IndexOptions::builder().name("month".to_string()).build();
        let keys = doc! { "month": 1 };
        self.co_like_counts()?.create_index(IndexModel::builder().keys(keys).options(by_month).build()).await?;
        Ok(())
    }
}

/// A time as the database compares it.
fn at(millis: Millis) -> i64 {
    i64::try_from(millis).unwrap_or(i64::MAX)
}

#[async_trait]
impl CoLikeStore for MongoStore {
    async fn keep_liked_play(
        &self,
        liked: &LikedPlay,
        window_ms: Millis,
        limit: usize,
    ) -> StoreResult<Option<Vec<LikedPlay>>> {
        let id = format!("{}/{}", liked.room_id, liked.entry_id);
        // Read first, then keep: a failed read leaves nothing kept, so a
        // retry pairs the play.
        let ended_at = at(liked.ended_at);
        let filter = doc! {
            "room_id": &liked.room_id,
            "$or": [
                { "ended_at": { "$gte": at(liked.ended_at.saturating_sub(window_ms)), "$lt": ended_at } },
                { "ended_at": ended_at, "entry_id": { "$lt": &liked.entry_id } },
            ],
        };
        let earlier: Vec<LikedPlay> = match limit {
            0 => Vec::new(),
            _ => {
                let sort = doc! { "ended_at": -1, "entry_id": -1 };
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let cursor = self.liked_plays()?.find(filter).sort(sort).limit(limit).await;
                let docs: Vec<Document> = cursor.map_err(classify)?.try_collect().await.map_err(classify)?;
                docs.into_iter().map(from_doc).collect::<StoreResult<_>>()?
            }
        };
        match self.liked_plays()?.insert_one(to_doc(&id, liked)?).await.map_err(classify) {
            Ok(_) => Ok(Some(earlier)),
            Err(StoreError::Duplicate) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn count_co_likes(&self, month: &str, pairs: &[(String, String)]) -> StoreResult<()> {
        let counts = self.co_like_counts()?;
        for (track, with) in pairs {
            let id = doc! { "track": track, "month": month, "with": with };
            let update = doc! {
                "$inc": { "count": 1_i64 },
                "$setOnInsert": { "track": track, "month": month, "with": with },
            };
            counts.update_one(doc! { "_id": id }, update).upsert(true).await.map_err(classify)?;
        }
        Ok(())
    }

    async fn co_liked(&self, track_ids: &[String], from_month: &str, per_track: usize) -> StoreResult<Vec<CoLike>> {
        let mut co_likes = Vec::new();
        if per_track == 0 {
            return Ok(co_likes);
        }
        // One small pipeline per track: each gets its own top counts.
        for track in track_ids {
            let pipeline = vec![
                doc! { "$match": { "track": track, "month": { "$gte": from_month } } },
                doc! { "$group": { "_id": "$with", "count": { "$sum": "$count" } } },
                doc! { "$sort": { "count": -1, "_id": 1 } },
                doc! { "$limit": i64::try_from(per_track).unwrap_or(i64::MAX) },
            ];
            let mut cursor = self.co_like_counts()?.aggregate(pipeline).await.map_err(classify)?;
            while cursor.advance().await.map_err(classify)? {
                let row: Document = cursor.deserialize_current().map_err(classify)?;
                let count = match row.get("count") {
                    Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or_default(),
                    Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or_default(),
                    Some(Bson::Double(n)) => n.max(0.0) as u64,
                    _ => 0,
                };
                let with = row.get_str("_id").unwrap_or_default().to_string();
                co_likes.push(CoLike { track_id: track.clone(), with, count });
            }
        }
        Ok(co_likes)
    }

    async fn sweep_co_likes(&self, month: &str, ended_before: Millis) -> StoreResult<u64> {
        let counts = self.co_like_counts()?.delete_many(doc! { "month": { "$lt": month } }).await.map_err(classify)?;
        let filter = doc! { "ended_at": { "$lt": at(ended_before) } };
        let liked = self.liked_plays()?.delete_many(filter).await.map_err(classify)?;
        Ok(counts.deleted_count + liked.deleted_count)
    }
}
