//! The player clock: knows when each room's current track ends and advances
//! the room then, through the same compare-and-swap as every other write
//! ("advance if entry X is still playing"), so a track ends exactly once
//! however many nodes or ticks race for it. Also expires idle party rooms.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::{Actor, Command, Millis, Room};
use crate::state::AppState;

/// How often the background loop looks for ended tracks.
const TICK: Duration = Duration::from_millis(200);
/// How often idle rooms are swept.
const SWEEP_EVERY_SECONDS: u64 = 60;
/// The orphan photo file sweep runs at start and then this often.
const ORPHAN_SWEEP_EVERY_SECONDS: u64 = 3600;

/// Deadlines of the rooms this node knows about.
#[derive(Default)]
pub struct Schedule {
    inner: Mutex<Deadlines>,
}

#[derive(Default)]
struct Deadlines {
    by_time: BTreeSet<(Millis, String, String)>,
    by_room: HashMap<String, (Millis, String)>,
}

impl Schedule {
    /// Records when the room's current track ends (or that nothing will).
    pub fn plan(&self, room: &Room) {
        let next = room.now_playing.as_ref().and_then(|np| Some((np.ends_at()?, np.entry_id.clone())));
        let mut d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, entry)) = d.by_room.remove(&room.id) {
            d.by_time.remove(&(at, room.id.clone(), entry));
        }
        if let Some((at, entry)) = next {
            d.by_time.insert((at, room.id.clone(), entry.clone()));
            d.by_room.insert(room.id.clone(), (at, entry));
        }
    }

    pub fn forget(&self, room_id: &str) {
        let mut d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, entry)) = d.by_room.remove(room_id) {
            d.by_time.remove(&(at, room_id.to_string(), entry));
        }
    }

    /// (room id, entry id) of every track that has ended by `now`.
    fn due(&self, now: Millis) -> Vec<(String, String)> {
        let d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        d.by_time.iter().take_while(|(at, _, _)| *at <= now).map(|(_, r, e)| (r.clone(), e.clone())).collect()
    }
}

impl AppState {
    /// Advances every room whose track has ended. Safe to call from many
    /// tasks at once: each advance is a CAS on "entry X still playing".
    pub async fn advance_ended_tracks(&self) {
        for (room_id, entry_id) in self.schedule.due(self.clock.now()) {
            let result = self.execute(&room_id, Actor::System, Command::TrackEnded { entry_id }).await;
            match result {
                Ok((room, _)) => self.schedule.plan(&room),
                Err(e) => tracing::warn!(room_id, error = %e, "could not advance the player"),
            }
        }
    }

    /// Deletes party rooms idle for longer than the configured time.
    pub async fn expire_idle_rooms(&self) -> anyhow::Result<usize> {
        let ttl = self.settings.room_idle_hours * 3_600_000;
        let now = self.clock.now();
        let mut expired = 0;
        for id in self.store.room_ids().await? {
            let idle = self.store.load_room(&id).await?.is_some_and(|r| r.is_expired(now, ttl));
            if idle && self.presence.online_count(&id).await == 0 {
                self.delete_room(&id).await?;
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Loads every room's deadline at start-up.
    pub async fn plan_all_rooms(&self) -> anyhow::Result<()> {
        for id in self.store.room_ids().await? {
            if let Some(room) = self.store.load_room(&id).await? {
                self.schedule.plan(&room);
            }
        }
        Ok(())
    }

    /// The player loop; ends when `stop` is cancelled.
    pub async fn run_player(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.advance_ended_tracks().await;
        }
    }

    /// Slower housekeeping, apart from the player so a slow service cannot
    /// delay a track change: version announcements (every 3 s), presence
    /// refresh (10 s), re-planning rooms changed by other nodes (5 s, when
    /// scaled out), photos whose render job was lost (10 s), the idle-room
    /// sweep (60 s) and orphan photo files (at start, then hourly).
    pub async fn run_housekeeping(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut seconds: u64 = 0;
        let mut announced = Announced::new();
        let shared_store = self.settings.mongodb_uri.is_some();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            seconds += 1;
            if seconds.is_multiple_of(3) {
                self.announce_versions(&mut announced).await;
            }
            if seconds.is_multiple_of(10) {
                self.presence.refresh().await;
            }
            if shared_store
                && seconds.is_multiple_of(5)
                && let Err(e) = self.plan_all_rooms().await
            {
                tracing::warn!(error = %e, "could not re-plan rooms");
            }
            if seconds.is_multiple_of(10) {
                self.resume_rendering().await;
            }
            if seconds % ORPHAN_SWEEP_EVERY_SECONDS == 1 {
                // Its own task: listing every file must not delay the rest.
                let app = self.clone();
                tokio::spawn(async move {
                    match app.sweep_orphan_blobs().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(files = n, "removed orphan photo files"),
                        Err(e) => tracing::warn!(error = %e, "orphan photo file sweep failed"),
                    }
                });
            }
            if seconds.is_multiple_of(SWEEP_EVERY_SECONDS) {
                match self.expire_idle_rooms().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rooms = n, "expired idle rooms"),
                    Err(e) => tracing::warn!(error = %e, "idle room sweep failed"),
                }
            }
        }
    }

    /// Tells this node's sockets the latest version of their room once the
    /// room has settled (no change for a whole round), so a client that
    /// missed the last events (a full send buffer) notices and resyncs; again
    /// each round while some socket's buffer is still full. A room that keeps
    /// changing needs no announcement: its next `room:changed` shows a missed
    /// one as a gap in the versions.
    pub async fn announce_versions(&self, announced: &mut Announced) {
        let Some(io) = self.io() else { return };
        let rooms = io.local_rooms().await;
        announced.retain(|room_id, _| rooms.contains(room_id));
        for room_id in rooms {
            let Some(version) = self.room_cache.version(&room_id).await else { continue };
            match announced.get_mut(&room_id) {
                Some((seen, done)) if *seen == version => {
                    if !*done {
                        *done = io.announce_version(&room_id, version);
                    }
                }
                _ => {
                    announced.insert(room_id, (version, false));
                }
            }
        }
    }
}

/// Per party room on this node: the version last seen by the announcement
/// round, and whether it was announced.
pub type Announced = std::collections::HashMap<String, (u64, bool)>;
