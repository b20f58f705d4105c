//! `AnalyticsStore` on redb: events keyed `{venue_id}/{day}/{id}`, so a
//! report reads one key range in day order and folds it as it goes (ids
//! are letters, digits and `-`; days are `YYYY-MM-DD`). A second table
//! points each guest's `{zone_id}/{member_id}` at their latest visit.

use std::borrow::Cow;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::Deserialize;

use super::{EmbeddedStore, decode, encode, unavailable};
use crate::domain::Millis;
use crate::domain::analytics::{self, DayRange, EventRef, Tally, What, ZoneEvent};
use crate::store::{AnalyticsStore, StoreError, StoreResult};

const EVENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("zone_events");
/// `{zone_id}/{member_id}` → the `EVENTS` key of the guest's latest visit.
const LATEST_VISITS: TableDefinition<&str, &str> = TableDefinition::new("zone_latest_visits");

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(EVENTS)?;
    txn.open_table(LATEST_VISITS)?;
    Ok(())
}

fn event_key(event: &ZoneEvent) -> String {
    format!("{}/{}/{}", event.venue_id, event.day, event.id)
}

/// The day inside an `EVENTS` key.
fn key_day(key: &str) -> &str {
    key.split('/').nth(1).unwrap_or_default()
}

/// A stored `ZoneEvent` read back flat and borrowed (a string with an
/// escape is copied): a year of events folds without an allocation each.
#[derive(Deserialize)]
struct StoredEvent<'a> {
    #[serde(borrow)]
    zone_id: Cow<'a, str>,
    at: Millis,
    #[serde(borrow)]
    day: Cow<'a, str>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    track_id: Cow<'a, str>,
    #[serde(default, borrow)]
    title: Cow<'a, str>,
    #[serde(default, borrow)]
    artist: Cow<'a, str>,
    #[serde(default, borrow)]
    genre: Cow<'a, str>,
    #[serde(default)]
    skipped: bool,
    #[serde(default)]
    votes_up: u32,
    #[serde(default)]
    votes_down: u32,
    #[serde(default)]
    approved: bool,
    #[serde(default)]
    until: Millis,
    #[serde(default)]
    hours: Vec<u8>,
}

impl StoredEvent<'_> {
    fn as_ref(&self) -> EventRef<'_> {
        let day = &*self.day;
        match &*self.kind {
            "play" => EventRef::Play {
                day,
                track_id: &self.track_id,
                title: &self.title,
                artist: &self.artist,
                genre: &self.genre,
                skipped: self.skipped,
                votes_up: self.votes_up,
                votes_down: self.votes_down,
            },
            "request" => EventRef::Request { day, approved: self.approved },
            _ => EventRef::Visit { day, at: self.at, until: self.until, hours: &self.hours },
        }
    }
}

#[async_trait]
impl AnalyticsStore for EmbeddedStore {
    async fn record_events(&self, events: &[ZoneEvent]) -> StoreResult<()> {
        let rows = events.iter().map(|e| Ok((event_key(e), encode(e)?))).collect::<StoreResult<Vec<_>>>()?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(EVENTS).map_err(unavailable)?;
                for (key, bytes) in &rows {
                    if table.get(key.as_str()).map_err(unavailable)?.is_none() {
                        table.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
                    }
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn note_visit(&self, visit: &ZoneEvent) -> StoreResult<()> {
        let What::Visit { member_id, hours, .. } = &visit.what else {
            return Ok(());
        };
        let guest = format!("{}/{member_id}", visit.zone_id);
        let (seen_at, hour) = (visit.at, hours.first().copied().unwrap_or_default());
        let (new_key, new_bytes) = (event_key(visit), encode(visit)?);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut events = txn.open_table(EVENTS).map_err(unavailable)?;
                let mut latest = txn.open_table(LATEST_VISITS).map_err(unavailable)?;
                let key = latest.get(guest.as_str()).map_err(unavailable)?.map(|k| k.value().to_string());
                let mut stored: Option<ZoneEvent> = match &key {
                    Some(key) => {
                        events.get(key.as_str()).map_err(unavailable)?.map(|v| decode(v.value())).transpose()?
                    }
                    None => None,
                };
                let extended = stored.as_mut().is_some_and(|s| analytics::extend_visit(s, seen_at, hour));
                match (key, stored) {
                    (Some(key), Some(stored)) if extended => {
                        events.insert(key.as_str(), encode(&stored)?.as_slice()).map_err(unavailable)?;
                    }
                    _ => {
                        events.insert(new_key.as_str(), new_bytes.as_slice()).map_err(unavailable)?;
                        latest.insert(guest.as_str(), new_key.as_str()).map_err(unavailable)?;
                    }
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn tally(&self, venue_id: &str, zone_id: Option<&str>, range: &DayRange) -> StoreResult<Tally> {
        // '0' sorts right after '/': the end bound takes the whole last day.
        let (start, end) = (format!("{venue_id}/{}/", range.first()), format!("{venue_id}/{}0", range.last()));
        let zone_id = zone_id.map(str::to_string);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(EVENTS).map_err(unavailable)?;
            let mut tally = Tally::default();
            for row in table.range(start.as_str()..end.as_str()).map_err(unavailable)? {
                let (_, value) = row.map_err(unavailable)?;
                let bytes = value.value();
                let stored: StoredEvent =
                    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if zone_id.as_ref().is_none_or(|z| *z == stored.zone_id) {
                    tally.fold(stored.as_ref());
                }
            }
            Ok(tally)
        })
        .await
    }

    async fn sweep_events(&self, day: &str) -> StoreResult<u64> {
        let day = day.to_string();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let removed = {
                let mut events = txn.open_table(EVENTS).map_err(unavailable)?;
                let old = events.extract_if(|key, _| key_day(key) < day.as_str()).map_err(unavailable)?;
                let removed = old.count() as u64;
                let mut latest = txn.open_table(LATEST_VISITS).map_err(unavailable)?;
                latest.retain(|_, key| key_day(key) >= day.as_str()).map_err(unavailable)?;
                removed
            };
            txn.commit().map_err(unavailable)?;
            Ok(removed)
        })
        .await
    }

    async fn forget_venue_events(&self, venue_id: &str) -> StoreResult<()> {
        let prefix = format!("{venue_id}/");
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut events = txn.open_table(EVENTS).map_err(unavailable)?;
                events.retain(|key, _| !key.starts_with(&prefix)).map_err(unavailable)?;
                let mut latest = txn.open_table(LATEST_VISITS).map_err(unavailable)?;
                latest.retain(|_, key| !key.starts_with(&prefix)).map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }
}
