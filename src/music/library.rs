//! The library: tracks live in the store (seeded with the demo catalogue
//! when empty) and are found through the `tracks` search index, whose
//! documents are built here.

use std::sync::Arc;

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
