//! The catalogue fallback of the search box: when the library has few hits,
//! the music service's catalogue is searched too (with the app's own
//! credentials, no user needed), its tracks join the library and the
//! answer. Cache-aside: the ids found for a query are kept for an hour (in
//! Redis in scale-out, so every node shares them), so a query typed again
//! does not reach the service. The search never waits more than
//! `spotify_search_budget_ms` and any failure answers with the library's
//! hits alone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::Expiration;
use tokio::time::Instant;

use super::Providers;
use crate::domain::Track;
use crate::redis::{ensure_up, timed};

/// Fewer library hits than this ask the catalogue too.
pub const FEW_HITS: usize = 5;
const CACHE_FOR: Duration = Duration::from_secs(3_600);
/// Most catalogue tracks asked for per search.
const MAX_CATALOGUE_HITS: u32 = 20;
/// Queries kept by the in-process cache before it starts over.
const LOCAL_ENTRIES: usize = 10_000;

/// Query → ids of the catalogue tracks it found.
#[async_trait]
pub trait CatalogueCache: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Option<Vec<String>>;
    async fn put(&self, key: &str, ids: &[String]);
}

#[derive(Default)]
pub struct LocalCatalogueCache(Mutex<HashMap<String, (Instant, Vec<String>)>>);

#[async_trait]
impl CatalogueCache for LocalCatalogueCache {
    async fn get(&self, key: &str) -> Option<Vec<String>> {
        let entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(key).filter(|(at, _)| at.elapsed() < CACHE_FOR).map(|(_, ids)| ids.clone())
    }

    async fn put(&self, key: &str, ids: &[String]) {
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= LOCAL_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_string(), (Instant::now(), ids.to_vec()));
    }
}

pub struct RedisCatalogueCache(pub Client);

#[async_trait]
impl CatalogueCache for RedisCatalogueCache {
    async fn get(&self, key: &str) -> Option<Vec<String>> {
        let json: Option<String> = timed("catalogue_get", async {
            ensure_up(&self.0)?;
            self.0.get(key).await
        })
        .await
        .ok()?;
        serde_json::from_str(&json?).ok()
    }

    async fn put(&self, key: &str, ids: &[String]) {
        let Ok(json) = serde_json::to_string(ids) else { return };
        let expiry = Some(Expiration::EX(CACHE_FOR.as_secs() as i64));
        let stored: Result<(), Error> = timed("catalogue_put", async {
            ensure_up(&self.0)?;
            self.0.set(key, json, expiry, None, false).await
        })
        .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "catalogue cache write failed");
        }
    }
}

impl Providers {
    /// Catalogue tracks for `q` that are not in `library` already, at most
    /// `limit - library.len()`; empty when the library has enough hits, no
    /// catalogue is configured, or it fails or is slow.
    pub async fn catalogue_hits(&self, q: &str, limit: usize, library: &[Track]) -> Vec<Track> {
        let room = limit.saturating_sub(library.len());
        let Some(provider) = self.spotify().filter(|p| p.can_search()) else { return Vec::new() };
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        if library.len() >= FEW_HITS || room == 0 || words.is_empty() {
            return Vec::new();
        }
        let key = format!("catalogue:{}:{}", provider.name(), words.join(" "));
        let found = match self.catalogue_cache.get(&key).await {
            Some(ids)
                if let Ok(found) = self.store.tracks_by_ids(&ids).await
                    && found.len() == ids.len() =>
            {
                ids.iter().filter_map(|id| found.iter().find(|t| &t.id == id).cloned()).collect()
            }
            // Not cached, or some of its tracks are gone: ask again.
            _ => {
                let q = words.join(" ");
                let search = self.0.guard.call(provider.search(&q, MAX_CATALOGUE_HITS));
                let tracks = match tokio::time::timeout(self.search_budget, search).await {
                    Ok(Ok(tracks)) => tracks,
                    Ok(Err(e)) => {
                        tracing::info!(error = %e, "catalogue search failed: library hits only");
                        return Vec::new();
                    }
                    Err(_) => {
                        tracing::info!("catalogue search too slow: library hits only");
                        return Vec::new();
                    }
                };
                // Only new tracks join the library: a venue's own entry for
                // the same recording keeps its metadata.
                let ids: Vec<String> = tracks.iter().map(|t| t.id.clone()).collect();
                let known = self.store.tracks_by_ids(&ids).await.unwrap_or_default();
                let new: Vec<Track> = tracks.iter().filter(|t| known.iter().all(|k| k.id != t.id)).cloned().collect();
                if let Err(e) = self.store.put_tracks(&new).await {
                    tracing::warn!(error = %e, "could not keep catalogue tracks");
                    return Vec::new();
                }
                self.index_changed.notify_one();
                self.catalogue_cache.put(&key, &ids).await;
                tracks
            }
        };
        found.into_iter().filter(|t| library.iter().all(|l| l.id != t.id)).take(room).collect()
    }
}
