//! Who is connected right now, per room. A member with two tabs open counts
//! once: presence changes only when their first socket connects or their
//! last one leaves.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
pub struct Presence {
    /// room id → member id → open sockets.
    rooms: Mutex<HashMap<String, HashMap<String, usize>>>,
}

impl Presence {
    /// Records a socket; true if the member just came online.
    pub fn connect(&self, room_id: &str, member_id: &str) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let sockets = rooms.entry(room_id.to_string()).or_default().entry(member_id.to_string()).or_default();
        *sockets += 1;
        *sockets == 1
    }

    /// Forgets a socket; true if the member just went offline.
    pub fn disconnect(&self, room_id: &str, member_id: &str) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let Some(members) = rooms.get_mut(room_id) else {
            return false;
        };
        let Some(sockets) = members.get_mut(member_id) else {
            return false;
        };
        *sockets -= 1;
        if *sockets > 0 {
            return false;
        }
        members.remove(member_id);
        if members.is_empty() {
            rooms.remove(room_id);
        }
        true
    }

    pub fn online(&self, room_id: &str) -> HashSet<String> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.get(room_id).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    pub fn online_count(&self, room_id: &str) -> usize {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.get(room_id).map_or(0, HashMap::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tabs_count_once() {
        let p = Presence::default();
        assert!(p.connect("r", "m"));
        assert!(!p.connect("r", "m"));
        assert_eq!(p.online_count("r"), 1);
        assert!(!p.disconnect("r", "m"));
        assert!(p.disconnect("r", "m"));
        assert_eq!(p.online_count("r"), 0);
        assert!(!p.disconnect("r", "m"));
    }
}
