//! Analytics benchmark: a year of a busy venue (two zones; 200 plays, 300
//! guests' visits and 40 decided requests a day, 2,000 tracks) recorded,
//! then the dashboard's year report (the store's sums, folded and turned
//! into JSON) made RUNS times; prints p50/p99/max, and the same for the
//! last 30 days. The embedded store by default; with a MongoDB URI as
//! argument, that database (a fresh one, dropped afterwards is left to you).
//! Run: `cargo run --release --example analytics_bench [-- mongodb://…]`.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use crowdjuke::domain::analytics::{DayRange, LocalTime, TOP, What, ZoneEvent};
use crowdjuke::store::{EmbeddedStore, MongoStore, Store};

/// Reports timed: fewer on MongoDB, where the test server is slow.
const RUNS: usize = 20;
const MONGO_RUNS: usize = 3;
const DAY_MS: u64 = 86_400_000;
const GENRES: [&str; 8] = ["disco", "funk", "house", "jazz", "soul", "rock", "pop", "latin"];

fn day_events(day: u64, start: u64, local: LocalTime) -> Vec<ZoneEvent> {
    let mut events = Vec::with_capacity(540);
    let event = |id: String, n: u64, at: u64, what: What| {
        let (day, _) = local.day_and_hour(at);
        let zone_id = if n.is_multiple_of(3) { "terrace" } else { "bar" };
        ZoneEvent { id, venue_id: "v1".into(), zone_id: zone_id.into(), at, day, what }
    };
    let opens = start + day * DAY_MS + 16 * 3_600_000;
    for n in 0..200u64 {
        let track = (day * 7 + n * 13) % 2_000;
        let what = What::Play {
            track_id: format!("t{track:05}"),
            title: format!("Track {track}"),
            artist: format!("Artist {}", track % 300),
            genre: GENRES[(track % 8) as usize].into(),
            skipped: n.is_multiple_of(9),
            votes_up: (n % 5) as u32,
            votes_down: (n % 2) as u32,
        };
        events.push(event(format!("play:{day}:{n}"), n, opens + n * 150_000, what));
    }
    for n in 0..300u64 {
        let at = opens + n * 90_000;
        let stay = 20 * 60_000 + (n % 12) * 10 * 60_000;
        let hours = (0..=stay / 3_600_000).map(|h| local.day_and_hour(at + h * 3_600_000).1).collect();
        let what = What::Visit { member_id: format!("g{n}"), until: at + stay, hours };
        events.push(event(format!("visit:{day}:{n}"), n, at, what));
    }
    for n in 0..40u64 {
        let what = What::Request { track_id: format!("t{:05}", n * 31 % 2_000), approved: !n.is_multiple_of(4) };
        events.push(event(format!("request:{day}:{n}"), n, opens + n * 600_000, what));
    }
    events
}

async fn time_report(store: &dyn Store, range: &DayRange, label: &str, runs: usize) {
    let mut times = Vec::with_capacity(runs);
    let mut bytes = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let tally = store.analytics().tally("v1", None, range).await.expect("tally");
        let report = tally.finish(range, "Europe/Paris", None).top(TOP);
        bytes = serde_json::to_vec(&report).expect("json").len();
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: {} days, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {bytes} bytes of JSON",
        range.day_count(),
        at(0.5),
        at(0.99),
        times[times.len() - 1]
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let uri = std::env::args().nth(1);
    let runs = if uri.is_some() { MONGO_RUNS } else { RUNS };
    let store: Arc<dyn Store> = match uri {
        Some(uri) => {
            let name = format!("analytics_bench_{}", std::process::id());
            Arc::new(MongoStore::connect(&uri, &name).await.expect("MongoDB"))
        }
        None => Arc::new(EmbeddedStore::open(dir.path()).expect("embedded store")),
    };
    let local = LocalTime::named("Europe/Paris");
    // 2025-12-01 00:00 UTC, a year of days after it.
    let start = 1_764_547_200_000;
    let recording = Instant::now();
    let mut count = 0;
    for day in 0..365 {
        let events = day_events(day, start, local);
        count += events.len();
        store.analytics().record_events(&events).await.expect("record");
    }
    println!("recorded {count} events in {:.1} s", recording.elapsed().as_secs_f64());
    let first = NaiveDate::from_ymd_opt(2025, 12, 1).expect("date");
    let year = DayRange { from: first, to: first + chrono::Days::new(364) };
    time_report(store.as_ref(), &year, "year", runs).await;
    let month = DayRange { from: year.to - chrono::Days::new(29), to: year.to };
    time_report(store.as_ref(), &month, "30 days", runs).await;
}
