//! `AnalyticsStore` on MongoDB: events in `zone_events` by id (recording
//! twice is a duplicate key, ignored). A report is five aggregation
//! pipelines over the `{venue_id, day}` index (sums by day and kind, by
//! track, by artist, by genre, and visits by hour), so the database does
//! the counting and only the sums come back.
//!
//! A visit is extended with `$max`/`$addToSet` on the guest's latest
//! visit. Two nodes seeing a guest arrive in the same instant may both
//! start a visit: the guest is then counted twice, a rare and small error
//! this store accepts rather than a transaction per connection.

use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{FindOneOptions, IndexOptions};
use mongodb::{Collection, IndexModel};

use super::{MongoStore, classify, only_duplicates, to_doc};
use crate::domain::analytics::{self, DayRange, Tally, TrackRow, What, ZoneEvent};
use crate::store::{AnalyticsStore, StoreError, StoreResult};

const COLLECTION: &str = "zone_events";

impl MongoStore {
    fn events(&self) -> StoreResult<Collection<Document>> {
        self.collection(COLLECTION)
    }

    pub(super) async fn create_analytics_indexes(&self) -> anyhow::Result<()> {
        let events = self.events()?;
        let by_day = IndexOptions::builder().name("venue_day".to_string()).build();
        let keys = doc! { "venue_id": 1, "day": 1 };
        events.create_index(IndexModel::builder().keys(keys).options(by_day).build()).await?;
        let visits = IndexOptions::builder().name("guest_visits".to_string()).build();
        let keys = doc! { "zone_id": 1, "member_id": 1, "at": -1 };
        events.create_index(IndexModel::builder().keys(keys).options(visits).build()).await?;
        let sweep = IndexOptions::builder().name("day".to_string()).build();
        events.create_index(IndexModel::builder().keys(doc! { "day": 1 }).options(sweep).build()).await?;
        Ok(())
    }

    async fn aggregate(&self, pipeline: Vec<Document>) -> StoreResult<Vec<Document>> {
        let mut cursor = self.events()?.aggregate(pipeline).await.map_err(classify)?;
        let mut rows = Vec::new();
        while cursor.advance().await.map_err(classify)? {
            rows.push(cursor.deserialize_current().map_err(classify)?);
        }
        Ok(rows)
    }
}

/// A summed number, whatever integer or double type the server chose.
fn number(doc: &Document, key: &str) -> u64 {
    match doc.get(key) {
        Some(Bson::Int32(n)) => (*n).max(0) as u64,
        Some(Bson::Int64(n)) => (*n).max(0) as u64,
        Some(Bson::Double(n)) => n.max(0.0) as u64,
        _ => 0,
    }
}

fn text(doc: &Document, key: &str) -> String {
    doc.get_str(key).unwrap_or_default().to_string()
}

/// `$sum` of 1 where `field` is true.
fn count_true(field: &str) -> Document {
    doc! { "$sum": { "$cond": [format!("${field}"), 1, 0] } }
}

#[async_trait]
impl AnalyticsStore for MongoStore {
    async fn record_events(&self, events: &[ZoneEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let docs = events.iter().map(|e| to_doc(&e.id, e)).collect::<StoreResult<Vec<_>>>()?;
        match self.events()?.insert_many(docs).ordered(false).await {
            Ok(_) => Ok(()),
            Err(e) if only_duplicates(&e) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    async fn note_visit(&self, visit: &ZoneEvent) -> StoreResult<()> {
        let What::Visit { member_id, hours, .. } = &visit.what else {
            return Ok(());
        };
        let hour = hours.first().copied().unwrap_or_default();
        let filter = doc! { "zone_id": &visit.zone_id, "member_id": member_id, "kind": "visit" };
        let latest = FindOneOptions::builder().sort(doc! { "at": -1 }).build();
        let found = self.events()?.find_one(filter).with_options(latest).await.map_err(classify)?;
        if let Some(found) = found {
            let until = number(&found, "until");
            let mut stored = visit.clone();
            stored.what = What::Visit { member_id: member_id.clone(), until, hours: vec![] };
            if analytics::extend_visit(&mut stored, visit.at, hour) {
                let id = found.get_str("_id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let update = doc! { "$max": { "until": visit.at as i64 }, "$addToSet": { "hours": i32::from(hour) } };
                self.events()?.update_one(doc! { "_id": id }, update).await.map_err(classify)?;
                return Ok(());
            }
        }
        self.record_events(std::slice::from_ref(visit)).await
    }

    async fn tally(&self, venue_id: &str, zone_id: Option<&str>, range: &DayRange) -> StoreResult<Tally> {
        let mut matched = doc! { "venue_id": venue_id, "day": { "$gte": range.first(), "$lte": range.last() } };
        if let Some(zone_id) = zone_id {
            matched.insert("zone_id", zone_id);
        }
        let only = |kind: &str| {
            let mut m = matched.clone();
            m.insert("kind", kind);
            doc! { "$match": m }
        };
        let mut tally = Tally::default();

        let by_day = vec![
            doc! { "$match": matched.clone() },
            doc! { "$group": {
                "_id": { "day": "$day", "kind": "$kind" },
                "n": { "$sum": 1 },
                "skips": count_true("skipped"),
                "up": { "$sum": "$votes_up" },
                "down": { "$sum": "$votes_down" },
                "approved": count_true("approved"),
                "stay": { "$sum": { "$subtract": ["$until", "$at"] } },
            } },
        ];
        for row in self.aggregate(by_day).await? {
            let id = row.get_document("_id").map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let (kind, n) = (text(id, "kind"), number(&row, "n"));
            let day = tally.day(&text(id, "day"));
            match kind.as_str() {
                "play" => {
                    day.plays += n;
                    day.skips += number(&row, "skips");
                    day.votes_up += number(&row, "up");
                    day.votes_down += number(&row, "down");
                }
                "request" => {
                    let approved = number(&row, "approved");
                    day.requests_approved += approved;
                    day.requests_declined += n.saturating_sub(approved);
                }
                "visit" => {
                    day.guests += n;
                    tally.stay_ms += number(&row, "stay");
                }
                _ => {}
            }
        }

        let by_track = vec![
            only("play"),
            doc! { "$group": {
                "_id": "$track_id",
                "title": { "$first": "$title" },
                "artist": { "$first": "$artist" },
                "plays": { "$sum": 1 },
                "skips": count_true("skipped"),
                "up": { "$sum": "$votes_up" },
                "down": { "$sum": "$votes_down" },
            } },
        ];
        for row in self.aggregate(by_track).await? {
            tally.add_track(TrackRow {
                track_id: text(&row, "_id"),
                title: text(&row, "title"),
                artist: text(&row, "artist"),
                plays: number(&row, "plays"),
                skips: number(&row, "skips"),
                votes_up: number(&row, "up"),
                votes_down: number(&row, "down"),
                skip_rate: 0.0,
            });
        }

        for (genre, field) in [(false, "$artist"), (true, "$genre")] {
            let by_name = vec![
                only("play"),
                doc! { "$group": { "_id": field, "plays": { "$sum": 1 }, "skips": count_true("skipped") } },
            ];
            for row in self.aggregate(by_name).await? {
                tally.add_name(genre, &text(&row, "_id"), number(&row, "plays"), number(&row, "skips"));
            }
        }

        let by_hour = vec![
            only("visit"),
            doc! { "$unwind": "$hours" },
            doc! { "$group": { "_id": "$hours", "n": { "$sum": 1 } } },
        ];
        for row in self.aggregate(by_hour).await? {
            let hour = number(&row, "_id");
            if hour < 24 {
                tally.hours[hour as usize] += number(&row, "n");
            }
        }
        Ok(tally)
    }

    async fn sweep_events(&self, day: &str) -> StoreResult<u64> {
        let removed = self.events()?.delete_many(doc! { "day": { "$lt": day } }).await.map_err(classify)?;
        Ok(removed.deleted_count)
    }

    async fn forget_venue_events(&self, venue_id: &str) -> StoreResult<()> {
        self.events()?.delete_many(doc! { "venue_id": venue_id }).await.map_err(classify)?;
        Ok(())
    }
}
