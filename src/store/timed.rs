//! A `Store` that times every call of the store it wraps and counts its
//! failures, for operators (`crowdjuke_store_call_seconds{call}`,
//! `crowdjuke_store_errors_total{call,error}`). Both modes wrap their store
//! in it, so the numbers mean the same on redb and on MongoDB. A lost
//! version race (`Conflict`) or a taken key (`Duplicate`) is an answer, not
//! a failure: only `Unavailable` and `Corrupt` count as errors.
//!
//! The per-record stores behind `accounts()`, `providers()` and the others
//! are handed out as they are: the calls on a party's hot path (rooms,
//! tracks, photos, the search outbox) are the ones timed here.
//!
//! Owns: the store call metrics. May use: `store`, `telemetry`.
//! Must not import: anything above the store.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::{
    AccountStore, AnalyticsStore, CoLikeStore, MemberList, MusicFileStore, OutboxItem, ProviderStore, Store,
    StoreError, StoreResult, VenueStore,
};
use crate::domain::{Millis, Photo, PhotoMark, PhotoStatus, Play, Room, Track};
use crate::telemetry;

pub struct Timed(pub Arc<dyn Store>);

/// Runs one store call, recording how long it took and whether it failed
/// (or was abandoned at its command's deadline).
async fn timed<T>(call: &'static str, work: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    let timer = telemetry::Call::start(telemetry::STORE_SECONDS, telemetry::STORE_ERRORS, &[("call", call)]);
    let result = work.await;
    timer.finish(match &result {
        Err(StoreError::Unavailable(_)) => Some("unavailable"),
        Err(StoreError::Corrupt(_)) => Some("corrupt"),
        Ok(_) | Err(StoreError::Conflict | StoreError::Duplicate) => None,
    });
    result
}

#[async_trait]
impl Store for Timed {
    async fn insert_room(&self, room: &Room) -> StoreResult<()> {
        timed("insert_room", self.0.insert_room(room)).await
    }
    async fn load_room(&self, id: &str) -> StoreResult<Option<Room>> {
        timed("load_room", self.0.load_room(id)).await
    }
    async fn room_id_by_code(&self, code: &str) -> StoreResult<Option<String>> {
        timed("room_id_by_code", self.0.room_id_by_code(code)).await
    }
    async fn save_room(&self, room: &Room, expected: u64, plays: &[Play], members: MemberList) -> StoreResult<()> {
        timed("save_room", self.0.save_room(room, expected, plays, members)).await
    }
    async fn delete_room(&self, id: &str) -> StoreResult<()> {
        timed("delete_room", self.0.delete_room(id)).await
    }
    async fn room_ids(&self) -> StoreResult<Vec<String>> {
        timed("room_ids", self.0.room_ids()).await
    }
    async fn history(&self, room_id: &str, offset: usize, limit: usize) -> StoreResult<Vec<Play>> {
        timed("history", self.0.history(room_id, offset, limit)).await
    }
    async fn put_tracks(&self, tracks: &[Track]) -> StoreResult<()> {
        timed("put_tracks", self.0.put_tracks(tracks)).await
    }
    async fn track(&self, id: &str) -> StoreResult<Option<Track>> {
        timed("track", self.0.track(id)).await
    }
    async fn tracks_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Track>> {
        timed("tracks_by_ids", self.0.tracks_by_ids(ids)).await
    }
    async fn tracks_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<Track>> {
        timed("tracks_after", self.0.tracks_after(after, limit)).await
    }
    async fn track_count(&self) -> StoreResult<u64> {
        timed("track_count", self.0.track_count()).await
    }
    async fn outbox_push(&self, index: &str, ids: &[String]) -> StoreResult<()> {
        timed("outbox_push", self.0.outbox_push(index, ids)).await
    }
    async fn outbox(&self, limit: usize) -> StoreResult<Vec<OutboxItem>> {
        timed("outbox", self.0.outbox(limit)).await
    }
    async fn outbox_done(&self, items: &[OutboxItem]) -> StoreResult<()> {
        timed("outbox_done", self.0.outbox_done(items)).await
    }
    async fn outbox_clear(&self, index: &str) -> StoreResult<()> {
        timed("outbox_clear", self.0.outbox_clear(index)).await
    }
    async fn insert_photo(&self, photo: &Photo) -> StoreResult<()> {
        timed("insert_photo", self.0.insert_photo(photo)).await
    }
    async fn photo(&self, id: &str) -> StoreResult<Option<Photo>> {
        timed("photo", self.0.photo(id)).await
    }
    async fn room_photos(
        &self,
        room_id: &str,
        before: Option<(Millis, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<Photo>> {
        timed("room_photos", self.0.room_photos(room_id, before, limit)).await
    }
    async fn finish_photo(&self, id: &str, status: PhotoStatus, width: u32, height: u32) -> StoreResult<bool> {
        timed("finish_photo", self.0.finish_photo(id, status, width, height)).await
    }
    async fn processing_photos(&self, now: Millis, limit: usize) -> StoreResult<Vec<Photo>> {
        timed("processing_photos", self.0.processing_photos(now, limit)).await
    }
    async fn claim_render(&self, id: &str, now: Millis, until: Millis) -> StoreResult<bool> {
        timed("claim_render", self.0.claim_render(id, now, until)).await
    }
    async fn mark_photo(&self, id: &str, mark: PhotoMark, member_id: &str, on: bool) -> StoreResult<Option<Photo>> {
        timed("mark_photo", self.0.mark_photo(id, mark, member_id, on)).await
    }
    async fn delete_photo(&self, id: &str) -> StoreResult<()> {
        timed("delete_photo", self.0.delete_photo(id)).await
    }
    fn accounts(&self) -> &dyn AccountStore {
        self.0.accounts()
    }
    fn providers(&self) -> &dyn ProviderStore {
        self.0.providers()
    }
    fn music_files(&self) -> &dyn MusicFileStore {
        self.0.music_files()
    }
    fn venues(&self) -> &dyn VenueStore {
        self.0.venues()
    }
    fn analytics(&self) -> &dyn AnalyticsStore {
        self.0.analytics()
    }
    fn co_likes(&self) -> &dyn CoLikeStore {
        self.0.co_likes()
    }
    async fn close(&self) {
        self.0.close().await
    }
    async fn ping(&self) -> StoreResult<()> {
        timed("ping", self.0.ping()).await
    }
}
