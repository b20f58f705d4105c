//! The write path of a room: lock the room on this node, apply the command
//! to the latest version, compare-and-swap it into the store, then tell the
//! room. Every change goes through `AppState::execute`, whether it came from
//! a socket, a REST call or the player clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use socketioxide::SocketIo;

use crate::domain::command::{Change, Departure, Outcome};
use crate::domain::view::RoomChanged;
use crate::domain::{Actor, Command, Room, apply};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::store::StoreError;

/// How often a write is retried after losing a version race to another node.
const CAS_ATTEMPTS: usize = 8;

type Slot = Arc<tokio::sync::Mutex<Option<Room>>>;

/// One lock (and cached copy) per room on this node: writes to a room are
/// serialised here, so this node emits its changes in version order.
#[derive(Default)]
pub struct RoomSlots(Mutex<HashMap<String, Slot>>);

impl RoomSlots {
    fn slot(&self, room_id: &str) -> Slot {
        let mut slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(room_id.to_string()).or_default().clone()
    }

    fn forget(&self, room_id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(room_id);
    }
}

impl AppState {
    /// The latest committed state of a room.
    pub async fn room(&self, room_id: &str) -> Result<Room> {
        let slot = self.rooms.slot(room_id);
        let mut cached = slot.lock().await;
        if let Some(room) = cached.as_ref() {
            return Ok(room.clone());
        }
        let room = self.store.load_room(room_id).await?.ok_or(AppError::RoomNotFound)?;
        *cached = Some(room.clone());
        Ok(room)
    }

    pub async fn room_by_code(&self, code: &str) -> Result<Room> {
        let id = self.store.room_id_by_code(code).await?.ok_or(AppError::RoomNotFound)?;
        self.room(&id).await
    }

    /// Stores a brand-new room.
    pub async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        let _write = self.writes.token();
        self.store.insert_room(room).await
    }

    /// Applies `command` as `actor`, commits it and broadcasts the change.
    /// Returns the room as committed and what changed (nothing for a no-op).
    #[tracing::instrument(skip(self, command), fields(command = ?std::mem::discriminant(&command)))]
    pub async fn execute(&self, room_id: &str, actor: Actor, command: Command) -> Result<(Room, Outcome)> {
        let _write = self.writes.token();
        let slot = self.rooms.slot(room_id);
        let mut cached = slot.lock().await;
        for _ in 0..CAS_ATTEMPTS {
            let mut room = match cached.take() {
                Some(room) => room,
                None => self.store.load_room(room_id).await?.ok_or(AppError::RoomNotFound)?,
            };
            let expected = room.version;
            let outcome = match apply(&mut room, &actor, command.clone(), self.clock.now()) {
                Ok(outcome) => outcome,
                Err(refused) => {
                    *cached = Some(room);
                    return Err(refused.into());
                }
            };
            if outcome.changes.is_empty() {
                *cached = Some(room.clone());
                return Ok((room, outcome));
            }
            match self.store.save_room(&room, expected, &outcome.plays).await {
                Ok(()) => {
                    *cached = Some(room.clone());
                    self.publish(&room, &outcome).await;
                    return Ok((room, outcome));
                }
                Err(StoreError::Conflict) => {
                    tracing::debug!(room_id, "version race lost, reloading")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Unavailable)
    }

    /// Tells the room what changed, then does what the change implies for
    /// this node: reschedule the player, remove kicked members' sockets.
    async fn publish(&self, room: &Room, outcome: &Outcome) {
        let online = self.presence.online(&room.id);
        let payload = RoomChanged::new(room, &outcome.changes, &online, self.clock.now());
        self.schedule.plan(room);
        let Some(io) = self.io() else { return };
        if let Err(e) = io.to(room.id.clone()).emit("room:changed", &payload).await {
            tracing::warn!(room_id = %room.id, error = %e, "room:changed not delivered to every member");
        }
        for change in &outcome.changes {
            if let Change::MemberRemoved { member_id, reason } = change {
                remove_sockets(&io, member_id, *reason).await;
            }
        }
    }

    /// Deletes a room and everything in it.
    pub async fn delete_room(&self, room_id: &str) -> Result<()> {
        let _write = self.writes.token();
        self.store.delete_room(room_id).await?;
        self.rooms.forget(room_id);
        self.schedule.forget(room_id);
        Ok(())
    }
}

/// Tells a kicked or banned member's sockets why, then closes them.
async fn remove_sockets(io: &SocketIo, member_id: &str, reason: Departure) {
    if let Err(e) = io.to(member_room(member_id)).emit("room:removed", &json!({ "reason": reason })).await {
        tracing::debug!(member_id, error = %e, "room:removed not delivered");
    }
    if let Err(e) = io.to(member_room(member_id)).disconnect().await {
        tracing::warn!(member_id, error = %e, "could not disconnect a removed member");
    }
}

/// The Socket.IO room holding every socket of one member.
pub fn member_room(member_id: &str) -> String {
    format!("member:{member_id}")
}
