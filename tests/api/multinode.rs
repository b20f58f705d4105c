//! Several nodes behaving as one server: in-process nodes on distinct ports
//! (and real processes where one must be killed) sharing one real Redis and
//! one real MongoDB-wire-compatible server, a fresh database per test.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crowdjuke::config::{ApiKey, Settings};
use futures_util::future::join_all;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::freezer::Freezer;
use crate::helpers::{Guest, ServerProcess, SioClient, TestApp, WAIT, guest_from, queue_ids, spawn_with};
use crate::meili_double::MeiliDouble;
use crate::services::{self, Service};

/// The multi-node tests run one at a time: each drives several nodes, a
/// shared Redis and a Python MongoDB-compatible server, which is all two
/// cores can take without turning milliseconds into seconds.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Cluster {
    nodes: Vec<TestApp>,
    search: MeiliDouble,
}

/// The Meilisearch key the clusters' double expects.
pub const MEILI_KEY: &str = "multinode-master-key";

/// Points a node at the shared search engine (the Meilisearch double).
fn use_search(s: &mut Settings, search: &MeiliDouble) {
    s.meilisearch_url = Some(search.url());
    s.meilisearch_api_key = Some(ApiKey(search.node_key().into()));
}

async fn cluster(n: usize, mongodb_uri: &str, redis_url: &str) -> Cluster {
    cluster_on(n, mongodb_uri, &services::fresh_db_name(), redis_url).await
}

async fn cluster_on(n: usize, mongodb_uri: &str, db: &str, redis_url: &str) -> Cluster {
    let search = MeiliDouble::for_nodes(MEILI_KEY).await;
    let mut nodes = Vec::new();
    for i in 0..n {
        let (uri, db, redis) = (mongodb_uri.to_string(), db.to_string(), redis_url.to_string());
        let node = spawn_with(TempDir::new().expect("temp dir"), |s| {
            s.mongodb_uri = Some(uri);
            s.mongodb_db = db;
            s.redis_url = Some(redis);
            s.node_id = Some(format!("node{i}"));
            use_search(s, &search);
        })
        .await;
        nodes.push(node);
    }
    Cluster { nodes, search }
}

async fn shared_cluster(n: usize) -> Cluster {
    cluster(n, &services::mongodb_uri(), &services::redis_url()).await
}

impl Cluster {
    fn node(&self, i: usize) -> &TestApp {
        &self.nodes[i % self.nodes.len()]
    }

    fn advance_clocks(&self, by: u64) {
        for node in &self.nodes {
            node.clock.advance(by);
        }
    }
}

fn score_of(snapshot: &Value, entry_id: &str) -> i64 {
    let queue = snapshot["queue"].as_array().expect("queue");
    queue.iter().find(|e| e["id"] == entry_id).and_then(|e| e["score"].as_i64()).expect("entry in queue")
}

/// Waits until `client` has received `room:changed` for every version in
/// `from..=to`, and checks it never received one twice.
async fn saw_every_version_once(client: &SioClient, from: u64, to: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let versions: Vec<u64> = client.events("room:changed").iter().filter_map(|c| c["version"].as_u64()).collect();
        let unique: BTreeSet<u64> = versions.iter().copied().collect();
        assert_eq!(unique.len(), versions.len(), "a room:changed version arrived twice: {versions:?}");
        if (from..=to).all(|v| unique.contains(&v)) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "missing versions in {from}..={to}: got {unique:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_clients_on_three_nodes_lose_no_vote_and_converge() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(3).await;
    let host = cluster.node(0).create_room(json!({})).await;
    let mut members: Vec<Guest> = vec![host.clone()];
    for i in 1..60 {
        members.push(cluster.node(i).join(&host.code, &format!("guest {i}")).await);
    }
    let clients: Vec<SioClient> =
        join_all(members.iter().enumerate().map(|(i, m)| cluster.node(i).connect(&m.token))).await;
    let start: Vec<u64> = join_all(clients.iter().map(|c| c.wait_for("room:snapshot", |_| true)))
        .await
        .iter()
        .map(|s| s["version"].as_u64().expect("version"))
        .collect();

    // Presence is one list across nodes.
    let (_, room) = cluster.node(2).get(&format!("/api/rooms/{}", host.code)).await;
    assert_eq!(room["room"]["online_count"], 60, "{room}");

    // Everyone adds the same five tracks at once (the first add creates the
    // entry, the others up-vote it), then everyone votes on all of them.
    clients[0].ok("queue:add", json!({"track_id": TestApp::track_id(100)})).await;
    let tracks: Vec<String> = (1..=5).map(TestApp::track_id).collect();
    let added = join_all(clients.iter().map(|c| async {
        let mut entries = Vec::new();
        for track in &tracks {
            let data = c.ok("queue:add", json!({"track_id": track})).await;
            entries.push(data["entry"]["id"].as_str().expect("entry id").to_string());
        }
        entries
    }))
    .await;
    let entries = added[0].clone();
    assert!(added.iter().all(|e| *e == entries), "every add of a track lands on the same entry");
    let vote = |i: usize, j: usize| if i % 5 < j { -1 } else { 1 };
    join_all(clients.iter().enumerate().map(|(i, c)| {
        let entries = &entries;
        async move {
            for (j, entry) in entries.iter().enumerate() {
                c.ok("queue:vote", json!({"entry_id": entry, "value": vote(i, j)})).await;
            }
        }
    }))
    .await;

    let last = clients[0].snapshot().await["version"].as_u64().expect("version");
    join_all(clients.iter().zip(&start).map(|(c, from)| saw_every_version_once(c, from + 1, last))).await;
    let snapshots = join_all(clients.iter().map(SioClient::snapshot)).await;
    for (j, entry) in entries.iter().enumerate() {
        let expected: i64 = (0..60).map(|i| vote(i, j)).sum();
        assert_eq!(score_of(&snapshots[0], entry), expected, "entry {j}: no vote lost, none counted twice");
    }
    assert_eq!(queue_ids(&snapshots[0]), entries, "ordered by score");
    for snapshot in &snapshots {
        assert_eq!(snapshot["version"], last);
        assert_eq!(queue_ids(snapshot), entries);
        let scores: Vec<i64> = entries.iter().map(|e| score_of(snapshot, e)).collect();
        let first: Vec<i64> = entries.iter().map(|e| score_of(&snapshots[0], e)).collect();
        assert_eq!(scores, first);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_racing_to_advance_play_each_entry_once_in_order() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(3).await;
    let host = cluster.node(0).create_room(json!({})).await;
    let hs = cluster.node(0).connect(&host.token).await;
    for n in 1..=6 {
        hs.ok("queue:add", json!({"track_id": TestApp::track_id(n)})).await;
    }
    for node in &cluster.nodes {
        // Every node looks at the room, so every node has its deadline.
        node.get(&format!("/api/rooms/{}", host.code)).await;
    }
    let mut expected = Vec::new();
    for _ in 0..5 {
        let snapshot = hs.snapshot().await;
        expected.push(snapshot["now_playing"]["entry_id"].as_str().expect("playing").to_string());
        cluster.advance_clocks(snapshot["now_playing"]["track"]["duration_ms"].as_u64().expect("duration"));
        let racers = cluster.nodes.iter().flat_map(|n| (0..3).map(move |_| n.state.clone()));
        join_all(racers.map(|state| async move { state.player.advance_ended_tracks().await })).await;
    }
    let (_, history) = cluster.node(1).get(&format!("/api/rooms/{}/history", host.code)).await;
    let mut played: Vec<String> = history["plays"]
        .as_array()
        .expect("plays")
        .iter()
        .map(|p| p["entry_id"].as_str().expect("id").into())
        .collect();
    played.reverse();
    assert_eq!(played, expected, "each entry played once, in order");
    let now = hs.snapshot().await;
    assert_eq!(now["now_playing"]["track"]["id"], TestApp::track_id(6));
}

/// A scaled-out node in its own process, so it can be SIGKILLed.
pub(crate) struct ProcessNode {
    process: ServerProcess,
    pub(crate) addr: SocketAddr,
    _dir: TempDir,
}

impl ProcessNode {
    fn start(mongodb_uri: &str, db: &str, redis_url: &str, search: &MeiliDouble, name: &str) -> Self {
        Self::start_on("127.0.0.1:0", mongodb_uri, db, redis_url, search, name)
    }

    pub(crate) fn start_on(
        listen: &str,
        mongodb_uri: &str,
        db: &str,
        redis_url: &str,
        search: &MeiliDouble,
        name: &str,
    ) -> Self {
        Self::start_with(listen, (mongodb_uri, db, redis_url, search), name, &[])
    }

    /// The same, with more environment (the fault campaign's fake clock).
    pub(crate) fn start_with(
        listen: &str,
        (mongodb_uri, db, redis_url, search): (&str, &str, &str, &MeiliDouble),
        name: &str,
        more_env: &[(&str, &str)],
    ) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let search_url = search.url();
        let mut env = vec![
            ("CROWDJUKE_MONGODB_URI", mongodb_uri),
            ("CROWDJUKE_MONGODB_DB", db),
            ("CROWDJUKE_REDIS_URL", redis_url),
            ("CROWDJUKE_MEILISEARCH_URL", &search_url),
            ("CROWDJUKE_MEILISEARCH_API_KEY", search.node_key()),
            ("CROWDJUKE_NODE_ID", name),
            ("CROWDJUKE_JOIN_ATTEMPTS_PER_MINUTE", "100000"),
        ];
        env.extend_from_slice(more_env);
        let process = ServerProcess::start_on(listen, dir.path(), &env, name);
        Self { addr: process.addr, process, _dir: dir }
    }

    pub(crate) fn kill(&mut self) {
        self.process.kill();
    }
}

async fn post(addr: SocketAddr, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new().post(format!("http://{addr}{path}")).json(&body).send().await;
    response.expect("request").json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_loses_nothing_acknowledged_and_its_clients_move_on() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (uri, redis, db) = (services::mongodb_uri(), services::redis_url(), services::fresh_db_name());
    let search = MeiliDouble::for_nodes(MEILI_KEY).await;
    let mut doomed = ProcessNode::start(&uri, &db, &redis, &search, "doomed");
    let survivor = ProcessNode::start(&uri, &db, &redis, &search, "survivor");
    let rules = json!({"max_queued_per_guest": 2});
    let host =
        guest_from(&post(survivor.addr, "/api/rooms", json!({"name": "P", "host_name": "H", "rules": rules})).await);
    let hs = SioClient::connect(survivor.addr, json!({"token": host.token})).await.expect("host connects");
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let mut guests = Vec::new();
    for i in 0..6 {
        guests.push(guest_from(
            &post(doomed.addr, &format!("/api/rooms/{}/join", host.code), json!({"name": format!("g{i}")})).await,
        ));
    }
    // first_entry[i] = guest i's first entry; guest i up-votes guest i+1's.
    let mut first_entry = Vec::new();
    {
        let on_doomed: Vec<SioClient> = join_all(guests.iter().map(|g| async {
            SioClient::connect(doomed.addr, json!({"token": g.token})).await.expect("guest connects")
        }))
        .await;
        for (i, c) in on_doomed.iter().enumerate() {
            let data = c.ok("queue:add", json!({"track_id": TestApp::track_id(10 + i * 2)})).await;
            first_entry.push(data["entry"]["id"].as_str().expect("id").to_string());
            c.ok("queue:add", json!({"track_id": TestApp::track_id(11 + i * 2)})).await;
        }
        for (i, c) in on_doomed.iter().enumerate() {
            c.ok("queue:vote", json!({"entry_id": first_entry[(i + 1) % 6], "value": 1})).await;
        }
        doomed.kill();
        for c in &on_doomed {
            c.wait_closed().await;
        }
    }
    // The same guests come back through the surviving node with their tokens.
    for (i, g) in guests.iter().enumerate() {
        let c = SioClient::connect(survivor.addr, json!({"token": g.token})).await.expect("reconnects elsewhere");
        let snapshot = c.wait_for("room:snapshot", |_| true).await;
        assert_eq!(snapshot["me"]["id"], g.member_id.as_str(), "same identity");
        let queue = snapshot["queue"].as_array().expect("queue");
        assert_eq!(queue.iter().filter(|e| e["added_by"] == g.member_id.as_str()).count(), 2, "adds survived");
        let voted = queue.iter().find(|e| e["id"] == first_entry[(i + 1) % 6].as_str()).expect("voted entry");
        assert_eq!((voted["my_vote"].as_i64(), voted["score"].as_i64()), (Some(1), Some(2)), "votes survived");
        let refused = c.refused("queue:add", json!({"track_id": TestApp::track_id(90)})).await;
        assert_eq!(refused, "queue_limit_reached", "limits survived");
    }
    let snapshot = hs.snapshot().await;
    assert_eq!(snapshot["queue"].as_array().expect("queue").len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn broadcasts_resume_after_redis_restarts() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut redis = Service::redis().await;
    let cluster = cluster(2, &services::mongodb_uri(), &redis.redis_url()).await;
    let host = cluster.node(0).create_room(json!({})).await;
    let guest = cluster.node(1).join(&host.code, "Gus").await;
    let hs = cluster.node(0).connect(&host.token).await;
    let gs = cluster.node(1).connect(&guest.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let before = hs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    gs.changed(before["version"].as_u64().expect("version")).await;

    redis.kill();
    // Writes go on while Redis is away: MongoDB holds the truth.
    let during = gs.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    redis.resume().await;

    let deadline = tokio::time::Instant::now() + WAIT * 3;
    let mut n = 4;
    loop {
        let data = gs.ok("queue:add", json!({"track_id": TestApp::track_id(n)})).await;
        let version = data["version"].as_u64().expect("version");
        tokio::time::sleep(Duration::from_millis(300)).await;
        if hs.events("room:changed").iter().any(|c| c["version"] == version) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "broadcasts did not resume after the Redis restart");
        n += 1;
    }
    let snapshot = hs.snapshot().await;
    let during_id = during["entry"]["id"].as_str().expect("id");
    assert!(queue_ids(&snapshot).iter().any(|id| id == during_id), "the write acknowledged during the outage is kept");
    assert_eq!(snapshot["version"], gs.snapshot().await["version"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_answer_unavailable_while_mongodb_is_down_and_succeed_after() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut mongo = Service::mongodb().await;
    let cluster = cluster(1, &mongo.mongodb_uri(), &services::redis_url()).await;
    // The fresh node first indexes its demo library: big batches that keep
    // the single-threaded test database busy for seconds on two cores. Let
    // that settle, so the acks below measure the outage, not the backlog.
    let deadline = tokio::time::Instant::now() + WAIT * 6;
    while !cluster.node(0).state.store.outbox(1).await.expect("outbox").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the demo library was never indexed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let host = cluster.node(0).create_room(json!({})).await;
    let hs = cluster.node(0).connect(&host.token).await;
    // The single-threaded test database may still be slow with the other
    // suites' work: the writes before the outage get longer to answer.
    let add = |n: usize| json!(["queue:add", {"track_id": TestApp::track_id(n)}]).to_string();
    let kept = hs.ack_raw_within(&add(1), WAIT * 3).await;
    assert_eq!(kept["ok"], true, "{kept}");
    let kept = kept["data"].clone();
    let second = hs.ack_raw_within(&add(2), WAIT * 3).await;
    assert_eq!(second["ok"], true, "{second}");

    // Failed at once (`unavailable`) or cut off by the command's deadline (`abandoned`).
    let failed = || crate::helpers::metric("crowdjuke_store_errors_total", &[]);
    let failed_before = failed();
    mongo.stop();
    let reply = hs.ack("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    assert_eq!(reply["error"]["code"], "unavailable", "{reply}");
    assert!(failed() > failed_before, "operators see the store's failures");
    let (status, body) = cluster.node(0).get("/api/ready").await;
    assert_eq!(status, 503, "{body}");

    mongo.resume().await;
    let deadline = tokio::time::Instant::now() + WAIT * 3;
    loop {
        let reply = hs.ack("queue:add", json!({"track_id": TestApp::track_id(4)})).await;
        if reply["ok"] == true {
            break;
        }
        assert_eq!(reply["error"]["code"], "unavailable", "{reply}");
        assert!(tokio::time::Instant::now() < deadline, "writes did not come back after MongoDB returned");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let snapshot = hs.snapshot().await;
    let playing = snapshot["now_playing"]["entry_id"].as_str().expect("playing");
    assert_eq!(playing, kept["now_playing_entry_id"].as_str().expect("id"), "data intact");
    let queued: Vec<&str> =
        snapshot["queue"].as_array().expect("queue").iter().filter_map(|e| e["track"]["id"].as_str()).collect();
    assert_eq!(queued, ["demo-0002", "demo-0004"], "not demo-0003: {snapshot}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_are_shared_by_every_node() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let db = services::fresh_db_name();
    let search = MeiliDouble::for_nodes(MEILI_KEY).await;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let (uri, db, redis) = (services::mongodb_uri(), db.clone(), services::redis_url());
        nodes.push(
            spawn_with(TempDir::new().expect("dir"), |s| {
                s.mongodb_uri = Some(uri);
                s.mongodb_db = db;
                s.redis_url = Some(redis);
                s.join_attempts_per_minute = 4;
                s.behind_proxy = true;
                use_search(s, &search);
            })
            .await,
        );
    }
    // A forwarded address no other test uses, so the shared counter is ours.
    let client = format!("10.{}.{}.{}", rand::random::<u8>(), rand::random::<u8>(), rand::random::<u8>());
    let mut statuses = Vec::new();
    for i in 0..6 {
        let node = &nodes[i % 2];
        // Six different codes: six guesses.
        let code = format!("ZZZZZ{}", ["A", "B", "C", "D", "E", "F"][i]);
        let request = node.http.post(node.url(&format!("/api/rooms/{code}/join"))).header("x-forwarded-for", &client);
        statuses.push(request.json(&json!({"name": "Eve"})).send().await.expect("request").status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 404, 429, 429], "four attempts in all, whichever node answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_catalogue_uploaded_on_one_node_is_searchable_and_queueable_on_every_node() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(2).await;
    let host = cluster.node(0).create_room(json!({})).await;
    let csv = "title,artist,duration,isrc\nXylophone Sunrise,Orla Quist,3:30,GBXYZ2600001\n";
    let response = cluster
        .node(0)
        .http
        .post(cluster.node(0).url("/api/library/tracks"))
        .bearer_auth(&host.token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status().as_u16(), 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = cluster.node(1).get("/api/search/tracks?q=xylophone").await;
        if status == 200 && body["hits"][0]["id"] == "isrc-GBXYZ2600001" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never searchable on node 1: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let guest = cluster.node(1).join(&host.code, "Gus").await;
    let gs = cluster.node(1).connect(&guest.token).await;
    gs.ok("queue:add", json!({"track_id": "isrc-GBXYZ2600001"})).await;
    assert!(cluster.search.rejected().is_empty(), "{:#?}", cluster.search.rejected());
}

/// The compose file runs Redis and MongoDB with passwords: nodes reach
/// both with the passwords in their addresses (a vote on one node reaches
/// a guest on the other through Redis, and is stored), and a node given a
/// wrong password stops at start with an error naming the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_use_redis_and_mongodb_with_passwords_and_stop_on_a_wrong_one() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (redis_password, mongo_password) = ("9f2c41d0a7e3b8", "4be17c0d92aa61");
    let db = services::fresh_db_name();
    let redis = Service::redis_with_password(redis_password).await;
    let mongo = Service::mongodb_with_user(&db, "crowdjuke", mongo_password).await;
    let (redis_url, mongodb_uri) =
        (redis.redis_url_with_password(redis_password), mongo.mongodb_uri_as("crowdjuke", mongo_password, &db));
    let cluster = cluster_on(2, &mongodb_uri, &db, &redis_url).await;
    // The multi-node tests run one at a time (`ONE_AT_A_TIME`, and alone
    // in scripts/test): this process's counters move with this test only.
    let cache_puts = || crate::helpers::metric("crowdjuke_redis_call_seconds_count", &[r#"operation="cache_put""#]);
    let puts_before = cache_puts();
    let host = cluster.node(0).create_room(json!({})).await;
    let hs = cluster.node(0).connect(&host.token).await;
    let guest = cluster.node(1).join(&host.code, "Gus").await;
    let gs = cluster.node(1).connect(&guest.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let added = hs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await;
    let entry = added["entry"]["id"].as_str().expect("entry id").to_string();
    gs.wait_for("room:changed", |c| c.to_string().contains(&entry)).await;
    gs.ok("queue:vote", json!({"entry_id": entry, "value": 1})).await;
    // Stored in MongoDB: a client that comes later reads the vote there.
    let late = cluster.node(1).connect(&host.token).await;
    let queue = late.snapshot().await["queue"].clone();
    assert_eq!(queue[0]["score"].as_i64(), Some(2), "{queue}");
    assert!(cache_puts() > puts_before, "Redis calls are timed for operators");

    let (search_url, search_key) = (cluster.search.url(), cluster.search.node_key().to_string());
    let build = |mongodb_uri: String, redis_url: String| {
        let (db, search_url, search_key) = (db.clone(), search_url.clone(), search_key.clone());
        async move {
            let dir = TempDir::new().expect("dir");
            let settings = Settings {
                data_dir: dir.path().to_path_buf(),
                mongodb_uri: Some(mongodb_uri),
                mongodb_db: db,
                redis_url: Some(redis_url),
                meilisearch_url: Some(search_url),
                meilisearch_api_key: Some(ApiKey(search_key)),
                ..Settings::default()
            };
            let clock = std::sync::Arc::new(crowdjuke::clock::ManualClock::new(0));
            let built = crowdjuke::Server::build(settings, clock, "http://127.0.0.1".into());
            let built =
                tokio::time::timeout(WAIT, built).await.expect("a wrong password is said at once, not waited out");
            built.err().map(|e| format!("{e:#}")).unwrap_or_default()
        }
    };
    let wrong = "n0t-the-pa55w0rd-4f1e";
    let error = build(mongo.mongodb_uri_as("crowdjuke", wrong, &db), redis_url.clone()).await;
    assert!(error.contains("MongoDB") && error.to_lowercase().contains("auth"), "{error}");
    assert!(!error.contains(wrong), "the password is not repeated: {error}");
    let error = build(mongodb_uri.clone(), redis.redis_url_with_password(wrong)).await;
    assert!(error.contains("Redis") && error.contains("WRONGPASS"), "{error}");
    assert!(!error.contains(wrong), "the password is not repeated: {error}");
}

#[tokio::test]
async fn nodes_sharing_mongodb_and_redis_refuse_to_start_without_shared_search() {
    let (uri, redis) = (services::mongodb_uri(), services::redis_url());
    let dir = TempDir::new().expect("dir");
    let settings = Settings {
        data_dir: dir.path().to_path_buf(),
        mongodb_uri: Some(uri),
        mongodb_db: services::fresh_db_name(),
        redis_url: Some(redis),
        ..Settings::default()
    };
    let clock = std::sync::Arc::new(crowdjuke::clock::ManualClock::new(0));
    let built = crowdjuke::Server::build(settings, clock, "http://127.0.0.1".into()).await;
    let error = built.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("CROWDJUKE_MEILISEARCH_URL"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_photo_shared_on_one_node_reaches_and_is_served_by_every_node_from_gridfs() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(2).await;
    let host = cluster.node(0).create_room(json!({})).await;
    let guest = cluster.node(1).join(&host.code, "Gus").await;
    let gs = cluster.node(1).connect(&guest.token).await;
    let jpeg = crate::photos::encoded(800, 600, image::ImageFormat::Jpeg);
    let part = reqwest::multipart::Part::bytes(jpeg).file_name("a.jpg");
    let form = reqwest::multipart::Form::new().part("photo", part).text("comment", "from node 0");
    let (status, body) = crate::photos::upload(cluster.node(0), &host.code, Some(&host.token), form).await;
    assert_eq!(status, 202, "{body}");
    let id = body["photo"]["id"].clone();
    let photo = gs.wait_for("photo:new", |v| v["photo"]["id"] == id).await["photo"].clone();
    let thumb = photo["urls"]["thumb"].as_str().expect("url");
    let response = cluster.node(1).http.get(cluster.node(1).url(thumb)).send().await.expect("get");
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().await.expect("bytes");
    assert_eq!(image::load_from_memory(&bytes).expect("jpeg").width(), 320);
    let hs = cluster.node(0).connect(&host.token).await;
    gs.ok("photo:like", json!({"photo_id": id})).await;
    hs.wait_for("photo:likes", |v| v["photo_id"] == id && v["liked_by"][0]["name"] == "Gus").await;
    hs.ok("photo:remove", json!({"photo_id": id})).await;
    gs.wait_for("photo:removed", |v| v["photo_id"] == id).await;
    let keys = cluster.node(1).state.blobs.keys("photos/").await.expect("keys");
    assert!(keys.is_empty(), "nothing left in GridFS: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn feed_new_reaches_a_follower_connected_to_another_node() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(2).await;
    let password = "violet kettle 42 orbit";
    let (status, ana) = cluster.node(0).post("/api/accounts", json!({"username": "ana", "password": password})).await;
    assert_eq!(status, 201, "{ana}");
    let (status, ben) = cluster.node(1).post("/api/sessions", json!({"username": "ana", "password": password})).await;
    assert_eq!(status, 200, "an account made on one node logs in on another: {ben}");
    let (_, ben) = cluster.node(1).post("/api/accounts", json!({"username": "ben", "password": password})).await;
    let ben_token = ben["token"].as_str().expect("token");
    let follow =
        cluster.node(1).http.put(cluster.node(1).url("/api/users/ana/follow")).bearer_auth(ben_token).send().await;
    assert_eq!(follow.expect("follow").status().as_u16(), 200);
    let feed = SioClient::connect_ns(cluster.node(1).addr, "/feed", json!({ "token": ben_token })).await.expect("feed");
    let body = json!({"name": "Roof", "host_name": "Ana", "account_token": ana["token"], "listing": {"public": true}});
    let (status, _) = cluster.node(0).post("/api/rooms", body).await;
    assert_eq!(status, 201);
    let item = feed.wait_for("feed:new", |v| v["item"]["kind"] == "room_joined").await;
    assert_eq!(item["item"]["room"]["name"], "Roof");
}

/// A node whose MongoDB is reached through a `Freezer`.
async fn node_behind_freezer() -> (TestApp, Freezer, MeiliDouble) {
    let shared = services::mongodb_uri();
    let port = shared.split(':').nth(2).and_then(|rest| rest.split('/').next()).expect("port in the URI");
    let freezer = Freezer::start(format!("127.0.0.1:{port}").parse().expect("addr")).await;
    let uri = format!("mongodb://{}/?directConnection=true&retryWrites=false", freezer.addr());
    let search = MeiliDouble::for_nodes(MEILI_KEY).await;
    let (db, redis) = (services::fresh_db_name(), services::redis_url());
    let node = spawn_with(TempDir::new().expect("temp dir"), |s| {
        s.mongodb_uri = Some(uri);
        s.mongodb_db = db;
        s.redis_url = Some(redis);
        use_search(s, &search);
    })
    .await;
    (node, freezer, search)
}

/// Sends `event` and returns its ack and how long it took.
async fn timed_ack(client: &SioClient, event: &str, data: Value) -> (Value, Duration) {
    let started = tokio::time::Instant::now();
    let reply = client.ack(event, data).await;
    (reply, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_whose_database_call_hangs_answers_unavailable_and_other_rooms_go_on() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (node, freezer, _search) = node_behind_freezer().await;
    let stuck = node.create_room(json!({})).await;
    let other = node.create_room(json!({})).await;
    let stuck_host = node.connect(&stuck.token).await;
    let other_host = node.connect(&other.token).await;
    stuck_host.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    other_host.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;

    // Every database call that names the stuck room now never returns.
    freezer.freeze_on(&stuck.room_id);
    let stuck_add = timed_ack(&stuck_host, "queue:add", json!({"track_id": TestApp::track_id(2)}));
    let other_adds = async {
        for n in 2..6 {
            let (reply, _) = timed_ack(&other_host, "queue:add", json!({"track_id": TestApp::track_id(n)})).await;
            assert_eq!(reply["ok"], true, "another room's write while one room's call hangs: {reply}");
        }
    };
    let ((reply, took), ()) = tokio::join!(stuck_add, other_adds);
    assert_eq!(reply["error"]["code"], "unavailable", "{reply}");
    assert!(took < Duration::from_secs(5), "answered by the two-second deadline, took {took:?}");
    assert!(freezer.frozen_connections() > 0, "the stuck room's write reached the database");
    // The room is not left locked: its next command gets its own deadline.
    let refused = stuck_host.refused("queue:vote", json!({"entry_id": "nope", "value": 1})).await;
    assert_eq!(refused, "entry_not_found", "the room's lock was released after the deadline");

    freezer.thaw();
    let added = stuck_host.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    let snapshot = stuck_host.snapshot().await;
    let queued: Vec<&str> =
        snapshot["queue"].as_array().expect("queue").iter().filter_map(|e| e["track"]["id"].as_str()).collect();
    assert_eq!(queued, ["demo-0003"], "the add answered unavailable was not applied: {snapshot}");
    assert_eq!(snapshot["version"], added["version"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_command_and_the_readiness_probe_answer_within_the_deadline_while_the_database_hangs() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (node, freezer, _search) = node_behind_freezer().await;
    let host = node.create_room(json!({})).await;
    let hs = node.connect(&host.token).await;
    hs.ok("queue:add", json!({"track_id": TestApp::track_id(1)})).await;
    let entry = hs.ok("queue:add", json!({"track_id": TestApp::track_id(2)})).await["entry"]["id"].clone();

    freezer.freeze_all();
    let commands = [
        ("queue:add", json!({"track_id": TestApp::track_id(3)})),
        ("queue:vote", json!({"entry_id": entry, "value": -1})),
        ("player:pause", json!({})),
        ("room:members", json!({})),
    ];
    for (event, data) in commands {
        let (reply, took) = timed_ack(&hs, event, data).await;
        if reply["ok"] == false {
            assert_eq!(reply["error"]["code"], "unavailable", "{event}: {reply}");
        }
        assert!(took < Duration::from_secs(5), "{event} answered by the deadline, took {took:?}");
    }
    // The room comes from the Redis cache: the party goes on, without its wall.
    let (synced, took) = timed_ack(&hs, "room:sync", json!({})).await;
    assert_eq!(synced["ok"], true, "{synced}");
    assert!(synced["data"].get("photos").is_none(), "{synced}");
    assert!(took < Duration::from_secs(5), "room:sync answered by the deadline, took {took:?}");
    let started = tokio::time::Instant::now();
    let (status, body) = node.get("/api/ready").await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5), "readiness answered by the deadline");

    freezer.thaw();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let reply = hs.ack("queue:add", json!({"track_id": TestApp::track_id(4)})).await;
        if reply["ok"] == true {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "writes did not come back: {reply}");
    }
}

/// The shipped `deploy/nginx.conf`, run by the real nginx in front of two
/// nodes: the node names become their loopback addresses, the operator's
/// certificate one made for the test (a test CA and a leaf for
/// 127.0.0.1), and `resolve` (nginx 1.27.3+, the compose image) is left
/// out for the older nginx a distribution may ship.
struct Balancer {
    /// HTTPS, where phones are served.
    addr: SocketAddr,
    /// Plain HTTP, which only redirects.
    plain: SocketAddr,
    /// The test CA that signed the certificate, for clients to trust.
    ca: reqwest::Certificate,
    child: Child,
    _dir: TempDir,
}

/// Makes a test CA and a certificate for 127.0.0.1 signed by it in `dir`
/// (`ca.pem`, `fullchain.pem`, `privkey.pem`) with the openssl command.
fn test_certificate(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &["req", "-x509"],
            &key[..],
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=crowdjuke test CA"],
        ]
        .concat(),
    );
    openssl(&[&["req"], &key[..], &["-keyout", "privkey.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"]].concat());
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "fullchain.pem",
    ]);
}

impl Balancer {
    async fn start(nodes: &[SocketAddr]) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let (port, plain_port) = (services::free_port(), services::free_port());
        test_certificate(dir.path());
        let mut conf =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx.conf")).expect("conf");
        for (i, node) in nodes.iter().enumerate() {
            conf = conf.replace(&format!("server node{}:8080", i + 1), &format!("server {node}"));
        }
        let path = |name: &str| dir.path().join(name).display().to_string();
        conf = conf
            .replace(" resolve;", ";")
            .replace("listen 80;", &format!("listen 127.0.0.1:{plain_port};"))
            .replace("listen 443 ssl;", &format!("listen 127.0.0.1:{port} ssl;"))
            .replace("/etc/nginx/tls/", &format!("{}/", dir.path().display()))
            .replace("events {", &format!("error_log {};\npid {};\nevents {{", path("error.log"), path("nginx.pid")))
            .replace(
                "http {",
                &format!(
                    "http {{\n    access_log off;\n    client_body_temp_path {};\n    proxy_temp_path {};",
                    path("body"),
                    path("proxy")
                ),
            );
        assert!(!conf.contains("node1:8080") && !conf.contains("node2:8080"), "every node placed");
        assert!(!conf.contains("/etc/nginx/tls/") && !conf.contains("listen 443"), "the test's certificate and port");
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write conf");
        let nginx = std::env::var("TEST_NGINX").unwrap_or_else(|_| "nginx".into());
        let mut child = Command::new(&nginx)
            .args(["-p", &dir.path().display().to_string(), "-c", &path("nginx.conf"), "-g", "daemon off; user root;"])
            .stdout(Stdio::null())
            .stderr(crate::helpers::child_log("nginx"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {nginx}: {e} (scripts/test installs nginx)"));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let plain: SocketAddr = format!("127.0.0.1:{plain_port}").parse().expect("addr");
        let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.pem")).expect("ca")).expect("pem");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Self { addr, plain, ca, child, _dir: dir };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().ok();
        child.wait().ok();
        let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not start with the shipped configuration: {log}");
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// An HTTPS client that trusts the test CA (and nothing else).
    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(self.ca.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

type Wss = tokio_tungstenite::WebSocketStream<reqwest::Upgraded>;

/// A Socket.IO session over a websocket through TLS (`wss://`): the
/// upgrade, Engine.IO's open packet, the Socket.IO connect with `token`,
/// and the room's snapshot. `Err` says which step failed.
async fn open_wss(http: &reqwest::Client, base: &str, token: &str) -> Result<Wss, String> {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;
    let upgrade = http
        .get(format!("{base}/socket.io/?EIO=4&transport=websocket"))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .map_err(|e| format!("upgrade request: {e}"))?;
    if upgrade.status().as_u16() != 101 {
        return Err(format!("upgrade answered {}", upgrade.status()));
    }
    let upgraded = upgrade.upgrade().await.map_err(|e| format!("upgrade: {e}"))?;
    let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(upgraded, Role::Client, None).await;
    let open = next_text(&mut ws).await?;
    if !open.starts_with("0{") {
        return Err(format!("not Engine.IO's open packet: {open}"));
    }
    ws.send(Message::text(format!("40{}", json!({ "token": token })))).await.map_err(|e| format!("send: {e}"))?;
    loop {
        let text = next_text(&mut ws).await?;
        if text.starts_with("44") {
            return Err(format!("connect refused: {text}"));
        }
        if text.starts_with("42[\"room:snapshot\"") {
            return Ok(ws);
        }
    }
}

/// The next text message of a session, answering Engine.IO pings on the way.
async fn next_text(ws: &mut Wss) -> Result<String, String> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let message = tokio::time::timeout(WAIT, ws.next()).await.map_err(|_| "no message in time".to_string())?;
        match message {
            None => return Err("closed".into()),
            Some(Err(e)) => return Err(format!("read: {e}")),
            Some(Ok(Message::Text(text))) if text.as_str() == "2" => {
                ws.send(Message::text("3")).await.map_err(|e| format!("pong: {e}"))?;
            }
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(_))) => return Err("closed".into()),
            Some(Ok(_)) => {}
        }
    }
}

/// A PNG of noise (it does not compress): `width × height × 3` bytes or so.
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut seed: u32 = 0x2545_f491;
    let picture = image::RgbImage::from_fn(width, height, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [r, g, b, _] = seed.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(picture).write_to(&mut out, image::ImageFormat::Png).expect("encodes");
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_shipped_nginx_serves_tls_and_passes_phone_photos_websockets_and_sticky_polling_to_the_nodes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(2).await;
    let lb = Balancer::start(&[cluster.node(0).addr, cluster.node(1).addr]).await;
    let http = lb.client();

    // Plain HTTP only sends phones to HTTPS, and keeps the path.
    let plain = http.get(format!("http://{}/join/ABCDEF?x=1", lb.plain)).send().await.expect("plain http");
    assert_eq!(plain.status().as_u16(), 301);
    let location = plain.headers()["location"].to_str().expect("location");
    assert!(location.starts_with("https://") && location.ends_with("/join/ABCDEF?x=1"), "{location}");

    let created = http.post(lb.url("/api/rooms")).json(&json!({"name": "P", "host_name": "H"})).send().await;
    let created = created.expect("create over https");
    assert!(created.headers().contains_key("strict-transport-security"), "phones stay on HTTPS");
    let host = guest_from(&created.json().await.expect("json"));

    // A 10 MB phone photo goes through (nginx's own limit used to be 1 MB).
    let png = noise_png(1900, 1800);
    assert!(png.len() > 10_000_000, "{} bytes", png.len());
    let part = reqwest::multipart::Part::bytes(png).file_name("big.png");
    let form = reqwest::multipart::Form::new().part("photo", part);
    let response = http
        .post(lb.url(&format!("/api/rooms/{}/photos", host.code)))
        .bearer_auth(&host.token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 202, "through the balancer: {body}");

    // Socket.IO over a websocket through TLS.
    open_wss(&http, &lb.url(""), &host.token).await.expect("a websocket session over TLS");

    // Long-polling (what socket.io-client starts with): every request of a
    // session must reach the node that holds it; the other node answers
    // 400 `Session ID unknown`.
    polling_session_answers(&http, &lb.url(""), &host.token).await;
}

/// The websockets a node holds, from its `/metrics` (loopback, no token).
async fn sockets_on(addr: SocketAddr) -> f64 {
    let text = reqwest::get(format!("http://{addr}/metrics")).await.expect("metrics").text().await.expect("text");
    text.lines().find_map(|l| l.strip_prefix("crowdjuke_sockets ")).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

/// Opens `n` sessions through the balancer, 50 at a time; a client whose
/// attempt fails tries again after 200 ms, as socket.io-client does, up to
/// 50 times. Returns the sessions and the failed attempts.
async fn open_many(lb: &Balancer, token: &str, n: usize) -> (Vec<Wss>, usize) {
    use futures_util::StreamExt;
    let http = lb.client();
    let base = lb.url("");
    let retried = std::sync::atomic::AtomicUsize::new(0);
    let sessions = futures_util::stream::iter(0..n)
        .map(|_| async {
            for _ in 0..50 {
                match open_wss(&http, &base, token).await {
                    Ok(ws) => return ws,
                    Err(_) => {
                        retried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
            panic!("a phone never got back in");
        })
        .buffer_unordered(50)
        .collect::<Vec<_>>()
        .await;
    (sessions, retried.into_inner())
}

/// A thousand phones hold websockets through the shipped nginx (its old
/// defaults held about 255), the node they are on dies, and they all get
/// back in while it restarts on its port: nginx sends them to the other
/// node and then to whichever answers. Every one then hears the next change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_phones_through_the_shipped_nginx_get_back_in_while_their_node_restarts() {
    use futures_util::StreamExt;
    let _turn = ONE_AT_A_TIME.lock().await;
    const PHONES: usize = 1000;
    let (uri, redis, db) = (services::mongodb_uri(), services::redis_url(), services::fresh_db_name());
    let search = MeiliDouble::for_nodes(MEILI_KEY).await;
    let mut nodes = [
        ProcessNode::start(&uri, &db, &redis, &search, "lb-a"),
        ProcessNode::start(&uri, &db, &redis, &search, "lb-b"),
    ];
    let lb = Balancer::start(&[nodes[0].addr, nodes[1].addr]).await;
    let http = lb.client();
    let created = http.post(lb.url("/api/rooms")).json(&json!({"name": "P", "host_name": "H"})).send().await;
    let host = guest_from(&created.expect("create").json().await.expect("json"));

    let (phones, _) = open_many(&lb, &host.token, PHONES).await;
    assert_eq!(phones.len(), PHONES);
    // Every test phone comes from 127.0.0.1: one hash, one node.
    let held = [sockets_on(nodes[0].addr).await, sockets_on(nodes[1].addr).await];
    let doomed = if held[0] >= held[1] { 0 } else { 1 };
    assert_eq!(held[doomed], PHONES as f64, "{held:?}");

    nodes[doomed].kill();
    let closed = futures_util::stream::iter(phones)
        .map(|mut ws| async move {
            loop {
                if next_text(&mut ws).await.is_err() {
                    return;
                }
            }
        })
        .buffer_unordered(PHONES)
        .count()
        .await;
    assert_eq!(closed, PHONES, "every phone saw its node go");

    // The node restarts on its port while the phones come back.
    let listen = nodes[doomed].addr.to_string();
    let (uri2, db2, redis2) = (uri.clone(), db.clone(), redis.clone());
    let (search_url, search_key) = (search.url(), search.node_key().to_string());
    let restart = tokio::task::spawn_blocking(move || {
        let search = search_url;
        let dir = TempDir::new().expect("temp dir");
        let env = [
            ("CROWDJUKE_MONGODB_URI", uri2.as_str()),
            ("CROWDJUKE_MONGODB_DB", db2.as_str()),
            ("CROWDJUKE_REDIS_URL", redis2.as_str()),
            ("CROWDJUKE_MEILISEARCH_URL", search.as_str()),
            ("CROWDJUKE_MEILISEARCH_API_KEY", search_key.as_str()),
            ("CROWDJUKE_NODE_ID", "lb-restarted"),
        ];
        (ServerProcess::start_on(&listen, dir.path(), &env, "lb-restarted"), dir)
    });
    let (mut phones, retried) = open_many(&lb, &host.token, PHONES).await;
    let _restarted = restart.await.expect("restarted");
    assert_eq!(phones.len(), PHONES);

    // One change reaches every phone, wherever it landed.
    let hs = open_wss(&http, &lb.url(""), &host.token).await.expect("the host");
    drop(hs);
    let admin = SioClient::connect(nodes[1 - doomed].addr, json!({"token": host.token})).await.expect("direct");
    let added = admin.ok("queue:add", json!({"track_id": TestApp::track_id(3)})).await;
    let playing = added["now_playing_entry_id"].as_str().expect("playing").to_string();
    let heard = futures_util::stream::iter(phones.iter_mut())
        .map(|ws| {
            let playing = playing.clone();
            async move {
                loop {
                    match next_text(ws).await {
                        Ok(text) if text.starts_with("42[\"room:changed\"") && text.contains(&playing) => return true,
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
            }
        })
        .buffer_unordered(PHONES)
        .filter(|heard| std::future::ready(*heard))
        .count()
        .await;
    assert_eq!(heard, PHONES, "every phone heard the change ({retried} attempts were retried)");
}

/// An Engine.IO long-polling session at `base`: handshake, Socket.IO
/// connect (waiting for its ack, as socket.io-client does: an event sent
/// before it closes the session), then events, each answered on a poll.
async fn polling_session_answers(http: &reqwest::Client, base: &str, token: &str) {
    let open = http.get(format!("{base}/socket.io/?EIO=4&transport=polling")).send().await.expect("handshake");
    let open = open.text().await.expect("text");
    let handshake: Value = serde_json::from_str(open.trim_start_matches('0')).expect("open packet");
    let sid = handshake["sid"].as_str().expect("sid");
    let session = format!("{base}/socket.io/?EIO=4&transport=polling&sid={sid}");
    let poll_until = |wanted: String| {
        let session = session.clone();
        async move {
            let mut received = String::new();
            while !received.contains(&wanted) {
                let polled = tokio::time::timeout(WAIT, http.get(&session).send()).await.expect("answered");
                let polled = polled.expect("poll");
                let status = polled.status().as_u16();
                let text = polled.text().await.expect("text");
                assert_eq!(status, 200, "the session's node each time: {text}");
                received.push('\u{1e}');
                received.push_str(&text);
            }
        }
    };
    let sent = http.post(&session).body(format!("40{}", json!({ "token": token }))).send().await.expect("connect");
    assert_eq!(sent.status().as_u16(), 200);
    poll_until("\u{1e}40{".to_string()).await;
    for ack in 1..=5 {
        let posted = http.post(&session).body(format!("42{ack}[\"room:sync\",{{}}]")).send().await.expect("event");
        assert_eq!(posted.status().as_u16(), 200, "the session's node each time");
        poll_until(format!("43{ack}[")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn music_scanned_on_one_node_is_served_by_another_from_gridfs_with_ranges() {
    use crate::music_folders::{covered_mp3, fetch, ticket};
    let _turn = ONE_AT_A_TIME.lock().await;
    let (uri, redis, db) = (services::mongodb_uri(), services::redis_url(), services::fresh_db_name());
    let search = MeiliDouble::for_nodes(MEILI_KEY).await;
    let music = TempDir::new().expect("dir");
    let song = covered_mp3(music.path());
    let original = std::fs::read(&song).expect("read");
    let shared = |s: &mut Settings, node: &str| {
        s.mongodb_uri = Some(uri.clone());
        s.mongodb_db = db.clone();
        s.redis_url = Some(redis.clone());
        s.node_id = Some(node.into());
        use_search(s, &search);
    };
    let folder = music.path().to_path_buf();
    let scanning = spawn_with(TempDir::new().expect("dir"), |s| {
        shared(s, "node0");
        s.music_dirs = vec![folder];
    })
    .await;
    let serving = spawn_with(TempDir::new().expect("dir"), |s| shared(s, "node1")).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let track_id = loop {
        let files = serving.state.store.music_files().music_files().await.expect("files");
        if let Some(file) = files.first() {
            break file.track_id.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "never scanned");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The node with the folder goes away, and so does the folder: the
    // other node serves the copy in GridFS.
    scanning.stop().await;
    std::fs::remove_file(&song).expect("remove");
    let host = serving.create_room(json!({})).await;
    serving.connect(&host.token).await.ok("queue:add", json!({ "track_id": track_id })).await;
    let (status, body) = ticket(&serving, &host, &track_id).await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().expect("url").to_string();

    let whole = fetch(&serving, &url, &[]).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.headers()["content-type"], "audio/mpeg");
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let etag = whole.headers()["etag"].to_str().expect("etag").to_string();
    assert!(whole.bytes().await.expect("body") == original, "the copy is the file");
    let part = fetch(&serving, &url, &[("range", "bytes=1000-1099"), ("if-range", &etag)]).await;
    let len = original.len();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 1000-1099/{len}").as_str());
    assert!(part.bytes().await.expect("body") == original[1000..1100]);
    let tail = fetch(&serving, &url, &[("range", "bytes=-1000")]).await;
    assert_eq!(tail.status(), 206);
    assert!(tail.bytes().await.expect("body") == original[len - 1000..]);
    let past = fetch(&serving, &url, &[("range", &format!("bytes={len}-"))]).await;
    assert_eq!(past.status(), 416);
    assert_eq!(past.headers()["content-range"], format!("bytes */{len}").as_str());
    let artwork = fetch(&serving, &format!("/api/tracks/{track_id}/artwork"), &[]).await;
    assert_eq!(artwork.status(), 200);
    assert!(artwork.bytes().await.expect("png").starts_with(b"\x89PNG"), "the cover's copy");

    // A scan that finds the file gone removes its copies.
    let report = crowdjuke::music::folders::scan(
        &serving.state.store,
        Some(serving.state.blobs.as_ref()),
        &[music.path().into()],
        &|_, _| {},
    )
    .await
    .expect("scan");
    assert_eq!(report.removed, 1, "{report:?}");
    for prefix in ["audio/", "covers/"] {
        assert!(serving.state.blobs.keys(prefix).await.expect("keys").is_empty(), "{prefix}");
    }
    assert_eq!(fetch(&serving, &url, &[]).await.status(), 404);
}

/// A zone's day part starts on three nodes at once: every node's player
/// races to announce it, the room is written once, every client is told
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_day_part_starting_on_three_nodes_is_announced_once() {
    use reqwest::Method;
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(3).await;
    let node = cluster.node(0);
    let account = json!({"username": "owen", "password": "violet kettle 42 orbit"});
    let (status, owner) = node.post("/api/accounts", account).await;
    assert_eq!(status, 201, "{owner}");
    let token = owner["token"].as_str().expect("token");
    let venue = json!({"name": "Club", "time_zone": "Europe/Paris"});
    let (_, created) = crate::helpers::call(node, Method::POST, "/api/venues", Some(token), Some(venue)).await;
    let id = created["venue"]["id"].as_str().expect("id");
    let path = format!("/api/venues/{id}/zones");
    let (_, zone) = crate::helpers::call(node, Method::POST, &path, Some(token), Some(json!({"name": "Floor"}))).await;
    let (room_id, code) =
        (zone["zone"]["room_id"].as_str().expect("room"), zone["zone"]["code"].as_str().expect("code"));
    // The test clocks start on Tuesday 2023-11-14 at 23:13 in Paris.
    let plan = json!({"day_parts": [{"name": "Closing", "days": [2], "starts": "23:30", "ends": "23:59"}]});
    let path = format!("/api/venues/{id}/zones/{room_id}/schedule");
    let (status, set) = crate::helpers::call(node, Method::PUT, &path, Some(token), Some(plan)).await;
    assert_eq!(status, 200, "{set}");
    let mut clients = Vec::new();
    for (i, node) in cluster.nodes.iter().enumerate() {
        clients.push(node.connect(&node.join(code, &format!("Guest {i}")).await.token).await);
    }
    let before = clients[2].snapshot().await["version"].as_u64().expect("version");
    cluster.advance_clocks(17 * 60_000);
    let racers = cluster.nodes.iter().flat_map(|n| (0..3).map(move |_| n.state.clone()));
    join_all(racers.map(|state| async move { state.player.follow_schedules().await })).await;
    for client in &clients {
        let told = client.wait_for("room:changed", |v| v["version"] == before + 1).await;
        assert_eq!(told["changes"][0]["type"], "day_part_changed", "{told}");
        assert_eq!(told["changes"][0]["day_part"]["name"], "Closing");
    }
    // Give any duplicate time to arrive, then count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for client in &clients {
        let announcements = client
            .events("room:changed")
            .iter()
            .filter(|v| v["changes"].as_array().is_some_and(|cs| cs.iter().any(|c| c["type"] == "day_part_changed")))
            .count();
        assert_eq!(announcements, 1, "told once");
        assert_eq!(client.snapshot().await["version"].as_u64(), Some(before + 1), "written once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zones_dashboard_counts_each_play_once_on_any_node() {
    use reqwest::Method;
    let _turn = ONE_AT_A_TIME.lock().await;
    let cluster = shared_cluster(2).await;
    let (first, second) = (cluster.node(0), cluster.node(1));
    let account = json!({"username": "owen", "password": "violet kettle 42 orbit"});
    let (status, owner) = first.post("/api/accounts", account).await;
    assert_eq!(status, 201, "{owner}");
    let token = owner["token"].as_str().expect("token");
    let venue = json!({"name": "Club", "time_zone": "Europe/Paris"});
    let (_, created) = crate::helpers::call(first, Method::POST, "/api/venues", Some(token), Some(venue)).await;
    let id = created["venue"]["id"].as_str().expect("id");
    let tracks: Vec<String> = (1..=2).map(TestApp::track_id).collect();
    let catalogue = format!("/api/venues/{id}/catalogue");
    let (status, added) =
        crate::helpers::call(first, Method::POST, &catalogue, Some(token), Some(json!({"track_ids": tracks}))).await;
    assert_eq!(status, 200, "{added}");
    let path = format!("/api/venues/{id}/zones");
    let (_, zone) = crate::helpers::call(first, Method::POST, &path, Some(token), Some(json!({"name": "Floor"}))).await;
    let host = first.connect(zone["token"].as_str().expect("host token")).await;
    let code = zone["zone"]["code"].as_str().expect("code");
    let guest = second.connect(&second.join(code, "Gil").await.token).await;
    host.ok("queue:add", json!({"track_id": tracks[0]})).await;
    assert_eq!(guest.snapshot().await["now_playing"]["track"]["id"].as_str(), Some(tracks[0].as_str()));
    host.ok("player:skip", json!({})).await;

    // Asked of the other node: the MongoDB aggregation sums what the first recorded.
    let analytics = format!("/api/venues/{id}/analytics");
    let mut report = Value::Null;
    for _ in 0..100 {
        let (status, body) = crate::helpers::call(second, Method::GET, &analytics, Some(token), None).await;
        assert_eq!(status, 200, "{body}");
        report = body;
        if report["totals"]["plays"] == 1 && report["totals"]["guests"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (report["totals"]["plays"].as_u64(), report["totals"]["skips"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["totals"]["guests"], 2, "{report}");
    assert_eq!(report["tracks"][0]["track_id"].as_str(), Some(tracks[0].as_str()), "{report}");
    // Give a duplicate time to arrive, then count again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, again) = crate::helpers::call(first, Method::GET, &analytics, Some(token), None).await;
    assert_eq!(again["totals"], report["totals"], "recorded once, whichever node asks");
}
