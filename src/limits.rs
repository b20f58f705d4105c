//! Rate limits: join attempts per client address (so room codes cannot be
//! brute-forced) and events per member. In-process with governor on one
//! node; a fixed-window counter in Redis (`INCR` + `PEXPIRE` in one script) when nodes
//! must agree, falling back to the node's own limiter while Redis is down.
//!
//! Room look-ups (join, preview, QR code, photo wall) have their own
//! `RoomLookupQuota`: trying many codes is guessing and is held to
//! `join_attempts_per_minute` new codes per address, while a bar full of
//! phones behind one address asking about one room counts against the much
//! larger `room_requests_per_minute` of that room.
//!
//! Owns: `RateLimiter`, `Admissions`, `RoomLookupQuota` and their
//! implementations. May use: error, redis.
//! Must not import: services, state, transport.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fred::prelude::*;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::AppError;
use crate::redis::{ensure_up, timed};

const WINDOW: Duration = Duration::from_secs(60);

#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one attempt for `key`; `rate_limited` once the quota is spent.
    async fn check(&self, key: &str) -> Result<(), AppError>;
}

/// Checks between two sweeps of a local limiter's keys.
const SWEEP_EVERY: u64 = 4096;

/// `per_minute` attempts per key, refilled smoothly. Keys whose quota is
/// full again are forgotten every `SWEEP_EVERY` checks: a venue server that
/// runs for months sees every phone and address of its customers once.
pub struct LocalLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
}

impl LocalLimiter {
    pub fn per_minute(attempts: u32) -> Self {
        let attempts = NonZeroU32::new(attempts.max(1)).unwrap_or(NonZeroU32::MIN);
        Self { limiter: governor::RateLimiter::keyed(Quota::per_minute(attempts)), checks: AtomicU64::new(0) }
    }

    /// Forgets the keys whose quota is full again (as good as never seen).
    fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Keys with a quota in use.
    #[cfg(test)]
    fn tracked_keys(&self) -> usize {
        self.limiter.len()
    }
}

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn check(&self, key: &str) -> Result<(), AppError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        self.limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited(wait.as_secs().max(1))
        })
    }
}

/// `per_minute` attempts per key per minute (from the first attempt),
/// counted in Redis with `INCR` + `PEXPIRE`.
pub struct RedisLimiter {
    redis: Client,
    /// Key prefix naming what is limited, e.g. `join`.
    name: &'static str,
    per_minute: u32,
    fallback: LocalLimiter,
}

impl RedisLimiter {
    pub fn per_minute(redis: Client, name: &'static str, per_minute: u32) -> Self {
        Self { redis, name, per_minute: per_minute.max(1), fallback: LocalLimiter::per_minute(per_minute) }
    }

    /// Counts one attempt; returns the count in the current window and the
    /// milliseconds left in it. A window starts at a key's first attempt.
    async fn count(&self, key: &str) -> Result<(i64, i64), Error> {
        let key = format!("ratelimit:{}:{key}", self.name);
        let window = WINDOW.as_millis().to_string();
        timed("rate_limit", async {
            ensure_up(&self.redis)?;
            self.redis.eval(COUNT, vec![key], vec![window]).await
        })
        .await
    }
}

/// KEYS[1] = the counter, ARGV[1] = the window in ms; returns {count, ms
/// left}. One atomic step: a counter can never be left without an expiry
/// (which would limit its address for good), and one left so by an
/// earlier version gets one now.
const COUNT: &str = r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
";

#[async_trait]
impl RateLimiter for RedisLimiter {
    #[tracing::instrument(level = "debug", name = "rate_limit.check", skip_all)]
    async fn check(&self, key: &str) -> Result<(), AppError> {
        match self.count(key).await {
            Ok((count, left_ms)) if count > i64::from(self.per_minute) => {
                Err(AppError::RateLimited((left_ms.max(0) as u64).div_ceil(1000).max(1)))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, limiter = self.name, "Redis rate limit unavailable, limiting on this node");
                self.fallback.check(key).await
            }
        }
    }
}

/// How long an address stays let in to a room it looked up: the join page,
/// then the join a minute later, then the photo wall, are one guest.
const ADMITTED_FOR: Duration = Duration::from_secs(10 * 60);

/// Pairs of (client address, room) let in recently.
#[async_trait]
pub trait Admissions: Send + Sync + 'static {
    async fn admit(&self, key: &str);
    async fn admitted(&self, key: &str) -> bool;
}

/// This node's admissions; expired ones are swept every `SWEEP_EVERY` admits.
#[derive(Default)]
pub struct LocalAdmissions {
    until: Mutex<HashMap<String, Instant>>,
    admits: AtomicU64,
}

#[async_trait]
impl Admissions for LocalAdmissions {
    async fn admit(&self, key: &str) {
        let now = Instant::now();
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if self.admits.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            until.retain(|_, t| *t > now);
        }
        until.insert(key.to_string(), now + ADMITTED_FOR);
    }

    async fn admitted(&self, key: &str) -> bool {
        let until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.get(key).is_some_and(|t| *t > Instant::now())
    }
}

/// Admissions shared by every node: `admitted:{key}` with an expiry; this
/// node's own while Redis is down.
pub struct RedisAdmissions {
    redis: Client,
    fallback: LocalAdmissions,
}

impl RedisAdmissions {
    pub fn new(redis: Client) -> Self {
        Self { redis, fallback: LocalAdmissions::default() }
    }
}

#[async_trait]
impl Admissions for RedisAdmissions {
    async fn admit(&self, key: &str) {
        self.fallback.admit(key).await;
        let expiry = Some(Expiration::PX(ADMITTED_FOR.as_millis() as i64));
        let set = timed("admit", async {
            ensure_up(&self.redis)?;
            self.redis.set::<(), _, _>(format!("admitted:{key}"), 1, expiry, None, false).await
        });
        if let Err(e) = set.await {
            tracing::warn!(error = %e, "Redis unavailable: admission kept on this node only");
        }
    }

    async fn admitted(&self, key: &str) -> bool {
        let exists = timed("admitted", async {
            ensure_up(&self.redis)?;
            self.redis.exists::<i64, _>(format!("admitted:{key}")).await
        });
        match exists.await {
            Ok(n) => n > 0,
            Err(_) => self.fallback.admitted(key).await,
        }
    }
}

/// The quota of room look-ups by code (see the module's documentation).
#[derive(Clone)]
pub struct RoomLookupQuota {
    /// New codes per client address.
    pub codes: Arc<dyn RateLimiter>,
    /// Look-ups per client address and room, once admitted.
    pub per_room: Arc<dyn RateLimiter>,
    pub admissions: Arc<dyn Admissions>,
}

impl RoomLookupQuota {
    /// Counts one look-up of the room `code` from `client`.
    pub async fn check(&self, client: &str, code: &str) -> Result<(), AppError> {
        let pair = format!("{client}|{code}");
        if self.admissions.admitted(&pair).await {
            return self.per_room.check(&pair).await;
        }
        self.codes.check(client).await?;
        self.admissions.admit(&pair).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sweep_forgets_refilled_keys_and_keeps_spent_quotas() {
        // 6,000,000 a minute: a key's quota refills in 10 µs.
        let refills_at_once = LocalLimiter::per_minute(6_000_000);
        for n in 0..1000 {
            refills_at_once.check(&format!("phone {n}")).await.expect("within quota");
        }
        assert_eq!(refills_at_once.tracked_keys(), 1000);
        tokio::time::sleep(Duration::from_millis(20)).await;
        refills_at_once.sweep();
        assert_eq!(refills_at_once.tracked_keys(), 0, "refilled keys are forgotten");

        let one_a_minute = LocalLimiter::per_minute(1);
        one_a_minute.check("guest").await.expect("first attempt");
        one_a_minute.sweep();
        assert_eq!(one_a_minute.tracked_keys(), 1, "a spent quota is kept");
        assert!(matches!(one_a_minute.check("guest").await, Err(AppError::RateLimited(_))));
    }

    #[tokio::test]
    async fn many_look_ups_of_one_room_are_one_guess_and_many_codes_are_many() {
        let quota = RoomLookupQuota {
            codes: Arc::new(LocalLimiter::per_minute(3)),
            per_room: Arc::new(LocalLimiter::per_minute(100)),
            admissions: Arc::new(LocalAdmissions::default()),
        };
        // The first look-up is a new code; the next 100 count for the room.
        for _ in 0..101 {
            quota.check("bar", "K7M2PQ").await.expect("a bar full of phones joins its room");
        }
        assert!(matches!(quota.check("bar", "K7M2PQ").await, Err(AppError::RateLimited(_))), "a flood of one room");
        quota.check("bar", "AAAAAA").await.expect("second code");
        quota.check("bar", "BBBBBB").await.expect("third code");
        assert!(
            matches!(quota.check("bar", "CCCCCC").await, Err(AppError::RateLimited(_))),
            "a fourth code is a guess"
        );
        assert!(
            matches!(quota.check("bar", "CCCCCC").await, Err(AppError::RateLimited(_))),
            "a refused code is not let in by asking again"
        );
        quota.check("home", "CCCCCC").await.expect("another address has its own quota");
    }

    #[tokio::test]
    async fn checks_sweep_by_themselves() {
        let limiter = LocalLimiter::per_minute(6_000_000);
        for n in 0..SWEEP_EVERY - 1 {
            limiter.check(&format!("phone {n}")).await.expect("within quota");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        limiter.check("one more").await.expect("within quota");
        assert_eq!(limiter.tracked_keys(), 1, "the sweep before the last check forgot the others");
    }
}
