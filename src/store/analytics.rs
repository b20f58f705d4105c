//! What venue analytics need from the database: zone event records kept
//! by local day, a guest's visit extended while they stay, and the sums a
//! report is made of, computed where the events are (a MongoDB aggregation
//! pipeline, or one pass over a redb key range) rather than by loading
//! them. Its own trait beside `Store`, served by the same databases.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::analytics::{DayRange, Tally, ZoneEvent};

#[async_trait]
pub trait AnalyticsStore: Send + Sync + 'static {
    /// Stores events; one whose id is already stored stays as it was, so
    /// recording an event twice counts it once.
    async fn record_events(&self, events: &[ZoneEvent]) -> StoreResult<()>;
    /// `visit` is a guest seen in a zone now (`at`, in the local hour in
    /// `hours`): extends their latest visit of the zone if they were seen
    /// within `VISIT_GAP_MS`, or stores `visit` as a new one.
    async fn note_visit(&self, visit: &ZoneEvent) -> StoreResult<()>;
    /// The sums of a venue's events (of one zone, if given) over `range`.
    async fn tally(&self, venue_id: &str, zone_id: Option<&str>, range: &DayRange) -> StoreResult<Tally>;
    /// Removes every event of a local day before `day` (`YYYY-MM-DD`);
    /// how many were removed.
    async fn sweep_events(&self, day: &str) -> StoreResult<u64>;
    /// Removes a deleted venue's events.
    async fn forget_venue_events(&self, venue_id: &str) -> StoreResult<()>;
}
