//! `AccountStore` on MongoDB: plain CRUD and filtered updates only. A
//! follow is one document `{_id: "{follower}/{followee}"}`, so following
//! twice is one upsert and counting is `countDocuments` on an indexed field.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use super::{MongoStore, classify, from_doc, to_doc};
use crate::domain::{AccountSession, Activity, Photo, TasteMark, TasteSettings, TasteSource, User};
use crate::store::{AccountStore, Before, FollowSide, StoreError, StoreResult};

/// `filter` plus "older than the cursor" on `created_at` and `_id`.
fn older_than(mut filter: Document, before: Before<'_>) -> Document {
    if let Some((at, id)) = before {
        filter.insert(
            "$or",
            vec![doc! { "created_at": { "$lt": at as i64 } }, doc! { "created_at": at as i64, "_id": { "$lt": id } }],
        );
    }
    filter
}

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl MongoStore {
    fn users(&self) -> StoreResult<Collection<Document>> {
        self.collection("users")
    }

    fn follows_collection(&self) -> StoreResult<Collection<Document>> {
        self.collection("follows")
    }

    fn activities_collection(&self) -> StoreResult<Collection<Document>> {
        self.collection("activities")
    }

    /// One document per (account, source, track): `_id` `{user}/{source}/{track}`.
    fn taste_marks_collection(&self) -> StoreResult<Collection<Document>> {
        self.collection("taste_marks")
    }

    pub(super) async fn create_account_indexes(&self) -> anyhow::Result<()> {
        let index = |keys: Document, name: &str, unique: bool| {
            let options = IndexOptions::builder().name(name.to_string()).unique(unique).build();
            IndexModel::builder().keys(keys).options(options).build()
        };
        self.users()?.create_index(index(doc! { "username": 1 }, "username_unique", true)).await?;
        self.collection("account_sessions")?.create_index(index(doc! { "user_id": 1 }, "user", false)).await?;
        let follows = self.follows_collection()?;
        follows.create_index(index(doc! { "follower": 1, "followee": 1 }, "follower", false)).await?;
        follows.create_index(index(doc! { "followee": 1, "follower": 1 }, "followee", false)).await?;
        let keys = doc! { "user_id": 1, "created_at": -1, "_id": -1 };
        self.activities_collection()?.create_index(index(keys.clone(), "user_time", false)).await?;
        let marks = doc! { "user_id": 1, "source": 1, "at": -1, "track_id": 1 };
        self.taste_marks_collection()?.create_index(index(marks, "user_time", false)).await?;
        self.photos()?.create_index(index(keys, "user_photos", false)).await?;
        let keys = doc! { "public": 1, "created_at": -1, "_id": -1 };
        self.photos()?.create_index(index(keys, "public_photos", false)).await?;
        Ok(())
    }

    async fn find_photos(&self, filter: Document, before: Before<'_>, count: usize) -> StoreResult<Vec<Photo>> {
        let sort = doc! { "created_at": -1, "_id": -1 };
        let cursor =
            self.photos()?.find(older_than(filter, before)).sort(sort).limit(limit(count)).await.map_err(classify)?;
        let docs: Vec<Document> = cursor.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }
}

#[async_trait]
impl AccountStore for MongoStore {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        self.users()?.insert_one(to_doc(&user.id, user)?).await.map_err(classify)?;
        Ok(())
    }

    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        self.users()?.find_one(doc! { "_id": id }).await.map_err(classify)?.map(from_doc).transpose()
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let found = self.users()?.find_one(doc! { "username": username }).await.map_err(classify)?;
        found.map(from_doc).transpose()
    }

    async fn set_display_name(&self, id: &str, display_name: &str) -> StoreResult<Option<User>> {
        let update = doc! { "$set": { "display_name": display_name } };
        let after = self
            .users()?
            .find_one_and_update(doc! { "_id": id }, update)
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(classify)?;
        after.map(from_doc).transpose()
    }

    async fn set_taste(&self, id: &str, taste: TasteSettings) -> StoreResult<Option<User>> {
        let update = doc! { "$set": { "taste": { "off": taste.off, "since": taste.since as i64 } } };
        let after = self
            .users()?
            .find_one_and_update(doc! { "_id": id }, update)
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(classify)?;
        after.map(from_doc).transpose()
    }

    async fn set_avatar_version(&self, id: &str, expected: Option<u32>, version: u32) -> StoreResult<bool> {
        let expected = expected.map_or(mongodb::bson::Bson::Null, |v| mongodb::bson::Bson::Int64(i64::from(v)));
        let filter = doc! { "_id": id, "avatar_version": expected };
        let update = doc! { "$set": { "avatar_version": i64::from(version) } };
        let done = self.users()?.update_one(filter, update).await.map_err(classify)?;
        Ok(done.modified_count == 1)
    }

    /// Dependents first, the account last: a failure midway leaves an
    /// account that can be deleted again, never orphans of a gone account.
    async fn delete_user(&self, id: &str) -> StoreResult<()> {
        self.collection("account_sessions")?.delete_many(doc! { "user_id": id }).await.map_err(classify)?;
        let follows = doc! { "$or": [ { "follower": id }, { "followee": id } ] };
        self.follows_collection()?.delete_many(follows).await.map_err(classify)?;
        self.activities_collection()?.delete_many(doc! { "user_id": id }).await.map_err(classify)?;
        self.taste_marks_collection()?.delete_many(doc! { "user_id": id }).await.map_err(classify)?;
        self.users()?.delete_one(doc! { "_id": id }).await.map_err(classify)?;
        Ok(())
    }

    async fn insert_session(&self, session: &AccountSession) -> StoreResult<()> {
        self.collection("account_sessions")?.insert_one(to_doc(&session.id, session)?).await.map_err(classify)?;
        Ok(())
    }

    async fn session(&self, id: &str) -> StoreResult<Option<AccountSession>> {
        let found = self.collection("account_sessions")?.find_one(doc! { "_id": id }).await.map_err(classify)?;
        found.map(from_doc).transpose()
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        self.collection("account_sessions")?.delete_one(doc! { "_id": id }).await.map_err(classify)?;
        Ok(())
    }

    async fn set_follow(&self, follower: &str, followee: &str, on: bool) -> StoreResult<bool> {
        let id = format!("{follower}/{followee}");
        let follows = self.follows_collection()?;
        if on {
            let document = doc! { "$setOnInsert": { "follower": follower, "followee": followee } };
            let done = follows.update_one(doc! { "_id": &id }, document).upsert(true).await;
            match done {
                Ok(result) => Ok(result.upserted_id.is_some()),
                // Two racing follows: the other one inserted it.
                Err(e) if matches!(classify(e.clone()), StoreError::Duplicate) => Ok(false),
                Err(e) => Err(classify(e)),
            }
        } else {
            let done = follows.delete_one(doc! { "_id": &id }).await.map_err(classify)?;
            Ok(done.deleted_count == 1)
        }
    }

    async fn follows(
        &self,
        user: &str,
        side: FollowSide,
        after: Option<&str>,
        count: usize,
    ) -> StoreResult<Vec<String>> {
        let (mine, theirs) = match side {
            FollowSide::Following => ("follower", "followee"),
            FollowSide::Followers => ("followee", "follower"),
        };
        let mut filter = doc! { mine: user };
        if let Some(after) = after {
            filter.insert(theirs, doc! { "$gt": after });
        }
        let cursor = self.follows_collection()?.find(filter).sort(doc! { theirs: 1 }).limit(limit(count)).await;
        let docs: Vec<Document> = cursor.map_err(classify)?.try_collect().await.map_err(classify)?;
        Ok(docs.iter().filter_map(|d| d.get_str(theirs).ok().map(str::to_string)).collect())
    }

    async fn follow_counts(&self, user: &str) -> StoreResult<(u64, u64)> {
        let follows = self.follows_collection()?;
        let followers = follows.count_documents(doc! { "followee": user }).await.map_err(classify)?;
        let following = follows.count_documents(doc! { "follower": user }).await.map_err(classify)?;
        Ok((followers, following))
    }

    async fn is_following(&self, follower: &str, followee: &str) -> StoreResult<bool> {
        let id = format!("{follower}/{followee}");
        Ok(self.follows_collection()?.find_one(doc! { "_id": id }).await.map_err(classify)?.is_some())
    }

    async fn mark_taste(&self, marks: &[TasteMark]) -> StoreResult<()> {
        let collection = self.taste_marks_collection()?;
        for mark in marks {
            let id = format!("{}/{}/{}", mark.user_id, mark.source.as_str(), mark.track_id);
            collection.replace_one(doc! { "_id": &id }, to_doc(&id, mark)?).upsert(true).await.map_err(classify)?;
        }
        Ok(())
    }

    async fn unmark_taste(&self, user_id: &str, source: TasteSource, track_id: &str) -> StoreResult<()> {
        let id = format!("{user_id}/{}/{track_id}", source.as_str());
        self.taste_marks_collection()?.delete_one(doc! { "_id": id }).await.map_err(classify)?;
        Ok(())
    }

    async fn taste_marks(&self, user_id: &str, source: TasteSource, count: usize) -> StoreResult<Vec<TasteMark>> {
        let sort = doc! { "at": -1, "track_id": 1 };
        let filter = doc! { "user_id": user_id, "source": source.as_str() };
        let cursor = self.taste_marks_collection()?.find(filter).sort(sort).limit(limit(count)).await;
        let docs: Vec<Document> = cursor.map_err(classify)?.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn forget_taste(&self, user_id: &str) -> StoreResult<()> {
        self.taste_marks_collection()?.delete_many(doc! { "user_id": user_id }).await.map_err(classify)?;
        Ok(())
    }

    async fn insert_activity(&self, activity: &Activity) -> StoreResult<()> {
        self.activities_collection()?.insert_one(to_doc(&activity.id, activity)?).await.map_err(classify)?;
        Ok(())
    }

    async fn activities(&self, users: &[String], before: Before<'_>, count: usize) -> StoreResult<Vec<Activity>> {
        let filter = older_than(doc! { "user_id": { "$in": users } }, before);
        let sort = doc! { "created_at": -1, "_id": -1 };
        let cursor = self.activities_collection()?.find(filter).sort(sort).limit(limit(count)).await;
        let docs: Vec<Document> = cursor.map_err(classify)?.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    async fn user_photos(&self, user_id: &str, before: Before<'_>, count: usize) -> StoreResult<Vec<Photo>> {
        self.find_photos(doc! { "user_id": user_id }, before, count).await
    }

    async fn count_user_photos(&self, user_id: &str) -> StoreResult<u64> {
        self.photos()?.count_documents(doc! { "user_id": user_id }).await.map_err(classify)
    }

    async fn public_photos(&self, before: Before<'_>, count: usize) -> StoreResult<Vec<Photo>> {
        self.find_photos(doc! { "public": true }, before, count).await
    }

    async fn users_after(&self, after: Option<&str>, count: usize) -> StoreResult<Vec<User>> {
        let filter = after.map_or_else(Document::new, |a| doc! { "_id": { "$gt": a } });
        let cursor = self.users()?.find(filter).sort(doc! { "_id": 1 }).limit(limit(count)).await;
        let docs: Vec<Document> = cursor.map_err(classify)?.try_collect().await.map_err(classify)?;
        docs.into_iter().map(from_doc).collect()
    }

    /// On the `room_wall` index (`room_id` first).
    async fn claim_photos(&self, room_id: &str, member_id: &str, user_id: &str) -> StoreResult<()> {
        let update = doc! { "$set": { "user_id": user_id } };
        let filter = doc! { "room_id": room_id, "member_id": member_id };
        self.photos()?.update_many(filter, update).await.map_err(classify)?;
        Ok(())
    }
}
