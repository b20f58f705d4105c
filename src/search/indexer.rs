//! Keeps the search engine in step with the store. Every store write that
//! changes a searchable document also queues it in the store's search
//! outbox; this loop reads each queued document's *current* state from the
//! store, writes it to the engine (or deletes it when gone), waits until the
//! engine has applied it, and only then removes the item. An engine that is
//! down just leaves the outbox growing: the loop retries with back-off and
//! catches up, so the index never drifts from the store.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{IndexName, SearchEngine, SearchError, documents};
use crate::locks::{LockAttempt, RoomLocks};
use crate::store::{OutboxItem, Store, StoreError};

/// Documents per engine write.
pub const BATCH: usize = 1_000;
/// Wait between empty polls (other nodes' writes are not notified here).
const IDLE_POLL: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Scaled out, nodes take turns draining (see `run`).
const LOCK_NAME: &str = "search-indexer";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] SearchError),
}

/// Drains the outbox until `stop`. Scaled out, one node at a time drains,
/// under a short Redis lock (a node that finds it taken waits for its next
/// round), so two nodes do not write the same document out of order. The
/// lock is best effort: a batch outliving the 2 s lease could race, and
/// `crowdjuke reindex` rebuilds an index from the store if ever needed.
pub async fn run(
    store: Arc<dyn Store>,
    engine: Arc<dyn SearchEngine>,
    locks: Arc<dyn RoomLocks>,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let drained = match locks.try_acquire(LOCK_NAME).await {
            LockAttempt::Busy => Ok(0),
            LockAttempt::Unshared => drain_once(store.as_ref(), engine.as_ref()).await,
            LockAttempt::Held(lock) => {
                let drained = drain_once(store.as_ref(), engine.as_ref()).await;
                lock.release().await;
                drained
            }
        };
        let pause = match drained {
            Ok(0) => IDLE_POLL,
            Ok(_) => {
                backoff = Duration::from_millis(500);
                Duration::ZERO
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "search indexing failed, will retry");
                let pause = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                pause
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Indexes one batch of the outbox; returns how many items it handled.
pub async fn drain_once(store: &dyn Store, engine: &dyn SearchEngine) -> Result<usize, IndexError> {
    let items = store.outbox(BATCH).await?;
    if items.is_empty() {
        return Ok(0);
    }
    for index in IndexName::ALL {
        let ids: BTreeSet<&str> = items.iter().filter(|i| i.index == index.as_str()).map(|i| i.id.as_str()).collect();
        let ids: Vec<String> = ids.into_iter().map(str::to_string).collect();
        if !ids.is_empty() {
            index_documents(store, engine, index, &ids).await?;
        }
    }
    let unknown: Vec<&OutboxItem> = items.iter().filter(|i| IndexName::parse(&i.index).is_none()).collect();
    if !unknown.is_empty() {
        tracing::warn!(count = unknown.len(), "dropping outbox items of unknown indexes");
    }
    store.outbox_done(&items).await?;
    Ok(items.len())
}

/// Writes the current state of `ids` to the engine: upserts what exists,
/// deletes what does not.
async fn index_documents(
    store: &dyn Store,
    engine: &dyn SearchEngine,
    index: IndexName,
    ids: &[String],
) -> Result<(), IndexError> {
    let documents: Vec<serde_json::Value> = match index {
        IndexName::Tracks => store.tracks_by_ids(ids).await?.iter().map(documents::track).collect(),
        IndexName::Rooms => {
            let mut docs = Vec::new();
            for id in ids {
                if let Some(room) = store.load_room(id).await? {
                    docs.extend(documents::room(&room));
                }
            }
            docs
        }
        IndexName::Users => {
            let mut docs = Vec::new();
            for id in ids {
                if let Some(user) = store.accounts().user(id).await? {
                    let (followers, _) = store.accounts().follow_counts(id).await?;
                    docs.push(documents::user(&user, followers));
                }
            }
            docs
        }
    };
    let present: HashSet<&str> = documents.iter().filter_map(|d| d["id"].as_str()).collect();
    let gone: Vec<String> = ids.iter().filter(|id| !present.contains(id.as_str())).cloned().collect();
    if !documents.is_empty() {
        upsert_or_skip_refused(engine, index, &documents).await?;
    }
    if !gone.is_empty() {
        engine.delete(index, &gone).await?;
    }
    Ok(())
}

/// Writes a batch; when the engine refuses it (a failed task, not an
/// outage), writes the documents one by one and drops, with an error in the
/// log, only those it refuses, so one bad document cannot block the queue.
async fn upsert_or_skip_refused(
    engine: &dyn SearchEngine,
    index: IndexName,
    documents: &[serde_json::Value],
) -> Result<(), SearchError> {
    let why = match engine.upsert(index, documents).await {
        Err(SearchError::Failed(why)) => why,
        other => return other,
    };
    tracing::warn!(%index, %why, count = documents.len(), "batch refused, indexing documents one by one");
    for document in documents {
        match engine.upsert(index, std::slice::from_ref(document)).await {
            Ok(()) => {}
            Err(SearchError::Failed(why)) => {
                tracing::error!(%index, id = %document["id"], %why, "the search engine refuses this document: skipped")
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Rebuilds `index` from the store: clears it and writes every document.
/// Returns the number of documents indexed. The queued items of the index
/// are dropped first: everything written before is read below, and every
/// write queues its document again after committing, so nothing is missed.
pub async fn reindex(store: &dyn Store, engine: &dyn SearchEngine, index: IndexName) -> Result<u64, IndexError> {
    store.outbox_clear(index.as_str()).await?;
    engine.clear(index).await?;
    let mut count = 0;
    if index == IndexName::Rooms {
        let mut documents = Vec::new();
        for id in store.room_ids().await? {
            if let Some(room) = store.load_room(&id).await? {
                documents.extend(documents::room(&room));
            }
        }
        for chunk in documents.chunks(BATCH) {
            engine.upsert(index, chunk).await?;
        }
        count = documents.len() as u64;
    }
    if index == IndexName::Users {
        let mut after: Option<String> = None;
        loop {
            let page = store.accounts().users_after(after.as_deref(), BATCH).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            let mut documents = Vec::with_capacity(page.len());
            for user in &page {
                let (followers, _) = store.accounts().follow_counts(&user.id).await?;
                documents.push(documents::user(user, followers));
            }
            engine.upsert(index, &documents).await?;
            count += page.len() as u64;
        }
    }
    if index == IndexName::Tracks {
        let mut after: Option<String> = None;
        loop {
            let page = store.tracks_after(after.as_deref(), BATCH).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            let documents: Vec<_> = page.iter().map(documents::track).collect();
            engine.upsert(index, &documents).await?;
            count += page.len() as u64;
        }
    }
    Ok(count)
}
