//! The player clock: knows when each room's current track ends (from the
//! timetable) and advances the room then, through the same compare-and-swap
//! as every other write ("advance if entry X is still playing"), so a track
//! ends exactly once however many nodes or ticks race for it.
//!
//! Owns: `Player`, the tick loop. May use: rooms, timetable, clock, domain.
//! Must not import: other services, state, realtime, http.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::domain::{Actor, Command};
use crate::rooms::Rooms;
use crate::timetable::Timetable;

/// How often the loop looks for ended tracks.
const TICK: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Player {
    rooms: Rooms,
    timetable: Arc<Timetable>,
    clock: SharedClock,
}

impl Player {
    pub fn new(rooms: Rooms, timetable: Arc<Timetable>, clock: SharedClock) -> Self {
        Self { rooms, timetable, clock }
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

    /// The player loop; ends when `stop` is cancelled.
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.advance_ended_tracks().await;
        }
    }
}
