//! The fault campaign (issue 23 §4): the scaled-out topology (3 node
//! processes, a private Redis, a private MongoDB-wire server, the search
//! engine's double) under steady load from guests and hosts on every node
//! (adds, votes, skips, joins), while faults are injected one kind at a
//! time and then together: a node SIGKILLed and restarted on its port,
//! Redis killed and restarted, the database stopped and started, the search
//! engine down, a node's clock stepped an hour ahead and then an hour back
//! (libfaketime under each node; its monotonic clock runs on). Clients whose node died reconnect to another with their
//! token, as phones do. Guests also share photos, through any node.
//!
//! Every answer is written in a ledger. Afterwards the checker reads what
//! the database holds and compares: every acknowledged add is in the queue,
//! playing or in the history (never lost, never twice); every acknowledged
//! vote is the stored vote of its member on entries still waiting (a vote
//! answered `unavailable` or not at all may have landed or not and is left
//! out); every
//! acknowledged join is a member; every acknowledged photo (202) is
//! rendered and served, or still being rendered under a live lease (its
//! node died mid-render: the job is claimed again when the lease lapses),
//! never lost or failed; plays ended by a skip are at least the
//! skips acknowledged and at most those plus the unanswered ones; and no
//! refusal other than `unavailable` or the domain's own (a vote on an
//! entry that just played) was answered. Every time stored (joins, adds,
//! plays, photos) lies within the run by the test's own clock, and every
//! track that ended by itself played its whole length: a node whose clock
//! jumped neither stamps times an hour off nor ends tracks early.
//!
//! The test command runs a short smoke (`FAULT_SECONDS`, default 60, one
//! round of every fault); `scripts/faults SECONDS` runs a long campaign and
//! prints the figures docs/RELIABILITY.md records.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crowdjuke::clock::{Clock, SystemClock};
use crowdjuke::domain::{Millis, PlayEnd};
use crowdjuke::store::{MongoStore, Store};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::helpers::{SioClient, TestApp};
use crate::meili_double::MeiliDouble;
use crate::multinode::{MEILI_KEY, ONE_AT_A_TIME, ProcessNode};
use crate::services::{self, Service};

const NODES: usize = 3;
const ROOMS: usize = 3;
const GUESTS_PER_ROOM: usize = 5;
/// The room whose host never skips: its tracks play to their end (2 to 7
/// minutes each), so a long campaign checks the player's own track ends.
const UNSKIPPED_ROOM: usize = ROOMS - 1;
/// How long a client waits for an answer before it counts it unanswered.
const ANSWER_WAIT: Duration = Duration::from_secs(6);
/// Refusals the load may meet without anything being wrong: the outage's
/// own answer, and the domain's answers to races the load makes on purpose
/// (a vote or skip on what just played, an add of the track playing).
const EXPECTED_REFUSALS: &[&str] = &["unavailable", "entry_not_found", "nothing_playing", "already_playing"];
/// libfaketime, which gives each node a wall clock the test can step
/// (scripts/lib/services.sh installs it; TEST_FAKETIME_LIB overrides).
const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
/// How far a node's clock jumps, each way (libfaketime's offset syntax).
const CLOCK_JUMP: &str = "1h";
/// Slack on the run's window for stored times (the test's and the
/// cluster's clocks are the same machine's, read at different moments).
const WINDOW_SLACK_MS: Millis = 2_000;

#[derive(Clone, Copy, Debug)]
enum Fault {
    KillNode(usize),
    RestartRedis,
    RestartDatabase,
    SearchDown,
    /// A node killed while Redis is down.
    Mixed(usize),
    /// A node's wall clock stepped an hour ahead, then an hour behind, then
    /// back to the true time.
    ClockJump(usize),
}

const SCHEDULE: [Fault; 7] = [
    Fault::KillNode(0),
    Fault::RestartRedis,
    Fault::RestartDatabase,
    Fault::SearchDown,
    Fault::ClockJump(1),
    Fault::KillNode(1),
    Fault::Mixed(2),
];

#[derive(Clone)]
struct Person {
    room: usize,
    id: String,
    token: String,
    host: bool,
}

/// What the clients were told.
#[derive(Default)]
struct Ledger {
    /// Acknowledged adds: (room, entry id).
    adds: Vec<(usize, String)>,
    /// The last acknowledged vote of a member on an entry.
    votes: HashMap<(usize, String, String), i64>,
    /// Votes sent without an answer: their outcome is unknown.
    uncertain: HashSet<(usize, String, String)>,
    /// Adds whose outcome is unknown, by (room, member, track): an add of a
    /// track already waiting is its adder's up-vote, so it may have changed
    /// that vote.
    uncertain_adds: HashSet<(usize, String, String)>,
    skips_acked: [u64; ROOMS],
    skips_unanswered: [u64; ROOMS],
    /// Acknowledged joins: (room, member id).
    joins: Vec<(usize, String)>,
    /// Acknowledged photo uploads (202): photo ids.
    photos: Vec<String>,
    /// Every answer by kind: `ok`, an error code, or `no answer`.
    answers: BTreeMap<String, u64>,
    /// Every vote sent, by key, with its time and answer (for a failure's
    /// message).
    sent: HashMap<(usize, String, String), Vec<String>>,
    /// The faults, with when they started and ended.
    faults: Vec<String>,
}

impl Ledger {
    fn answered(&mut self, what: &str) {
        *self.answers.entry(what.to_string()).or_default() += 1;
    }
}

struct Topology {
    nodes: Vec<ProcessNode>,
    addrs: Vec<SocketAddr>,
    redis: Service,
    database: Service,
    search: MeiliDouble,
    db: String,
    /// One libfaketime offset file per node (`clock0` …).
    clocks: tempfile::TempDir,
}

impl Topology {
    async fn start() -> Self {
        let redis = Service::redis().await;
        let database = Service::mongodb().await;
        let search = MeiliDouble::for_nodes(MEILI_KEY).await;
        let db = services::fresh_db_name();
        let clocks = tempfile::TempDir::new().expect("temp dir");
        let mut topology = Self { nodes: Vec::new(), addrs: Vec::new(), redis, database, search, db, clocks };
        for i in 0..NODES {
            topology.set_clock(i, "+0");
            let listen = format!("127.0.0.1:{}", services::free_port());
            let node = topology.node(&listen, i);
            topology.addrs.push(node.addr);
            topology.nodes.push(node);
        }
        topology
    }

    fn node(&self, listen: &str, i: usize) -> ProcessNode {
        let (uri, redis) = (self.database.mongodb_uri(), self.redis.redis_url());
        let faketime = std::env::var("TEST_FAKETIME_LIB").unwrap_or(FAKETIME_LIB.into());
        assert!(std::path::Path::new(&faketime).exists(), "{faketime} is missing: install faketime");
        let clock = self.clock_file(i).display().to_string();
        // The node's wall clock reads the offset in its file (re-read every
        // second); its monotonic clock is left alone, as a real step leaves it.
        let env = [
            ("LD_PRELOAD", faketime.as_str()),
            ("FAKETIME_TIMESTAMP_FILE", clock.as_str()),
            ("FAKETIME_CACHE_DURATION", "1"),
            ("DONT_FAKE_MONOTONIC", "1"),
            ("NO_FAKE_STAT", "1"),
        ];
        let services = (uri.as_str(), self.db.as_str(), redis.as_str(), &self.search);
        tokio::task::block_in_place(|| ProcessNode::start_with(listen, services, &format!("node{i}"), &env))
    }

    fn clock_file(&self, i: usize) -> std::path::PathBuf {
        self.clocks.path().join(format!("clock{i}"))
    }

    /// Sets node `i`'s wall clock offset (`+0`, `+1h`, `-1h`).
    fn set_clock(&self, i: usize, offset: &str) {
        std::fs::write(self.clock_file(i), format!("{offset}\n")).expect("clock file");
    }

    /// SIGKILL, then the node comes back on its port after `down`.
    async fn kill_and_restart(&mut self, i: usize, down: Duration) {
        self.nodes[i].kill();
        tokio::time::sleep(down).await;
        self.nodes[i] = self.node(&self.addrs[i].to_string(), i);
    }

    async fn inject(&mut self, fault: Fault) {
        let down = Duration::from_secs(3);
        match fault {
            Fault::KillNode(i) => self.kill_and_restart(i, down).await,
            Fault::RestartRedis => {
                self.redis.kill();
                tokio::time::sleep(down).await;
                self.redis.resume().await;
            }
            Fault::RestartDatabase => {
                self.database.stop();
                tokio::time::sleep(down).await;
                self.database.resume().await;
            }
            Fault::SearchDown => {
                self.search.set_down(true);
                tokio::time::sleep(down).await;
                self.search.set_down(false);
            }
            Fault::ClockJump(i) => {
                self.set_clock(i, &format!("+{CLOCK_JUMP}"));
                tokio::time::sleep(down).await;
                self.set_clock(i, &format!("-{CLOCK_JUMP}"));
                tokio::time::sleep(down).await;
                self.set_clock(i, "+0");
                // libfaketime re-reads the file within a second.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Fault::Mixed(i) => {
                // A node starts only once it reaches Redis: Redis comes back first.
                self.redis.kill();
                self.nodes[i].kill();
                tokio::time::sleep(down).await;
                self.redis.resume().await;
                self.nodes[i] = self.node(&self.addrs[i].to_string(), i);
            }
        }
    }

    /// Waits until every node answers ready.
    async fn settle(&self) {
        let http = reqwest::Client::new();
        for addr in &self.addrs {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let ready = http.get(format!("http://{addr}/api/ready")).send().await;
                if ready.is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                assert!(Instant::now() < deadline, "node {addr} is not ready a minute after the faults");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

/// Posts to the first node that answers, starting at a random one.
async fn post_anywhere(addrs: &[SocketAddr], path: &str, body: Value, start: usize) -> Option<Value> {
    let http = reqwest::Client::builder().timeout(ANSWER_WAIT).build().expect("client");
    for k in 0..addrs.len() {
        let addr = addrs[(start + k) % addrs.len()];
        if let Ok(response) = http.post(format!("http://{addr}{path}")).json(&body).send().await
            && response.status().is_success()
        {
            return response.json().await.ok();
        }
    }
    None
}

async fn connect_anywhere(addrs: &[SocketAddr], token: &str, start: usize) -> Option<SioClient> {
    for k in 0..addrs.len() {
        let addr = addrs[(start + k) % addrs.len()];
        let connecting = SioClient::connect(addr, json!({ "token": token }));
        if let Ok(Ok(client)) = tokio::time::timeout(ANSWER_WAIT, connecting).await {
            return Some(client);
        }
    }
    None
}

/// One person's load until `until`: adds, votes and (hosts) skips.
async fn load(
    addrs: Arc<Vec<SocketAddr>>,
    person: Person,
    ledger: Arc<Mutex<Ledger>>,
    (start, until): (Instant, Instant),
    seed: u64,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut client: Option<SioClient> = None;
    let mut added = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(rng.random_range(80..240))).await;
        if client.as_ref().is_none_or(SioClient::is_closed) {
            client = connect_anywhere(&addrs, &person.token, rng.random_range(0..addrs.len())).await;
            continue;
        }
        let Some(socket) = client.as_ref() else { continue };
        let known: Vec<String> = {
            let ledger = ledger.lock().expect("ledger");
            ledger.adds.iter().filter(|(room, _)| *room == person.room).map(|(_, id)| id.clone()).collect()
        };
        let roll = rng.random_range(0..100);
        let (event, payload) = if person.host && person.room != UNSKIPPED_ROOM && roll < 8 {
            ("player:skip", json!({}))
        } else if roll < 35 || known.is_empty() {
            added += 1;
            // Tracks of this person alone, so adds are never duplicates.
            let n = 1 + (seed as usize * 37 + added) % 200;
            ("queue:add", json!({ "track_id": TestApp::track_id(n) }))
        } else {
            let entry = &known[rng.random_range(0..known.len())];
            ("queue:vote", json!({ "entry_id": entry, "value": rng.random_range(-1..=1) }))
        };
        let args = json!([event, payload]).to_string();
        let sent_at = start.elapsed().as_secs_f64();
        let reply = tokio::time::timeout(ANSWER_WAIT, socket.ack_raw_unbounded(&args)).await;
        let mut ledger = ledger.lock().expect("ledger");
        let vote_key = |payload: &Value| {
            (person.room, person.id.clone(), payload["entry_id"].as_str().unwrap_or_default().to_string())
        };
        if event == "queue:vote" {
            let answer = match &reply {
                Ok(r) if r["ok"] == true => format!("ok version {}", r["data"]["version"]),
                Ok(r) if r["ok"] == false => r["error"]["code"].to_string(),
                _ => "no answer".into(),
            };
            let line = format!("{sent_at:.2}–{:.2} s: {} → {answer}", start.elapsed().as_secs_f64(), payload["value"]);
            ledger.sent.entry(vote_key(&payload)).or_default().push(line);
        }
        match reply {
            Ok(reply) if reply["ok"] == true => {
                ledger.answered("ok");
                let data = &reply["data"];
                match event {
                    "queue:add" => {
                        let entry = data["entry"]["id"].as_str().or(data["now_playing_entry_id"].as_str());
                        if let Some(entry) = entry {
                            ledger.adds.push((person.room, entry.to_string()));
                            // The adder's own vote comes with the add.
                            ledger.votes.insert((person.room, person.id.clone(), entry.to_string()), 1);
                        }
                    }
                    "queue:vote" => {
                        let value = payload["value"].as_i64().unwrap_or_default();
                        ledger.votes.insert(vote_key(&payload), value);
                    }
                    _ => ledger.skips_acked[person.room] += 1,
                }
            }
            Ok(reply) if reply["ok"] == false && reply["error"]["code"] != "unavailable" => {
                let code = reply["error"]["code"].as_str().unwrap_or("no code").to_string();
                ledger.answered(&code);
            }
            // No answer, or `unavailable`: the database may have taken the
            // write before it went away (protocol §2.2), so its outcome is
            // unknown.
            unknown => {
                let answer = if unknown.is_ok() { "unavailable" } else { "no answer" };
                ledger.answered(answer);
                match event {
                    "queue:vote" => {
                        ledger.uncertain.insert(vote_key(&payload));
                    }
                    "queue:add" => {
                        let track = payload["track_id"].as_str().unwrap_or_default().to_string();
                        ledger.uncertain_adds.insert((person.room, person.id.clone(), track));
                    }
                    "player:skip" => ledger.skips_unanswered[person.room] += 1,
                    _ => {}
                }
                if answer == "no answer" {
                    // The node may be gone: connect again, maybe elsewhere.
                    client = None;
                }
            }
        }
    }
}

/// New guests joining through any node until `until`.
async fn joins(addrs: Arc<Vec<SocketAddr>>, codes: Vec<String>, ledger: Arc<Mutex<Ledger>>, until: Instant) {
    let mut n = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(700)).await;
        n += 1;
        let room = n % codes.len();
        let path = format!("/api/rooms/{}/join", codes[room]);
        let http = reqwest::Client::builder().timeout(ANSWER_WAIT).build().expect("client");
        // Through the first node that answers; `unavailable` moves on too.
        let mut answer = "no answer".to_string();
        for k in 0..addrs.len() {
            let url = format!("http://{}{path}", addrs[(n + k) % addrs.len()]);
            let Ok(response) = http.post(url).json(&json!({ "name": format!("late {n}") })).send().await else {
                continue;
            };
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if let Some(id) = body["member"]["id"].as_str().filter(|_| status.is_success()) {
                ledger.lock().expect("ledger").joins.push((room, id.to_string()));
                answer = "ok".into();
                break;
            }
            answer = body["error"]["code"].as_str().unwrap_or("join without an error code").to_string();
            if answer != "unavailable" {
                break;
            }
        }
        ledger.lock().expect("ledger").answered(&answer);
    }
}

/// A small photo, as a phone would send it.
fn photo_jpeg() -> Vec<u8> {
    let picture = image::RgbImage::from_fn(160, 120, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(picture).write_to(&mut out, image::ImageFormat::Jpeg).expect("encodes");
    out.into_inner()
}

/// Guests sharing photos through any node until `until`, each about twice
/// a minute (under the per-member limit).
async fn photos(
    addrs: Arc<Vec<SocketAddr>>,
    sharers: Vec<(String, Person)>,
    ledger: Arc<Mutex<Ledger>>,
    until: Instant,
) {
    let jpeg = photo_jpeg();
    let http = reqwest::Client::builder().timeout(ANSWER_WAIT).build().expect("client");
    let mut n = 0;
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        n += 1;
        let (code, sharer) = &sharers[n % sharers.len()];
        let mut answer = "no answer".to_string();
        for k in 0..addrs.len() {
            let part = reqwest::multipart::Part::bytes(jpeg.clone()).file_name("p.jpg").mime_str("image/jpeg");
            let form = reqwest::multipart::Form::new().part("photo", part.expect("mime"));
            let url = format!("http://{}/api/rooms/{code}/photos", addrs[(n + k) % addrs.len()]);
            let Ok(response) = http.post(url).bearer_auth(&sharer.token).multipart(form).send().await else {
                continue;
            };
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if let Some(id) = body["photo"]["id"].as_str().filter(|_| status == 202) {
                ledger.lock().expect("ledger").photos.push(id.to_string());
                answer = "ok".into();
                break;
            }
            answer = body["error"]["code"].as_str().unwrap_or("upload without an error code").to_string();
            if answer != "unavailable" {
                break;
            }
        }
        ledger.lock().expect("ledger").answered(&answer);
    }
}

/// Every acknowledged photo is rendered and served, or still being rendered
/// under a live lease; waits up to a minute for renders an outage
/// postponed. (ready, pending).
async fn check_photos(topology: &Topology, store: &MongoStore, ledger: &Ledger) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let (ready, pending) = loop {
        let now = SystemClock.now();
        let (mut ready, mut pending, mut waiting) = (Vec::new(), 0, Vec::new());
        for id in &ledger.photos {
            let photo = store.photo(id).await.expect("store").unwrap_or_else(|| panic!("acknowledged photo {id} lost"));
            match photo.status {
                crowdjuke::domain::PhotoStatus::Ready => ready.push(id.clone()),
                crowdjuke::domain::PhotoStatus::Processing if photo.render_lease_until > now + 30_000 => pending += 1,
                crowdjuke::domain::PhotoStatus::Processing => waiting.push(id.clone()),
                status => panic!("acknowledged photo {id} ended {status:?}"),
            }
        }
        if waiting.is_empty() {
            break (ready, pending);
        }
        assert!(Instant::now() < deadline, "photos still unrendered a minute after the faults: {waiting:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let http = reqwest::Client::new();
    for (k, id) in ready.iter().enumerate() {
        let url = format!("http://{}/api/photos/{id}/thumb.jpg", topology.addrs[k % topology.addrs.len()]);
        let response = http.get(url).send().await.expect("the thumbnail answers");
        assert_eq!(response.status(), 200, "photo {id} is ready but its thumbnail is not served");
    }
    (ready.len(), pending)
}

/// The times a room stores (joins, adds, plays), each with what it is.
fn stored_times(room: &crowdjuke::domain::Room, history: &[crowdjuke::domain::Play]) -> Vec<(String, Millis)> {
    let mut times: Vec<(String, Millis)> = Vec::new();
    times.extend(room.members.iter().map(|(id, m)| (format!("member {id} joined"), m.joined_at)));
    times.extend(room.queue.iter().map(|e| (format!("entry {} added", e.id), e.added_at)));
    if let Some(playing) = &room.now_playing {
        times.push((format!("entry {} started", playing.entry_id), playing.started_at));
    }
    for play in history {
        times.push((format!("play of {} started", play.entry_id), play.started_at));
        times.push((format!("play of {} ended", play.entry_id), play.ended_at));
    }
    times
}

/// What the database holds against what the ledger says; the figures.
/// `since` is the test's own clock before the rooms were made.
async fn check(topology: &Topology, rooms: &[String], ledger: &Ledger, since: Millis) -> Value {
    let store = MongoStore::connect(&topology.database.mongodb_uri(), &topology.db).await.expect("store");
    let (mut adds_checked, mut votes_checked, mut joins_checked, mut plays) = (0, 0, 0, 0);
    let (mut times_checked, mut finished_checked) = (0, 0);
    let window = since - WINDOW_SLACK_MS..=SystemClock.now() + WINDOW_SLACK_MS;
    for (r, room_id) in rooms.iter().enumerate() {
        let room = store.load_room(room_id).await.expect("room").expect("the room is stored");
        let history = store.history(room_id, 0, 100_000).await.expect("history");
        plays += history.len();
        let mut played: HashSet<&str> = HashSet::new();
        for play in &history {
            assert!(played.insert(&play.entry_id), "room {r}: entry {} played twice", play.entry_id);
        }
        // A node whose clock jumped still stamps the cluster's time.
        for (what, at) in stored_times(&room, &history) {
            let off = at as i64 - since as i64;
            assert!(
                window.contains(&at),
                "room {r}: {what} at {off} ms from the start, outside the run; faults {:?}",
                ledger.faults
            );
            times_checked += 1;
        }
        // ... and ends no track before it has played its whole length.
        for play in history.iter().filter(|p| p.end == PlayEnd::Finished) {
            let track = store.track(&play.track_id).await.expect("store").expect("the played track is known");
            let played_ms = play.ended_at.saturating_sub(play.started_at);
            assert!(
                played_ms + 1_000 >= track.duration_ms,
                "room {r}: {} ended after {played_ms} ms of its {} ms; faults {:?}",
                play.entry_id,
                track.duration_ms,
                ledger.faults
            );
            finished_checked += 1;
        }
        let playing = room.now_playing.as_ref().map(|np| np.entry_id.as_str());
        let waiting: HashMap<&str, _> = room.queue.iter().map(|e| (e.id.as_str(), e)).collect();
        for id in waiting.keys() {
            assert!(!played.contains(id) && playing != Some(id), "room {r}: entry {id} waits and played");
        }
        for (_, entry) in ledger.adds.iter().filter(|(room, _)| *room == r) {
            let kept =
                waiting.contains_key(entry.as_str()) || played.contains(entry.as_str()) || playing == Some(entry);
            assert!(kept, "room {r}: acknowledged add {entry} was lost");
            adds_checked += 1;
        }
        for ((room, member, entry), value) in &ledger.votes {
            if *room != r || ledger.uncertain.contains(&(*room, member.clone(), entry.clone())) {
                continue;
            }
            if let Some(stored) = waiting.get(entry.as_str())
                && !ledger.uncertain_adds.contains(&(*room, member.clone(), stored.track.id.clone()))
            {
                let vote = stored.votes.get(member).map(|v| i64::from(*v)).unwrap_or(0);
                let key = (*room, member.clone(), entry.clone());
                assert_eq!(
                    vote,
                    *value,
                    "room {r}: {member}'s acknowledged vote on {entry}; stored votes {:?}; sent {:?}; faults {:?}",
                    stored.votes,
                    ledger.sent.get(&key),
                    ledger.faults
                );
                votes_checked += 1;
            }
        }
        let skipped = history.iter().filter(|p| p.end == crowdjuke::domain::PlayEnd::Skipped).count() as u64;
        assert!(
            skipped >= ledger.skips_acked[r] && skipped <= ledger.skips_acked[r] + ledger.skips_unanswered[r],
            "room {r}: {skipped} skipped plays for {} skips acknowledged and {} unanswered",
            ledger.skips_acked[r],
            ledger.skips_unanswered[r]
        );
        for (_, member) in ledger.joins.iter().filter(|(room, _)| *room == r) {
            assert!(room.members.contains_key(member), "room {r}: acknowledged join {member} was lost");
            joins_checked += 1;
        }
    }
    let (photos_ready, photos_pending) = check_photos(topology, &store, ledger).await;
    for code in ledger.answers.keys() {
        let fine = ["ok", "no answer"].contains(&code.as_str()) || EXPECTED_REFUSALS.contains(&code.as_str());
        assert!(fine, "an answer no outage should give: {code} ({:?})", ledger.answers);
    }
    json!({
        "adds_checked": adds_checked,
        "votes_checked": votes_checked,
        "votes_left_out_unknown": ledger.uncertain.len(),
        "adds_unknown": ledger.uncertain_adds.len(),
        "joins_checked": joins_checked,
        "skips_acknowledged": ledger.skips_acked.iter().sum::<u64>(),
        "plays": plays,
        "times_checked": times_checked,
        "finished_plays_checked": finished_checked,
        "photos_ready": photos_ready,
        "photos_rendering_under_lease": photos_pending,
        "answers": ledger.answers,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_campaign_loses_no_acknowledged_write() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let seconds: u64 = std::env::var("FAULT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let since = SystemClock.now();
    let mut topology = Topology::start().await;
    let addrs = Arc::new(topology.addrs.clone());
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let (mut people, mut sharers) = (Vec::new(), Vec::new());
    let (mut codes, mut room_ids) = (Vec::new(), Vec::new());
    for room in 0..ROOMS {
        let body = json!({"name": format!("Room {room}"), "host_name": "Host"});
        let created = post_anywhere(&addrs, "/api/rooms", body, room).await.expect("room created");
        let code = created["room"]["code"].as_str().expect("code").to_string();
        people.push(Person {
            room,
            id: created["member"]["id"].as_str().expect("id").into(),
            token: created["token"].as_str().expect("token").into(),
            host: true,
        });
        for g in 0..GUESTS_PER_ROOM {
            let joined =
                post_anywhere(&addrs, &format!("/api/rooms/{code}/join"), json!({"name": format!("g{g}")}), g).await;
            let joined = joined.expect("guest joined");
            let guest = Person {
                room,
                id: joined["member"]["id"].as_str().expect("id").into(),
                token: joined["token"].as_str().expect("token").into(),
                host: false,
            };
            sharers.push((code.clone(), guest.clone()));
            people.push(guest);
        }
        room_ids.push(created["room"]["id"].as_str().expect("room id").to_string());
        codes.push(code);
    }

    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let mut load_tasks = Vec::new();
    for (i, person) in people.into_iter().enumerate() {
        let when = (start, until);
        load_tasks.push(tokio::spawn(load(addrs.clone(), person, ledger.clone(), when, i as u64 + 1)));
    }
    load_tasks.push(tokio::spawn(joins(addrs.clone(), codes.clone(), ledger.clone(), until)));
    load_tasks.push(tokio::spawn(photos(addrs.clone(), sharers, ledger.clone(), until)));

    let mut injected: BTreeMap<String, u64> = BTreeMap::new();
    let mut round = 0;
    // Steady load first, then one fault after another with time to heal.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while Instant::now() + Duration::from_secs(6) < until {
        let fault = SCHEDULE[round % SCHEDULE.len()];
        let began = start.elapsed().as_secs_f64();
        topology.inject(fault).await;
        let line = format!("{began:.2}–{:.2} s {fault:?}", start.elapsed().as_secs_f64());
        ledger.lock().expect("ledger").faults.push(line);
        *injected.entry(format!("{fault:?}")).or_default() += 1;
        round += 1;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    for task in load_tasks {
        task.await.expect("load task");
    }
    topology.settle().await;
    let ledger = std::mem::take(&mut *ledger.lock().expect("ledger"));
    let figures = check(&topology, &room_ids, &ledger, since).await;
    eprintln!("fault campaign: {seconds} s, faults {injected:?}, {figures}");
    assert!(round >= 1, "at least one fault was injected");
    assert!(figures["adds_checked"].as_u64() > Some(0) && figures["votes_checked"].as_u64() > Some(0));
    assert!(figures["photos_ready"].as_u64() > Some(0), "photos were shared and rendered");
}
