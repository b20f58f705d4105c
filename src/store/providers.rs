//! What music service links need from the database: pending authorizations
//! (single use), linked accounts (saved by compare-and-swap on their
//! revision) and background jobs (progress saved while the saver holds
//! the job's lease; stalled jobs claimed by one node). Its own trait beside `Store`, like
//! `AccountStore`, served by the same databases.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::{Millis, PendingAuthorization, ProviderJob, ProviderLink};

/// The music services a link can be for.
pub const PROVIDERS: [&str; 1] = ["spotify"];

#[async_trait]
pub trait ProviderStore: Send + Sync + 'static {
    /// Stores a new pending authorization; `Duplicate` if its state is taken.
    async fn insert_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()>;
    /// Removes the pending authorization of `state` and returns it: a state
    /// is good for one callback, however many race for it.
    async fn take_authorization(&self, state: &str) -> StoreResult<Option<PendingAuthorization>>;

    async fn link(&self, user_id: &str, provider: &str) -> StoreResult<Option<ProviderLink>>;
    /// Saves `link` if the stored one still has revision `expected` (`None`:
    /// there must be none); `Conflict` otherwise. The caller bumps
    /// `link.revision`.
    async fn save_link(&self, link: &ProviderLink, expected: Option<u64>) -> StoreResult<()>;
    /// Removes a link (a missing one is fine).
    async fn delete_link(&self, user_id: &str, provider: &str) -> StoreResult<()>;

    /// Inserts or replaces a job by id.
    async fn put_job(&self, job: &ProviderJob) -> StoreResult<()>;
    async fn job(&self, id: &str) -> StoreResult<Option<ProviderJob>>;
    /// Saves a job's progress or end while it is still `job.work.owner`'s;
    /// false (nothing written) once another node took the job over.
    async fn save_job(&self, job: &ProviderJob) -> StoreResult<bool>;
    /// Up to `limit` running jobs whose lease ended before `now`.
    async fn stalled_jobs(&self, now: Millis, limit: usize) -> StoreResult<Vec<ProviderJob>>;
    /// Takes over a job still running with a lease ended before `now`: sets
    /// `owner`, the lease until `until` and counts the attempt. The claimed
    /// job, or `None` when another node took it first or it ended.
    async fn claim_job(&self, id: &str, now: Millis, owner: &str, until: Millis) -> StoreResult<Option<ProviderJob>>;
}

/// The key of a link: one per user and service.
pub fn link_key(user_id: &str, provider: &str) -> String {
    format!("{user_id}/{provider}")
}
