//! `CoLikeStore` on redb: liked plays keyed `{room_id}/{ended_at}/{entry_id}`
//! (the time zero-padded, so a room's plays read in time order), and counts
//! keyed `{track}\0{month}\0{with}`, so a track's co-likes are one key
//! range whatever characters its id holds.

use std::collections::HashMap;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, decode, encode, unavailable};
use crate::domain::Millis;
use crate::domain::recommend::{CoLike, LikedPlay};
use crate::store::{CoLikeStore, StoreResult};

const LIKED_PLAYS: TableDefinition<&str, &[u8]> = TableDefinition::new("liked_plays");
const CO_LIKES: TableDefinition<&str, u64> = TableDefinition::new("co_likes");

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(LIKED_PLAYS)?;
    txn.open_table(CO_LIKES)?;
    Ok(())
}

fn liked_key(room_id: &str, ended_at: Millis, entry_id: &str) -> String {
    format!("{room_id}/{ended_at:020}/{entry_id}")
}

/// The time inside a `LIKED_PLAYS` key.
fn key_ended_at(key: &str) -> Millis {
    key.split('/').nth(1).and_then(|t| t.parse().ok()).unwrap_or_default()
}

/// The month inside a `CO_LIKES` key.
fn key_month(key: &str) -> &str {
    key.split('\0').nth(1).unwrap_or_default()
}

#[async_trait]
impl CoLikeStore for EmbeddedStore {
    async fn keep_liked_play(
        &self,
        liked: &LikedPlay,
        window_ms: Millis,
        limit: usize,
    ) -> StoreResult<Option<Vec<LikedPlay>>> {
        let key = liked_key(&liked.room_id, liked.ended_at, &liked.entry_id);
        let from = liked_key(&liked.room_id, liked.ended_at.saturating_sub(window_ms), "");
        let bytes = encode(liked)?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let earlier = {
                let mut table = txn.open_table(LIKED_PLAYS).map_err(unavailable)?;
                if table.get(key.as_str()).map_err(unavailable)?.is_some() {
                    return Ok(None);
                }
                let mut earlier = Vec::new();
                for row in table.range(from.as_str()..key.as_str()).map_err(unavailable)?.rev().take(limit) {
                    earlier.push(decode::<LikedPlay>(row.map_err(unavailable)?.1.value())?);
                }
                table.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
                earlier
            };
            txn.commit().map_err(unavailable)?;
            Ok(Some(earlier))
        })
        .await
    }

    async fn count_co_likes(&self, month: &str, pairs: &[(String, String)]) -> StoreResult<()> {
        let keys: Vec<String> = pairs.iter().map(|(track, with)| format!("{track}\0{month}\0{with}")).collect();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(CO_LIKES).map_err(unavailable)?;
                for key in &keys {
                    let count = table.get(key.as_str()).map_err(unavailable)?.map_or(0, |c| c.value());
                    table.insert(key.as_str(), count + 1).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn co_liked(&self, track_ids: &[String], from_month: &str, per_track: usize) -> StoreResult<Vec<CoLike>> {
        let (track_ids, from_month) = (track_ids.to_vec(), from_month.to_string());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(CO_LIKES).map_err(unavailable)?;
            let mut co_likes = Vec::new();
            for track in &track_ids {
                let mut sums: HashMap<String, u64> = HashMap::new();
                let (from, to) = (format!("{track}\0{from_month}"), format!("{track}\u{1}"));
                for row in table.range(from.as_str()..to.as_str()).map_err(unavailable)? {
                    let (key, count) = row.map_err(unavailable)?;
                    let with = key.value().splitn(3, '\0').nth(2).unwrap_or_default().to_string();
                    *sums.entry(with).or_default() += count.value();
                }
                let mut rows: Vec<(String, u64)> = sums.into_iter().collect();
                rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                rows.truncate(per_track);
                co_likes.extend(rows.into_iter().map(|(with, count)| CoLike { track_id: track.clone(), with, count }));
            }
            Ok(co_likes)
        })
        .await
    }

    async fn sweep_co_likes(&self, month: &str, ended_before: Millis) -> StoreResult<u64> {
        let month = month.to_string();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let removed = {
                let mut counts = txn.open_table(CO_LIKES).map_err(unavailable)?;
                let old = counts.extract_if(|key, _| key_month(key) < month.as_str()).map_err(unavailable)?;
                let mut removed = old.count() as u64;
                let mut liked = txn.open_table(LIKED_PLAYS).map_err(unavailable)?;
                let old = liked.extract_if(|key, _| key_ended_at(key) < ended_before).map_err(unavailable)?;
                removed += old.count() as u64;
                removed
            };
            txn.commit().map_err(unavailable)?;
            Ok(removed)
        })
        .await
    }
}
