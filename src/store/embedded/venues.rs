//! `VenueStore` on redb: venues by id, invitations by id. `venues_of`
//! reads every venue: a server holds a handful.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, decode, encode, unavailable};
use crate::domain::{Invitation, Venue};
use crate::store::{StoreError, StoreResult, VenueStore};

const VENUES: TableDefinition<&str, &[u8]> = TableDefinition::new("venues");
const INVITATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("venue_invitations");

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(VENUES)?;
    txn.open_table(INVITATIONS)?;
    Ok(())
}

#[async_trait]
impl VenueStore for EmbeddedStore {
    async fn insert_venue(&self, venue: &Venue) -> StoreResult<()> {
        let (id, bytes) = (venue.id.clone(), encode(venue)?);
        self.change_table(VENUES, move |table| {
            if table.get(id.as_str()).map_err(unavailable)?.is_some() {
                return Err(StoreError::Duplicate);
            }
            table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn venue(&self, id: &str) -> StoreResult<Option<Venue>> {
        self.get_record(VENUES, id.to_string()).await
    }

    async fn save_venue(&self, venue: &Venue, expected: u64) -> StoreResult<()> {
        let (id, bytes) = (venue.id.clone(), encode(venue)?);
        self.change_table(VENUES, move |table| {
            let stored: Option<Venue> =
                table.get(id.as_str()).map_err(unavailable)?.map(|v| decode(v.value())).transpose()?;
            if stored.is_none_or(|v| v.revision != expected) {
                return Err(StoreError::Conflict);
            }
            table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn delete_venue(&self, id: &str) -> StoreResult<()> {
        let id = id.to_string();
        self.change_table(VENUES, move |table| {
            table.remove(id.as_str()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn venues_of(&self, user_id: &str) -> StoreResult<Vec<Venue>> {
        let user_id = user_id.to_string();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(VENUES).map_err(unavailable)?;
            let mut found = Vec::new();
            for row in table.iter().map_err(unavailable)? {
                let (_, value) = row.map_err(unavailable)?;
                let venue: Venue = decode(value.value())?;
                if venue.staff.contains_key(&user_id) {
                    found.push(venue);
                }
            }
            found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Ok(found)
        })
        .await
    }

    async fn insert_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        let (id, bytes) = (invitation.id.clone(), encode(invitation)?);
        self.change_table(INVITATIONS, move |table| {
            if table.get(id.as_str()).map_err(unavailable)?.is_some() {
                return Err(StoreError::Duplicate);
            }
            table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn take_invitation(&self, id: &str) -> StoreResult<Option<Invitation>> {
        let id = id.to_string();
        self.change_table(INVITATIONS, move |table| {
            let taken = table.remove(id.as_str()).map_err(unavailable)?;
            taken.map(|v| decode(v.value())).transpose()
        })
        .await
    }
}
