//! The one source of time. A single node reads the system clock; a node
//! scaled out over Redis reads Redis's clock through a `TrackedClock`
//! (`cluster_clock` keeps it in step), so the nodes agree on the time and a
//! step of one machine's clock moves nothing. Tests hold a `ManualClock`
//! and move it forward instead of sleeping.
//!
//! Owns: `Clock`, `SharedClock`, `SystemClock`, `TrackedClock`,
//! `ManualClock`. May use: domain (`Millis`).
//! Must not import: anything else.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::domain::Millis;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;

    /// Whether this is the system clock, which a node scaled out over Redis
    /// replaces by Redis's (`cluster_clock::follow`). Test clocks stay.
    fn is_system(&self) -> bool {
        false
    }
}

pub type SharedClock = Arc<dyn Clock>;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
    }

    fn is_system(&self) -> bool {
        true
    }
}
/// A clock that takes its time from readings of a reference clock and
/// carries it between readings by this process's monotonic clock, so a step
/// of the system clock (NTP, a VM resumed, `date -s`) does not move it.
/// A node scaled out over Redis reads Redis's `TIME` (`cluster_clock`):
/// every node then keeps one clock, whatever its own says.
#[derive(Debug)]
pub struct TrackedClock {
    /// The last reading adopted: when (monotonic) and what it said.
    reading: Mutex<(Instant, Millis)>,
}

/// How far a reading may stray from this clock before it is adopted: the
/// monotonic clock drifts by milliseconds a day, so anything more is the
/// reference having been stepped (or the first reading).
const TRACKING_TOLERANCE_MS: i64 = 100;

impl TrackedClock {
    pub fn new(now: Millis) -> Self {
        Self { reading: Mutex::new((Instant::now(), now)) }
    }

    /// A reading of the reference, `reading`, asked for at `sent` and
    /// answered at `received`: taken as the time half-way. Adopted when it
    /// is further from this clock than the tolerance plus half the round
    /// trip; returns how far it was (milliseconds, positive when the
    /// reference is ahead).
    pub fn observe(&self, reading: Millis, sent: Instant, received: Instant) -> i64 {
        let midway = sent + received.saturating_duration_since(sent) / 2;
        let mut adopted = self.reading.lock().unwrap_or_else(|e| e.into_inner());
        let (at, then) = *adopted;
        let expected = then as i64 + signed_ms(midway, at);
        let off = reading as i64 - expected;
        let slack = TRACKING_TOLERANCE_MS + received.saturating_duration_since(sent).as_millis() as i64 / 2;
        if off.abs() > slack {
            *adopted = (midway, reading);
        }
        off
    }
}

/// `later - earlier` in milliseconds, negative when `later` is earlier.
fn signed_ms(later: Instant, earlier: Instant) -> i64 {
    match later.checked_duration_since(earlier) {
        Some(d) => d.as_millis() as i64,
        None => -(earlier.duration_since(later).as_millis() as i64),
    }
}

impl Clock for TrackedClock {
    fn now(&self) -> Millis {
        let (at, then) = *self.reading.lock().unwrap_or_else(|e| e.into_inner());
        (then as i64 + signed_ms(Instant::now(), at)).max(0) as Millis
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(start: Millis) -> Self {
        Self(AtomicU64::new(start))
    }

    pub fn advance(&self, by: Millis) {
        self.0.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_tracked_clock_runs_on_from_its_reading_and_ignores_small_differences() {
        let clock = TrackedClock::new(1_000_000);
        let sent = Instant::now();
        assert!(clock.observe(1_000_050, sent, sent).abs() <= 60, "within the tolerance");
        assert!(clock.now() < 1_000_040, "a small difference is not adopted");
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now() >= 1_000_020, "it runs on by the monotonic clock");
    }

    #[test]
    fn a_tracked_clock_adopts_a_reading_that_moved_in_either_direction() {
        let clock = TrackedClock::new(1_000_000);
        let sent = Instant::now();
        let off = clock.observe(4_600_000, sent, sent);
        assert!((3_599_000..=3_600_000).contains(&off), "ahead by an hour: {off}");
        assert!((4_600_000..4_601_000).contains(&clock.now()));
        let off = clock.observe(1_000_000, sent, sent);
        assert!((-3_601_000..=-3_599_000).contains(&off), "back by an hour: {off}");
        assert!((1_000_000..1_001_000).contains(&clock.now()));
    }

    #[test]
    fn a_reading_counts_from_half_way_through_its_round_trip() {
        let clock = TrackedClock::new(0);
        let sent = Instant::now();
        let received = sent + Duration::from_millis(2_000);
        clock.observe(5_000_000, sent, received);
        // Read at sent + 1 s: now (about `sent`) is a second before it.
        let now = clock.now() as i64;
        assert!((4_998_900..=4_999_100).contains(&now), "{now}");
    }
}
