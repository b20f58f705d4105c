//! The shared rate limiter in Redis.

use crowdjuke::limits::{RateLimiter, RedisLimiter};
use crowdjuke::redis::Redis;
use fred::prelude::*;

use crate::services;

/// A counter without an expiry (what a failed `PEXPIRE` after `INCR` left
/// behind, when they were two calls) would limit its address forever.
#[tokio::test]
async fn a_counter_left_without_an_expiry_gets_one_and_every_count_has_one() {
    let redis = Redis::connect(&services::redis_url()).await.expect("Redis is reachable").client;
    let limiter = RedisLimiter::per_minute(redis.clone(), "limits-test", 5);
    let orphan = format!("orphan-{:016x}", rand::random::<u64>());
    let key = format!("ratelimit:limits-test:{orphan}");
    let _: () = redis.set(&key, 100, None, None, false).await.expect("set");
    assert!(limiter.check(&orphan).await.is_err(), "over its quota");
    let left: i64 = redis.pttl(&key).await.expect("pttl");
    assert!(left > 0 && left <= 60_000, "the stuck counter now expires: PTTL {left}");

    let fresh = format!("fresh-{:016x}", rand::random::<u64>());
    for _ in 0..5 {
        limiter.check(&fresh).await.expect("within the quota");
    }
    assert!(limiter.check(&fresh).await.is_err(), "the sixth attempt in a minute");
    let left: i64 = redis.pttl(format!("ratelimit:limits-test:{fresh}")).await.expect("pttl");
    assert!(left > 0 && left <= 60_000, "PTTL {left}");
}
