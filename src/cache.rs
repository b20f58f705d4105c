//! Cache-aside for room reads (snapshots, `room:sync`, REST lookups) and the
//! starting point of the write path. The cache only ever moves forward: a
//! put with an older version than the cached one is ignored, so a slow
//! reader cannot overwrite a newer write. It may still lag the store for a
//! moment (another node's write in flight); writes stay correct because the
//! store's compare-and-swap, not the cache, decides.
//!
//! In-process map on one node. In scale-out mode a Redis hash per room
//! (`room-cache:{id}`, 10 minute TTL): `v` the version, `doc` the room
//! without its members, `members` and `mv`, the version that last wrote
//! them. As in the store, a write that leaves the members alone (a vote)
//! does not send them, and each node keeps the members it last parsed per
//! room, so reading a room after a vote does not parse a thousand members.
//!
//! Owns: `RoomCache` and its two implementations. May use: domain, redis.
//! Must not import: services, state, transport.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;

use crate::domain::{Members, Room};
use crate::redis::{ensure_up, timed};

#[async_trait]
pub trait RoomCache: Send + Sync + 'static {
    async fn get(&self, room_id: &str) -> Option<Room>;
    /// The cached version alone (cheap).
    async fn version(&self, room_id: &str) -> Option<u64>;
    /// Caches `room` unless a newer version is cached already.
    /// `members_unchanged_since: Some(v)` says the room's members are those
    /// of version `v`: a cache that holds `v` keeps the ones it has.
    async fn put(&self, room: &Room, members_unchanged_since: Option<u64>);
    async fn forget(&self, room_id: &str);
}

#[derive(Default)]
pub struct LocalRoomCache {
    rooms: Mutex<HashMap<String, Room>>,
}

#[async_trait]
impl RoomCache for LocalRoomCache {
    async fn get(&self, room_id: &str) -> Option<Room> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner()).get(room_id).cloned()
    }

    async fn version(&self, room_id: &str) -> Option<u64> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner()).get(room_id).map(|r| r.version)
    }

    async fn put(&self, room: &Room, _members_unchanged_since: Option<u64>) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        match rooms.get(&room.id) {
            Some(cached) if cached.version >= room.version => {}
            _ => {
                rooms.insert(room.id.clone(), room.clone());
            }
        }
    }

    async fn forget(&self, room_id: &str) {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner()).remove(room_id);
    }
}

const TTL: Duration = Duration::from_secs(600);
/// Rooms whose parsed members a node keeps before it starts over.
const PARSED_ROOMS: usize = 4096;

/// KEYS[1] = room key; ARGV = version, room without members, members (JSON,
/// or empty when unchanged), the version they are unchanged since, TTL in
/// ms. 1 when cached (or a newer version is); 0 when the members are needed:
/// the cached version is not the one they are unchanged since.
const PUT_IF_NEWER: &str = r"
local cached = tonumber(redis.call('HGET', KEYS[1], 'v'))
if cached and cached >= tonumber(ARGV[1]) then return 1 end
if ARGV[3] == '' then
  if cached ~= tonumber(ARGV[4]) then return 0 end
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'doc', ARGV[2])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[1], 'doc', ARGV[2], 'members', ARGV[3], 'mv', ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
";

pub struct RedisRoomCache {
    redis: Client,
    /// Room id → (`mv`, its members): the last member list parsed here.
    parsed: Mutex<HashMap<String, (u64, Members)>>,
}

impl RedisRoomCache {
    pub fn new(redis: Client) -> Self {
        Self { redis, parsed: Mutex::default() }
    }

    /// The members written at version `mv`: parsed here before, or read
    /// now (`None` if they have been replaced meanwhile).
    async fn members(&self, room_id: &str, mv: u64) -> Result<Option<Members>, Error> {
        let parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner()).get(room_id).cloned();
        if let Some((version, members)) = parsed
            && version == mv
        {
            return Ok(Some(members));
        }
        let (json, version): (Option<String>, Option<u64>) =
            timed("cache_members", self.redis.hmget(room_key(room_id), vec!["members", "mv"])).await?;
        let (Some(json), Some(version)) = (json, version) else { return Ok(None) };
        if version != mv {
            return Ok(None);
        }
        let Ok(members) = serde_json::from_str::<Members>(&json) else { return Ok(None) };
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if parsed.len() >= PARSED_ROOMS {
            parsed.clear();
        }
        parsed.insert(room_id.to_string(), (mv, members.clone()));
        Ok(Some(members))
    }

    async fn read(&self, room_id: &str) -> Result<Option<Room>, Error> {
        let (doc, mv): (Option<String>, Option<u64>) = timed("cache_get", async {
            ensure_up(&self.redis)?;
            self.redis.hmget(room_key(room_id), vec!["doc", "mv"]).await
        })
        .await?;
        let (Some(doc), Some(mv)) = (doc, mv) else { return Ok(None) };
        let Ok(mut room) = serde_json::from_str::<Room>(&doc) else { return Ok(None) };
        let Some(members) = self.members(room_id, mv).await? else { return Ok(None) };
        room.members = members;
        Ok(Some(room))
    }

    /// Runs `PUT_IF_NEWER`; `false` when the members are needed.
    async fn write(&self, room: &Room, doc: &str, members: String, since: u64) -> Result<bool, Error> {
        let args =
            vec![room.version.to_string(), doc.to_string(), members, since.to_string(), TTL.as_millis().to_string()];
        let stored: i64 = timed("cache_put", async {
            ensure_up(&self.redis)?;
            self.redis.eval(PUT_IF_NEWER, vec![room_key(&room.id)], args).await
        })
        .await?;
        Ok(stored == 1)
    }
}

fn room_key(room_id: &str) -> String {
    format!("room-cache:{room_id}")
}

/// Failures are logged and treated as a miss: the store is the truth.
#[async_trait]
impl RoomCache for RedisRoomCache {
    #[tracing::instrument(level = "debug", name = "cache.get", skip_all)]
    async fn get(&self, room_id: &str) -> Option<Room> {
        self.read(room_id).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "room cache read failed");
            None
        })
    }

    async fn version(&self, room_id: &str) -> Option<u64> {
        let version: Result<Option<u64>, Error> = timed("cache_version", async {
            ensure_up(&self.redis)?;
            self.redis.hget(room_key(room_id), "v").await
        })
        .await;
        version.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "room cache read failed");
            None
        })
    }

    #[tracing::instrument(level = "debug", name = "cache.put", skip_all)]
    async fn put(&self, room: &Room, members_unchanged_since: Option<u64>) {
        let Ok(doc) = serde_json::to_string(&room.without_members()) else { return };
        let stored = match members_unchanged_since {
            Some(since) => self.write(room, &doc, String::new(), since).await,
            None => Ok(false),
        };
        let stored = match stored {
            Ok(false) => match serde_json::to_string(&room.members) {
                Ok(members) => self.write(room, &doc, members, room.version).await,
                Err(_) => return,
            },
            other => other,
        };
        if let Err(e) = stored {
            tracing::warn!(error = %e, "room cache write failed");
        }
    }

    async fn forget(&self, room_id: &str) {
        self.parsed.lock().unwrap_or_else(|e| e.into_inner()).remove(room_id);
        let deleted: Result<i64, Error> = timed("cache_forget", async {
            ensure_up(&self.redis)?;
            self.redis.del(room_key(room_id)).await
        })
        .await;
        if let Err(e) = deleted {
            tracing::warn!(error = %e, "room cache delete failed");
        }
    }
}
