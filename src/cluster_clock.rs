//! The cluster's clock: a node scaled out over Redis takes its time from
//! Redis's `TIME`, read at start and every few seconds, and carries it
//! between readings by its monotonic clock (`clock::TrackedClock`). Every
//! node then stamps, plans and checks leases on one clock: a node whose own
//! clock is stepped (NTP at boot, a VM resumed, `date -s`) neither ends the
//! playing tracks early nor takes over live leases nor writes times an
//! hour off. A step of the Redis host's clock moves every node at once,
//! which keeps them in agreement.
//!
//! While Redis is away the clock runs on from its last reading. A single
//! node (no Redis) reads its system clock directly.
//!
//! Owns: following Redis's clock. May use: clock, redis, telemetry.
//! Must not import: services, state, realtime, http.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use fred::prelude::*;

use crate::clock::{Clock, SharedClock, SystemClock, TrackedClock};
use crate::domain::Millis;

/// How often the node reads Redis's clock.
const READ_EVERY: Duration = Duration::from_secs(2);
/// A difference worth an operator's attention (logged as a warning).
const WORTH_A_WARNING_MS: i64 = 1_000;

/// The clock a node uses: Redis's when `given` is the system clock (tests'
/// clocks stay as they are). Reads Redis once before answering, then keeps
/// reading it for as long as the clock is in use.
pub async fn follow(given: SharedClock, redis: &Client) -> SharedClock {
    if !given.is_system() {
        return given;
    }
    let clock = Arc::new(TrackedClock::new(given.now()));
    let mut watch = Watch::default();
    watch.read(&clock, redis).await;
    tokio::spawn(keep_reading(Arc::downgrade(&clock), redis.clone(), watch));
    clock
}

async fn keep_reading(clock: Weak<TrackedClock>, redis: Client, mut watch: Watch) {
    loop {
        tokio::time::sleep(READ_EVERY).await;
        let Some(clock) = clock.upgrade() else { return };
        watch.read(&clock, &redis).await;
    }
}

/// What the operator was last told: whether the system clock was off.
#[derive(Default)]
struct Watch {
    system_off: bool,
}

impl Watch {
    async fn read(&mut self, clock: &TrackedClock, redis: &Client) {
        let sent = Instant::now();
        let reading = crate::redis::timed("time", redis_time(redis)).await;
        let received = Instant::now();
        let reading = match reading {
            Ok(reading) => reading,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read Redis's clock: running on from the last reading");
                return;
            }
        };
        let moved = clock.observe(reading, sent, received);
        if moved.abs() >= WORTH_A_WARNING_MS {
            tracing::warn!(moved_ms = moved, "Redis's clock moved: following it");
        }
        // The node's own clock only matters to the operator (NTP broken).
        let system_off = SystemClock.now() as i64 - clock.now() as i64;
        metrics::gauge!(crate::telemetry::CLOCK_OFFSET).set(system_off as f64 / 1_000.0);
        let off = system_off.abs() >= WORTH_A_WARNING_MS;
        if off != self.system_off {
            match off {
                true => tracing::warn!(system_off_ms = system_off, "this node's clock is off Redis's: keeping Redis's"),
                false => tracing::info!(system_off_ms = system_off, "this node's clock agrees with Redis's again"),
            }
            self.system_off = off;
        }
    }
}

/// Redis's `TIME`: seconds and microseconds since the epoch.
async fn redis_time(redis: &Client) -> Result<Millis, Error> {
    crate::redis::ensure_up(redis)?;
    let parts: Vec<u64> = redis.custom(fred::cmd!("TIME"), Vec::<Value>::new()).await?;
    match parts[..] {
        [seconds, micros] => Ok(seconds * 1_000 + micros / 1_000),
        _ => Err(Error::new(ErrorKind::Parse, "TIME answered something else than two numbers")),
    }
}
