//! Rate limits: join attempts per client address (so room codes cannot be
//! brute-forced) and events per member. In-process with governor on one
//! node; a fixed-window counter in Redis (`INCR` + `PEXPIRE`) when nodes
//! must agree, falling back to the node's own limiter while Redis is down.

use std::num::NonZeroU32;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::AppError;
use crate::redis::ensure_up;

const WINDOW: Duration = Duration::from_secs(60);

#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one attempt for `key`; `rate_limited` once the quota is spent.
    async fn check(&self, key: &str) -> Result<(), AppError>;
}

/// `per_minute` attempts per key, refilled smoothly.
pub struct LocalLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl LocalLimiter {
    pub fn per_minute(attempts: u32) -> Self {
        let attempts = NonZeroU32::new(attempts.max(1)).unwrap_or(NonZeroU32::MIN);
        Self { limiter: governor::RateLimiter::keyed(Quota::per_minute(attempts)) }
    }
}

#[async_trait]
impl RateLimiter for LocalLimiter {
    async fn check(&self, key: &str) -> Result<(), AppError> {
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
        ensure_up(&self.redis)?;
        let key = format!("ratelimit:{}:{key}", self.name);
        let count: i64 = self.redis.incr(&key).await?;
        if count == 1 {
            let _: () = self.redis.pexpire(&key, WINDOW.as_millis() as i64, None).await?;
        }
        let left: i64 = self.redis.pttl(&key).await?;
        Ok((count, left))
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
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
