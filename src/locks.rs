//! Cross-node write locks for hot rooms. The store's compare-and-swap keeps
//! writes correct on its own; under heavy contention from several nodes,
//! though, a writer can lose the race again and again. Scaled out, a writer
//! first takes a short Redis lock on the room (`SET NX PX`), so nodes take
//! turns instead of retrying. The lock is only an optimisation: when it
//! cannot be had in time, or Redis is down, the write goes ahead and the
//! compare-and-swap decides.
//!
//! Owns: `RoomLocks` and its implementations. May use: redis. Must not
//! import: services, state, transport.

use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};

use crate::redis::{ensure_up, timed};

#[async_trait]
pub trait RoomLocks: Send + Sync + 'static {
    /// Waits (bounded) for the room's lock; the guard releases it.
    async fn acquire(&self, room_id: &str) -> Option<LockGuard>;
    /// One attempt at a named lock, without waiting.
    async fn try_acquire(&self, name: &str) -> LockAttempt;
}

pub enum LockAttempt {
    Held(LockGuard),
    /// Another node holds it.
    Busy,
    /// No shared locks (one node), or Redis is unreachable: go ahead.
    Unshared,
}

/// One node: the per-room mutex in `rooms` already serialises writers.
pub struct NoLocks;

#[async_trait]
impl RoomLocks for NoLocks {
    async fn acquire(&self, _room_id: &str) -> Option<LockGuard> {
        None
    }

    async fn try_acquire(&self, _name: &str) -> LockAttempt {
        LockAttempt::Unshared
    }
}

/// How long a lock lives if its holder dies without releasing it.
const LEASE: Duration = Duration::from_secs(2);
/// How long a writer waits for the lock before going ahead anyway: well
/// inside a command's two-second deadline, so a lock whose holder died
/// (its lease runs two seconds) delays writes, never fails them.
const PATIENCE: Duration = Duration::from_millis(500);

/// KEYS[1] = lock key, ARGV[1] = holder token: delete only our own lock.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

pub struct RedisLocks {
    redis: Client,
}

impl RedisLocks {
    pub fn new(redis: Client) -> Self {
        Self { redis }
    }

    async fn try_take(&self, key: &str, token: &str) -> Result<bool, Error> {
        let expire = Some(Expiration::PX(LEASE.as_millis() as i64));
        let taken: Option<String> = timed("lock_take", async {
            ensure_up(&self.redis)?;
            self.redis.set(key, token, expire, Some(SetOptions::NX), false).await
        })
        .await?;
        Ok(taken.is_some())
    }
}

#[async_trait]
impl RoomLocks for RedisLocks {
    #[tracing::instrument(level = "debug", name = "room_lock.acquire", skip_all)]
    async fn acquire(&self, room_id: &str) -> Option<LockGuard> {
        let key = format!("lock:room:{room_id}");
        let token = format!("{:016x}", rand::random::<u64>());
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match self.try_take(&key, &token).await {
                Ok(true) => return Some(LockGuard { redis: self.redis.clone(), key, token }),
                Ok(false) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(rand::random_range(1..=4))).await;
                }
                Ok(false) => {
                    tracing::debug!(room_id, "room lock busy for too long, relying on compare-and-swap");
                    return None;
                }
                Err(e) => {
                    tracing::debug!(room_id, error = %e, "room lock unavailable, relying on compare-and-swap");
                    return None;
                }
            }
        }
    }

    async fn try_acquire(&self, name: &str) -> LockAttempt {
        let key = format!("lock:{name}");
        let token = format!("{:016x}", rand::random::<u64>());
        match self.try_take(&key, &token).await {
            Ok(true) => LockAttempt::Held(LockGuard { redis: self.redis.clone(), key, token }),
            Ok(false) => LockAttempt::Busy,
            Err(_) => LockAttempt::Unshared,
        }
    }
}

/// A held room lock; release it with `release` once the write is done (a
/// dropped guard simply lets the lease run out).
pub struct LockGuard {
    redis: Client,
    key: String,
    token: String,
}

impl LockGuard {
    #[tracing::instrument(level = "debug", name = "room_lock.release", skip_all)]
    pub async fn release(self) {
        let released: Result<i64, Error> =
            timed("lock_release", self.redis.eval(RELEASE, vec![self.key], vec![self.token])).await;
        if let Err(e) = released {
            tracing::debug!(error = %e, "room lock not released, it will expire");
        }
    }
}
