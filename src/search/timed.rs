//! A `SearchEngine` that times every call of the engine it wraps and counts
//! its failures, for operators (`crowdjuke_search_call_seconds{call,index}`,
//! `crowdjuke_search_errors_total{call,index,error}`). Both engines are wrapped.
//! A query the user got wrong (invalid, unknown field, unsupported) is an
//! answer, not a failure: only `unavailable` and `failed` count as errors.
//!
//! Owns: the search call metrics. May use: `search`, `telemetry`.
//! Must not import: anything above search.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{IndexName, SearchEngine, SearchError, SearchRequest, SearchResult, SearchResults};
use crate::telemetry;

pub struct Timed(pub Arc<dyn SearchEngine>);

/// Runs one engine call, recording how long it took and whether it failed.
async fn timed<T>(
    call: &'static str,
    index: Option<IndexName>,
    work: impl Future<Output = SearchResult<T>>,
) -> SearchResult<T> {
    let index = index.map_or("all", IndexName::as_str);
    let labels = [("call", call), ("index", index)];
    let timer = telemetry::Call::start(telemetry::SEARCH_SECONDS, telemetry::SEARCH_ERRORS, &labels);
    let result = work.await;
    timer.finish(match &result {
        Err(SearchError::Unavailable(_)) => Some("unavailable"),
        Err(SearchError::Failed(_)) => Some("failed"),
        _ => None,
    });
    result
}

#[async_trait]
impl SearchEngine for Timed {
    async fn prepare(&self) -> SearchResult<()> {
        timed("prepare", None, self.0.prepare()).await
    }
    async fn upsert(&self, index: IndexName, documents: &[Value]) -> SearchResult<()> {
        timed("upsert", Some(index), self.0.upsert(index, documents)).await
    }
    async fn delete(&self, index: IndexName, ids: &[String]) -> SearchResult<()> {
        timed("delete", Some(index), self.0.delete(index, ids)).await
    }
    async fn clear(&self, index: IndexName) -> SearchResult<()> {
        timed("clear", Some(index), self.0.clear(index)).await
    }
    async fn search(&self, index: IndexName, request: &SearchRequest) -> SearchResult<SearchResults> {
        timed("search", Some(index), self.0.search(index, request)).await
    }
    async fn count(&self, index: IndexName) -> SearchResult<u64> {
        timed("count", Some(index), self.0.count(index)).await
    }
    async fn close(&self) {
        self.0.close().await
    }
}
