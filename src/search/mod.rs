//! Search over the library (tracks), public rooms and users. One query
//! language (`query`), checked against the index settings in
//! `search-config/` (`config`, `plan`), executed by one of two engines behind
//! `SearchEngine`: embedded tantivy (default) or Meilisearch (scale-out).
//! `indexer` keeps the engine in step with the store through its outbox.
//!
//! Owns: the query language, `SearchEngine` and its two engines, the index
//! documents, the indexer. May use: codes, domain, error, locks, store.
//! Must not import: services, state, transport.

pub mod config;
pub mod documents;
pub mod indexer;
pub mod meili;
pub mod plan;
pub mod query;
pub mod request;
pub mod tantivy_engine;
mod timed;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::codes::Code;
use crate::error::AppError;

pub use config::{IndexConfig, IndexName};
pub use meili::MeiliEngine;
pub use request::{GeoPoint, SearchRequest, SortKey};
pub use tantivy_engine::TantivyEngine;
pub use timed::Timed;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query text or a parameter does not make sense.
    #[error("{0}")]
    InvalidQuery(String),
    /// The query names a field the index does not have.
    #[error("{0}")]
    UnknownField(String),
    /// The engine in use cannot express this construct.
    #[error("{0}")]
    Unsupported(String),
    /// The engine cannot be reached or refused the operation for now.
    #[error("search unavailable: {0}")]
    Unavailable(String),
    /// The engine accepted a write and then failed it (a task failure).
    #[error("search engine refused a write: {0}")]
    Failed(String),
}

impl SearchError {
    /// Its code in the one table (`crate::codes`).
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidQuery(_) => Code::InvalidQuery,
            Self::UnknownField(_) => Code::UnknownField,
            Self::Unsupported(_) => Code::UnsupportedQuery,
            Self::Unavailable(_) | Self::Failed(_) => Code::Unavailable,
        }
    }
}

impl From<SearchError> for AppError {
    /// An engine that is down or failed a write is `unavailable` to clients
    /// (the detail is logged, never sent).
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Unavailable(_) | SearchError::Failed(_) => {
                tracing::warn!(error = %e, "search engine unavailable");
                AppError::Unavailable
            }
            other => AppError::Coded { code: other.code(), message: other.to_string(), retry_after: None },
        }
    }
}

impl From<query::ParseError> for SearchError {
    fn from(e: query::ParseError) -> Self {
        Self::InvalidQuery(e.to_string())
    }
}

pub type SearchResult<T> = Result<T, SearchError>;

/// One page of hits with the facet counts over every match.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct SearchResults {
    /// The indexed documents, best first.
    pub hits: Vec<Value>,
    /// Matches in total (capped at the index's `maxTotalHits`).
    pub total: usize,
    /// Facet → value → number of matching documents.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Keeps the `max` most frequent values of a facet (ties by value), as
/// both engines report them.
pub fn top_values(counts: HashMap<String, u64>, max: usize) -> BTreeMap<String, u64> {
    let mut values: Vec<(String, u64)> = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    values.into_iter().take(max).collect()
}

#[async_trait]
pub trait SearchEngine: Send + Sync + 'static {
    /// Creates missing indexes and applies the settings of `search-config/`.
    async fn prepare(&self) -> SearchResult<()>;
    /// Inserts or replaces documents by `id`; returns once they are searchable.
    async fn upsert(&self, index: IndexName, documents: &[Value]) -> SearchResult<()>;
    /// Removes documents by id (unknown ids are ignored).
    async fn delete(&self, index: IndexName, ids: &[String]) -> SearchResult<()>;
    /// Removes every document of the index.
    async fn clear(&self, index: IndexName) -> SearchResult<()>;
    async fn search(&self, index: IndexName, request: &SearchRequest) -> SearchResult<SearchResults>;
    /// Documents in the index (for start-up checks and the operator).
    async fn count(&self, index: IndexName) -> SearchResult<u64>;
    /// Flushes and releases the index.
    async fn close(&self);
}
