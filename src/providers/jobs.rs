//! Imports and exports run as background jobs: the request answers at once
//! with the job, the job's progress is stored (`GET …/jobs/{id}`) and
//! pushed as `provider:job` to the owner's `/feed` sockets. An import reads
//! every page first and writes only when all were read, so a failure
//! half-way writes nothing. Calls wait out a `Retry-After` and retry a
//! service that is briefly down before the job fails.
//!
//! A job survives its node: the node running it holds a lease in the job's
//! record (`JobWork`), renewed as it works, and saves only while it holds
//! it. Every node looks for jobs whose lease ran out (`resume_jobs`); one
//! claims each and runs it again from its plan. An import starts over (its
//! writes are idempotent); an export finds the playlist it was filling and
//! adds only what is missing, so each track is added once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::Providers;
use super::{MAX_ADD, MusicProvider, Playlist, ProviderError, ProviderResult};
use crate::broadcast::{Audience, Payload};
use crate::codes::Code;
use crate::domain::command::MAX_FALLBACK;
use crate::domain::{
    Actor, Command, JobError, JobKind, JobPlan, JobStatus, JobWork, ProviderJob, TasteMark, TasteSource, Track,
};
use crate::error::{AppError, Result};
use crate::ids::random_id;
use crate::music::import::MAX_IMPORT_TRACKS;
use crate::providers::Grant;

pub use crate::domain::FallbackTarget;

/// How long a job's lease lasts; the running node renews it once a third
/// is gone, and every call and wait of a job is shorter than the rest.
pub const LEASE_MS: u64 = 3 * 60_000;
/// Longest single call to the service inside a job (then it counts as an
/// outage and is retried).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Runs of one job, the first included, before it is given up.
const MAX_ATTEMPTS: u32 = 3;
/// Stalled jobs one look claims at most.
const RESUME_BATCH: usize = 20;
/// Longest wait for a `Retry-After` inside a job.
const MAX_WAIT_SECS: u64 = 60;
/// Imported tracks that go into the account's taste profile, per import:
/// no more than the profile counts (`recommend::ACCOUNT_HISTORY`).
const MAX_TASTE_IMPORTS: usize = crate::domain::recommend::ACCOUNT_HISTORY;
const RATE_LIMIT_RETRIES: u32 = 5;
const OUTAGE_RETRIES: u32 = 3;
/// Longest name of an exported playlist.
pub const MAX_PLAYLIST_NAME: usize = 100;
/// The user's playlists a resumed export looks through for its own.
const MAX_PLAYLIST_PAGES: usize = 40;

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

    /// The source a job's `source` label names.
    fn from_label(label: &str) -> Option<Self> {
        match label.split_once(':') {
            None if label == "liked" => Some(Self::Liked),
            Some(("playlist", id)) if !id.is_empty() => Some(Self::Playlist(id.to_string())),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExportSource {
    History,
    Queue,
}

/// Why a job stopped without an answer of its own.
enum Stopped {
    /// It failed: the job records the error.
    Failed(JobError),
    /// Another node took it over: this one writes nothing more.
    TakenOver,
}

impl From<AppError> for Stopped {
    fn from(e: AppError) -> Self {
        let body = e.body();
        Self::Failed(JobError { code: body.code.to_string(), message: body.message })
    }
}

type Step<T> = std::result::Result<T, Stopped>;

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
        let plan = JobPlan::Import { fallback };
        let job = self.new_job(provider.name(), user_id, JobKind::Import, source.label(), plan).await?;
        self.run_job(provider, job.clone());
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
        let prefix = format!("{}:track:", provider.name());
        let uris: Vec<String> =
            tracks.iter().filter_map(|t| t.provider_uri.clone()).filter(|u| u.starts_with(&prefix)).collect();
        let skipped = (tracks.len() - uris.len()) as u64;
        let plan = JobPlan::Export { name, uris, skipped, playlist_id: None, playlist_url: None };
        let job = self.new_job(provider.name(), user_id, JobKind::Export, label.to_string(), plan).await?;
        self.run_job(provider, job.clone());
        Ok(job)
    }

    /// A job of `user_id` (someone else's is `job_not_found`).
    pub async fn job(&self, user_id: &str, id: &str) -> Result<ProviderJob> {
        self.store.providers().job(id).await?.filter(|j| j.user_id == user_id).ok_or(AppError::JobNotFound)
    }

    /// Claims the jobs whose lease ran out (their node died or stopped) and
    /// runs them again here; a job without a plan, of a service no longer
    /// configured, or tried `MAX_ATTEMPTS` times fails as `interrupted`.
    pub async fn resume_jobs(&self) {
        let now = self.clock.now();
        let stalled = match self.store.providers().stalled_jobs(now, RESUME_BATCH).await {
            Ok(jobs) => jobs,
            Err(e) => return tracing::warn!(error = %e, "could not look for stalled jobs"),
        };
        for job in stalled {
            let owner = random_id(&mut rand::rng());
            let claimed = match self.store.providers().claim_job(&job.id, now, &owner, now + LEASE_MS).await {
                Ok(Some(job)) => job,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "could not claim a stalled job");
                    continue;
                }
            };
            match self.get(&claimed.provider) {
                Ok(provider) if claimed.work.plan.is_some() && claimed.work.attempts <= MAX_ATTEMPTS => {
                    tracing::info!(job = %claimed.id, attempt = claimed.work.attempts, "resuming a job whose node stopped");
                    self.run_job(provider, claimed);
                }
                _ => {
                    let error =
                        JobError { code: "interrupted".into(), message: "the server running this job stopped".into() };
                    self.finish_job(claimed, Err(Stopped::Failed(error))).await;
                }
            }
        }
    }

    fn run_job(&self, provider: Arc<dyn MusicProvider>, job: ProviderJob) {
        let providers = self.clone();
        tokio::spawn(async move {
            let mut job = job;
            let result = match job.work.plan.clone() {
                Some(JobPlan::Import { fallback }) => {
                    let _counted = crate::telemetry::JobGauge::start("import");
                    providers.import(provider.as_ref(), &mut job, fallback).await
                }
                Some(JobPlan::Export { .. }) => {
                    let _counted = crate::telemetry::JobGauge::start("export");
                    providers.export(provider.as_ref(), &mut job).await
                }
                None => Err(Stopped::Failed(JobError { code: "interrupted".into(), message: "nothing to do".into() })),
            };
            providers.finish_job(job, result).await;
        });
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

    async fn new_job(
        &self,
        provider: &str,
        user_id: &str,
        kind: JobKind,
        source: String,
        plan: JobPlan,
    ) -> Result<ProviderJob> {
        let now = self.clock.now();
        let (id, owner) = {
            let mut rng = rand::rng();
            (random_id(&mut rng), random_id(&mut rng))
        };
        let job = ProviderJob {
            id,
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
            work: JobWork { owner, lease_until: now + LEASE_MS, attempts: 1, plan: Some(plan) },
        };
        self.store.providers().put_job(&job).await?;
        Ok(job)
    }

    async fn import(
        &self,
        provider: &dyn MusicProvider,
        job: &mut ProviderJob,
        fallback: Option<FallbackTarget>,
    ) -> Step<serde_json::Value> {
        let source = ImportSource::from_label(&job.source)
            .ok_or_else(|| AppError::InvalidImport(format!("unknown source {}", job.source)))?;
        let source = &source;
        let user_id = job.user_id.clone();
        let mut tracks: Vec<Track> = Vec::new();
        let mut skipped = 0;
        let mut offset = Some(0);
        job.done = 0;
        while let Some(at) = offset {
            let page = self
                .job_call(provider, job, |grant| async move {
                    match source {
                        ImportSource::Liked => provider.liked_tracks(&grant, at).await,
                        ImportSource::Playlist(id) => provider.playlist_tracks(&grant, id, at).await,
                    }
                })
                .await?;
            skipped += page.skipped;
            tracks.extend(page.items);
            if tracks.len() > MAX_IMPORT_TRACKS {
                return Err(AppError::InvalidImport(format!("more than {MAX_IMPORT_TRACKS} tracks")).into());
            }
            // Offsets only grow, so a service repeating itself cannot loop us.
            offset = page.next_offset.filter(|next| *next > at);
            job.total = Some(page.total);
            job.done = tracks.len() as u64 + skipped;
            self.progress(job).await?;
        }
        let mut seen = HashSet::new();
        tracks.retain(|t| seen.insert(t.id.clone()));
        let duplicates = job.done - skipped - tracks.len() as u64;
        self.store.put_tracks(&tracks).await.map_err(AppError::from)?;
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

    async fn export(&self, provider: &dyn MusicProvider, job: &mut ProviderJob) -> Step<serde_json::Value> {
        let Some(JobPlan::Export { name, uris, skipped, .. }) = job.work.plan.clone() else {
            return Err(AppError::InvalidPayload("not an export".into()).into());
        };
        job.total = Some(uris.len() as u64);
        let (playlist, already) = self.export_playlist(provider, job, &name).await?;
        job.done = already.min(uris.len()) as u64;
        let id = playlist.id.as_str();
        let mut tries = 0;
        while (job.done as usize) < uris.len() {
            let from = job.done as usize;
            let chunk = &uris[from..(from + MAX_ADD).min(uris.len())];
            let add = |grant: Grant| async move { provider.add_to_playlist(&grant, id, chunk).await };
            match self.attempt(provider, job, &add, tries).await? {
                Ok(()) => {
                    (job.done, tries) = (job.done + chunk.len() as u64, 0);
                    self.progress(job).await?;
                }
                Err(wait) => {
                    tries += 1;
                    self.pause(job, wait).await?;
                    // The service may have added the chunk before failing
                    // (a timeout, a 5xx): the playlist says what it holds.
                    let page = self
                        .job_call(provider, job, |grant| async move { provider.playlist_tracks(&grant, id, 0).await });
                    job.done = page.await?.total.min(uris.len() as u64);
                }
            }
        }
        Ok(json!({ "playlist": playlist, "added": uris.len(), "skipped": skipped }))
    }

    /// The playlist an export fills and how many tracks it already holds.
    /// A first run creates it and saves its id in the job before adding
    /// anything. A resumed run finds the saved playlist among the user's
    /// and counts its tracks; one whose node stopped while creating it
    /// takes the empty playlist of that name the call made, if it was made.
    async fn export_playlist(
        &self,
        provider: &dyn MusicProvider,
        job: &mut ProviderJob,
        name: &str,
    ) -> Step<(Playlist, usize)> {
        let saved = match &job.work.plan {
            Some(JobPlan::Export { playlist_id, .. }) => playlist_id.clone(),
            _ => None,
        };
        if job.work.attempts > 1 {
            let found = self
                .find_playlist(provider, job, |p| match &saved {
                    Some(id) => &p.id == id,
                    None => p.name == name && p.tracks == 0,
                })
                .await?;
            match (found, saved) {
                (Some(playlist), _) => {
                    let already = playlist.tracks as usize;
                    self.save_playlist(job, &playlist).await?;
                    return Ok((playlist, already));
                }
                (None, Some(_)) => return Err(AppError::from(ProviderError::NotFound("the playlist")).into()),
                (None, None) => {}
            }
        }
        let description = "Played at a crowdjuke party";
        let create = |grant: Grant| async move { provider.create_playlist(&grant, name, description).await };
        let mut tries = 0;
        let playlist = loop {
            match self.attempt(provider, job, &create, tries).await? {
                Ok(playlist) => break playlist,
                Err(wait) => {
                    tries += 1;
                    self.pause(job, wait).await?;
                    // The service may have made it before failing.
                    let made = self.find_playlist(provider, job, |p| p.name == name && p.tracks == 0).await?;
                    if let Some(playlist) = made {
                        break playlist;
                    }
                }
            }
        };
        self.save_playlist(job, &playlist).await?;
        Ok((playlist, 0))
    }

    /// Keeps the export's playlist in its plan, saved before anything is added.
    async fn save_playlist(&self, job: &mut ProviderJob, playlist: &Playlist) -> Step<()> {
        if let Some(JobPlan::Export { playlist_id, playlist_url, .. }) = &mut job.work.plan {
            (*playlist_id, *playlist_url) = (Some(playlist.id.clone()), playlist.url.clone());
        }
        self.progress(job).await
    }

    /// The first of the user's playlists that `wanted` picks.
    async fn find_playlist(
        &self,
        provider: &dyn MusicProvider,
        job: &mut ProviderJob,
        wanted: impl Fn(&Playlist) -> bool,
    ) -> Step<Option<Playlist>> {
        let mut offset = Some(0);
        for _ in 0..MAX_PLAYLIST_PAGES {
            let Some(at) = offset else { break };
            let page =
                self.job_call(provider, job, |grant| async move { provider.playlists(&grant, at).await }).await?;
            if let Some(found) = page.items.into_iter().find(|p| wanted(p)) {
                return Ok(Some(found));
            }
            offset = page.next_offset.filter(|next| *next > at);
        }
        Ok(None)
    }

    /// One call of a job that reads: waits out `Retry-After` and short
    /// outages and calls again. (Calls that change something on the service
    /// check what happened before calling again: see `export`.)
    async fn job_call<T, F, Fut>(&self, provider: &dyn MusicProvider, job: &mut ProviderJob, call: F) -> Step<T>
    where
        F: Fn(Grant) -> Fut,
        Fut: Future<Output = ProviderResult<T>>,
    {
        let mut tries = 0;
        loop {
            match self.attempt(provider, job, &call, tries).await? {
                Ok(value) => return Ok(value),
                Err(wait) => {
                    tries += 1;
                    self.pause(job, wait).await?;
                }
            }
        }
    }

    /// One attempt at a call, after renewing the job's lease: its value, or
    /// the seconds to wait before trying again (a `Retry-After`, a short
    /// outage, no answer within `CALL_TIMEOUT`) while tries are left.
    async fn attempt<T, F, Fut>(
        &self,
        provider: &dyn MusicProvider,
        job: &mut ProviderJob,
        call: &F,
        tries: u32,
    ) -> Step<std::result::Result<T, u64>>
    where
        F: Fn(Grant) -> Fut,
        Fut: Future<Output = ProviderResult<T>>,
    {
        self.renew(job).await?;
        let user_id = job.user_id.clone();
        let answered = tokio::time::timeout(CALL_TIMEOUT, self.with_grant(provider, &user_id, call)).await;
        match answered.unwrap_or(Err(AppError::from(ProviderError::Unavailable("no answer in time".into())))) {
            Ok(value) => Ok(Ok(value)),
            Err(AppError::Coded { code: Code::ProviderRateLimited, retry_after: Some(seconds), .. })
                if tries < RATE_LIMIT_RETRIES =>
            {
                Ok(Err(seconds.min(MAX_WAIT_SECS)))
            }
            Err(AppError::Coded { code: Code::ProviderUnavailable, .. }) if tries < OUTAGE_RETRIES => {
                Ok(Err(1 << tries))
            }
            Err(e) => Err(Stopped::from(e)),
        }
    }

    /// Waits `seconds` between two tries, the lease renewed first.
    async fn pause(&self, job: &mut ProviderJob, seconds: u64) -> Step<()> {
        self.renew(job).await?;
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        Ok(())
    }

    /// Renews the job's lease once a third of it is gone.
    async fn renew(&self, job: &mut ProviderJob) -> Step<()> {
        if job.work.lease_until.saturating_sub(self.clock.now()) < LEASE_MS * 2 / 3 {
            self.save(job).await?;
        }
        Ok(())
    }

    /// Saves the job and renews its lease; `TakenOver` if another node has
    /// it now. A store that cannot be written leaves the lease as it was
    /// stored: the job goes on while that lease still covers a call, and
    /// stops (writing nothing more) once it does not, so the node that
    /// claims it next is the only one working.
    async fn save(&self, job: &mut ProviderJob) -> Step<()> {
        let now = self.clock.now();
        let stored = job.work.lease_until;
        (job.updated_at, job.work.lease_until) = (now, now + LEASE_MS);
        match self.store.providers().save_job(job).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::info!(job = %job.id, "another node took this job over");
                Err(Stopped::TakenOver)
            }
            Err(e) => {
                job.work.lease_until = stored;
                if stored.saturating_sub(now) < LEASE_MS / 3 {
                    tracing::warn!(job = %job.id, error = %e, "cannot renew the job's lease: leaving it to another run");
                    return Err(Stopped::TakenOver);
                }
                tracing::warn!(job = %job.id, error = %e, "could not save job progress");
                Ok(())
            }
        }
    }

    async fn progress(&self, job: &mut ProviderJob) -> Step<()> {
        self.save(job).await?;
        self.announce_job(job).await;
        Ok(())
    }

    async fn finish_job(&self, mut job: ProviderJob, result: Step<serde_json::Value>) {
        match result {
            Ok(value) => {
                job.status = JobStatus::Done;
                job.result = value;
            }
            Err(Stopped::Failed(error)) => {
                tracing::warn!(job = %job.id, code = error.code, "job failed");
                job.status = JobStatus::Failed;
                job.error = Some(error);
            }
            Err(Stopped::TakenOver) => return,
        }
        job.updated_at = self.clock.now();
        match self.store.providers().save_job(&job).await {
            Ok(true) => self.announce_job(&job).await,
            Ok(false) => tracing::info!(job = %job.id, "another node took this job over; its end is theirs"),
            Err(e) => tracing::warn!(job = %job.id, error = %e, "could not save the finished job"),
        }
    }

    async fn announce_job(&self, job: &ProviderJob) {
        let payload = Payload::new(&json!({ "job": job.view() }));
        self.broadcaster.emit(Audience::Accounts(vec![job.user_id.clone()]), "provider:job", payload).await;
    }
}
