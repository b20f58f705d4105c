//! `VenueStore` on redb: venues by id, invitations by id. `venues_of`
//! reads every venue: a server holds a handful.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, decode, encode, unavailable};
use crate::domain::{Invitation, Venue};
use crate::store::{StoreError, StoreResult, VenueStore};

const VENUES: TableDefinition<&str, &[u8]> = TableDefinition::new("venues");
const INVITATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("venue_invitations");
/// `{venue_id}/{track_id}` → nothing: ids are letters, digits and `-`, so a
/// venue's entries are one key range in track id order.
const CATALOGUE: TableDefinition<&str, ()> = TableDefinition::new("venue_catalogue");

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(VENUES)?;
    txn.open_table(INVITATIONS)?;
    txn.open_table(CATALOGUE)?;
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

    async fn add_to_catalogue(&self, venue_id: &str, track_ids: &[String]) -> StoreResult<()> {
        let keys: Vec<String> = track_ids.iter().map(|t| format!("{venue_id}/{t}")).collect();
        self.catalogue_write(move |table| {
            for key in &keys {
                table.insert(key.as_str(), ()).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn remove_from_catalogue(&self, venue_id: &str, track_ids: &[String]) -> StoreResult<()> {
        let keys: Vec<String> = track_ids.iter().map(|t| format!("{venue_id}/{t}")).collect();
        self.catalogue_write(move |table| {
            for key in &keys {
                table.remove(key.as_str()).map_err(unavailable)?;
            }
            Ok(())
        })
        .await
    }

    async fn in_catalogue(&self, venue_id: &str, track_id: &str) -> StoreResult<bool> {
        let key = format!("{venue_id}/{track_id}");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(CATALOGUE).map_err(unavailable)?;
            Ok(table.get(key.as_str()).map_err(unavailable)?.is_some())
        })
        .await
    }

    async fn catalogue(&self, venue_id: &str, after: Option<&str>, limit: usize) -> StoreResult<Vec<String>> {
        let prefix = format!("{venue_id}/");
        let start = match after {
            Some(after) => format!("{prefix}{after}\u{0}"),
            None => prefix.clone(),
        };
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(CATALOGUE).map_err(unavailable)?;
            let mut ids = Vec::new();
            for row in table.range(start.as_str()..).map_err(unavailable)? {
                let (key, _) = row.map_err(unavailable)?;
                let Some(track_id) = key.value().strip_prefix(prefix.as_str()) else { break };
                ids.push(track_id.to_string());
                if ids.len() == limit {
                    break;
                }
            }
            Ok(ids)
        })
        .await
    }

    async fn clear_catalogue(&self, venue_id: &str) -> StoreResult<()> {
        let prefix = format!("{venue_id}/");
        self.catalogue_write(move |table| {
            let keys: Vec<String> = table
                .range(prefix.as_str()..)
                .map_err(unavailable)?
                .map_while(|row| row.ok().map(|(k, _)| k.value().to_string()))
                .take_while(|k| k.starts_with(prefix.as_str()))
                .collect();
            for key in keys {
                table.remove(key.as_str()).map_err(unavailable)?;
            }
            Ok(())
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

impl EmbeddedStore {
    async fn catalogue_write<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut redb::Table<&str, ()>) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let result = {
                let mut table = txn.open_table(CATALOGUE).map_err(unavailable)?;
                work(&mut table)?
            };
            txn.commit().map_err(unavailable)?;
            Ok(result)
        })
        .await
    }
}
