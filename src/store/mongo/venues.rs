//! `VenueStore` on MongoDB: a venue is saved with a filtered replace on its
//! revision; an invitation is taken with `findOneAndDelete` (single use
//! across nodes). `venues_of` finds the venues whose `staff` map has the
//! account as a key.

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::options::FindOptions;

use super::{MongoStore, classify, from_doc, only_duplicates, to_doc};
use crate::domain::{Invitation, Venue};
use crate::store::{StoreError, StoreResult, VenueStore};

#[async_trait]
impl VenueStore for MongoStore {
    async fn insert_venue(&self, venue: &Venue) -> StoreResult<()> {
        let doc = to_doc(&venue.id, venue)?;
        self.collection("venues")?.insert_one(doc).await.map_err(classify)?;
        Ok(())
    }

    async fn venue(&self, id: &str) -> StoreResult<Option<Venue>> {
        let found = self.collection("venues")?.find_one(doc! { "_id": id }).await;
        found.map_err(classify)?.map(from_doc).transpose()
    }

    async fn save_venue(&self, venue: &Venue, expected: u64) -> StoreResult<()> {
        let doc = to_doc(&venue.id, venue)?;
        let filter = doc! { "_id": &venue.id, "revision": expected as i64 };
        let replaced = self.collection("venues")?.replace_one(filter, doc).await.map_err(classify)?;
        if replaced.matched_count == 1 { Ok(()) } else { Err(StoreError::Conflict) }
    }

    async fn delete_venue(&self, id: &str) -> StoreResult<()> {
        self.collection("venues")?.delete_one(doc! { "_id": id }).await.map_err(classify)?;
        Ok(())
    }

    async fn venues_of(&self, user_id: &str) -> StoreResult<Vec<Venue>> {
        // Account ids are random letters and digits: safe as a field name.
        let filter = doc! { format!("staff.{user_id}"): { "$exists": true } };
        let sort = FindOptions::builder().sort(doc! { "created_at": 1, "_id": 1 }).build();
        let mut cursor = self.collection("venues")?.find(filter).with_options(sort).await.map_err(classify)?;
        let mut found = Vec::new();
        while cursor.advance().await.map_err(classify)? {
            found.push(from_doc(cursor.deserialize_current().map_err(classify)?)?);
        }
        Ok(found)
    }

    async fn add_to_catalogue(&self, venue_id: &str, track_ids: &[String]) -> StoreResult<()> {
        let catalogue = self.collection("venue_catalogue")?;
        for chunk in track_ids.chunks(1_000) {
            let docs: Vec<_> = chunk
                .iter()
                .map(|t| doc! { "_id": format!("{venue_id}/{t}"), "venue_id": venue_id, "track_id": t })
                .collect();
            // Entries already there are the same: their duplicate keys are fine.
            match catalogue.insert_many(docs).ordered(false).await {
                Ok(_) => {}
                Err(e) if only_duplicates(&e) => {}
                Err(e) => return Err(classify(e)),
            }
        }
        Ok(())
    }

    async fn remove_from_catalogue(&self, venue_id: &str, track_ids: &[String]) -> StoreResult<()> {
        let keys: Vec<String> = track_ids.iter().map(|t| format!("{venue_id}/{t}")).collect();
        let catalogue = self.collection("venue_catalogue")?;
        catalogue.delete_many(doc! { "_id": { "$in": keys } }).await.map_err(classify)?;
        Ok(())
    }

    async fn in_catalogue(&self, venue_id: &str, track_id: &str) -> StoreResult<bool> {
        let found =
            self.collection("venue_catalogue")?.find_one(doc! { "_id": format!("{venue_id}/{track_id}") }).await;
        Ok(found.map_err(classify)?.is_some())
    }

    async fn catalogue(&self, venue_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<String>> {
        let mut filter = doc! { "venue_id": venue_id };
        if let Some(after) = after {
            filter.insert("track_id", doc! { "$gt": after });
        }
        let options = FindOptions::builder().sort(doc! { "track_id": 1 }).limit(limit as i64).build();
        let mut cursor =
            self.collection("venue_catalogue")?.find(filter).with_options(options).await.map_err(classify)?;
        let mut ids = Vec::new();
        while cursor.advance().await.map_err(classify)? {
            let doc = cursor.deserialize_current().map_err(classify)?;
            ids.push(doc.get_str("track_id").map_err(|e| StoreError::Corrupt(e.to_string()))?.to_string());
        }
        Ok(ids)
    }

    async fn clear_catalogue(&self, venue_id: &str) -> StoreResult<()> {
        self.collection("venue_catalogue")?.delete_many(doc! { "venue_id": venue_id }).await.map_err(classify)?;
        Ok(())
    }

    async fn insert_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        let doc = to_doc(&invitation.id, invitation)?;
        self.collection("venue_invitations")?.insert_one(doc).await.map_err(classify)?;
        Ok(())
    }

    async fn take_invitation(&self, id: &str) -> StoreResult<Option<Invitation>> {
        let taken = self.collection("venue_invitations")?.find_one_and_delete(doc! { "_id": id }).await;
        taken.map_err(classify)?.map(from_doc).transpose()
    }
}
