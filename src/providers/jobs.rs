//! Imports and exports run as background jobs: the request answers at once
//! with the job, the job's progress is stored (`GET …/jobs/{id}`) and
//! pushed as `provider:job` to the owner's `/feed` sockets. An import reads
//! every page first and writes only when all were read, so a failure
//! half-way writes nothing. Calls wait out a `Retry-After` and retry a
//! service that is briefly down before the job fails.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::Providers;
use super::{MAX_ADD, MusicProvider, ProviderResult};
use crate::broadcast::{Audience, Payload};
use crate::codes::Code;
use crate::domain::command::MAX_FALLBACK;
use crate::domain::{Actor, Command, JobError, JobKind, JobStatus, ProviderJob, TasteMark, TasteSource, Track};
use crate::error::{AppError, Result};
use crate::ids::random_id;
use crate::music::import::MAX_IMPORT_TRACKS;
use crate::providers::Grant;

/// A running job untouched for this long was lost with its node.
pub const STALE_AFTER_MS: u64 = 2 * 60_000;
/// Longest wait for a `Retry-After` inside a job.
const MAX_WAIT_SECS: u64 = 60;
/// Imported tracks that go into the account's taste profile, per import:
/// no more than the profile counts (`recommend::ACCOUNT_HISTORY`).
const MAX_TASTE_IMPORTS: usize = crate::domain::recommend::ACCOUNT_HISTORY;
const RATE_LIMIT_RETRIES: u32 = 5;
const OUTAGE_RETRIES: u32 = 3;
/// Longest name of an exported playlist.
pub const MAX_PLAYLIST_NAME: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub enum ImportSource {
    Liked,
    Playlist(String),
}

impl ImportSource {
    fn label(&self) -> String {
        match self {
            Self::Liked => "liked".into(),
            Self::Playlist(id) => format!("playlist:{id}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExportSource {
    History,
    Queue,
}

/// Where an import also becomes the fallback playlist.
#[derive(Clone, Debug)]
pub struct FallbackTarget {
    pub room_id: String,
    pub member_id: String,
}

impl Providers {
    /// Starts importing `source` into the library (and a room's fallback).
    pub async fn start_import(
        &self,
        provider: Arc<dyn MusicProvider>,
        user_id: &str,
        source: ImportSource,
        fallback: Option<FallbackTarget>,
    ) -> Result<ProviderJob> {
        self.ensure_linked(provider.as_ref(), user_id).await?;
        let job = self.new_job(provider.name(), user_id, JobKind::Import, source.label()).await?;
        let (providers, started) = (self.clone(), job.clone());
        tokio::spawn(async move {
            let _counted = crate::telemetry::JobGauge::start("import");
            let mut job = started;
            let result = providers.import(provider.as_ref(), &mut job, &source, fallback).await;
            providers.finish_job(job, result).await;
        });
        Ok(job)
    }

    /// Starts exporting a room's play history (oldest first) or its queue
    /// (in order) as a new private playlist.
    pub async fn start_export(
        &self,
        provider: Arc<dyn MusicProvider>,
        user_id: &str,
        room_id: &str,
        source: ExportSource,
        name: String,
    ) -> Result<ProviderJob> {
        self.ensure_linked(provider.as_ref(), user_id).await?;
        let label = match source {
            ExportSource::History => "history",
            ExportSource::Queue => "queue",
        };
        let tracks = self.export_tracks(room_id, source).await?;
        let job = self.new_job(provider.name(), user_id, JobKind::Export, label.to_string()).await?;
        let (providers, started) = (self.clone(), job.clone());
        tokio::spawn(async move {
            let _counted = crate::telemetry::JobGauge::start("export");
            let mut job = started;
            let result = providers.export(provider.as_ref(), &mut job, &name, tracks).await;
            providers.finish_job(job, result).await;
        });
        Ok(job)
    }

    /// A job of `user_id` (someone else's is `job_not_found`); a running job
    /// whose node stopped answering is reported failed.
    pub async fn job(&self, user_id: &str, id: &str) -> Result<ProviderJob> {
        let mut job =
            self.store.providers().job(id).await?.filter(|j| j.user_id == user_id).ok_or(AppError::JobNotFound)?;
        if job.status == JobStatus::Running && self.clock.now() > job.updated_at + STALE_AFTER_MS {
            job.status = JobStatus::Failed;
            job.error =
                Some(JobError { code: "interrupted".into(), message: "the server running this job stopped".into() });
        }
        Ok(job)
    }

    async fn ensure_linked(&self, provider: &dyn MusicProvider, user_id: &str) -> Result<()> {
        match self.store.providers().link(user_id, provider.name()).await? {
            None => Err(AppError::ProviderNotLinked),
            Some(link) if link.status == crate::domain::LinkStatus::Broken => {
                Err(AppError::ProviderLinkBroken(link.message.unwrap_or_default()))
            }
            Some(_) => Ok(()),
        }
    }

    async fn new_job(&self, provider: &str, user_id: &str, kind: JobKind, source: String) -> Result<ProviderJob> {
        let now = self.clock.now();
        let job = ProviderJob {
            id: random_id(&mut rand::rng()),
            user_id: user_id.to_string(),
            provider: provider.to_string(),
            kind,
            source,
            status: JobStatus::Running,
            done: 0,
            total: None,
            result: serde_json::Value::Null,
            error: None,
            created_at: now,
            updated_at: now,
        };
        self.store.providers().put_job(&job).await?;
        Ok(job)
    }

    async fn import(
        &self,
        provider: &dyn MusicProvider,
        job: &mut ProviderJob,
        source: &ImportSource,
        fallback: Option<FallbackTarget>,
    ) -> Result<serde_json::Value> {
        let user_id = job.user_id.clone();
        let mut tracks: Vec<Track> = Vec::new();
        let mut skipped = 0;
        let mut offset = Some(0);
        while let Some(at) = offset {
            let page = self
                .job_call(provider, &user_id, |grant| async move {
                    match source {
                        ImportSource::Liked => provider.liked_tracks(&grant, at).await,
                        ImportSource::Playlist(id) => provider.playlist_tracks(&grant, id, at).await,
                    }
                })
                .await?;
            skipped += page.skipped;
            tracks.extend(page.items);
            if tracks.len() > MAX_IMPORT_TRACKS {
                return Err(AppError::InvalidImport(format!("more than {MAX_IMPORT_TRACKS} tracks")));
            }
            // Offsets only grow, so a service repeating itself cannot loop us.
            offset = page.next_offset.filter(|next| *next > at);
            job.total = Some(page.total);
            job.done = tracks.len() as u64 + skipped;
            self.progress(job).await;
        }
        let mut seen = HashSet::new();
        tracks.retain(|t| seen.insert(t.id.clone()));
        let duplicates = job.done - skipped - tracks.len() as u64;
        self.store.put_tracks(&tracks).await?;
        self.index_changed.notify_one();
        self.mark_imported(&user_id, &tracks).await;
        let mut fallback_set = None;
        if let Some(target) = fallback
            && !tracks.is_empty()
        {
            let first: Vec<Track> = tracks.iter().take(MAX_FALLBACK).cloned().collect();
            let count = first.len();
            self.rooms
                .execute(&target.room_id, Actor::Member(target.member_id), Command::SetFallback { tracks: first })
                .await?;
            fallback_set = Some(count);
        }
        tracing::info!(job = %job.id, imported = tracks.len(), skipped, "import done");
        Ok(json!({
            "imported": tracks.len(),
            "skipped": skipped,
            "duplicates": duplicates,
            "fallback_tracks": fallback_set,
        }))
    }

    /// What an account imported goes into its taste profile (the first
    /// `MAX_TASTE_IMPORTS` tracks), unless its owner turned the profile
    /// off. The import stands either way.
    async fn mark_imported(&self, user_id: &str, tracks: &[Track]) {
        let accounts = self.store.accounts();
        let marked = async {
            if accounts.user(user_id).await?.is_none_or(|u| u.taste.off) {
                return Ok(());
            }
            let now = self.clock.now();
            let marks: Vec<TasteMark> = tracks
                .iter()
                .take(MAX_TASTE_IMPORTS)
                .map(|t| TasteMark::new(user_id, TasteSource::Import, t, now))
                .collect();
            accounts.mark_taste(&marks).await
        };
        if let Err(e) = marked.await {
            tracing::warn!(error = %e, "imported tracks not added to the taste profile");
        }
    }

    async fn export_tracks(&self, room_id: &str, source: ExportSource) -> Result<Vec<Track>> {
        let ids: Vec<String> = match source {
            ExportSource::Queue => {
                let room = self.rooms.room(room_id).await?;
                room.now_playing
                    .iter()
                    .map(|np| np.track.id.clone())
                    .chain(room.queue.iter().map(|e| e.track.id.clone()))
                    .collect()
            }
            ExportSource::History => {
                let mut plays = Vec::new();
                loop {
                    let page = self.store.history(room_id, plays.len(), 500).await?;
                    let done = page.len() < 500 || plays.len() + page.len() >= MAX_IMPORT_TRACKS;
                    plays.extend(page);
                    if done {
                        break;
                    }
                }
                // The store lists newest first.
                plays.reverse();
                plays.sort_by_key(|p| p.started_at);
                plays.into_iter().map(|p| p.track_id).collect()
            }
        };
        let found = self.store.tracks_by_ids(&ids).await?;
        Ok(ids.iter().filter_map(|id| found.iter().find(|t| &t.id == id).cloned()).collect())
    }

    async fn export(
        &self,
        provider: &dyn MusicProvider,
        job: &mut ProviderJob,
        name: &str,
        tracks: Vec<Track>,
    ) -> Result<serde_json::Value> {
        let user_id = job.user_id.clone();
        let prefix = format!("{}:track:", provider.name());
        let uris: Vec<String> =
            tracks.iter().filter_map(|t| t.provider_uri.clone()).filter(|u| u.starts_with(&prefix)).collect();
        let skipped = tracks.len() - uris.len();
        job.total = Some(uris.len() as u64);
        let description = "Played at a crowdjuke party";
        let playlist =
            self.job_call(provider, &user_id, |grant| async move {
                provider.create_playlist(&grant, name, description).await
            })
            .await?;
        for chunk in uris.chunks(MAX_ADD) {
            let id = playlist.id.as_str();
            self.job_call(provider, &user_id, |grant| async move { provider.add_to_playlist(&grant, id, chunk).await })
                .await?;
            job.done += chunk.len() as u64;
            self.progress(job).await;
        }
        Ok(json!({ "playlist": playlist, "added": uris.len(), "skipped": skipped }))
    }

    /// One call of a job: waits out `Retry-After` and short outages.
    async fn job_call<T, F, Fut>(&self, provider: &dyn MusicProvider, user_id: &str, call: F) -> Result<T>
    where
        F: Fn(Grant) -> Fut,
        Fut: Future<Output = ProviderResult<T>>,
    {
        let mut attempt = 0;
        loop {
            let wait = match self.with_grant(provider, user_id, &call).await {
                Err(AppError::Coded { code: Code::ProviderRateLimited, retry_after: Some(seconds), .. })
                    if attempt < RATE_LIMIT_RETRIES =>
                {
                    seconds.min(MAX_WAIT_SECS)
                }
                Err(AppError::Coded { code: Code::ProviderUnavailable, .. }) if attempt < OUTAGE_RETRIES => {
                    1 << attempt
                }
                other => return other,
            };
            attempt += 1;
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    }

    async fn progress(&self, job: &mut ProviderJob) {
        job.updated_at = self.clock.now();
        if let Err(e) = self.store.providers().put_job(job).await {
            tracing::warn!(job = %job.id, error = %e, "could not save job progress");
        }
        self.announce_job(job).await;
    }

    async fn finish_job(&self, mut job: ProviderJob, result: Result<serde_json::Value>) {
        match result {
            Ok(value) => {
                job.status = JobStatus::Done;
                job.result = value;
            }
            Err(e) => {
                let body = e.body();
                tracing::warn!(job = %job.id, code = body.code, "job failed");
                job.status = JobStatus::Failed;
                job.error = Some(JobError { code: body.code.to_string(), message: body.message });
            }
        }
        job.updated_at = self.clock.now();
        if let Err(e) = self.store.providers().put_job(&job).await {
            tracing::warn!(job = %job.id, error = %e, "could not save the finished job");
        }
        self.announce_job(&job).await;
    }

    async fn announce_job(&self, job: &ProviderJob) {
        let payload = Payload::new(&json!({ "job": job }));
        self.broadcaster.emit(Audience::Accounts(vec![job.user_id.clone()]), "provider:job", payload).await;
    }
}
