//! Load tool: holds N Socket.IO clients (websocket transport, a minimal
//! Engine.IO v4 / Socket.IO v5 client, no per-message allocations beyond the
//! frame) in R rooms spread over one or more nodes; each room's host flips a
//! vote at a fixed rate and every guest must receive every `room:changed`.
//!
//! Reports vote → delivery latency (p50, p99: from just before the vote is
//! sent to the delivery), deliveries/s, missed deliveries, the load tool's own
//! CPU and, given the server PIDs, server CPU per delivery and server memory
//! per connected client.
//!
//! ```sh
//! cargo run --release --example load -- \
//!   --nodes http://127.0.0.1:8080,http://127.0.0.1:8081 --pids 123,456 \
//!   --clients 2000 --rooms 2 --rate 40 --seconds 20
//! ```
//! The servers need `CROWDJUKE_JOIN_ATTEMPTS_PER_MINUTE` and
//! `CROWDJUKE_EVENTS_PER_MINUTE` raised: every client joins from 127.0.0.1.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug)]
struct Args {
    nodes: Vec<String>,
    pids: Vec<u32>,
    clients: usize,
    rooms: usize,
    rate: f64,
    seconds: f64,
}

fn parse_args() -> Args {
    let mut args = Args { nodes: vec![], pids: vec![], clients: 500, rooms: 1, rate: 40.0, seconds: 10.0 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--nodes" => args.nodes = value.split(',').map(str::to_string).collect(),
            "--pids" => args.pids = value.split(',').filter_map(|p| p.parse().ok()).collect(),
            "--clients" => args.clients = value.parse().unwrap_or(args.clients),
            "--rooms" => args.rooms = value.parse().unwrap_or(args.rooms),
            "--rate" => args.rate = value.parse().unwrap_or(args.rate),
            "--seconds" => args.seconds = value.parse().unwrap_or(args.seconds),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!args.nodes.is_empty(), "--nodes URL[,URL…] is required");
    args
}

/// CPU seconds (user + system) and RSS in KiB of a process.
fn proc_stats(pid: &str) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(") ").next().unwrap_or("").split(' ').collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1));
    (ticks / 100.0, rss.and_then(|r| r.parse().ok()).unwrap_or(0))
}

fn servers(pids: &[u32]) -> (f64, u64) {
    pids.iter().map(|p| proc_stats(&p.to_string())).fold((0.0, 0), |(c, r), (c2, r2)| (c + c2, r + r2))
}

/// Send times of expected versions, per room: (room, version) → instant.
type SentAt = Arc<Mutex<HashMap<(usize, u64), Instant>>>;

struct Stats {
    delivered: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

/// One connected socket: an outbox and (for the host) a channel of acks.
struct Client {
    out: mpsc::UnboundedSender<String>,
    acks: mpsc::UnboundedReceiver<Value>,
    snapshot: Option<oneshot::Receiver<()>>,
}

async fn connect(node: &str, token: &str, room: usize, sent_at: SentAt, stats: Arc<Stats>) -> Client {
    let url = format!("{}/socket.io/?EIO=4&transport=websocket", node.replace("http://", "ws://"));
    let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    let (mut sink, mut stream) = ws.split();
    let (out, mut outbox) = mpsc::unbounded_channel::<String>();
    let (ack_tx, acks) = mpsc::unbounded_channel();
    let (snap_tx, snap_rx) = oneshot::channel();
    let (connected_tx, connected) = oneshot::channel::<()>();
    let auth = format!("40{}", json!({ "token": token }));
    tokio::spawn(async move {
        while let Some(text) = outbox.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                return;
            }
        }
    });
    let pong = out.clone();
    tokio::spawn(async move {
        let mut snap_tx = Some(snap_tx);
        let mut connected_tx = Some(connected_tx);
        while let Some(Ok(message)) = stream.next().await {
            let Message::Text(text) = message else { continue };
            let text = text.as_str();
            if std::env::var_os("LOAD_DEBUG").is_some() {
                eprintln!("<- {text}");
            }
            if text == "2" {
                pong.send("3".into()).ok();
            } else if text.starts_with("40") {
                if let Some(tx) = connected_tx.take() {
                    tx.send(()).ok();
                }
            } else if text.starts_with('0') {
                // Engine.IO open: now connect to the `/` namespace.
                pong.send(auth.clone()).ok();
            } else if let Some(event) = text.strip_prefix("42[\"room:changed\",") {
                let now = Instant::now();
                // The version is the first field of the payload.
                let version = event.strip_prefix("{\"version\":").and_then(|v| v.split([',', '}']).next());
                if let Some(version) = version.and_then(|v| v.parse::<u64>().ok()) {
                    stats.delivered.fetch_add(1, Ordering::Relaxed);
                    let sent = sent_at.lock().expect("sent").get(&(room, version)).copied();
                    if let Some(sent) = sent {
                        stats.latencies_us.lock().expect("lat").push(now.duration_since(sent).as_micros() as u64);
                    }
                }
            } else if text.starts_with("42[\"room:snapshot\"") {
                if let Some(tx) = snap_tx.take() {
                    tx.send(()).ok();
                }
            } else if let Some(ack) = text.strip_prefix("43") {
                let body = ack.trim_start_matches(|c: char| c.is_ascii_digit());
                if let Ok(Value::Array(mut args)) = serde_json::from_str(body) {
                    ack_tx.send(args.swap_remove(0)).ok();
                }
            }
        }
    });
    connected.await.expect("namespace connect accepted");
    Client { out, acks, snapshot: Some(snap_rx) }
}

impl Client {
    async fn call(&mut self, id: u64, event: &str, data: Value) -> Value {
        self.out.send(format!("42{id}{}", json!([event, data]))).ok();
        let reply = tokio::time::timeout(Duration::from_secs(10), self.acks.recv()).await;
        let reply = reply.expect("ack in time").expect("ack");
        assert_eq!(reply["ok"], true, "{event}: {reply}");
        reply["data"].clone()
    }
}

async fn post(http: &reqwest::Client, url: String, body: Value) -> Value {
    let response = http.post(&url).json(&body).send().await.expect("request");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert!(status.is_success(), "{url}: {status} {body}");
    body
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let http = reqwest::Client::new();
    let sent_at: SentAt = Arc::default();
    let stats = Arc::new(Stats { delivered: AtomicU64::new(0), latencies_us: Mutex::default() });
    let node = |i: usize| args.nodes[i % args.nodes.len()].clone();

    let mut hosts = Vec::new();
    for r in 0..args.rooms {
        let created = post(&http, format!("{}/api/rooms", node(r)), json!({"name": "Load", "host_name": "Host"})).await;
        let token = created["token"].as_str().expect("token").to_string();
        let code = created["room"]["code"].as_str().expect("code").to_string();
        let mut host = connect(&node(r), &token, r, sent_at.clone(), stats.clone()).await;
        host.call(0, "queue:add", json!({"track_id": "demo-0001"})).await;
        let data = host.call(1, "queue:add", json!({"track_id": "demo-0002"})).await;
        let entry = data["entry"]["id"].as_str().expect("entry").to_string();
        hosts.push((host, code, entry, data["version"].as_u64().expect("version")));
    }
    let (_, idle_rss) = servers(&args.pids);
    // Joins and connects, eight at a time.
    let codes: Vec<String> = hosts.iter().map(|h| h.1.clone()).collect();
    let guests: Vec<Client> = futures_util::stream::iter(0..args.clients)
        .map(|i| {
            let (http, node, code) = (http.clone(), node(i), codes[i % args.rooms].clone());
            let (sent_at, stats) = (sent_at.clone(), stats.clone());
            async move {
                let joined = post(&http, format!("{node}/api/rooms/{code}/join"), json!({"name": format!("g{i}")}));
                let token = joined.await["token"].as_str().expect("token").to_string();
                let mut guest = connect(&node, &token, i % args.rooms, sent_at, stats).await;
                if let Some(snapshot) = guest.snapshot.take() {
                    snapshot.await.ok();
                }
                guest
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    // A fresh entry to vote on, second in the queue so it cannot start
    // playing during the run.
    let mut voters = Vec::new();
    for (r, (mut host, code, _, _)) in hosts.into_iter().enumerate() {
        host.call(2, "queue:add", json!({"track_id": format!("demo-{:04}", 100 + 2 * r)})).await;
        let data = host.call(3, "queue:add", json!({"track_id": format!("demo-{:04}", 101 + 2 * r)})).await;
        let entry = data["entry"]["id"].as_str().expect("entry").to_string();
        voters.push((host, code, entry, data["version"].as_u64().expect("version")));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, loaded_rss) = servers(&args.pids);
    let (server_cpu0, _) = servers(&args.pids);
    let (tool_cpu0, _) = proc_stats("self");
    stats.delivered.store(0, Ordering::Relaxed);

    let per_room = args.rate / args.rooms as f64;
    let votes = (per_room * args.seconds).round() as u64;
    let started = Instant::now();
    let voters: Vec<_> = voters
        .into_iter()
        .enumerate()
        .map(|(r, (mut host, _, entry, mut version))| {
            let sent_at = sent_at.clone();
            tokio::spawn(async move {
                let mut value = 1;
                for n in 0..votes {
                    let due = started + Duration::from_secs_f64(n as f64 / per_room);
                    tokio::time::sleep_until(due.into()).await;
                    value = -value;
                    sent_at.lock().expect("sent").insert((r, version + 1), Instant::now());
                    let data = host.call(n + 4, "queue:vote", json!({"entry_id": entry, "value": value})).await;
                    version = data["version"].as_u64().expect("version");
                }
                host
            })
        })
        .collect();
    for voter in voters {
        voter.await.expect("voter");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let elapsed = started.elapsed().as_secs_f64() - 2.0;
    let (server_cpu1, server_rss) = servers(&args.pids);
    let (tool_cpu1, _) = proc_stats("self");

    let delivered = stats.delivered.load(Ordering::Relaxed);
    // Hosts receive their own room's changes too.
    let expected = votes * (args.clients as u64 + args.rooms as u64);
    let mut latencies = std::mem::take(&mut *stats.latencies_us.lock().expect("lat"));
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |v: Option<&u64>| v.map(|v| *v as f64 / 1000.0);
    let result = json!({
        "nodes": args.nodes.len(),
        "clients": args.clients,
        "rooms": args.rooms,
        "votes_per_second": args.rate,
        "seconds": args.seconds,
        "deliveries_expected": expected,
        "deliveries": delivered,
        "missed": expected.saturating_sub(delivered),
        "deliveries_per_second": (delivered as f64 / elapsed).round(),
        "latency_ms_p50": ms(pct(0.50)),
        "latency_ms_p99": ms(pct(0.99)),
        "server_cpu_us_per_delivery": ((server_cpu1 - server_cpu0) * 1e6 / delivered.max(1) as f64 * 100.0).round() / 100.0,
        "server_rss_mb": server_rss as f64 / 1024.0,
        "server_kb_per_client": (loaded_rss.saturating_sub(idle_rss)) as f64 / args.clients as f64,
        "load_tool_cpu_seconds": tool_cpu1 - tool_cpu0,
        "load_tool_cpu_percent_of_one_core": ((tool_cpu1 - tool_cpu0) / elapsed * 100.0).round(),
    });
    println!("{}", serde_json::to_string_pretty(&result).expect("json"));
    drop(guests);
}
