//! `room:presence` goes out in batches: at most one per room every
//! [`PRESENCE_WINDOW`], carrying every member who came online or went
//! offline on this node meanwhile. One event per change cost a broadcast to
//! every member for every connect: a node restart that brings a thousand
//! phones of one party back at once made a million deliveries, which filled
//! send buffers and pushed out the `room:changed` that matter more. Batched,
//! it is a few dozen broadcasts.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::Hub;
use crate::broadcast::{Audience, Broadcaster, Payload};
use crate::domain::view::people_online;
use crate::presence::Presence;

/// How long a presence change may wait for others to share its broadcast.
pub const PRESENCE_WINDOW: Duration = Duration::from_millis(250);

/// Presence changes waiting for their room's next broadcast.
#[derive(Default)]
pub struct PresenceOutbox(Mutex<HashMap<String, Vec<PresenceChange>>>);

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PresenceChange {
    pub member_id: String,
    pub online: bool,
}

impl PresenceOutbox {
    /// Queues a change (replacing an earlier one of the same member); true
    /// when the room had nothing waiting, so the caller schedules the send.
    pub(super) fn push(&self, room_id: &str, change: PresenceChange) -> bool {
        let mut rooms = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match rooms.entry(room_id.to_string()) {
            Entry::Occupied(mut waiting) => {
                let changes = waiting.get_mut();
                changes.retain(|c| c.member_id != change.member_id);
                changes.push(change);
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(vec![change]);
                true
            }
        }
    }

    pub(super) fn take(&self, room_id: &str) -> Vec<PresenceChange> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(room_id).unwrap_or_default()
    }
}

/// Tells the room (every node) that a member came online or went offline,
/// together with the other changes of the next [`PRESENCE_WINDOW`].
pub fn announce(hub: &Arc<Hub>, presence: &Arc<dyn Presence>, room_id: &str, member_id: &str, online: bool) {
    let change = PresenceChange { member_id: member_id.to_string(), online };
    if !hub.presence_outbox.push(room_id, change) {
        return;
    }
    let (hub, presence, room_id) = (hub.clone(), presence.clone(), room_id.to_string());
    tokio::spawn(async move {
        tokio::time::sleep(PRESENCE_WINDOW).await;
        let changes = hub.presence_outbox.take(&room_id);
        let payload = Payload::new(&json!({
            "changes": changes,
            "online_count": people_online(&presence.online(&room_id).await),
        }));
        hub.emit(Audience::Room(room_id), "room:presence", payload).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(member_id: &str, online: bool) -> PresenceChange {
        PresenceChange { member_id: member_id.into(), online }
    }

    #[test]
    fn a_rooms_changes_wait_together_and_the_latest_of_a_member_wins() {
        let outbox = PresenceOutbox::default();
        assert!(outbox.push("r1", change("a", true)), "the first change schedules the send");
        assert!(!outbox.push("r1", change("b", true)));
        assert!(!outbox.push("r1", change("a", false)));
        assert!(outbox.push("r2", change("c", true)), "another room has its own send");
        assert_eq!(outbox.take("r1"), vec![change("b", true), change("a", false)]);
        assert_eq!(outbox.take("r1"), vec![]);
        assert!(outbox.push("r1", change("d", true)), "after a send, the next change schedules one again");
    }
}
