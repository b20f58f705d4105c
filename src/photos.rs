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
//! garbage: `sweep_orphan_blobs` removes such leftovers of a crash. Records
//! still `processing` after a crash are rendered again by
//! `resume_rendering`; `finish_photo` is conditional, so when two workers
//! race only one announces the photo.

use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::domain::{Member, Millis, Photo, PhotoMark, PhotoStatus, Room};
use crate::error::{AppError, Result};
use crate::media::pipeline::{self, PhotoError};
use crate::media::{Blob, BlobStore};
use crate::realtime::member_room;
use crate::state::AppState;

/// Photos in the join snapshot and the default REST page.
pub const WALL_PAGE: usize = 12;
pub const MAX_WALL_PAGE: usize = 100;
pub const MAX_COMMENT_CHARS: usize = 280;
/// Names of likers sent with a photo (the count is always exact).
const LIKERS_SHOWN: usize = 50;
/// A photo still `processing` this long after its upload lost its render job
/// (a crash or a restart): `resume_rendering` starts another.
const RENDER_GRACE_MS: Millis = 30_000;
const BLOB_PREFIX: &str = "photos/";

/// The stored files of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The upload as received (with its metadata): never served, deleted
    /// once rendered.
    Original,
    Full,
    Preview,
    Thumb,
}

impl Variant {
    pub const SERVED: [Variant; 3] = [Variant::Full, Variant::Preview, Variant::Thumb];
    const ALL: [Variant; 4] = [Variant::Original, Variant::Full, Variant::Preview, Variant::Thumb];

    /// The file name in URLs and blob keys.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Full => "full.jpg",
            Self::Preview => "preview.jpg",
            Self::Thumb => "thumb.jpg",
        }
    }

    /// A served variant by its file name.
    pub fn served(file_name: &str) -> Option<Self> {
        Self::SERVED.into_iter().find(|v| v.file_name() == file_name)
    }

    fn key(self, photo_id: &str) -> String {
        format!("{BLOB_PREFIX}{photo_id}.{}", self.file_name())
    }
}

/// A photo as clients see it.
#[derive(Debug, Serialize)]
pub struct PhotoView {
    pub id: String,
    pub member_id: String,
    pub member_name: String,
    pub comment: Option<String>,
    pub created_at: Millis,
    pub status: PhotoStatus,
    pub width: u32,
    pub height: u32,
    pub likes: usize,
    pub liked_by: Vec<Liker>,
    /// Whether the member asking liked it (absent in broadcasts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liked: Option<bool>,
    /// Relative URLs of the variants, once ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urls: Option<PhotoUrls>,
}

#[derive(Debug, Serialize)]
pub struct Liker {
    pub member_id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct PhotoUrls {
    pub full: String,
    pub preview: String,
    pub thumb: String,
}

impl PhotoView {
    pub fn new(photo: &Photo, room: &Room, viewer: Option<&str>) -> Self {
        let url = |v: Variant| format!("/api/photos/{}/{}", photo.id, v.file_name());
        let ready = photo.status == PhotoStatus::Ready;
        Self {
            id: photo.id.clone(),
            member_id: photo.member_id.clone(),
            member_name: photo.member_name.clone(),
            comment: photo.comment.clone(),
            created_at: photo.created_at,
            status: photo.status,
            width: photo.width,
            height: photo.height,
            likes: photo.likes.len(),
            liked_by: likers(photo, room),
            liked: viewer.map(|v| photo.likes.iter().any(|m| m == v)),
            urls: ready.then(|| PhotoUrls {
                full: url(Variant::Full),
                preview: url(Variant::Preview),
                thumb: url(Variant::Thumb),
            }),
        }
    }
}

/// The most recent likers, newest first, by their current name.
fn likers(photo: &Photo, room: &Room) -> Vec<Liker> {
    let name = |id: &str| room.member(id).map_or_else(|| "someone".to_string(), |m| m.name.clone());
    let recent = photo.likes.iter().rev().take(LIKERS_SHOWN);
    recent.map(|id| Liker { member_id: id.clone(), name: name(id) }).collect()
}

/// Shown on the wall: rendered, and its sharer not banned.
pub fn visible(photo: &Photo, room: &Room) -> bool {
    photo.room_id == room.id
        && photo.status == PhotoStatus::Ready
        && !room.member(&photo.member_id).is_some_and(|m| m.banned)
}

/// A wall cursor: the `created_at` and id of the last photo of a page.
pub fn cursor(photo: &Photo) -> String {
    format!("{}-{}", photo.created_at, photo.id)
}

pub fn parse_cursor(raw: &str) -> Option<(Millis, String)> {
    let (at, id) = raw.split_once('-')?;
    let valid_id = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric());
    Some((at.parse().ok()?, id.to_string())).filter(|_| valid_id)
}

/// Render jobs running at once: every core but one, so the event loop keeps
/// a core while a burst of uploads is rendered.
pub fn render_slots() -> Arc<Semaphore> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Arc::new(Semaphore::new(cores.saturating_sub(1).max(1)))
}

impl AppState {
    /// Checks an upload, stores it as `processing` and starts its render
    /// job; nothing is stored if it is refused.
    pub async fn share_photo(
        &self,
        room: &Room,
        member: &Member,
        bytes: Vec<u8>,
        comment: Option<String>,
    ) -> Result<Photo> {
        let (bytes, inspected) = tokio::task::spawn_blocking(move || {
            let inspected = pipeline::inspect(&bytes);
            (bytes, inspected)
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
        let inspected = inspected?;
        let photo = Photo {
            id: crate::ids::random_id(&mut rand::rng()),
            room_id: room.id.clone(),
            member_id: member.id.clone(),
            member_name: member.name.clone(),
            comment,
            created_at: self.clock.now(),
            status: PhotoStatus::Processing,
            width: inspected.width,
            height: inspected.height,
            likes: Vec::new(),
            reports: Vec::new(),
        };
        self.store.insert_photo(&photo).await?;
        let original = Blob { bytes, content_type: inspected.format.to_mime_type().to_string() };
        if let Err(e) = self.blobs.put(&Variant::Original.key(&photo.id), original).await {
            tracing::warn!(photo_id = %photo.id, error = %e, "could not store an upload");
            self.delete_photo_files(&photo).await;
            return Err(AppError::Unavailable);
        }
        tracing::info!(photo_id = %photo.id, room_id = %room.id, "photo shared");
        self.start_render(photo.clone());
        Ok(photo)
    }

    /// Runs the render job in the background, at most `render_slots` at once.
    fn start_render(&self, photo: Photo) {
        let app = self.clone();
        tokio::spawn(async move {
            let Ok(_slot) = app.render_slots.clone().acquire_owned().await else { return };
            app.render(photo).await;
        });
    }

    async fn render(&self, photo: Photo) {
        let original = match self.blobs.get(&Variant::Original.key(&photo.id)).await {
            Ok(Some(blob)) => blob,
            // Rendered by another worker meanwhile, or never stored.
            Ok(None) => return self.give_up_render(&photo, PhotoError::Damaged).await,
            Err(e) => return tracing::warn!(photo_id = %photo.id, error = %e, "render postponed: media unavailable"),
        };
        let rendered = tokio::task::spawn_blocking(move || pipeline::render(&original.bytes)).await;
        let rendered = match rendered {
            Ok(Ok(rendered)) => rendered,
            Ok(Err(e)) => return self.give_up_render(&photo, e).await,
            Err(e) => return tracing::error!(photo_id = %photo.id, error = %e, "render job panicked"),
        };
        let (width, height) = (rendered.width, rendered.height);
        for (variant, bytes) in
            [(Variant::Full, rendered.full), (Variant::Preview, rendered.preview), (Variant::Thumb, rendered.thumb)]
        {
            let blob = Blob { bytes, content_type: "image/jpeg".to_string() };
            if let Err(e) = self.blobs.put(&variant.key(&photo.id), blob).await {
                return tracing::warn!(photo_id = %photo.id, error = %e, "render postponed: media unavailable");
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
                return;
            }
            Err(e) => return tracing::warn!(photo_id = %photo.id, error = %e, "render postponed: store unavailable"),
        }
        self.delete_blob(&Variant::Original.key(&photo.id)).await;
        let finished = Photo { status: PhotoStatus::Ready, width, height, ..photo };
        self.announce_new_photo(&finished).await;
    }

    async fn announce_new_photo(&self, photo: &Photo) {
        let Ok(room) = self.room(&photo.room_id).await else { return };
        tracing::info!(photo_id = %photo.id, "photo ready");
        if !visible(photo, &room) {
            return;
        }
        let Some(io) = self.io() else { return };
        let view = PhotoView::new(photo, &room, None);
        io.emit_to(room.id.clone(), "photo:new", &json!({ "photo": view })).await;
    }

    /// A photo that cannot be rendered is deleted; its sharer is told why.
    async fn give_up_render(&self, photo: &Photo, error: PhotoError) {
        match self.store.finish_photo(&photo.id, PhotoStatus::Failed, 0, 0).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => return tracing::warn!(photo_id = %photo.id, error = %e, "could not record a failed render"),
        }
        tracing::info!(photo_id = %photo.id, %error, "photo could not be rendered, deleting it");
        if let Err(e) = self.delete_photo_everywhere(photo).await {
            tracing::warn!(photo_id = %photo.id, error = %e, "could not delete a failed photo");
        }
        let Some(io) = self.io() else { return };
        let error = AppError::Photo(error).body();
        let payload = json!({ "photo_id": photo.id, "error": error });
        io.emit_to(member_room(&photo.member_id), "photo:failed", &payload).await;
    }

    /// Starts render jobs for photos whose job was lost (older than the
    /// grace period and still `processing`).
    pub async fn resume_rendering(&self) {
        let waiting = match self.store.processing_photos(100).await {
            Ok(photos) => photos,
            Err(e) => return tracing::warn!(error = %e, "could not look for unrendered photos"),
        };
        let now = self.clock.now();
        for photo in waiting.into_iter().filter(|p| now.saturating_sub(p.created_at) >= RENDER_GRACE_MS) {
            tracing::info!(photo_id = %photo.id, "rendering a photo whose job was lost");
            self.start_render(photo);
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
            self.delete_blob(&variant.key(&photo.id)).await;
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
        photo.filter(|p| visible(p, room)).ok_or(AppError::PhotoNotFound)
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
        let next = (page.len() == limit).then(|| page.last().map(cursor)).flatten();
        let views = page.iter().filter(|p| visible(p, room)).map(|p| PhotoView::new(p, room, viewer)).collect();
        Ok((views, next))
    }

    /// Likes (`on`) or unlikes a photo of the member's room and tells the room.
    pub async fn like_photo(&self, room_id: &str, member_id: &str, photo_id: &str, on: bool) -> Result<PhotoView> {
        let room = self.room(room_id).await?;
        self.wall_photo(&room, photo_id).await?;
        let photo = self.store.mark_photo(photo_id, PhotoMark::Like, member_id, on).await?;
        let photo = photo.ok_or(AppError::PhotoNotFound)?;
        let view = PhotoView::new(&photo, &room, Some(member_id));
        if let Some(io) = self.io() {
            let payload = json!({ "photo_id": photo.id, "likes": view.likes, "liked_by": view.liked_by });
            io.emit_to(room.id.clone(), "photo:likes", &payload).await;
        }
        Ok(view)
    }

    /// Reports a photo to the room's hosts and co-hosts (once per member).
    pub async fn report_photo(&self, room_id: &str, member_id: &str, photo_id: &str) -> Result<usize> {
        let room = self.room(room_id).await?;
        self.wall_photo(&room, photo_id).await?;
        let photo = self.store.mark_photo(photo_id, PhotoMark::Report, member_id, true).await?;
        let photo = photo.ok_or(AppError::PhotoNotFound)?;
        tracing::info!(photo_id, reports = photo.reports.len(), "photo reported");
        if let Some(io) = self.io() {
            let view = PhotoView::new(&photo, &room, None);
            let payload = json!({ "photo": view, "reports": photo.reports.len() });
            for staff in room.members.values().filter(|m| m.is_staff() && !m.banned) {
                io.emit_to(member_room(&staff.id), "photo:reported", &payload).await;
            }
        }
        Ok(photo.reports.len())
    }

    /// Removes a photo: the host and co-hosts any, a member their own.
    pub async fn remove_photo(&self, room_id: &str, member_id: &str, photo_id: &str) -> Result<()> {
        let room = self.room(room_id).await?;
        let photo = self.store.photo(photo_id).await?.filter(|p| p.room_id == room.id);
        let photo = photo.ok_or(AppError::PhotoNotFound)?;
        let staff = room.member(member_id).is_some_and(Member::is_staff);
        if !staff && photo.member_id != member_id {
            return Err(crate::domain::DomainError::Forbidden.into());
        }
        self.delete_photo_everywhere(&photo).await?;
        tracing::info!(photo_id, by = member_id, "photo removed");
        if let Some(io) = self.io() {
            io.emit_to(room.id.clone(), "photo:removed", &json!({ "photo_id": photo.id })).await;
        }
        Ok(())
    }
}

/// A stored blob of a photo, for serving.
pub async fn served_file(blobs: &dyn BlobStore, photo_id: &str, variant: Variant) -> Result<Blob> {
    let blob = blobs.get(&variant.key(photo_id)).await.map_err(|e| {
        tracing::warn!(photo_id, error = %e, "could not read a photo file");
        AppError::Unavailable
    })?;
    blob.ok_or(AppError::PhotoNotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let parsed = parse_cursor("1700000000000-AbC123");
        assert_eq!(parsed, Some((1_700_000_000_000, "AbC123".to_string())));
        for junk in ["", "-", "12-", "x-AbC", "12-../etc", "12-a b"] {
            assert_eq!(parse_cursor(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn variant_keys_are_flat_and_valid() {
        assert_eq!(Variant::Thumb.key("AbC"), "photos/AbC.thumb.jpg");
        assert_eq!(Variant::served("preview.jpg"), Some(Variant::Preview));
        assert_eq!(Variant::served("original"), None, "the original is never served");
    }
}
