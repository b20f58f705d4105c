//! The Meilisearch engine (scale-out), through `meilisearch-sdk`. Settings
//! are the files of `search-config/` as written; every write waits for its
//! task and a failed task is an error, so the indexer retries it. Queries
//! are translated from the planned tree (see `translate`).

mod node_key;
mod translate;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use meilisearch_sdk::client::Client;
use meilisearch_sdk::documents::DocumentsQuery;
use meilisearch_sdk::errors::{Error as MeiliError, ErrorCode};
use meilisearch_sdk::search::{MatchingStrategies, Selectors};
use meilisearch_sdk::settings::Settings;
use meilisearch_sdk::task_info::TaskInfo;
use meilisearch_sdk::tasks::Task;
use serde_json::Value;

use super::config::{IndexConfig, PRIMARY_KEY};
pub use node_key::{NODE_KEY_UID, ensure_node_key};
pub use translate::{Translation, translate};

use super::{IndexName, SearchEngine, SearchError, SearchRequest, SearchResult, SearchResults, top_values};

/// How often a task is polled, and for how long.
const TASK_POLL: Duration = Duration::from_millis(50);
const TASK_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a search, or for Meilisearch to accept a write.
const SEARCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Bounds a call so a hung Meilisearch cannot hang a request or the indexer.
async fn bounded<T>(call: impl std::future::Future<Output = Result<T, MeiliError>>) -> SearchResult<T> {
    tokio::time::timeout(SEARCH_TIMEOUT, call)
        .await
        .map_err(|_| SearchError::Unavailable("Meilisearch did not answer in time".into()))?
        .map_err(classify)
}

pub struct MeiliEngine {
    client: Client,
}

/// Maps an SDK error: refusals of a query are the user's, everything else
/// means the engine is unavailable for now.
fn classify(e: MeiliError) -> SearchError {
    match e {
        MeiliError::Meilisearch(m) => match m.error_code {
            ErrorCode::InvalidSearchFilter
            | ErrorCode::InvalidSearchSort
            | ErrorCode::InvalidSearchFacets
            | ErrorCode::InvalidSearchQ => SearchError::InvalidQuery(m.error_message),
            _ => SearchError::Unavailable(format!("{}: {}", m.error_code, m.error_message)),
        },
        other => SearchError::Unavailable(other.to_string()),
    }
}

impl MeiliEngine {
    pub fn connect(url: &str, api_key: Option<&str>) -> anyhow::Result<Self> {
        Ok(Self { client: Client::new(url, api_key)? })
    }

    /// Waits for a task; a failed task is `Failed` with Meilisearch's code.
    async fn finish(&self, task: TaskInfo) -> SearchResult<()> {
        let wait = self.client.wait_for_task(task, Some(TASK_POLL), Some(TASK_TIMEOUT));
        let done = tokio::time::timeout(TASK_TIMEOUT + SEARCH_TIMEOUT, wait)
            .await
            .map_err(|_| SearchError::Unavailable("a Meilisearch task did not finish in time".into()))?
            .map_err(classify)?;
        match done {
            Task::Succeeded { .. } => Ok(()),
            Task::Failed { content } => {
                let e = content.error;
                Err(SearchError::Failed(format!("{}: {}", e.error_code, e.error_message)))
            }
            Task::Enqueued { .. } | Task::Processing { .. } => {
                Err(SearchError::Unavailable("a Meilisearch task did not finish in time".into()))
            }
        }
    }

    async fn prepare_index(&self, name: IndexName) -> SearchResult<()> {
        let uid = name.as_str();
        let created = bounded(self.client.create_index(uid, Some(PRIMARY_KEY))).await?;
        match self.finish(created).await {
            Ok(()) => {}
            Err(SearchError::Failed(e)) if e.starts_with("index_already_exists") => {}
            Err(e) => return Err(e),
        }
        let settings: Settings = serde_json::from_value(IndexConfig::shipped(name).raw)
            .map_err(|e| SearchError::Failed(format!("search-config/{uid}.json: {e}")))?;
        let task = bounded(self.client.index(uid).set_settings(&settings)).await?;
        self.finish(task).await
    }
}

#[async_trait]
impl SearchEngine for MeiliEngine {
    async fn prepare(&self) -> SearchResult<()> {
        for name in IndexName::ALL {
            self.prepare_index(name).await?;
        }
        Ok(())
    }

    async fn upsert(&self, name: IndexName, documents: &[Value]) -> SearchResult<()> {
        let index = self.client.index(name.as_str());
        let task = bounded(index.add_or_replace(documents, Some(PRIMARY_KEY))).await?;
        self.finish(task).await
    }

    async fn delete(&self, name: IndexName, ids: &[String]) -> SearchResult<()> {
        let task = bounded(self.client.index(name.as_str()).delete_documents(ids)).await?;
        self.finish(task).await
    }

    async fn clear(&self, name: IndexName) -> SearchResult<()> {
        let task = bounded(self.client.index(name.as_str()).delete_all_documents()).await?;
        self.finish(task).await
    }

    async fn search(&self, name: IndexName, request: &SearchRequest) -> SearchResult<SearchResults> {
        let config = IndexConfig::shipped(name);
        let t = translate::translate(request)?;
        let index = self.client.index(name.as_str());
        let mut query = index.search();
        query
            .with_query(&t.q)
            .with_offset(request.offset)
            .with_limit(request.limit)
            .with_matching_strategy(MatchingStrategies::ALL);
        if let Some(filter) = &t.filter {
            query.with_filter(filter);
        }
        let sort: Vec<&str> = t.sort.iter().map(String::as_str).collect();
        if !sort.is_empty() {
            query.with_sort(&sort);
        }
        let facets: Vec<&str> = request.facets.iter().map(String::as_str).collect();
        if !facets.is_empty() {
            query.with_facets(Selectors::Some(&facets));
        }
        let fields: Vec<&str> = t.search_on.iter().map(String::as_str).collect();
        if !fields.is_empty() {
            query.with_attributes_to_search_on(&fields);
        }
        let found = tokio::time::timeout(SEARCH_TIMEOUT, query.execute::<Value>())
            .await
            .map_err(|_| SearchError::Unavailable("Meilisearch did not answer in time".into()))?
            .map_err(classify)?;
        let facets = found
            .facet_distribution
            .unwrap_or_default()
            .into_iter()
            .map(|(facet, values)| {
                let values = values.into_iter().map(|(v, n)| (v, n as u64)).collect();
                (facet, top_values(values, config.max_values_per_facet))
            })
            .collect::<BTreeMap<_, _>>();
        Ok(SearchResults {
            total: found.estimated_total_hits.unwrap_or(found.hits.len()),
            hits: found.hits.into_iter().map(|h| h.result).collect(),
            facets,
        })
    }

    async fn count(&self, name: IndexName) -> SearchResult<u64> {
        let index = self.client.index(name.as_str());
        let page = bounded(DocumentsQuery::new(&index).with_limit(1).execute::<Value>()).await?;
        Ok(page.total as u64)
    }

    async fn close(&self) {}
}
