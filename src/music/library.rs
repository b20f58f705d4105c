//! The library: tracks live in the store (seeded with the demo catalogue
//! when empty) and are found through the `tracks` search index, whose
//! documents are built here.

use std::sync::Arc;

use serde_json::{Value, json};

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

/// The `tracks` index document of a track: the fields named in
/// `search-config/tracks.json`, plus what a search result shows.
pub fn search_document(track: &Track) -> Value {
    json!({
        "id": track.id,
        "title": track.title,
        "artist": track.artists,
        "album": track.album,
        "genre": track.genres,
        "year": track.year,
        "decade": track.year / 10 * 10,
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        "popularity": track.popularity,
        "artwork_url": track.artwork_url,
    })
}
