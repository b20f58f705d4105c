//! The player clock: knows when each room's current track ends (from the
//! timetable) and advances the room then, through the same compare-and-swap
//! as every other write ("advance if entry X is still playing"), so a track
//! ends exactly once however many nodes or ticks race for it.
//!
//! At each zone's day-part boundary it announces the new day part the
//! same way (`Command::FollowSchedule`).
//!
//! It also pauses a room whose speaker (the browser playing its music) has
//! been gone for `SPEAKER_GRACE`, instead of running the clock through
//! tracks nobody hears; the room resumes when the speaker is back
//! (`speaker_back`, called when its member connects).
//!
//! Owns: `Player`, the tick loop. May use: rooms, timetable, presence,
//! clock, domain. Must not import: other services, state, realtime, http.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::domain::{Actor, Command, Millis};
use crate::presence::Presence;
use crate::rooms::Rooms;
use crate::timetable::Timetable;

/// How often the loop looks for ended tracks.
const TICK: Duration = Duration::from_millis(200);
/// Every this many ticks (2 s), it looks for speakers that went away.
const SPEAKER_CHECK_TICKS: u32 = 10;
/// How long a speaker may be gone (a reload, a phone switching networks)
/// before its room pauses.
pub const SPEAKER_GRACE_MS: Millis = 20_000;

#[derive(Clone)]
pub struct Player {
    rooms: Rooms,
    timetable: Arc<Timetable>,
    presence: Arc<dyn Presence>,
    clock: SharedClock,
    /// Per playing room whose speaker is offline: since when.
    away_since: Arc<Mutex<HashMap<String, Millis>>>,
}

impl Player {
    pub fn new(rooms: Rooms, timetable: Arc<Timetable>, presence: Arc<dyn Presence>, clock: SharedClock) -> Self {
        Self { rooms, timetable, presence, clock, away_since: Default::default() }
    }

    /// Pauses the playing rooms whose speaker has been offline for longer
    /// than `SPEAKER_GRACE_MS` (on any node: presence is shared).
    pub async fn pause_where_the_speaker_is_gone(&self) {
        let now = self.clock.now();
        let mut gone = Vec::new();
        let playing = self.timetable.playing();
        for room_id in &playing {
            let Ok(room) = self.rooms.room(room_id).await else { continue };
            let Some(speaker) = room.speaker.clone() else { continue };
            let online = self.presence.online(room_id).await.contains(&speaker);
            let mut away = self.away_since.lock().unwrap_or_else(|e| e.into_inner());
            if online {
                away.remove(room_id);
            } else if now.saturating_sub(*away.entry(room_id.clone()).or_insert(now)) >= SPEAKER_GRACE_MS {
                away.remove(room_id);
                gone.push((room_id.clone(), speaker));
            }
        }
        self.away_since.lock().unwrap_or_else(|e| e.into_inner()).retain(|id, _| playing.contains(id));
        for (room_id, member_id) in gone {
            tracing::info!(room_id, "the speaker is gone: pausing the room");
            if let Err(e) = self.rooms.execute(&room_id, Actor::System, Command::SpeakerAway { member_id }).await {
                tracing::warn!(room_id, error = %e, "could not pause a room without its speaker");
            }
        }
    }

    /// A member connected: if it is the speaker whose absence paused the
    /// room, the music goes on.
    pub async fn speaker_back(&self, room_id: &str, member_id: &str) {
        let Ok(room) = self.rooms.room(room_id).await else { return };
        if room.speaker_away && room.speaker.as_deref() == Some(member_id) {
            let back = Command::SpeakerBack { member_id: member_id.to_string() };
            if let Err(e) = self.rooms.execute(room_id, Actor::System, back).await {
                tracing::warn!(room_id, error = %e, "could not resume a room for its speaker");
            }
        }
    }

    /// Advances every room whose track has ended. Safe to call from many
    /// tasks at once: each advance is a CAS on "entry X still playing".
    pub async fn advance_ended_tracks(&self) {
        for (room_id, entry_id) in self.timetable.due(self.clock.now()) {
            let result = self.rooms.execute(&room_id, Actor::System, Command::TrackEnded { entry_id }).await;
            match result {
                Ok((room, _)) => self.timetable.plan(&room),
                Err(e) => tracing::warn!(room_id, error = %e, "could not advance the player"),
            }
        }
    }

    /// Announces the day part in force in zones whose boundary has passed
    /// (a compare-and-swap write: once, however many nodes try).
    pub async fn follow_schedules(&self) {
        for room_id in self.timetable.day_parts_due(self.clock.now()) {
            match self.rooms.execute(&room_id, Actor::System, Command::FollowSchedule).await {
                Ok((room, _)) => self.timetable.plan(&room),
                Err(e) => {
                    tracing::warn!(room_id, error = %e, "could not announce the day part");
                    if matches!(e, crate::error::AppError::RoomNotFound) {
                        self.timetable.forget(&room_id);
                    }
                }
            }
        }
    }

    /// The player loop; ends when `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        let mut ticks: u32 = 0;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.advance_ended_tracks().await;
            self.follow_schedules().await;
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(SPEAKER_CHECK_TICKS) {
                self.pause_where_the_speaker_is_gone().await;
            }
        }
    }
}
