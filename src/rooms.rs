//! The rooms service: reading a room (cache-aside) and its write path: lock
//! the room on this node, apply the command to the latest version,
//! compare-and-swap it into the store, then tell the room. Every change goes
//! through `Rooms::execute`, whether it came from a socket, a REST call or
//! the player clock.
//!
//! Owns: `Rooms` (creating, reading, writing and deleting rooms), the
//! per-room queues of waiting commands, `COMMAND_DEADLINE`.
//! May use: domain, store, cache, locks, presence, clock, timetable, search
//! (index names and documents), broadcast, telemetry.
//! Must not import: other services (photos, accounts, activities, providers,
//! player), state, realtime, http. What other services do after a commit
//! (timelines, playback hand-off) they register as a `CommitListener`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::json;
use tokio::sync::{Notify, oneshot};
use tokio::time::{Duration, Instant};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::broadcast::{Audience, Broadcaster, Payload};
use crate::cache::RoomCache;
use crate::clock::SharedClock;
use crate::domain::command::{Change, Departure, Outcome};
use crate::domain::view::RoomChanged;
use crate::domain::{Actor, Command, Room, apply};
use crate::error::{AppError, Result};
use crate::locks::RoomLocks;
use crate::presence::Presence;
use crate::search::{IndexName, documents};
use crate::store::{MemberList, Store, StoreError};
use crate::telemetry;
use crate::timetable::Timetable;

/// How often a write is retried after losing a version race to another node.
const CAS_ATTEMPTS: usize = 16;

/// How long a command may take, its lock, cache, store and broadcast calls
/// together, before its caller is answered `unavailable` (docs/protocol.md
/// promises about two seconds). A store or lock that hangs then costs a
/// guest two seconds, and frees the room for the next command.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(2);

type Slot = Arc<tokio::sync::Mutex<()>>;

/// A command waiting for its room's next write, and where its answer goes.
struct Pending {
    actor: Actor,
    command: Command,
    reply: oneshot::Sender<Answer>,
    /// When its caller stops waiting.
    deadline: Instant,
}

/// Per room on this node: a lock, so writes to a room are serialised here
/// (this node emits its changes in version order and does not race itself),
/// and the commands waiting for it.
#[derive(Default)]
pub struct RoomSlots(Mutex<HashMap<String, (Slot, Vec<Pending>)>>);

impl RoomSlots {
    /// Queues a command; returns the room's lock.
    fn enqueue(&self, room_id: &str, pending: Pending) -> Slot {
        let mut slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (slot, waiting) = slots.entry(room_id.to_string()).or_default();
        waiting.push(pending);
        slot.clone()
    }

    /// Everything queued for the room so far whose caller still waits,
    /// oldest first.
    fn take(&self, room_id: &str) -> Vec<Pending> {
        let mut slots = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let waiting = slots.get_mut(room_id).map(|(_, waiting)| std::mem::take(waiting)).unwrap_or_default();
        waiting.into_iter().filter(|p| !p.reply.is_closed()).collect()
    }

    fn forget(&self, room_id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(room_id);
    }
}

/// One command's answer in a batch: the room right after it, and what it
/// changed (or why it was refused).
type Answer = Result<(Room, Outcome)>;

/// What the rooms service works with.
pub struct RoomsParts {
    pub store: Arc<dyn Store>,
    pub cache: Arc<dyn RoomCache>,
    pub locks: Arc<dyn RoomLocks>,
    /// Who is online, for the member views a change carries.
    pub presence: Arc<dyn Presence>,
    pub clock: SharedClock,
    pub broadcaster: Arc<dyn Broadcaster>,
    /// Kept current with every room read or committed here.
    pub timetable: Arc<Timetable>,
    /// Wakes the search indexer when a listing changed.
    pub index_changed: Arc<Notify>,
    /// Every room write holds a token, so shutdown can wait for them.
    pub writes: TaskTracker,
}

/// Something another service does after each commit on this node (once
/// the room has been told). It must return at once: slow work is spawned.
pub trait CommitListener: Send + Sync {
    fn committed(&self, room: &Room, outcome: &Outcome);
}

#[derive(Clone)]
pub struct Rooms(Arc<Inner>);

struct Inner {
    parts: RoomsParts,
    slots: RoomSlots,
    listeners: RwLock<Vec<Arc<dyn CommitListener>>>,
}

impl std::ops::Deref for Rooms {
    type Target = RoomsParts;

    fn deref(&self) -> &RoomsParts {
        &self.0.parts
    }
}

impl Rooms {
    pub fn new(parts: RoomsParts) -> Self {
        Self(Arc::new(Inner { parts, slots: RoomSlots::default(), listeners: RwLock::default() }))
    }

    /// Adds a listener called after every commit (see `CommitListener`).
    pub fn listen(&self, listener: Arc<dyn CommitListener>) {
        self.0.listeners.write().unwrap_or_else(|e| e.into_inner()).push(listener);
    }

    /// Drops the listeners at shutdown (they hold this service: a cycle).
    pub fn close(&self) {
        self.0.listeners.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The latest committed state of a room (cache-aside).
    pub async fn room(&self, room_id: &str) -> Result<Room> {
        if let Some(room) = self.cache.get(room_id).await {
            // Another node may have written it: keep this node's player
            // deadline current too.
            self.timetable.plan(&room);
            return Ok(room);
        }
        self.load_room(room_id).await
    }

    /// Reads the room from the store and refreshes the cache.
    async fn load_room(&self, room_id: &str) -> Result<Room> {
        let room = self.store.load_room(room_id).await?.ok_or(AppError::RoomNotFound)?;
        self.cache.put(&room, None).await;
        self.timetable.plan(&room);
        Ok(room)
    }

    pub async fn room_by_code(&self, code: &str) -> Result<Room> {
        let id = self.store.room_id_by_code(code).await?.ok_or(AppError::RoomNotFound)?;
        self.room(&id).await
    }

    /// Plans every stored room's next track end (at start-up; scaled out,
    /// now and then, for rooms other nodes changed).
    pub async fn plan_all(&self) -> anyhow::Result<()> {
        for id in self.store.room_ids().await? {
            if let Some(room) = self.store.load_room(&id).await? {
                self.timetable.plan(&room);
            }
        }
        Ok(())
    }

    /// Stores a brand-new room.
    pub async fn create_room(&self, room: &Room) -> Result<(), StoreError> {
        let _write = self.writes.token();
        if room.listing.public {
            self.store.outbox_push(IndexName::Rooms.as_str(), std::slice::from_ref(&room.id)).await?;
        }
        self.store.insert_room(room).await?;
        if room.listing.public {
            self.queue_again_for_index(&room.id).await;
        }
        Ok(())
    }

    /// Queues a room again after its write committed (see `write`); the
    /// write stands even if this fails: the item queued before it covers it.
    async fn queue_again_for_index(&self, room_id: &str) {
        if let Err(e) = self.store.outbox_push(IndexName::Rooms.as_str(), &[room_id.to_string()]).await {
            tracing::warn!(room_id, error = %e, "could not queue the room for the search index again");
        }
        self.index_changed.notify_one();
    }

    /// Queues the room for the `rooms` search index.
    async fn queue_for_index(&self, room_id: &str) -> Result<()> {
        self.store.outbox_push(IndexName::Rooms.as_str(), &[room_id.to_string()]).await?;
        self.index_changed.notify_one();
        Ok(())
    }

    /// Applies `command` as `actor`, commits it and broadcasts the change.
    /// Returns the room as committed and what changed (nothing for a no-op),
    /// or `unavailable` once `COMMAND_DEADLINE` has passed.
    pub async fn execute(&self, room_id: &str, actor: Actor, command: Command) -> Result<(Room, Outcome)> {
        self.execute_by(room_id, actor, command, Instant::now() + COMMAND_DEADLINE).await
    }

    /// `execute`, answered by `deadline` whatever hangs below: waiting for
    /// the room, the Redis lock, the cache, the store, the broadcast.
    ///
    /// Group commit: the command joins the room's queue, and whoever holds
    /// the room's lock next applies everything queued, in order, in one
    /// load / compare-and-swap / publish. Under load a busy room then pays
    /// one store write for many commands, and its `room:changed` events
    /// leave back to back, so each socket's writer sends them with one
    /// syscall. Each command still gets its own version and event.
    ///
    /// A command whose caller stopped waiting before its batch began is
    /// left out, so `unavailable` means "not applied" except when the
    /// deadline passes while the store is already writing it (the next
    /// `room:changed` or snapshot tells).
    #[tracing::instrument(skip(self, command, deadline), fields(command = ?std::mem::discriminant(&command)))]
    pub async fn execute_by(
        &self,
        room_id: &str,
        actor: Actor,
        command: Command,
        deadline: Instant,
    ) -> Result<(Room, Outcome)> {
        let _write = self.writes.token();
        let (reply, mut answer) = oneshot::channel();
        let slot = self.0.slots.enqueue(room_id, Pending { actor, command, reply, deadline });
        let answered = async {
            // An earlier batch may take this command along and answer it
            // while this caller still queues for the lock: the answer goes
            // out at once, not after every caller ahead has had its turn
            // (that turned a burst into a chain of one-command writes).
            let serialised = tokio::select! {
                biased;
                done = &mut answer => return done.unwrap_or(Err(AppError::Unavailable)),
                serialised = slot.lock_owned().instrument(tracing::debug_span!("room.queue_wait")) => serialised,
            };
            let batch = self.0.slots.take(room_id);
            if batch.is_empty() {
                // An earlier writer took this command along.
                drop(serialised);
            } else {
                // Its own task: a caller that goes away (a closed HTTP
                // request) must not cut short the write of the others in
                // its batch.
                let (rooms, room_id, write) = (self.clone(), room_id.to_string(), self.writes.token());
                let span = tracing::debug_span!("room.batch", size = batch.len());
                tokio::spawn(
                    async move {
                        rooms.write_batch(&room_id, batch).await;
                        drop(serialised);
                        drop(write);
                    }
                    .instrument(span),
                );
            }
            answer.await.unwrap_or(Err(AppError::Unavailable))
        };
        match tokio::time::timeout_at(deadline, answered).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::warn!(room_id, "command not answered by its deadline");
                Err(AppError::Unavailable)
            }
        }
    }

    /// Takes the room's cross-node lock, then loads, applies each command,
    /// compare-and-swaps and publishes (retried on lost races), all by the
    /// earliest deadline in the batch; answers each command.
    async fn write_batch(&self, room_id: &str, batch: Vec<Pending>) {
        let deadline = batch.iter().map(|p| p.deadline).min().unwrap_or_else(Instant::now);
        let (commands, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| ((p.actor, p.command), p.reply)).unzip();
        let started = Instant::now();
        let lock = tokio::time::timeout_at(deadline, self.locks.acquire(room_id)).await.ok().flatten();
        let answers = match tokio::time::timeout_at(deadline, self.write(room_id, &commands)).await {
            Ok(Ok(answers)) => answers,
            Ok(Err(e)) => {
                metrics::counter!(telemetry::WRITE_FAILURES).increment(1);
                commands.iter().map(|_| Err(e.shared())).collect()
            }
            Err(_) => {
                tracing::warn!(room_id, commands = commands.len(), "room write abandoned at its deadline");
                metrics::counter!(telemetry::WRITE_FAILURES).increment(1);
                commands.iter().map(|_| Err(AppError::Unavailable)).collect()
            }
        };
        metrics::histogram!(telemetry::WRITE_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::histogram!(telemetry::WRITE_BATCH).record(commands.len() as f64);
        if let Some(lock) = lock {
            lock.release().await;
        }
        for (answer, reply) in answers.into_iter().zip(replies) {
            reply.send(answer).ok();
        }
    }

    #[tracing::instrument(level = "debug", name = "room.write", skip_all)]
    async fn write(&self, room_id: &str, commands: &[(Actor, Command)]) -> Result<Vec<Answer>> {
        for attempt in 0..CAS_ATTEMPTS {
            // The cache first; after a lost race, the store itself.
            let mut room = match attempt {
                0 => self.room(room_id).await?,
                _ => self.load_room(room_id).await?,
            };
            let expected = room.version;
            let members_before = room.members.clone();
            let listed_before = documents::room(&room);
            let now = self.clock.now();
            // The room after each command, but the last: that one is `room`
            // itself (a batch of one copies nothing).
            let mut applied: Vec<Result<(Option<Room>, Outcome)>> = Vec::with_capacity(commands.len());
            let mut plays = Vec::new();
            for (n, (actor, command)) in commands.iter().enumerate() {
                match apply(&mut room, actor, command.clone(), now) {
                    Ok(outcome) => {
                        plays.extend(outcome.plays.iter().cloned());
                        let after = (n + 1 < commands.len()).then(|| room.clone());
                        applied.push(Ok((after, outcome)));
                    }
                    Err(e) => applied.push(Err(e.into())),
                }
            }
            if room.version == expected {
                return Ok(answers(applied, room));
            }
            let relisted = documents::room(&room) != listed_before;
            if relisted {
                // Before the write, so a crash cannot lose the change.
                self.queue_for_index(&room.id).await?;
            }
            let members = MemberList::between(&members_before, &room.members);
            match self.store.save_room(&room, expected, &plays, members).await {
                Ok(()) => {
                    if relisted {
                        // After it, so an indexer that took the first item
                        // early cannot leave the old listing in the index.
                        self.queue_again_for_index(&room.id).await;
                    }
                    let unchanged_since = (members == MemberList::Unchanged).then_some(expected);
                    self.cache.put(&room, unchanged_since).await;
                    for (after, outcome) in applied.iter().flatten() {
                        if !outcome.changes.is_empty() {
                            self.publish(after.as_ref().unwrap_or(&room), outcome).await;
                        }
                    }
                    return Ok(answers(applied, room));
                }
                Err(StoreError::Conflict) => {
                    tracing::debug!(room_id, attempt, "version race lost, reloading");
                    metrics::counter!(telemetry::CAS_RETRIES).increment(1);
                    let jitter = rand::random_range(0..=(attempt as u64 + 1) * 3);
                    tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
                }
                Err(e) => {
                    tracing::warn!(room_id, error = %e, "room write failed");
                    return Err(e.into());
                }
            }
        }
        tracing::warn!(room_id, attempts = CAS_ATTEMPTS, "room write gave up after losing every version race");
        Err(AppError::Unavailable)
    }

    /// Tells the room what changed, then does what the change implies for
    /// this node: reschedule the player, tell the listeners, close kicked
    /// members' connections.
    #[tracing::instrument(level = "debug", name = "room.publish", skip_all)]
    async fn publish(&self, room: &Room, outcome: &Outcome) {
        // Who is online only matters to the member views a change carries.
        let shows_members = outcome.changes.iter().any(|c| {
            matches!(c, Change::MemberJoined { .. } | Change::MemberUpdated { .. } | Change::ScreenAdded { .. })
        });
        let online = match shows_members {
            true => self.presence.online(&room.id).await,
            false => Default::default(),
        };
        let payload = Payload::new(&RoomChanged::new(room, &outcome.changes, &online, self.clock.now()));
        self.timetable.plan(room);
        let listeners = self.0.listeners.read().unwrap_or_else(|e| e.into_inner()).clone();
        for listener in listeners {
            listener.committed(room, outcome);
        }
        let to_room = || Audience::Room(room.id.clone());
        self.broadcaster.emit(to_room(), "room:changed", payload).await;
        for change in &outcome.changes {
            if let Change::ScreenRemoved { screen_id } = change {
                let told = Payload::new(&json!({ "reason": "removed" }));
                self.broadcaster.emit(Audience::Member(screen_id.clone()), "room:removed", told).await;
                self.broadcaster.disconnect(Audience::Member(screen_id.clone())).await;
            }
            if let Change::MemberRemoved { member_id, reason } = change {
                // Told why, then closed, on every node.
                let told = Payload::new(&json!({ "reason": reason }));
                self.broadcaster.emit(Audience::Member(member_id.clone()), "room:removed", told).await;
                self.broadcaster.disconnect(Audience::Member(member_id.clone())).await;
                if *reason == Departure::Banned {
                    // A banned guest's photos leave every wall.
                    let hidden = Payload::new(&json!({ "member_id": member_id }));
                    self.broadcaster.emit(to_room(), "photos:hidden", hidden).await;
                }
            }
        }
    }

    /// Deletes a room itself (`state::AppState::delete_room` deletes what
    /// other services keep of it first).
    pub async fn delete(&self, room_id: &str) -> Result<()> {
        let _write = self.writes.token();
        self.queue_for_index(room_id).await?;
        self.store.delete_room(room_id).await?;
        self.queue_again_for_index(room_id).await;
        self.cache.forget(room_id).await;
        self.0.slots.forget(room_id);
        self.timetable.forget(room_id);
        Ok(())
    }
}

/// Each command's answer; only the last has no copy of the room after it,
/// which is `last`.
fn answers(applied: Vec<Result<(Option<Room>, Outcome)>>, last: Room) -> Vec<Answer> {
    let mut last = Some(last);
    let answer = |a: Result<(Option<Room>, Outcome)>, last: &mut Option<Room>| {
        let (after, outcome) = a?;
        Ok((after.or_else(|| last.take()).ok_or(AppError::Unavailable)?, outcome))
    };
    applied.into_iter().map(|a| answer(a, &mut last)).collect()
}
