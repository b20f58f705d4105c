//! Cache-aside for room reads (snapshots, `room:sync`, REST lookups) and the
//! starting point of the write path. The cache only ever moves forward: a
//! put with an older version than the cached one is ignored, so a slow
//! reader cannot overwrite a newer write. It may still lag the store for a
//! moment (another node's write in flight); writes stay correct because the
//! store's compare-and-swap, not the cache, decides.
//!
//! In-process map on one node; a Redis hash per room (`room:{id}` with
//! `v` and `doc`, 10 minute TTL) in scale-out mode.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;

use crate::domain::Room;
use crate::redis::ensure_up;

#[async_trait]
pub trait RoomCache: Send + Sync + 'static {
    async fn get(&self, room_id: &str) -> Option<Room>;
    /// The cached version alone (cheap).
    async fn version(&self, room_id: &str) -> Option<u64>;
    /// Caches `room` unless a newer version is cached already.
    async fn put(&self, room: &Room);
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

    async fn put(&self, room: &Room) {
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

/// KEYS[1] = room key; ARGV = version, JSON document, TTL in ms.
const PUT_IF_NEWER: &str = r"
local cached = redis.call('HGET', KEYS[1], 'v')
if cached and tonumber(cached) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'doc', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

pub struct RedisRoomCache {
    redis: Client,
}

impl RedisRoomCache {
    pub fn new(redis: Client) -> Self {
        Self { redis }
    }
}

fn room_key(room_id: &str) -> String {
    format!("room:{room_id}")
}

/// Failures are logged and treated as a miss: the store is the truth.
#[async_trait]
impl RoomCache for RedisRoomCache {
    async fn get(&self, room_id: &str) -> Option<Room> {
        let doc: Result<Option<String>, Error> = match ensure_up(&self.redis) {
            Ok(()) => self.redis.hget(room_key(room_id), "doc").await,
            Err(e) => Err(e),
        };
        match doc {
            Ok(Some(json)) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "room cache read failed");
                None
            }
        }
    }

    async fn version(&self, room_id: &str) -> Option<u64> {
        let version: Result<Option<u64>, Error> = match ensure_up(&self.redis) {
            Ok(()) => self.redis.hget(room_key(room_id), "v").await,
            Err(e) => Err(e),
        };
        version.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "room cache read failed");
            None
        })
    }

    async fn put(&self, room: &Room) {
        let Ok(json) = serde_json::to_string(room) else { return };
        let args = vec![room.version.to_string(), json, TTL.as_millis().to_string()];
        let stored: Result<i64, Error> = match ensure_up(&self.redis) {
            Ok(()) => self.redis.eval(PUT_IF_NEWER, vec![room_key(&room.id)], args).await,
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            tracing::warn!(error = %e, "room cache write failed");
        }
    }

    async fn forget(&self, room_id: &str) {
        let deleted: Result<i64, Error> = match ensure_up(&self.redis) {
            Ok(()) => self.redis.del(room_key(room_id)).await,
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            tracing::warn!(error = %e, "room cache delete failed");
        }
    }
}
