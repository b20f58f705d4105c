//! What venues need from the database: the venue records (saved by
//! compare-and-swap on their revision), each venue's catalogue (the
//! library tracks its zones may play) and single-use staff invitations.
//! Its own trait beside `Store`, like `ProviderStore`, served by the same
//! databases.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::{Invitation, Venue};

#[async_trait]
pub trait VenueStore: Send + Sync + 'static {
    /// Stores a new venue (revision 0); `Duplicate` if its id is taken.
    async fn insert_venue(&self, venue: &Venue) -> StoreResult<()>;
    async fn venue(&self, id: &str) -> StoreResult<Option<Venue>>;
    /// Saves `venue` if the stored one still has revision `expected`;
    /// `Conflict` otherwise. The caller bumps `venue.revision`.
    async fn save_venue(&self, venue: &Venue, expected: u64) -> StoreResult<()>;
    /// Removes a venue (a missing one is fine).
    async fn delete_venue(&self, id: &str) -> StoreResult<()>;
    /// The venues where this account is staff, oldest first.
    async fn venues_of(&self, user_id: &str) -> StoreResult<Vec<Venue>>;

    /// Adds library tracks to a venue's catalogue (ones already in it are fine).
    async fn add_to_catalogue(&self, venue_id: &str, track_ids: &[String]) -> StoreResult<()>;
    async fn remove_from_catalogue(&self, venue_id: &str, track_ids: &[String]) -> StoreResult<()>;
    async fn in_catalogue(&self, venue_id: &str, track_id: &str) -> StoreResult<bool>;
    /// A page of the catalogue's track ids in id order, after `after`.
    async fn catalogue(&self, venue_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<String>>;
    /// Forgets a deleted venue's catalogue.
    async fn clear_catalogue(&self, venue_id: &str) -> StoreResult<()>;

    async fn insert_invitation(&self, invitation: &Invitation) -> StoreResult<()>;
    /// Removes the invitation and returns it: a link is good once, however
    /// many race for it.
    async fn take_invitation(&self, id: &str) -> StoreResult<Option<Invitation>>;
}
