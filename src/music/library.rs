//! The library in memory plus its search index, loaded from the store at
//! start-up (the store is seeded with the demo catalogue when empty).

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::Track;
use crate::search::TrackIndex;
use crate::store::Store;

pub struct Library {
    tracks: HashMap<String, Track>,
    /// Track ids, most popular first, for an empty search.
    popular: Vec<String>,
    index: TrackIndex,
}

impl Library {
    /// Loads every track from the store, seeding the demo catalogue into an
    /// empty store first, and indexes them.
    pub async fn load(store: &Arc<dyn Store>) -> anyhow::Result<Self> {
        let mut tracks = store.all_tracks().await?;
        if tracks.is_empty() {
            tracks = super::demo::tracks();
            store.put_tracks(&tracks).await?;
            tracing::info!(count = tracks.len(), "seeded the demo library");
        }
        let index = tokio::task::spawn_blocking({
            let tracks = tracks.clone();
            move || TrackIndex::build(&tracks)
        })
        .await??;
        let mut popular: Vec<&Track> = tracks.iter().collect();
        popular.sort_by_key(|t| (std::cmp::Reverse(t.popularity), t.id.clone()));
        let popular = popular.into_iter().map(|t| t.id.clone()).collect();
        let tracks = tracks.into_iter().map(|t| (t.id.clone(), t)).collect();
        Ok(Self { tracks, popular, index })
    }

    pub fn get(&self, id: &str) -> Option<&Track> {
        self.tracks.get(id)
    }

    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Search-as-you-type over title, artists and album; an empty query lists
    /// the most popular tracks.
    pub fn search(&self, query: &str, limit: usize) -> anyhow::Result<Vec<&Track>> {
        let ids = if query.trim().is_empty() {
            self.popular.iter().take(limit).cloned().collect()
        } else {
            self.index.search(query, limit)?
        };
        Ok(ids.iter().filter_map(|id| self.tracks.get(id)).collect())
    }
}
