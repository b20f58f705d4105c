//! The room photo wall: sharing a photo, the render job that makes its
//! variants, likes, reports, removal, and what clients see of a photo.
//!
//! A photo's life: the upload is checked (`pipeline::inspect`: size, format
//! by content, dimensions, truncation), its record is stored as
//! `processing`, then its original bytes; the upload is answered at once.
//! A render job decodes it off the async runtime, stores the full, preview
//! and thumbnail JPEGs (no EXIF, no GPS), deletes the original, marks the
//! record `ready` and tells the room `photo:new`. A photo that fails to
//! render is deleted and its sharer told `photo:failed`.
//!
//! The record is written before any blob, so a blob without a record is
//! garbage: `sweep_orphan_blobs` removes such leftovers of a crash. A render
//! job is leased in the record (`claim_render`): the uploading node holds it
//! first; a job whose lease ran out (its node crashed) is claimed again by
//! one node in `resume_rendering`. Each node also remembers the jobs it runs,
//! so a job is never queued twice. `finish_photo` is conditional, so even a
//! job that outlived its lease announces the photo once, and two jobs
//! writing the same variant both succeed and leave one whole file (GridFS
//! keeps revisions, `media::blobs`).
//!
//! Owns: `Photos`, the render jobs of this node, where photo files are kept.
//! May use: rooms, activities, store, media, clock, broadcast, domain.
//! Must not import: accounts, providers, player, state, realtime, http.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::Semaphore;

use crate::activities::Activities;
use crate::broadcast::{Audience, Broadcaster, Payload};
use crate::clock::SharedClock;

use crate::domain::photo::{self, Variant};
use crate::domain::view::PhotoView;
use crate::domain::{Member, Millis, Photo, PhotoMark, PhotoStatus, Room};
use crate::error::{AppError, Result};
use crate::media::pipeline::{self, PhotoError};
use crate::media::{Blob, BlobStore};
use crate::rooms::Rooms;
use crate::store::Store;

/// Photos in the join snapshot and the default REST page.
pub const WALL_PAGE: usize = 12;
pub const MAX_WALL_PAGE: usize = 100;
pub const MAX_COMMENT_CHARS: usize = 280;
/// How long a worker owns a render job it claimed; a job not finished by
/// then (its worker crashed) is claimed again by `resume_rendering`.
const RENDER_LEASE_MS: Millis = 5 * 60_000;
/// How long a node retries a render postponed by an outage (the store or
/// the media unavailable), within its lease, before leaving the job to
/// whoever claims the lapsed lease. Without retries, a photo shared during a
/// few seconds' outage stayed `processing` for the whole lease.
const RENDER_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(120);

/// How a render job ended.
#[derive(PartialEq)]
enum Render {
    /// Rendered, or given up (the sharer was told), or not this job's any more.
    Done,
    /// An outage stopped it: to try again.
    Postponed,
}
/// Render jobs waiting or running on this node before uploads are refused
/// with `unavailable` (a burst on a small machine must not queue without end).
const MAX_PENDING_RENDERS: usize = 200;

const BLOB_PREFIX: &str = "photos/";

/// Where a variant of a photo is kept in the `BlobStore`.
fn blob_key(variant: Variant, photo_id: &str) -> String {
    format!("{BLOB_PREFIX}{photo_id}.{}", variant.file_name())
}

/// Render jobs running at once: every core but one, so the event loop keeps
/// a core while a burst of uploads is rendered.
fn render_slots() -> Semaphore {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new(cores.saturating_sub(1).max(1))
}

/// What the photos service works with.
pub struct PhotosParts {
    pub store: Arc<dyn Store>,
    /// Photo files: under the data directory, or GridFS.
    pub blobs: Arc<dyn BlobStore>,
    pub rooms: Rooms,
    pub activities: Activities,
    pub clock: SharedClock,
    pub broadcaster: Arc<dyn Broadcaster>,
}

#[derive(Clone)]
pub struct Photos(Arc<Inner>);

struct Inner {
    parts: PhotosParts,
    /// Render jobs running at once.
    render_slots: Semaphore,
    /// Photos whose render job waits or runs on this node.
    rendering: Mutex<HashSet<String>>,
}

impl std::ops::Deref for Photos {
    type Target = PhotosParts;

    fn deref(&self) -> &PhotosParts {
        &self.0.parts
    }
}

impl Photos {
    pub fn new(parts: PhotosParts) -> Self {
        Self(Arc::new(Inner { parts, render_slots: render_slots(), rendering: Mutex::default() }))
    }

    /// Checks an upload, stores it as `processing` and starts its render
    /// job; nothing is stored if it is refused.
    pub async fn share_photo(
        &self,
        room: &Room,
        member: &Member,
        bytes: Vec<u8>,
        comment: Option<String>,
    ) -> Result<Photo> {
        if self.rendering_count() >= MAX_PENDING_RENDERS {
            tracing::warn!("too many photos waiting to be rendered, refusing an upload");
            return Err(AppError::Unavailable);
        }
        let (bytes, inspected) = tokio::task::spawn_blocking(move || {
            let inspected = pipeline::inspect(&bytes);
            (bytes, inspected)
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
        let inspected = inspected?;
        // Only an account that still exists gets the photo.
        let user_id = match &member.user_id {
            Some(id) if self.store.accounts().user(id).await?.is_some() => Some(id.clone()),
            _ => None,
        };
        let now = self.clock.now();
        let photo = Photo {
            id: crate::ids::random_id(&mut rand::rng()),
            room_id: room.id.clone(),
            member_id: member.id.clone(),
            member_name: member.name.clone(),
            comment,
            created_at: now,
            status: PhotoStatus::Processing,
            width: inspected.width,
            height: inspected.height,
            likes: Vec::new(),
            reports: Vec::new(),
            user_id,
            public: room.listing.public,
            render_lease_until: now + RENDER_LEASE_MS,
        };
        let original = Blob { bytes, content_type: inspected.format.to_mime_type().to_string() };
        // Detached: a client that hangs up midway cannot leave a record
        // without its file, or a stored photo without its render job.
        let photos = self.clone();
        let stored = tokio::spawn(async move { photos.store_upload(photo, original).await });
        stored.await.map_err(|e| AppError::Internal(e.into()))?
    }

    async fn store_upload(&self, photo: Photo, original: Blob) -> Result<Photo> {
        self.store.insert_photo(&photo).await?;
        if let Err(e) = self.blobs.put(&blob_key(Variant::Original, &photo.id), original).await {
            tracing::warn!(photo_id = %photo.id, error = %e, "could not store an upload");
            self.delete_photo_everywhere(&photo).await.ok();
            return Err(AppError::Unavailable);
        }
        // A room deleted meanwhile took its photos, but not this one.
        if matches!(self.store.load_room(&photo.room_id).await, Ok(None)) {
            self.delete_photo_everywhere(&photo).await.ok();
            return Err(AppError::RoomNotFound);
        }
        tracing::info!(photo_id = %photo.id, room_id = %photo.room_id, "photo shared");
        self.start_render(photo.clone());
        Ok(photo)
    }

    fn rendering_count(&self) -> usize {
        self.0.rendering.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Runs the render job in the background, at most `render_slots` at
    /// once, unless this node already runs it.
    fn start_render(&self, photo: Photo) {
        if !self.0.rendering.lock().unwrap_or_else(|e| e.into_inner()).insert(photo.id.clone()) {
            return;
        }
        let photos = self.clone();
        tokio::spawn(async move {
            let _counted = crate::telemetry::JobGauge::start("photo_render");
            let started = tokio::time::Instant::now();
            let mut wait = std::time::Duration::from_secs(1);
            loop {
                let outcome = match photos.0.render_slots.acquire().await {
                    Ok(_slot) => photos.render(photo.clone()).await,
                    Err(_) => Render::Done,
                };
                if outcome == Render::Done || started.elapsed() + wait > RENDER_RETRY_FOR {
                    break;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(std::time::Duration::from_secs(15));
            }
            photos.0.rendering.lock().unwrap_or_else(|e| e.into_inner()).remove(&photo.id);
        });
    }

    async fn render(&self, photo: Photo) -> Render {
        let postponed = |why: &str, e: &dyn std::fmt::Display| {
            tracing::warn!(photo_id = %photo.id, error = %e, "render postponed: {why} unavailable");
            Render::Postponed
        };
        let original = match self.blobs.get(&blob_key(Variant::Original, &photo.id)).await {
            Ok(Some(blob)) => blob,
            // Rendered by another worker meanwhile, or never stored.
            Ok(None) => return self.give_up_render(&photo, PhotoError::Damaged).await,
            Err(e) => return postponed("media", &e),
        };
        let rendered = tokio::task::spawn_blocking(move || pipeline::render(&original.bytes)).await;
        let rendered = match rendered {
            Ok(Ok(rendered)) => rendered,
            Ok(Err(e)) => return self.give_up_render(&photo, e).await,
            Err(e) => {
                // A decoder bug on this file: retrying would only repeat it.
                tracing::error!(photo_id = %photo.id, error = %e, "render job panicked");
                return self.give_up_render(&photo, PhotoError::Damaged).await;
            }
        };
        let (width, height) = (rendered.width, rendered.height);
        for (variant, bytes) in
            [(Variant::Full, rendered.full), (Variant::Preview, rendered.preview), (Variant::Thumb, rendered.thumb)]
        {
            let blob = Blob { bytes, content_type: "image/jpeg".to_string() };
            if let Err(e) = self.blobs.put(&blob_key(variant, &photo.id), blob).await {
                return postponed("media", &e);
            }
        }
        match self.store.finish_photo(&photo.id, PhotoStatus::Ready, width, height).await {
            Ok(true) => {}
            Ok(false) => {
                // Removed meanwhile (or finished by another worker): leave
                // nothing behind if the record is gone.
                if matches!(self.store.photo(&photo.id).await, Ok(None)) {
                    self.delete_photo_files(&photo).await;
                }
                return Render::Done;
            }
            Err(e) => return postponed("store", &e),
        }
        self.delete_blob(&blob_key(Variant::Original, &photo.id)).await;
        self.announce_new_photo(&photo.id).await;
        Render::Done
    }

    /// Announces the photo as stored now (it may have been removed or its
    /// sharer banned while it was rendered).
    async fn announce_new_photo(&self, photo_id: &str) {
        let Ok(Some(photo)) = self.store.photo(photo_id).await else { return };
        let Ok(room) = self.rooms.room(&photo.room_id).await else { return };
        tracing::info!(photo_id, "photo ready");
        if !photo.visible_in(&room) {
            return;
        }
        let view = PhotoView::new(&photo, &room, None);
        self.broadcaster
            .emit(Audience::Room(room.id.clone()), "photo:new", Payload::new(&json!({ "photo": view })))
            .await;
        if let Some(user_id) = &photo.user_id {
            let kind = crate::domain::ActivityKind::PhotoShared { photo_id: photo.id.clone() };
            self.activities.record(user_id, &room, kind).await;
        }
    }

    /// A photo that cannot be rendered is deleted; its sharer is told why.
    async fn give_up_render(&self, photo: &Photo, error: PhotoError) -> Render {
        match self.store.finish_photo(&photo.id, PhotoStatus::Failed, 0, 0).await {
            Ok(true) => {}
            Ok(false) => return Render::Done,
            Err(e) => {
                tracing::warn!(photo_id = %photo.id, error = %e, "could not record a failed render");
                return Render::Postponed;
            }
        }
        tracing::info!(photo_id = %photo.id, %error, "photo could not be rendered, deleting it");
        if let Err(e) = self.delete_photo_everywhere(photo).await {
            tracing::warn!(photo_id = %photo.id, error = %e, "could not delete a failed photo");
        }
        let error = AppError::from(error).body();
        let payload = Payload::new(&json!({ "photo_id": photo.id, "error": error }));
        self.broadcaster.emit(Audience::Member(photo.member_id.clone()), "photo:failed", payload).await;
        Render::Done
    }

    /// Claims and restarts render jobs whose lease ran out (their worker
    /// crashed or the server restarted).
    pub async fn resume_rendering(&self) {
        let now = self.clock.now();
        let waiting = match self.store.processing_photos(now, 100).await {
            Ok(photos) => photos,
            Err(e) => return tracing::warn!(error = %e, "could not look for unrendered photos"),
        };
        for photo in waiting {
            if self.0.rendering.lock().unwrap_or_else(|e| e.into_inner()).contains(&photo.id) {
                continue;
            }
            match self.store.claim_render(&photo.id, now, now + RENDER_LEASE_MS).await {
                Ok(true) => {
                    tracing::info!(photo_id = %photo.id, "rendering a photo whose job was lost");
                    self.start_render(photo);
                }
                Ok(false) => {}
                Err(e) => return tracing::warn!(error = %e, "could not claim a render job"),
            }
        }
    }

    /// Removes photo files whose record is gone (left by a crash between
    /// deleting a record and its files). Safe at any time: a record is
    /// always stored before its files.
    pub async fn sweep_orphan_blobs(&self) -> Result<usize> {
        let keys = self.blobs.keys(BLOB_PREFIX).await.map_err(|e| {
            tracing::warn!(error = %e, "could not list photo files");
            AppError::Unavailable
        })?;
        let mut removed = 0;
        let mut checked: Option<(String, bool)> = None;
        for key in keys {
            let name = key.trim_start_matches(BLOB_PREFIX);
            let photo_id = name.split('.').next().unwrap_or_default().to_string();
            let exists = match &checked {
                Some((id, exists)) if *id == photo_id => *exists,
                _ => {
                    let exists = self.store.photo(&photo_id).await?.is_some();
                    checked = Some((photo_id, exists));
                    exists
                }
            };
            if !exists {
                self.delete_blob(&key).await;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Deletes the record first (the photo disappears at once), then its
    /// files; files left by a failure are swept later.
    pub async fn delete_photo_everywhere(&self, photo: &Photo) -> Result<()> {
        self.store.delete_photo(&photo.id).await?;
        self.delete_photo_files(photo).await;
        Ok(())
    }

    async fn delete_photo_files(&self, photo: &Photo) {
        for variant in Variant::ALL {
            self.delete_blob(&blob_key(variant, &photo.id)).await;
        }
    }

    async fn delete_blob(&self, key: &str) {
        if let Err(e) = self.blobs.delete(key).await {
            tracing::warn!(key, error = %e, "could not delete a photo file; the orphan sweep will");
        }
    }

    /// Every photo of a room, with its files (the room is being deleted).
    pub async fn delete_room_photos(&self, room_id: &str) -> Result<usize> {
        let mut deleted = 0;
        loop {
            let page = self.store.room_photos(room_id, None, 100).await?;
            if page.is_empty() {
                return Ok(deleted);
            }
            for photo in &page {
                self.delete_photo_everywhere(photo).await?;
                deleted += 1;
            }
        }
    }

    /// A visible photo of `room`; `photo_not_found` for any other.
    pub async fn wall_photo(&self, room: &Room, photo_id: &str) -> Result<Photo> {
        let photo = self.store.photo(photo_id).await?;
        photo.filter(|p| p.visible_in(room)).ok_or(AppError::PhotoNotFound)
    }

    /// A page of the wall, newest first, and the cursor of the next page.
    pub async fn wall(
        &self,
        room: &Room,
        before: Option<(Millis, String)>,
        limit: usize,
        viewer: Option<&str>,
    ) -> Result<(Vec<PhotoView>, Option<String>)> {
        let before = before.as_ref().map(|(at, id)| (*at, id.as_str()));
        let page = self.store.room_photos(&room.id, before, limit).await?;
        let next = (page.len() == limit).then(|| page.last().map(photo::cursor)).flatten();
        let views = page.iter().filter(|p| p.visible_in(room)).map(|p| PhotoView::new(p, room, viewer)).collect();
        Ok((views, next))
    }

    /// Likes (`on`) or unlikes a photo of the member's room and tells the room.
    pub async fn like_photo(&self, room_id: &str, member_id: &str, photo_id: &str, on: bool) -> Result<PhotoView> {
        let room = self.rooms.room(room_id).await?;
        photo::acting_member(&room, member_id)?;
        self.wall_photo(&room, photo_id).await?;
        let photo = self.store.mark_photo(photo_id, PhotoMark::Like, member_id, on).await?;
        let photo = photo.ok_or(AppError::PhotoNotFound)?;
        let view = PhotoView::new(&photo, &room, Some(member_id));
        let payload = Payload::new(&json!({ "photo_id": photo.id, "likes": view.likes, "liked_by": view.liked_by }));
        self.broadcaster.emit(Audience::Room(room.id.clone()), "photo:likes", payload).await;
        Ok(view)
    }

    /// Reports a photo to the room's hosts and co-hosts (once per member).
    pub async fn report_photo(&self, room_id: &str, member_id: &str, photo_id: &str) -> Result<usize> {
        let room = self.rooms.room(room_id).await?;
        photo::acting_member(&room, member_id)?;
        let before = self.wall_photo(&room, photo_id).await?;
        let photo = self.store.mark_photo(photo_id, PhotoMark::Report, member_id, true).await?;
        let photo = photo.ok_or(AppError::PhotoNotFound)?;
        tracing::info!(photo_id, reports = photo.reports.len(), "photo reported");
        let repeated = before.reports.iter().any(|m| m == member_id);
        if !repeated {
            let view = PhotoView::new(&photo, &room, None);
            let payload = Payload::new(&json!({ "photo": view, "reports": photo.reports.len() }));
            for staff in photo::report_recipients(&room) {
                self.broadcaster.emit(Audience::Member(staff.id.clone()), "photo:reported", payload.clone()).await;
            }
        }
        Ok(photo.reports.len())
    }

    /// Removes a photo: the host and co-hosts any, a member their own.
    pub async fn remove_photo(&self, room_id: &str, member_id: &str, photo_id: &str) -> Result<()> {
        let room = self.rooms.room(room_id).await?;
        let photo = self.store.photo(photo_id).await?.filter(|p| p.room_id == room.id);
        let photo = photo.ok_or(AppError::PhotoNotFound)?;
        photo::may_remove(&room, member_id, &photo)?;
        self.delete_photo_everywhere(&photo).await?;
        tracing::info!(photo_id, by = member_id, "photo removed");
        self.announce_removed(&photo).await;
        Ok(())
    }

    /// Tells the photo's room it is gone.
    pub async fn announce_removed(&self, photo: &Photo) {
        let payload = Payload::new(&json!({ "photo_id": photo.id }));
        self.broadcaster.emit(Audience::Room(photo.room_id.clone()), "photo:removed", payload).await;
    }
}

/// A stored blob of a photo, for serving.
pub async fn served_file(blobs: &dyn BlobStore, photo_id: &str, variant: Variant) -> Result<Blob> {
    let blob = blobs.get(&blob_key(variant, photo_id)).await.map_err(|e| {
        tracing::warn!(photo_id, error = %e, "could not read a photo file");
        AppError::Unavailable
    })?;
    blob.ok_or(AppError::PhotoNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_keys_are_flat_and_valid() {
        assert_eq!(blob_key(Variant::Thumb, "AbC"), "photos/AbC.thumb.jpg");
        assert_eq!(Variant::served("preview.jpg"), Some(Variant::Preview));
        assert_eq!(Variant::served("original"), None, "the original is never served");
    }
}
