//! `ProviderStore` on redb: one table per record kind, keyed by state,
//! `{user_id}/{provider}` and job id.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, decode, encode, unavailable};
use crate::domain::{JobStatus, Millis, PendingAuthorization, ProviderJob, ProviderLink};
use crate::store::providers::link_key;
use crate::store::{ProviderStore, StoreError, StoreResult};

const AUTHORIZATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("provider_authorizations");
const LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("provider_links");
const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("provider_jobs");

pub(super) fn open_tables(txn: &WriteTransaction) -> Result<(), redb::TableError> {
    txn.open_table(AUTHORIZATIONS)?;
    txn.open_table(LINKS)?;
    txn.open_table(JOBS)?;
    Ok(())
}

impl EmbeddedStore {
    pub(super) async fn get_record<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        key: String,
    ) -> StoreResult<Option<T>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(table).map_err(unavailable)?;
            let found = table.get(key.as_str()).map_err(unavailable)?;
            found.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    /// Runs `work` on `table` in one write transaction.
    pub(super) async fn change_table<R: Send + 'static>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        work: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let result = {
                let mut table = txn.open_table(table).map_err(unavailable)?;
                work(&mut table)?
            };
            txn.commit().map_err(unavailable)?;
            Ok(result)
        })
        .await
    }
}

#[async_trait]
impl ProviderStore for EmbeddedStore {
    async fn insert_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()> {
        let (state, bytes) = (pending.state.clone(), encode(pending)?);
        self.change_table(AUTHORIZATIONS, move |table| {
            if table.get(state.as_str()).map_err(unavailable)?.is_some() {
                return Err(StoreError::Duplicate);
            }
            table.insert(state.as_str(), bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn take_authorization(&self, state: &str) -> StoreResult<Option<PendingAuthorization>> {
        let state = state.to_string();
        self.change_table(AUTHORIZATIONS, move |table| {
            let removed = table.remove(state.as_str()).map_err(unavailable)?;
            removed.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn link(&self, user_id: &str, provider: &str) -> StoreResult<Option<ProviderLink>> {
        self.get_record(LINKS, link_key(user_id, provider)).await
    }

    async fn save_link(&self, link: &ProviderLink, expected: Option<u64>) -> StoreResult<()> {
        let (key, bytes) = (link_key(&link.user_id, &link.provider), encode(link)?);
        self.change_table(LINKS, move |table| {
            let stored: Option<ProviderLink> =
                table.get(key.as_str()).map_err(unavailable)?.map(|v| decode(v.value())).transpose()?;
            if stored.map(|l| l.revision) != expected {
                return Err(StoreError::Conflict);
            }
            table.insert(key.as_str(), bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn delete_link(&self, user_id: &str, provider: &str) -> StoreResult<()> {
        let key = link_key(user_id, provider);
        self.change_table(LINKS, move |table| {
            table.remove(key.as_str()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn put_job(&self, job: &ProviderJob) -> StoreResult<()> {
        let (id, bytes) = (job.id.clone(), encode(job)?);
        self.change_table(JOBS, move |table| {
            table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn job(&self, id: &str) -> StoreResult<Option<ProviderJob>> {
        self.get_record(JOBS, id.to_string()).await
    }

    async fn save_job(&self, job: &ProviderJob) -> StoreResult<bool> {
        let (id, owner, bytes) = (job.id.clone(), job.work.owner.clone(), encode(job)?);
        self.change_table(JOBS, move |table| {
            let stored: Option<ProviderJob> =
                table.get(id.as_str()).map_err(unavailable)?.map(|v| decode(v.value())).transpose()?;
            if stored.is_none_or(|s| s.work.owner != owner) {
                return Ok(false);
            }
            table.insert(id.as_str(), bytes.as_slice()).map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    /// Reads every job: jobs are few (one per import or export ever asked).
    async fn stalled_jobs(&self, now: Millis, limit: usize) -> StoreResult<Vec<ProviderJob>> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(JOBS).map_err(unavailable)?;
            let mut stalled = Vec::new();
            for row in table.iter().map_err(unavailable)? {
                let (key, value) = row.map_err(unavailable)?;
                // One record that cannot be read must not stop every resume.
                let Ok(job) = decode::<ProviderJob>(value.value()) else {
                    tracing::warn!(job = key.value(), "a stored job cannot be read: not resumed");
                    continue;
                };
                if job.status == JobStatus::Running && job.work.lease_until < now {
                    stalled.push(job);
                    if stalled.len() == limit {
                        break;
                    }
                }
            }
            Ok(stalled)
        })
        .await
    }

    async fn claim_job(&self, id: &str, now: Millis, owner: &str, until: Millis) -> StoreResult<Option<ProviderJob>> {
        let (id, owner) = (id.to_string(), owner.to_string());
        self.change_table(JOBS, move |table| {
            let stored: Option<ProviderJob> =
                table.get(id.as_str()).map_err(unavailable)?.map(|v| decode(v.value())).transpose()?;
            let Some(mut job) = stored.filter(|j| j.status == JobStatus::Running && j.work.lease_until < now) else {
                return Ok(None);
            };
            (job.work.owner, job.work.lease_until) = (owner, until);
            job.work.attempts += 1;
            table.insert(id.as_str(), encode(&job)?.as_slice()).map_err(unavailable)?;
            Ok(Some(job))
        })
        .await
    }
}
