//! `ProviderStore` on MongoDB: a pending authorization is taken with
//! `findOneAndDelete` (single use across nodes), a link is saved with a
//! filtered replace on its revision (or an insert, whose duplicate key
//! means another node linked first). A job is saved with a replace
//! filtered on its lease owner and claimed with `findOneAndUpdate` filtered
//! on a lapsed lease, so one node wins.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Document, doc};

use super::{MongoStore, classify, from_doc, to_doc};
use crate::domain::{Millis, PendingAuthorization, ProviderJob, ProviderLink};
use crate::store::providers::link_key;
use crate::store::{ProviderStore, StoreError, StoreResult};

impl MongoStore {
    fn provider_links(&self) -> StoreResult<Collection<Document>> {
        self.collection("provider_links")
    }
}

/// A lease ended before `now`; a job stored before leases has no `work`
/// and counts as lapsed.
fn lapsed(now: Millis) -> Vec<Document> {
    vec![doc! { "work.lease_until": { "$lt": now as i64 } }, doc! { "work": { "$exists": false } }]
}

#[async_trait]
impl ProviderStore for MongoStore {
    async fn insert_authorization(&self, pending: &PendingAuthorization) -> StoreResult<()> {
        let doc = to_doc(&pending.state, pending)?;
        self.collection("provider_authorizations")?.insert_one(doc).await.map_err(classify)?;
        Ok(())
    }

    async fn take_authorization(&self, state: &str) -> StoreResult<Option<PendingAuthorization>> {
        let taken = self.collection("provider_authorizations")?.find_one_and_delete(doc! { "_id": state }).await;
        taken.map_err(classify)?.map(from_doc).transpose()
    }

    async fn link(&self, user_id: &str, provider: &str) -> StoreResult<Option<ProviderLink>> {
        let found = self.provider_links()?.find_one(doc! { "_id": link_key(user_id, provider) }).await;
        found.map_err(classify)?.map(from_doc).transpose()
    }

    async fn save_link(&self, link: &ProviderLink, expected: Option<u64>) -> StoreResult<()> {
        let key = link_key(&link.user_id, &link.provider);
        let doc = to_doc(&key, link)?;
        let links = self.provider_links()?;
        match expected {
            None => match links.insert_one(doc).await.map_err(classify) {
                Err(StoreError::Duplicate) => Err(StoreError::Conflict),
                other => other.map(|_| ()),
            },
            Some(revision) => {
                let filter = doc! { "_id": &key, "revision": revision as i64 };
                let replaced = links.replace_one(filter, doc).await.map_err(classify)?;
                if replaced.matched_count == 1 { Ok(()) } else { Err(StoreError::Conflict) }
            }
        }
    }

    async fn delete_link(&self, user_id: &str, provider: &str) -> StoreResult<()> {
        self.provider_links()?.delete_one(doc! { "_id": link_key(user_id, provider) }).await.map_err(classify)?;
        Ok(())
    }

    async fn put_job(&self, job: &ProviderJob) -> StoreResult<()> {
        let doc = to_doc(&job.id, job)?;
        let jobs = self.collection("provider_jobs")?;
        jobs.replace_one(doc! { "_id": &job.id }, doc).upsert(true).await.map_err(classify)?;
        Ok(())
    }

    async fn save_job(&self, job: &ProviderJob) -> StoreResult<bool> {
        let doc = to_doc(&job.id, job)?;
        let filter = doc! { "_id": &job.id, "work.owner": &job.work.owner };
        let replaced = self.collection("provider_jobs")?.replace_one(filter, doc).await.map_err(classify)?;
        Ok(replaced.matched_count == 1)
    }

    async fn stalled_jobs(&self, now: Millis, limit: usize) -> StoreResult<Vec<ProviderJob>> {
        let filter = doc! { "status": "running", "$or": lapsed(now) };
        let found = self.collection("provider_jobs")?.find(filter).limit(limit as i64).await.map_err(classify)?;
        let docs: Vec<Document> = found.try_collect().await.map_err(classify)?;
        // One record that cannot be read must not stop every resume.
        Ok(docs
            .into_iter()
            .filter_map(|doc| {
                let id = doc.get_str("_id").unwrap_or_default().to_string();
                from_doc(doc).map_err(|e| tracing::warn!(job = id, error = %e, "a stored job cannot be read")).ok()
            })
            .collect())
    }

    async fn claim_job(&self, id: &str, now: Millis, owner: &str, until: Millis) -> StoreResult<Option<ProviderJob>> {
        let filter = doc! { "_id": id, "status": "running", "$or": lapsed(now) };
        let update = doc! {
            "$set": { "work.owner": owner, "work.lease_until": until as i64 },
            "$inc": { "work.attempts": 1 },
        };
        let claimed = self
            .collection("provider_jobs")?
            .find_one_and_update(filter, update)
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(classify)?;
        claimed.map(from_doc).transpose()
    }

    async fn job(&self, id: &str) -> StoreResult<Option<ProviderJob>> {
        self.collection("provider_jobs")?
            .find_one(doc! { "_id": id })
            .await
            .map_err(classify)?
            .map(from_doc)
            .transpose()
    }
}
