//! The library: tracks live in the store (seeded with the demo catalogue
//! when empty) and are found through the `tracks` search index (its
//! documents are `search::documents::track`).

use std::sync::Arc;

use crate::domain::Track;
use crate::store::{Store, StoreResult};

/// Seeds the demo catalogue into an empty store.
pub async fn seed_demo_if_empty(store: &Arc<dyn Store>) -> StoreResult<()> {
    if store.track_count().await? == 0 {
        let tracks = super::demo::tracks();
        store.put_tracks(&tracks).await?;
        tracing::info!(count = tracks.len(), "seeded the demo library");
    }
    Ok(())
}

/// The tracks of `ids` in that order; `track_not_found` if one is missing.
pub async fn tracks_in_order(store: &dyn Store, ids: &[String]) -> crate::error::Result<Vec<Track>> {
    let found = store.tracks_by_ids(ids).await?;
    let ordered = ids.iter().map(|id| found.iter().find(|t| &t.id == id).cloned());
    ordered.map(|t| t.ok_or(crate::error::AppError::TrackNotFound)).collect()
}
