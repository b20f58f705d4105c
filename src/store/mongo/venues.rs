//! `VenueStore` on MongoDB: a venue is saved with a filtered replace on its
//! revision; an invitation is taken with `findOneAndDelete` (single use
//! across nodes). `venues_of` finds the venues whose `staff` map has the
//! account as a key.

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::options::FindOptions;

use super::{MongoStore, classify, from_doc, to_doc};
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
