//! What an operator pages on, in the Prometheus text format, recorded with
//! the `metrics` crate and rendered by `metrics-exporter-prometheus` on
//! `GET /metrics` (the README's Metrics table lists every series).
//!
//! Counters and histograms are recorded where things happen (events,
//! joins, room writes); gauges that are cheaper to read than to keep
//! (rooms with a socket here, process memory, dropped deliveries) are set
//! when scraped. One recorder per process: servers started side by side
//! in one test process share it.
//!
//! Owns: the metric names and the recorder. May use: nothing of the crate.
//! Must not import: any other module (every layer records into it).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Socket.IO events answered, by `event` (unknown names count as
/// `unknown`) and `result` (`ok` or the error code).
pub const EVENTS: &str = "crowdjuke_events_total";
/// Seconds from an event's arrival to its answer, by `event`.
pub const EVENT_SECONDS: &str = "crowdjuke_event_seconds";
/// Sockets connected to this node (main namespace).
pub const SOCKETS: &str = "crowdjuke_sockets";
/// Rooms with at least one socket on this node.
pub const ROOMS: &str = "crowdjuke_rooms";
/// Joins over REST, by `result`.
pub const JOINS: &str = "crowdjuke_joins_total";
/// Seconds of one room write (lock, load, apply, compare-and-swap, publish).
pub const WRITE_SECONDS: &str = "crowdjuke_room_write_seconds";
/// Commands written per room write (group commit).
pub const WRITE_BATCH: &str = "crowdjuke_room_write_commands";
/// Room writes that lost a version race and were retried.
pub const CAS_RETRIES: &str = "crowdjuke_cas_retries_total";
/// Room writes that failed (`unavailable` after the store or deadline).
pub const WRITE_FAILURES: &str = "crowdjuke_room_write_failures_total";
/// Socket.IO events not queued because a socket's send buffer was full.
pub const DROPPED: &str = "crowdjuke_dropped_deliveries_total";
/// Events broadcast to a room's sockets, by `event` and `reach` (`all`
/// nodes, or `this_node` only while Redis is away).
pub const BROADCASTS: &str = "crowdjuke_broadcasts_total";
/// Failed logins (wrong password or unknown username); the log names the
/// username, the series does not.
pub const LOGIN_FAILURES: &str = "crowdjuke_login_failures_total";
/// Resident memory of the process, bytes.
pub const RESIDENT: &str = "crowdjuke_process_resident_bytes";
/// Seconds of one store call, by `call` (`load_room`, `save_room`, …).
pub const STORE_SECONDS: &str = "crowdjuke_store_call_seconds";
/// Store calls that failed, by `call` and `error` (`unavailable`, `corrupt`,
/// `abandoned` at a deadline).
pub const STORE_ERRORS: &str = "crowdjuke_store_errors_total";
/// Seconds of one of our Redis operations, by `operation`.
pub const REDIS_SECONDS: &str = "crowdjuke_redis_call_seconds";
/// Redis operations that failed, by `operation` and `error` (`io` while
/// Redis is away, `timeout`, `auth`, `canceled`, `abandoned`, `other`).
pub const REDIS_ERRORS: &str = "crowdjuke_redis_errors_total";
/// Seconds of one search engine call, by `call` and `index`.
pub const SEARCH_SECONDS: &str = "crowdjuke_search_call_seconds";
/// Search engine calls that failed, by `call`, `index` and `error`.
pub const SEARCH_ERRORS: &str = "crowdjuke_search_errors_total";
/// Background jobs waiting or running on this node, by `kind`
/// (`import`, `export`, `photo_render`).
pub const JOBS: &str = "crowdjuke_background_jobs";
/// This node's system clock minus the cluster's (Redis's `TIME`), in
/// seconds, at the last reading (scaled out only): a node far off has lost
/// NTP. The node keeps Redis's time whatever this says.
pub const CLOCK_OFFSET: &str = "crowdjuke_clock_offset_seconds";

/// Every series name, for the dashboard's check (tests/api/deploy.rs).
pub const ALL: &[&str] = &[
    EVENTS,
    EVENT_SECONDS,
    SOCKETS,
    ROOMS,
    JOINS,
    WRITE_SECONDS,
    WRITE_BATCH,
    CAS_RETRIES,
    WRITE_FAILURES,
    DROPPED,
    BROADCASTS,
    LOGIN_FAILURES,
    RESIDENT,
    STORE_SECONDS,
    STORE_ERRORS,
    REDIS_SECONDS,
    REDIS_ERRORS,
    SEARCH_SECONDS,
    SEARCH_ERRORS,
    JOBS,
    CLOCK_OFFSET,
];

const SECONDS_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once) and describes the metrics.
pub fn install() {
    RECORDER.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Full(WRITE_BATCH.into()), BATCH_BUCKETS)
            });
        let handle = match builder.and_then(|b| b.install_recorder()) {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                return None;
            }
        };
        describe();
        // Histograms keep their samples until upkeep folds them in: without
        // it a node nobody scrapes would grow without end.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .ok();
        Some(handle)
    });
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(EVENTS, "Socket.IO events answered, by event and result (ok or the error code).");
    describe_histogram!(EVENT_SECONDS, metrics::Unit::Seconds, "Time from an event's arrival to its answer.");
    describe_gauge!(SOCKETS, "Sockets connected to this node.");
    describe_gauge!(ROOMS, "Rooms with at least one socket on this node.");
    describe_counter!(JOINS, "Joins over REST, by result.");
    describe_histogram!(
        WRITE_SECONDS,
        metrics::Unit::Seconds,
        "One room write: lock, load, apply, compare-and-swap, publish."
    );
    describe_histogram!(WRITE_BATCH, "Commands written together in one room write.");
    describe_counter!(CAS_RETRIES, "Room writes retried after losing a version race.");
    describe_counter!(WRITE_FAILURES, "Room writes that failed (store error or deadline).");
    describe_counter!(DROPPED, "Socket.IO events not queued because a socket's send buffer was full.");
    describe_counter!(BROADCASTS, "Events broadcast to a room's sockets, by event and reach (all nodes or this one).");
    describe_counter!(LOGIN_FAILURES, "Failed logins (wrong password or unknown username).");
    describe_gauge!(RESIDENT, metrics::Unit::Bytes, "Resident memory of the process.");
    describe_histogram!(STORE_SECONDS, metrics::Unit::Seconds, "One store call, by call.");
    describe_counter!(STORE_ERRORS, "Store calls that failed, by call and error.");
    describe_histogram!(REDIS_SECONDS, metrics::Unit::Seconds, "One Redis operation, by operation.");
    describe_counter!(REDIS_ERRORS, "Redis operations that failed, by operation and error.");
    describe_histogram!(SEARCH_SECONDS, metrics::Unit::Seconds, "One search engine call, by call and index.");
    describe_counter!(SEARCH_ERRORS, "Search engine calls that failed, by call and error.");
    describe_gauge!(JOBS, "Background jobs waiting or running on this node, by kind.");
    describe_gauge!(CLOCK_OFFSET, metrics::Unit::Seconds, "This node's system clock minus the cluster's (Redis's).");
}

/// One call into a dependency (the store, Redis, the search engine): its
/// seconds go to the `seconds` histogram and, when it failed, a count to
/// the `errors` counter with an `error` label. A call dropped unfinished
/// (its command's deadline passed, or its caller went away) counts as
/// `abandoned`.
pub struct Call {
    seconds: &'static str,
    errors: &'static str,
    labels: Vec<metrics::Label>,
    started: std::time::Instant,
    finished: bool,
}

impl Call {
    pub fn start(seconds: &'static str, errors: &'static str, labels: &[(&'static str, &'static str)]) -> Self {
        let labels = labels.iter().map(|(k, v)| metrics::Label::from_static_parts(k, v)).collect();
        Self { seconds, errors, labels, started: std::time::Instant::now(), finished: false }
    }

    /// Records the call's end: `error` names how it failed (`None`: it did not).
    pub fn finish(mut self, error: Option<&'static str>) {
        self.record(error);
        self.finished = true;
    }

    fn record(&self, error: Option<&'static str>) {
        metrics::histogram!(self.seconds, self.labels.clone()).record(self.started.elapsed().as_secs_f64());
        if let Some(error) = error {
            let mut labels = self.labels.clone();
            labels.push(metrics::Label::from_static_parts("error", error));
            metrics::counter!(self.errors, labels).increment(1);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.finished {
            self.record(Some("abandoned"));
        }
    }
}

/// Counts one background job of `kind` in `crowdjuke_background_jobs` for
/// as long as it lives (a panicking job is uncounted too).
pub struct JobGauge(&'static str);

impl JobGauge {
    pub fn start(kind: &'static str) -> Self {
        metrics::gauge!(JOBS, "kind" => kind).increment(1.0);
        Self(kind)
    }
}

impl Drop for JobGauge {
    fn drop(&mut self) {
        metrics::gauge!(JOBS, "kind" => self.0).decrement(1.0);
    }
}

/// The metrics now, in the Prometheus text format (empty when no recorder
/// could be installed).
pub fn render() -> String {
    RECORDER.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default()
}

/// Resident memory from `VmRSS` in `/proc/self/status` (Linux), bytes.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}
