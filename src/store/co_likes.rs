//! What the recommender learns across rooms needs from the database:
//! plays rooms liked, kept just long enough to pair each with the next
//! ones of its room, and how often two tracks were liked together, counted
//! by month so counts older than the retention are swept. Its own trait
//! beside `Store`, served by the same databases.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::Millis;
use crate::domain::recommend::{CoLike, LikedPlay};

#[async_trait]
pub trait CoLikeStore: Send + Sync + 'static {
    /// Keeps a play its room liked. `None` when it was kept already (so a
    /// play is paired once); otherwise the room's other liked plays that
    /// ended in the `window_ms` before it, newest first, at most `limit`.
    async fn keep_liked_play(
        &self,
        liked: &LikedPlay,
        window_ms: Millis,
        limit: usize,
    ) -> StoreResult<Option<Vec<LikedPlay>>>;
    /// Adds one to the count of each `(track, with)` pair in `month`
    /// (`YYYY-MM`).
    async fn count_co_likes(&self, month: &str, pairs: &[(String, String)]) -> StoreResult<()>;
    /// The tracks liked with each of `track_ids` from `from_month` on, the
    /// months summed: for each track in turn, its `per_track` highest
    /// counts (ties by `with`).
    async fn co_liked(&self, track_ids: &[String], from_month: &str, per_track: usize) -> StoreResult<Vec<CoLike>>;
    /// Removes the counts of months before `month` and the liked plays
    /// that ended before `ended_before`; how many records went.
    async fn sweep_co_likes(&self, month: &str, ended_before: Millis) -> StoreResult<u64>;
}
