//! When each room's current track ends, as far as this node knows: the
//! player's timetable. Rooms write it whenever they read or commit a room
//! (another node may have changed it); the player reads what is due.
//!
//! Owns: the deadlines. May use: domain. Must not import: any service.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::domain::{Millis, Room};

/// Deadlines of the rooms this node knows about.
#[derive(Default)]
pub struct Timetable {
    inner: Mutex<Deadlines>,
}

#[derive(Default)]
struct Deadlines {
    by_time: BTreeSet<(Millis, String, String)>,
    by_room: HashMap<String, (Millis, String)>,
    /// When each zone's day part changes next.
    day_parts: BTreeSet<(Millis, String)>,
    day_part_by_room: HashMap<String, Millis>,
}

impl Timetable {
    /// Records when the room's current track ends (or that nothing will).
    pub fn plan(&self, room: &Room) {
        let next = room.now_playing.as_ref().and_then(|np| Some((room.track_ends_at()?, np.entry_id.clone())));
        let mut d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, entry)) = d.by_room.remove(&room.id) {
            d.by_time.remove(&(at, room.id.clone(), entry));
        }
        if let Some((at, entry)) = next {
            d.by_time.insert((at, room.id.clone(), entry.clone()));
            d.by_room.insert(room.id.clone(), (at, entry));
        }
        if let Some(at) = d.day_part_by_room.remove(&room.id) {
            d.day_parts.remove(&(at, room.id.clone()));
        }
        if let Some(at) = room.day_part_on.as_ref().and_then(|on| on.next_change) {
            d.day_parts.insert((at, room.id.clone()));
            d.day_part_by_room.insert(room.id.clone(), at);
        }
    }

    pub fn forget(&self, room_id: &str) {
        let mut d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, entry)) = d.by_room.remove(room_id) {
            d.by_time.remove(&(at, room_id.to_string(), entry));
        }
        if let Some(at) = d.day_part_by_room.remove(room_id) {
            d.day_parts.remove(&(at, room_id.to_string()));
        }
    }

    /// The rooms playing a track now (not paused), as far as this node knows.
    pub fn playing(&self) -> Vec<String> {
        let d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        d.by_room.keys().cloned().collect()
    }

    /// (room id, entry id) of every track that has ended by `now`.
    pub fn due(&self, now: Millis) -> Vec<(String, String)> {
        let d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        d.by_time.iter().take_while(|(at, _, _)| *at <= now).map(|(_, r, e)| (r.clone(), e.clone())).collect()
    }

    /// Zones whose day part has changed by `now` (as far as this node knows).
    pub fn day_parts_due(&self, now: Millis) -> Vec<String> {
        let d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        d.day_parts.iter().take_while(|(at, _)| *at <= now).map(|(_, r)| r.clone()).collect()
    }
}
