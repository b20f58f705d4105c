//! The shared rate limiter in Redis.

use crowdjuke::limits::{Admissions, RateLimiter, RedisAdmissions, RedisLimiter};
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

/// An address let in to a room on one node is let in on every node, and
/// the admission expires by itself.
#[tokio::test]
async fn an_admission_is_shared_through_redis_and_expires() {
    let url = services::redis_url();
    let (one, two) =
        (Redis::connect(&url).await.expect("Redis").client, Redis::connect(&url).await.expect("Redis").client);
    let (node_one, node_two) = (RedisAdmissions::new(one), RedisAdmissions::new(two.clone()));
    let pair = format!("10.0.0.1|K7M2PQ-{:016x}", rand::random::<u64>());
    assert!(!node_two.admitted(&pair).await, "not yet");
    node_one.admit(&pair).await;
    assert!(node_two.admitted(&pair).await, "the other node knows");
    let left: i64 = two.pttl(format!("admitted:{pair}")).await.expect("pttl");
    assert!(left > 0 && left <= 600_000, "it expires: PTTL {left}");
}
