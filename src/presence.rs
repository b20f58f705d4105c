//! Who is connected right now, per room. A member with two tabs open (or two
//! phones on two nodes) counts once.
//!
//! `LocalPresence` counts this node's sockets. In scale-out mode
//! `RedisPresence` adds a sorted set per room in Redis, `presence:{room}`,
//! whose members are `{node}|{member}` scored by an expiry time: each node
//! refreshes its own entries every few seconds, so the entries of a node that
//! died vanish on their own. Expiry times are on the cluster's clock
//! (`cluster_clock`), so a node whose own clock is stepped does not make
//! its members look gone, or the dead look online, to the others.
//!
//! Owns: `Presence` and its two implementations. May use: redis, clock. Must not
//! import: services, state, transport.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;

use crate::clock::SharedClock;
use crate::redis::{ensure_up, timed};

#[async_trait]
pub trait Presence: Send + Sync + 'static {
    /// Records a socket of `member_id`; true if the member just came online.
    async fn connect(&self, room_id: &str, member_id: &str) -> bool;
    /// Forgets a socket; true if the member just went offline everywhere.
    async fn disconnect(&self, room_id: &str, member_id: &str) -> bool;
    /// Members online in the room, on any node.
    async fn online(&self, room_id: &str) -> HashSet<String>;

    async fn online_count(&self, room_id: &str) -> usize {
        self.online(room_id).await.len()
    }

    /// Keeps this node's entries alive where they expire (Redis).
    async fn refresh(&self) {}

    /// Every (room, member) pair with a socket on this node.
    fn here(&self) -> Vec<(String, String)>;
}

/// This node's sockets: room id → member id → open sockets.
#[derive(Default)]
pub struct LocalPresence {
    rooms: Mutex<HashMap<String, HashMap<String, usize>>>,
}

impl LocalPresence {
    fn add(&self, room_id: &str, member_id: &str) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        let sockets = rooms.entry(room_id.to_string()).or_default().entry(member_id.to_string()).or_default();
        *sockets += 1;
        *sockets == 1
    }

    fn remove(&self, room_id: &str, member_id: &str) -> bool {
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

    fn members(&self, room_id: &str) -> HashSet<String> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.get(room_id).map(|m| m.keys().cloned().collect()).unwrap_or_default()
    }

    /// Every (room, member) pair with a socket on this node.
    fn all(&self) -> Vec<(String, String)> {
        let rooms = self.rooms.lock().unwrap_or_else(|e| e.into_inner());
        rooms.iter().flat_map(|(room, members)| members.keys().map(|m| (room.clone(), m.clone()))).collect()
    }
}

#[async_trait]
impl Presence for LocalPresence {
    async fn connect(&self, room_id: &str, member_id: &str) -> bool {
        self.add(room_id, member_id)
    }

    async fn disconnect(&self, room_id: &str, member_id: &str) -> bool {
        self.remove(room_id, member_id)
    }

    async fn online(&self, room_id: &str) -> HashSet<String> {
        self.members(room_id)
    }

    fn here(&self) -> Vec<(String, String)> {
        self.all()
    }
}

/// How long a node's presence entries live without a refresh.
const ENTRY_TTL: Duration = Duration::from_secs(30);

pub struct RedisPresence {
    local: LocalPresence,
    node_id: String,
    redis: Client,
    /// The cluster's clock: entries expire by it on every node.
    clock: SharedClock,
}

fn presence_key(room_id: &str) -> String {
    format!("presence:{room_id}")
}

impl RedisPresence {
    pub fn new(redis: Client, node_id: String, clock: SharedClock) -> Self {
        Self { local: LocalPresence::default(), node_id, redis, clock }
    }

    fn now_ms(&self) -> f64 {
        self.clock.now() as f64
    }

    fn entry(&self, member_id: &str) -> String {
        format!("{}|{member_id}", self.node_id)
    }

    async fn publish(&self, room_id: &str, member_id: &str) -> Result<(), Error> {
        timed("presence_publish", async {
            ensure_up(&self.redis)?;
            let expires = self.now_ms() + ENTRY_TTL.as_millis() as f64;
            let key = presence_key(room_id);
            let _: () = self.redis.zadd(&key, None, None, false, false, (expires, self.entry(member_id))).await?;
            let _: () = self.redis.pexpire(&key, ENTRY_TTL.as_millis() as i64 * 2, None).await?;
            Ok(())
        })
        .await
    }

    async fn read(&self, room_id: &str) -> Result<HashSet<String>, Error> {
        let entries: Vec<String> = timed("presence_read", async {
            ensure_up(&self.redis)?;
            self.redis.zrangebyscore(presence_key(room_id), self.now_ms(), "+inf", false, None).await
        })
        .await?;
        Ok(entries.iter().filter_map(|e| e.split_once('|').map(|(_, member)| member.to_string())).collect())
    }
}

#[async_trait]
impl Presence for RedisPresence {
    fn here(&self) -> Vec<(String, String)> {
        self.local.all()
    }

    async fn connect(&self, room_id: &str, member_id: &str) -> bool {
        let already_online = self.online(room_id).await.contains(member_id);
        if self.local.add(room_id, member_id)
            && let Err(e) = self.publish(room_id, member_id).await
        {
            tracing::warn!(error = %e, "presence not published");
        }
        !already_online
    }

    async fn disconnect(&self, room_id: &str, member_id: &str) -> bool {
        if !self.local.remove(room_id, member_id) {
            return false;
        }
        let removed: Result<(), Error> = timed("presence_withdraw", async {
            ensure_up(&self.redis)?;
            self.redis.zrem(presence_key(room_id), self.entry(member_id)).await
        })
        .await;
        if let Err(e) = removed {
            tracing::warn!(error = %e, "presence not withdrawn");
        }
        !self.online(room_id).await.contains(member_id)
    }

    /// Re-publishes every entry of this node (every 10 s, entries live 30 s).
    async fn refresh(&self) {
        for (room_id, member_id) in self.local.all() {
            if let Err(e) = self.publish(&room_id, &member_id).await {
                tracing::warn!(error = %e, "presence refresh failed");
                return;
            }
        }
    }

    /// Falls back to this node's view while Redis is unreachable.
    async fn online(&self, room_id: &str) -> HashSet<String> {
        match self.read(room_id).await {
            Ok(mut members) => {
                members.extend(self.local.members(room_id));
                members
            }
            Err(e) => {
                tracing::warn!(error = %e, "presence read failed, using this node's view");
                self.local.members(room_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_tabs_count_once() {
        let p = LocalPresence::default();
        assert!(p.connect("r", "m").await);
        assert!(!p.connect("r", "m").await);
        assert_eq!(p.online_count("r").await, 1);
        assert!(!p.disconnect("r", "m").await);
        assert!(p.disconnect("r", "m").await);
        assert_eq!(p.online_count("r").await, 0);
        assert!(!p.disconnect("r", "m").await);
    }
}
