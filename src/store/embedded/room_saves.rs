//! Group commit across rooms for the embedded store. Every room write is a
//! compare-and-swap that must be durable before it is acknowledged, and
//! each redb commit pays its own fsync; with one commit per room write,
//! many small rooms cost one fsync per vote. So room saves wait in one
//! queue, and one writer at a time takes everything queued into a single
//! write transaction: each save still checks its own room's version (a
//! conflict refuses that save alone, before it writes anything), and every
//! save is answered only after the shared commit. A commit that fails
//! answers every save in it `unavailable`; nothing of it is stored.
//!
//! The writer is whichever caller finds no writer running: it drains the
//! queue on a blocking thread until the queue is empty, so a save that
//! arrives during a commit goes into the next one (no timer, no waiting
//! when the store is idle).

use std::sync::{Arc, Mutex};

use redb::{Database, ReadableTable, Table};
use tokio::sync::oneshot;

use super::handle::Handle;
use super::{HISTORY, ROOM_MEMBERS, ROOMS, StoredVersion, decode, unavailable};
use crate::store::{StoreError, StoreResult};

/// One room's write, encoded, and where its answer goes.
pub(super) struct RoomSave {
    pub id: String,
    pub expected_version: u64,
    pub record: Vec<u8>,
    /// The member list, when the write changed it.
    pub members: Option<Vec<u8>>,
    /// History rows: key and record.
    pub plays: Vec<(String, Vec<u8>)>,
    pub answer: oneshot::Sender<StoreResult<()>>,
}

/// Saves waiting for the next commit, and whether a writer is draining them.
#[derive(Default)]
pub(super) struct RoomSaves(Mutex<(Vec<RoomSave>, bool)>);

impl RoomSaves {
    /// Queues a save; `true` when the caller must start the writer.
    pub fn push(&self, save: RoomSave) -> bool {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        queue.0.push(save);
        !std::mem::replace(&mut queue.1, true)
    }

    /// Commits queued saves, batch after batch, until none is left; runs on
    /// a blocking thread (see `Writer`).
    fn write_all(&self, handle: &Handle) {
        loop {
            let batch = {
                let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
                if queue.0.is_empty() {
                    queue.1 = false;
                    return;
                }
                std::mem::take(&mut queue.0)
            };
            let answers = match handle.get() {
                Ok(db) => {
                    let answers = commit(&db, &batch);
                    if answers.iter().any(|a| matches!(a, Err(StoreError::Unavailable(_)))) {
                        handle.recover(&db);
                    }
                    answers
                }
                Err(e) => batch.iter().map(|_| Err(StoreError::Unavailable(e.to_string()))).collect(),
            };
            for (save, answer) in batch.into_iter().zip(answers) {
                save.answer.send(answer).ok();
            }
        }
    }
}

/// The writer's turn: drains the queue when run. Dropped without having
/// finished (its blocking task never ran, as when the runtime shuts down,
/// or it panicked), it lets the next save start a writer again.
pub(super) struct Writer {
    saves: Arc<RoomSaves>,
    db: Arc<Handle>,
    finished: bool,
}

impl Writer {
    pub fn new(saves: Arc<RoomSaves>, db: Arc<Handle>) -> Self {
        Self { saves, db, finished: false }
    }

    pub fn run(mut self) {
        self.saves.write_all(&self.db);
        self.finished = true;
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.finished {
            self.saves.0.lock().unwrap_or_else(|e| e.into_inner()).1 = false;
        }
    }
}

/// One write transaction for the whole batch: each save's answer.
fn commit(db: &Database, batch: &[RoomSave]) -> Vec<StoreResult<()>> {
    let everyone = |e: StoreError| batch.iter().map(|_| Err(StoreError::Unavailable(e.to_string()))).collect();
    let txn = match db.begin_write() {
        Ok(txn) => txn,
        Err(e) => return everyone(unavailable(e)),
    };
    let mut answers = Vec::with_capacity(batch.len());
    {
        let tables = (|| {
            let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
            let members = txn.open_table(ROOM_MEMBERS).map_err(unavailable)?;
            let history = txn.open_table(HISTORY).map_err(unavailable)?;
            Ok::<_, StoreError>((rooms, members, history))
        })();
        let (mut rooms, mut members, mut history) = match tables {
            Ok(tables) => tables,
            Err(e) => return everyone(e),
        };
        for save in batch {
            match write(&mut rooms, &mut members, &mut history, save) {
                // A failed write may have left part of itself in the
                // transaction: nothing of the batch is committed.
                Err(e @ StoreError::Unavailable(_)) => return everyone(e),
                answer => answers.push(answer),
            }
        }
    }
    if answers.iter().any(Result::is_ok)
        && let Err(e) = txn.commit()
    {
        return everyone(unavailable(e));
    }
    answers
}

/// Checks the room's version, then writes the room, its members and its
/// history rows. A conflict or an unreadable stored room writes nothing.
fn write(
    rooms: &mut Table<&str, &[u8]>,
    members: &mut Table<&str, &[u8]>,
    history: &mut Table<&str, &[u8]>,
    save: &RoomSave,
) -> StoreResult<()> {
    // The version alone: the rest of a big room is skipped, not built.
    let stored: StoredVersion = match rooms.get(save.id.as_str()).map_err(unavailable)? {
        Some(v) => decode(v.value())?,
        None => return Err(StoreError::Conflict),
    };
    if stored.version != save.expected_version {
        return Err(StoreError::Conflict);
    }
    rooms.insert(save.id.as_str(), save.record.as_slice()).map_err(unavailable)?;
    if let Some(list) = &save.members {
        members.insert(save.id.as_str(), list.as_slice()).map_err(unavailable)?;
    }
    for (key, play) in &save.plays {
        history.insert(key.as_str(), play.as_slice()).map_err(unavailable)?;
    }
    Ok(())
}
